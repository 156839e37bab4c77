// Token → glyph latency: how long a streamed token takes from reaching @parley/phaser to its first glyph
// on screen. Starts the proxy (offline model, a word every --delay ms) and the built demo (via
// test/support/servers.ts), opens the demo in Chromium, talks to a villager for --turns lines, and prints
// p50/p95 in ms. Writes test/artifacts/bench-glyph.json.
//
//   node test/bench/glyph.ts [--renderer=canvas|webgl] [--delay=150] [--turns=8]
//
// What is measured, per text delta: `arrivedAt` is when the `text.delta` event reached the plugin's
// session (performance.now()); `drawnAt` is the game's `postrender` of the first frame after the
// typewriter put the delta's first character into the dialogue box's Text object. The typewriter
// deliberately paces characters, so a delta that arrives while earlier text is still being typed waits
// its turn; the headline figure counts only deltas that arrived when the typewriter had caught up (had
// shown everything before them), which is what the pipeline itself costs. The word delay is chosen so
// that most deltas arrive caught up at the demo's typing pace.
//
// The game reports through `globalThis.__PARLEY_DEVTOOLS__` (installed before the page loads): the plugin
// hands it each plugin instance and every glyph timing, so the demo needs no benchmark code.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from '@playwright/test';
import { serveDemo, startProxy } from '../support/servers.ts';

const here = dirname(fileURLToPath(import.meta.url));
const args = new Map(
  process.argv.slice(2).map((arg) => {
    const [key = '', value = ''] = arg.replace(/^--/, '').split('=');
    return [key, value];
  }),
);
const renderer = args.get('renderer') === 'webgl' ? 'webgl' : 'canvas';
const delayMs = Number(args.get('delay') ?? 150);
const turns = Number(args.get('turns') ?? 8);
const LINES = [
  'Hello there!',
  'Who are you?',
  'Is the gate open at night?',
  'What do you know about this village?',
  'Tell me about the night watch.',
  'Any rumours lately?',
  'What would you do in my place?',
  'Thanks, goodbye for now.',
];

interface Sample {
  latency: number;
  caughtUp: boolean;
  placedAt: number;
  arrivedAt: number;
  drawnAt: number;
}

