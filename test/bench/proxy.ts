// Proxy benchmark: time to first token and total time for streams through the proxy versus straight to
// the same fake upstream, at 1, 50 and 200 concurrent streams, for chat pass-through and for Assistants
// runs; turns per second; the proxy's peak RSS. Prints a table; writes test/artifacts/bench-proxy.json.
// The proxy and the fake upstream each run in their own process, as they would in production.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UNLIMITED } from '../support/limits.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const LEVELS = [1, 50, 200];
const REQUESTS: Record<number, number> = { 1: 200, 50: 1000, 200: 1000 };
const MARK = 'word0'; // the first content token of every fake reply

function startChild(
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (data: Buffer) => {
      out += data.toString();
      const match = out.match(ready);
      if (match) resolve({ child, match });
    });
    let err = '';
    child.stderr!.on('data', (data: Buffer) => {
      err += data.toString();
    });
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}: ${err}`)));
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });

/** One request; resolves with ms to the first content token and to the end of the body. */
function timed(url: string, body: unknown): Promise<{ first: number; total: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let first = -1;
    let tail = '';
    const payload = JSON.stringify(body);
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        if (res.statusCode !== 200) {
          let text = '';
          res.on('data', (d: Buffer) => {
            text += d;
          });
          res.on('end', () => reject(new Error(`HTTP ${res.statusCode}: ${text}`)));
          return;
        }
        res.on('data', (data: Buffer) => {
          if (first < 0) {
            const seen = tail + data.toString();
            if (seen.includes(MARK)) first = performance.now() - started;
            tail = seen.slice(-MARK.length); // a token split across reads is still found
          }
        });
        res.on('end', () => resolve({ first, total: performance.now() - started }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function json(url: string, body: unknown): Promise<{ id: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function level(
  concurrency: number,
  total: number,
  one: (i: number) => Promise<{ first: number; total: number }>,
) {
  const firsts: number[] = [];
  const totals: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const result = await one(i);
        firsts.push(result.first);
        totals.push(result.total);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { firsts, totals, perSecond: total / seconds };
}

function rssPeakMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(status.match(/VmHWM:\s+(\d+)/)?.[1] ?? Number.NaN);
  return kb / 1024;
}

const fmt = (n: number) => n.toFixed(2).padStart(8);

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-'));
  const fake = await startChild([join(root, 'test/support/fake-upstream-server.ts'), '20'], {}, /(http:\S+)/);
  const upstreamUrl = fake.match[1]!;
  const proxy = await startChild(
    [join(root, 'packages/proxy/dist/cli.js')],
    {
      PORT: '0',
      OPENAI_BASE_URL: upstreamUrl,
      OPENAI_API_KEY: 'sk-bench',
      PARLEY_MODEL: 'fake-model',
      PARLEY_DATA_DIR: dataDir,
      PARLEY_LOG: 'silent',
      ...UNLIMITED, // this bench measures the proxy's own path; test/bench/security.ts measures limits
    },
    /listening on (http:\S+)/,
  );
  const proxyUrl = proxy.match[1]!;
  const chatBody = {
    model: 'fake-model',
    stream: true,
    messages: [{ role: 'user', content: 'Hello there' }],
  };
  const rows: Array<Record<string, number | string>> = [];
  try {
    // Warm up both paths (JIT, connection pools, the store).
    for (let i = 0; i < 50; i++) {
      await timed(`${upstreamUrl}/chat/completions`, chatBody);
      await timed(`${proxyUrl}/v1/chat/completions`, chatBody);
    }
    const assistant = await json(`${proxyUrl}/v1/assistants`, {
      model: 'fake-model',
      name: 'Bench',
      instructions: 'Be brief.',
    });

    for (const concurrency of LEVELS) {
      const total = REQUESTS[concurrency]!;
      const direct = await level(concurrency, total, () =>
        timed(`${upstreamUrl}/chat/completions`, chatBody),
      );
      const chat = await level(concurrency, total, () => timed(`${proxyUrl}/v1/chat/completions`, chatBody));
      // One thread per run (a thread allows one active run); thread setup is not timed.
      const threads = await Promise.all(
        Array.from({ length: total }, () =>
          json(`${proxyUrl}/v1/threads`, { messages: [{ role: 'user', content: 'Hello there' }] }),
        ),
      );
      const runs = await level(concurrency, total, (i) =>
        timed(`${proxyUrl}/v1/threads/${threads[i]!.id}/runs`, { assistant_id: assistant.id, stream: true }),
      );
      for (const [path, result] of [
        ['direct', direct],
        ['chat via proxy', chat],
        ['run via proxy', runs],
      ] as const) {
        rows.push({
          concurrency,
          path,
          ttft_p50: percentile(result.firsts, 50),
          ttft_p99: percentile(result.firsts, 99),
          total_p50: percentile(result.totals, 50),
          total_p99: percentile(result.totals, 99),
          per_second: result.perSecond,
          added_ttft_p50:
            path === 'direct' ? 0 : percentile(result.firsts, 50) - percentile(direct.firsts, 50),
          added_ttft_p99:
            path === 'direct' ? 0 : percentile(result.firsts, 99) - percentile(direct.firsts, 99),
        });
      }
    }
    const rss = rssPeakMb(proxy.child.pid!);
    console.log('\nParley proxy benchmark (fake upstream, 20-token replies, loopback; times in ms)\n');
    console.log(
      'conc  path              ttft p50 ttft p99  total p50 total p99   added p50 added p99   per s',
    );
    for (const row of rows) {
      console.log(
        `${String(row['concurrency']).padStart(4)}  ${String(row['path']).padEnd(16)}${fmt(row['ttft_p50'] as number)} ${fmt(row['ttft_p99'] as number)}  ${fmt(row['total_p50'] as number)} ${fmt(row['total_p99'] as number)}   ${fmt(row['added_ttft_p50'] as number)} ${fmt(row['added_ttft_p99'] as number)}  ${(row['per_second'] as number).toFixed(0).padStart(6)}`,
      );
    }
    console.log(`\nproxy peak RSS: ${rss.toFixed(1)} MB`);
    mkdirSync(join(root, 'test/artifacts'), { recursive: true });
    writeFileSync(
      join(root, 'test/artifacts/bench-proxy.json'),
      `${JSON.stringify({ rows, peakRssMb: rss }, null, 2)}\n`,
    );
  } finally {
    proxy.child.kill('SIGTERM');
    fake.child.kill('SIGTERM');
    agent.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
