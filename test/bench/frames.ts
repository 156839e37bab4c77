// Frame-time benchmark of the demo game: frame times (requestAnimationFrame deltas) in headless Chromium
// while four NPCs stream replies at once, each into its own speech bubble, versus the same scene idle.
// Target: p95 while streaming within 10 % of idle. Prints p50/p95/p99 of both and the ratio; writes
// test/artifacts/bench-frames.json. Run: `node test/bench/frames.ts` (after `pnpm build`).
//
// The four streams come from the demo's debug-only `?bench=stream` flag (see demo-game/src/village-scene.ts):
// a throwaway player whose four conversations each say a line, stream the answer, and start again.
// Options: FRAMES_SECONDS (default 10), FRAMES_DELAY_MS (offline model pace per word, default 40),
// FRAMES_RENDERER (`auto`, `canvas` or `webgl`; auto picks Canvas on software WebGL, as players' browsers do).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from '@playwright/test';
import { serveDemo, startProxy } from '../support/servers.ts';

const here = dirname(fileURLToPath(import.meta.url));
const seconds = Number(process.env['FRAMES_SECONDS'] ?? 10);
const delayMs = Number(process.env['FRAMES_DELAY_MS'] ?? 40);
const renderer = process.env['FRAMES_RENDERER'] ?? 'auto';

interface Stats {
  frames: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

function stats(deltas: number[]): Stats {
  const sorted = [...deltas].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    frames: sorted.length,
    p50: round(at(0.5)),
    p95: round(at(0.95)),
    p99: round(at(0.99)),
    max: round(sorted.at(-1) ?? 0),
    mean: round(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)),
  };
}

const proxy = await startProxy({ delayMs });
const demo = await serveDemo(proxy.port);
const browser = await chromium.launch({
  executablePath: process.env['PARLEY_CHROMIUM'] ?? '/usr/bin/chromium',
  headless: true,
});

async function measure(mode: 'idle' | 'stream') {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const query = new URLSearchParams({ bench: mode });
  if (renderer !== 'auto') query.set('renderer', renderer);
  await page.goto(`${demo.url}/?${query}`);
  await page.waitForFunction(() => window.__parleyDemo?.mode === 'play', undefined, { timeout: 30_000 });
  // Warm up: textures made, the JIT settled, and (streaming) every NPC's first reply under way.
  await page.waitForTimeout(2000);
  if (mode === 'stream')
    await page.waitForFunction(
      () => {
        const bench = (window as unknown as { __parleyBench?: { streams: number; deltas: number } })
          .__parleyBench;
        return bench !== undefined && bench.streams === 4 && bench.deltas > 20;
      },
      undefined,
      { timeout: 30_000 },
    );
  const before = await page.evaluate(() => ({
    ...(window as unknown as { __parleyBench: object }).__parleyBench,
  }));
  const deltas = await page.evaluate(
    (ms) =>
      new Promise<number[]>((resolve) => {
        const out: number[] = [];
        let last = performance.now();
        const end = last + ms;
        const frame = (now: number) => {
          out.push(now - last);
          last = now;
          if (now < end) requestAnimationFrame(frame);
          else resolve(out);
        };
        requestAnimationFrame((now) => {
          last = now;
          requestAnimationFrame(frame);
        });
      }),
    seconds * 1000,
  );
  const after = await page.evaluate(() => ({
    ...(window as unknown as { __parleyBench: object }).__parleyBench,
  }));
  // Phaser's Canvas renderer draws on a 2D context; asking an existing WebGL canvas for one returns null.
  const type = await page.evaluate(() =>
    document.querySelector('canvas')?.getContext('2d') ? 'canvas' : 'webgl',
  );
  await page.close();
  if (errors.length > 0) throw new Error(`page errors (${mode}): ${errors.join('; ')}`);
  const b = before as { deltas: number; turns: number; errors: number };
  const a = after as { deltas: number; turns: number; errors: number };
  return {
    mode,
    renderer: type,
    ...stats(deltas),
    tokens: a.deltas - b.deltas,
    turns: a.turns - b.turns,
    turnErrors: a.errors - b.errors,
  };
}

try {
  const idle = await measure('idle');
  const stream = await measure('stream');
  const ratio = Math.round((stream.p95 / idle.p95) * 1000) / 1000;
  const row = (r: typeof idle) =>
    `${r.mode.padEnd(8)} ${String(r.frames).padStart(6)} ${r.p50.toFixed(2).padStart(7)} ${r.p95.toFixed(2).padStart(7)} ${r.p99.toFixed(2).padStart(7)} ${r.max.toFixed(1).padStart(7)}   ${r.mode === 'stream' ? `${r.tokens} tokens streamed, ${r.turns} replies finished` : ''}`;
  console.log(
    `Frame times in headless Chromium (${idle.renderer} renderer), ${seconds} s each, offline model at ${delayMs} ms/word:`,
  );
  console.log(
    `${'mode'.padEnd(8)} ${'frames'.padStart(6)} ${'p50 ms'.padStart(7)} ${'p95 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'max ms'.padStart(7)}`,
  );
  console.log(row(idle));
  console.log(row(stream));
  console.log(`p95 streaming / idle = ${ratio} (target ≤ 1.10: ${ratio <= 1.1 ? 'met' : 'NOT met'})`);
  if (stream.turnErrors > 0) console.log(`(${stream.turnErrors} turns failed while measuring)`);
  const out = join(here, '..', 'artifacts', 'bench-frames.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify({ date: new Date().toISOString(), seconds, delayMs, idle, stream, ratio }, null, 2)}\n`,
  );
} finally {
  await browser.close();
  await demo.stop();
  await proxy.stop();
}