// Only what the script uses of the plugin, as seen from the page.
interface PluginView {
  npcs: Array<{ id: string; name: string; state: string }>;
  activeNpc?: { id: string; state: string; existingSession?: { view: { more: boolean } } };
  talkTo(npc: unknown): void;
}
interface BenchWindow {
  __PARLEY_DEVTOOLS__: {
    plugins: PluginView[];
    samples: Sample[];
    frames: number[];
  };
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const round = (n: number) => Math.round(n * 10) / 10;

const proxy = await startProxy({ delayMs });
const demo = await serveDemo(proxy.port).catch(async (error: unknown) => {
  await proxy.stop();
  throw error;
});
const browser = await chromium.launch({
  executablePath: process.env['PARLEY_CHROMIUM'] ?? '/usr/bin/chromium',
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('pageerror', (error) => console.error('page error:', error.message));
  await page.addInitScript(() => {
    const hook = {
      plugins: [] as unknown[],
      samples: [] as unknown[],
      frames: [] as number[],
      attach(plugin: unknown) {
        hook.plugins.push(plugin);
      },
      detach(plugin: unknown) {
        hook.plugins = hook.plugins.filter((p) => p !== plugin);
      },
      glyph(report: unknown) {
        hook.samples.push(report);
      },
    };
    (globalThis as unknown as { __PARLEY_DEVTOOLS__: unknown }).__PARLEY_DEVTOOLS__ = hook;
    // Frame intervals, for context: a glyph can only appear on a frame.
    let last = 0;
    const frame = (t: number) => {
      if (last && hook.frames.length < 20_000) hook.frames.push(t - last);
      last = t;
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  });
  await page.goto(`${demo.url}/?renderer=${renderer}`);

  // A title menu, if the demo has one.
  const start = page.getByRole('button', { name: /^(Start|Continue|New game)$/ }).first();
  if (await start.isVisible({ timeout: 8_000 }).catch(() => false)) await start.click();

  await page.waitForFunction(
    () => (window as unknown as BenchWindow).__PARLEY_DEVTOOLS__.plugins.some((p) => p.npcs.length > 0),
    null,
    { timeout: 30_000 },
  );
  const npcName = await page.evaluate(() => {
    const plugin = (window as unknown as BenchWindow).__PARLEY_DEVTOOLS__.plugins.find(
      (p) => p.npcs.length > 0,
    )!;
    const npc = plugin.npcs.find((n) => /brom/i.test(n.id)) ?? plugin.npcs[0]!;
    plugin.talkTo(npc); // opened from afar: the dialogue stays open without walking there
    return npc.name;
  });
  const input = page.locator('input[data-parley="input"]');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await page.evaluate(() => (window as unknown as BenchWindow).__PARLEY_DEVTOOLS__.frames.splice(0));

  const state = () =>
    page.evaluate(() => {
      const plugin = (window as unknown as BenchWindow).__PARLEY_DEVTOOLS__.plugins.find((p) => p.activeNpc);
      const npc = plugin?.activeNpc;
      return { state: npc?.state, more: npc?.existingSession?.view.more ?? false };
    });
  for (let i = 0; i < turns; i++) {
    const line = LINES[i % LINES.length]!;
    await input.focus();
    await input.fill(line);
    await input.press('Enter');
    const deadline = Date.now() + 60_000;
    // Wait for the reply to be typed out, turning full pages like a reader would.
    await page.waitForTimeout(200);
    for (;;) {
      const now = await state();
      if (now.state === 'listening' || now.state === undefined) break;
      if (now.more) await input.press('Enter');
      if (Date.now() > deadline) throw new Error(`no reply to "${line}"`);
      await page.waitForTimeout(100);
    }
  }

  const { samples, frames } = await page.evaluate(() => {
    const hook = (window as unknown as BenchWindow).__PARLEY_DEVTOOLS__;
    return { samples: hook.samples, frames: hook.frames };
  });
  const caught = samples.filter((s) => s.caughtUp).map((s) => s.latency);
  const all = samples.map((s) => s.latency);
  const stats = (values: number[]) => ({
    n: values.length,
    p50: round(percentile(values, 50)),
    p95: round(percentile(values, 95)),
    max: round(Math.max(...values)),
  });
  const result = {
    renderer,
    offlineDelayMsPerWord: delayMs,
    turns,
    npc: npcName,
    caughtUp: stats(caught),
    all: stats(all),
    frameIntervalMs: { p50: round(percentile(frames, 50)), p95: round(percentile(frames, 95)) },
  };
  console.log(
    `Token → first glyph, demo (${renderer} renderer), ${turns} lines to ${npcName}, offline model at ${delayMs} ms/word`,
  );
  console.log(
    `  typewriter caught up:   p50 ${result.caughtUp.p50} ms   p95 ${result.caughtUp.p95} ms   max ${result.caughtUp.max} ms   (n=${result.caughtUp.n})`,
  );
  console.log(
    `  every delta (incl. pacing): p50 ${result.all.p50} ms   p95 ${result.all.p95} ms   (n=${result.all.n})`,
  );
  console.log(
    `  frame interval:         p50 ${result.frameIntervalMs.p50} ms   p95 ${result.frameIntervalMs.p95} ms`,
  );
  console.log(
    '  arrival = text.delta reaching the plugin; drawn = postrender of the first frame after its first character was placed',
  );
  const out = join(here, '..', 'artifacts');
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'bench-glyph.json'), `${JSON.stringify(result, null, 2)}\n`);
  if (caught.length === 0) process.exitCode = 1;
} finally {
  await browser.close();
  await demo.stop();
  await proxy.stop();
}
