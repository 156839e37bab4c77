// Proxy benchmark: time to first token and total time for streams through the proxy versus straight to
// the same fake upstream, for chat pass-through and for Assistants runs; turns per second; the proxy's
// peak RSS. Prints two tables and writes test/artifacts/bench-proxy.json:
//   - streams paced like a model (first token after 200 ms, then 50 tokens/s) at 1, 50 and 200
//     concurrent streams: what a player waits for on a loaded proxy, and where the targets are read;
//   - saturation: an upstream that answers at once, each client sending its next request the moment the
//     last ends, at 1, 50 and 200 concurrent: the throughput ceiling. Past it, "added" is queueing.
// The proxy and the fake upstream each run in their own process, as they would in production.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monotonicUs, PACED_MODEL } from '../support/fake-upstream.ts';
import { UNLIMITED } from '../support/limits.ts';
import { threadStats } from '../support/proc.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const PACE = { firstMs: 200, gapMs: 20 };
/** Each table: its upstream model, and how many requests to time at each concurrency. */
/** How long one paced stream lasts: the first chunk, then the rest of its 25 frames. */
const PACED_STREAM_MS = PACE.firstMs + 24 * PACE.gapMs;
const TABLES = [
  {
    name: 'paced',
    model: PACED_MODEL,
    // At 200, ten requests a client: five left the figures to the ramp up and down as much as to the
    // steady state of 200 open streams.
    requests: new Map([
      [1, 40],
      [50, 500],
      [200, 2000],
    ]),
    spreadMs: PACED_STREAM_MS,
  },
  {
    name: 'saturation',
    model: 'fake-model',
    requests: new Map([
      [1, 500],
      [50, 1000],
      [200, 1000],
    ]),
    spreadMs: 0,
  },
] as const;
const MARK = 'word0'; // the first content token of every fake reply
/** What a paced reply's first word carries after it: when the upstream got the request and sent the word. */
const STAMP = /word0 t(\d+)_(\d+)/;

/** One timed request: ms to the first content token and to the end, and (paced) ms spent outside the upstream. */
interface Timing {
  first: number;
  total: number;
  /**
   * From sending the request until the upstream had it, plus from the upstream writing the first token until
   * it arrived here: the whole path minus the upstream's own time, measured on the clock every process shares,
   * so pauses of the fake upstream (which shares a CPU with this client) fall out of it.
   */
  outside?: number;
}

/**
 * With two cores or more and `taskset`, the proxy gets CPU 0 and the load (this client and the fake
 * upstream) CPU 1: the nearest this machine comes to a load generator on another host. Otherwise all
 * share every core, and the proxy's figures include waiting for the load generator's CPU.
 * `PARLEY_BENCH_PIN=0` runs unpinned on purpose.
 */
const pinned =
  process.env['PARLEY_BENCH_PIN'] !== '0' &&
  availableParallelism() >= 2 &&
  spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' }).status === 0;
/**
 * A proxy on one CPU runs as the proxy README advises for one CPU (and its CLI says when started without):
 * `--single-threaded-gc` (V8's GC helper threads only take turns with the main thread there) and
 * `--max-semi-space-size=16` (young-generation collections that stop the streams for ~6–12 ms, not ~15–30).
 * `PARLEY_BENCH_GC=default` leaves Node's defaults, to compare.
 */
const oneCpuFlags =
  pinned && !['default', 'parallel'].includes(process.env['PARLEY_BENCH_GC'] ?? '')
    ? ['--single-threaded-gc', '--max-semi-space-size=16']
    : [];

function startChild(
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
  cpu: 0 | 1,
): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  return new Promise((resolve, reject) => {
    const [command, ...rest] = pinned
      ? ['taskset', '-c', String(cpu), process.execPath, ...args]
      : [process.execPath, ...args];
    const child = spawn(command!, rest, {
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

/** One request; resolves with its {@link Timing}. */
function timed(url: string, body: unknown): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let sentUs = 0;
    let first = -1;
    let firstUs = 0;
    let outside: number | undefined;
    let tail = '';
    let stamped = '';
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
            const at = seen.indexOf(MARK);
            if (at >= 0) {
              first = performance.now() - started;
              firstUs = monotonicUs();
              stamped = seen.slice(at);
            }
            tail = seen.slice(-MARK.length); // a token split across reads is still found
          } else if (outside === undefined && stamped.length < 256) stamped += data.toString();
          if (first >= 0 && outside === undefined) {
            const stamp = STAMP.exec(stamped);
            if (stamp) outside = (Number(stamp[1]) - sentUs + (firstUs - Number(stamp[2]))) / 1000;
          }
        });
        res.on('end', () =>
          resolve({
            first,
            total: performance.now() - started,
            ...(outside === undefined ? {} : { outside }),
          }),
        );
      },
    );
    req.on('error', reject);
    sentUs = monotonicUs();
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

/** CPU milliseconds each kind of the proxy's threads has used so far (Linux `/proc`; undefined elsewhere). */
function proxyCpu(
  pid: number | undefined,
): Record<'main' | 'store' | 'helpers' | 'other', number> | undefined {
  if (pid === undefined) return undefined;
  try {
    const used = { main: 0, store: 0, helpers: 0, other: 0 };
    for (const { tid, name, cpuMs } of threadStats(pid)) {
      const kind =
        tid === String(pid)
          ? 'main'
          : name === 'parley-pglite'
            ? 'store'
            : name.startsWith('V8')
              ? 'helpers'
              : 'other';
      used[kind] += cpuMs;
    }
    return used;
  } catch {
    return undefined;
  }
}

/** The proxy under test, whose threads' CPU each level reads. */
let proxyPid: number | undefined;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/**
 * Times `total` requests from `concurrency` clients, each sending its next when the last ends. One
 * untimed request per client goes first (indices from `total` on), so connections are open and the
 * figures are the steady state, not `concurrency` connection set-ups at once. With `spreadMs`, client k
 * starts k/concurrency of it late: paced streams all last the same time, so clients started together
 * would stay in lockstep and arrive in waves of `concurrency` at once, which players do not.
 */
async function level(concurrency: number, total: number, one: (i: number) => Promise<Timing>, spreadMs = 0) {
  await Promise.all(Array.from({ length: concurrency }, (_, i) => one(total + i)));
  const firsts: number[] = [];
  const totals: number[] = [];
  const outsides: number[] = [];
  let next = 0;
  const before = proxyCpu(proxyPid);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, client) => {
      if (spreadMs > 0)
        await new Promise((resolve) => setTimeout(resolve, (client / concurrency) * spreadMs));
      while (next < total) {
        const i = next++;
        const result = await one(i);
        firsts.push(result.first);
        totals.push(result.total);
        if (result.outside !== undefined) outsides.push(result.outside);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const after = proxyCpu(proxyPid);
  // The proxy's CPU per request while the level ran, by thread kind (ms).
  const cpu =
    before && after
      ? {
          main: (after.main - before.main) / total,
          store: (after.store - before.store) / total,
          helpers: (after.helpers - before.helpers) / total,
          all:
            (after.main +
              after.store +
              after.helpers +
              after.other -
              (before.main + before.store + before.helpers + before.other)) /
            total,
        }
      : undefined;
  return { firsts, totals, outsides, cpu, perSecond: total / seconds };
}

function rssPeakMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(status.match(/VmHWM:\s+(\d+)/)?.[1] ?? Number.NaN);
  return kb / 1024;
}

const fmt = (n: number) => n.toFixed(2).padStart(8);

type Row = Record<string, number | string>;

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-'));
  const fake = await startChild(
    [join(root, 'test/support/fake-upstream-server.ts'), '20', String(PACE.firstMs), String(PACE.gapMs)],
    {},
    /(http:\S+)/,
    1,
  );
  const upstreamUrl = fake.match[1]!;
  const proxy = await startChild(
    [...oneCpuFlags, join(root, 'packages/proxy/dist/cli.js')],
    {
      PORT: '0',
      OPENAI_BASE_URL: upstreamUrl,
      OPENAI_API_KEY: 'sk-bench',
      PARLEY_MODEL: 'fake-model',
      PARLEY_MODELS: PACED_MODEL,
      PARLEY_DATA_DIR: dataDir,
      PARLEY_LOG: 'silent',
      ...UNLIMITED, // this bench measures the proxy's own path; test/bench/security.ts measures limits
    },
    /listening on (http:\S+)/,
    0,
  );
  const proxyUrl = proxy.match[1]!;
  proxyPid = proxy.child.pid;
  const chatBody = (model: string) => ({
    model,
    stream: true,
    messages: [{ role: 'user', content: 'Hello there' }],
  });
  const rows: Row[] = [];
  try {
    // Warm up both paths (JIT, connection pools, the store).
    for (let i = 0; i < 50; i++) {
      await timed(`${upstreamUrl}/chat/completions`, chatBody('fake-model'));
      await timed(`${proxyUrl}/v1/chat/completions`, chatBody('fake-model'));
    }
    for (const table of TABLES) {
      const assistant = await json(`${proxyUrl}/v1/assistants`, {
        model: table.model,
        name: 'Bench',
        instructions: 'Be brief.',
      });
      const body = chatBody(table.model);
      for (const [concurrency, total] of table.requests) {
        const { spreadMs } = table;
        const direct = await level(
          concurrency,
          total,
          () => timed(`${upstreamUrl}/chat/completions`, body),
          spreadMs,
        );
        const chat = await level(
          concurrency,
          total,
          () => timed(`${proxyUrl}/v1/chat/completions`, body),
          spreadMs,
        );
        // One thread per run (a thread allows one active run), warm-up included; not timed.
        const threads: Array<{ id: string }> = [];
        for (let i = 0; i < total + concurrency; i += 50) {
          const batch = Array.from({ length: Math.min(50, total + concurrency - i) }, () =>
            json(`${proxyUrl}/v1/threads`, { messages: [{ role: 'user', content: 'Hello there' }] }),
          );
          threads.push(...(await Promise.all(batch)));
        }
        const runs = await level(
          concurrency,
          total,
          (i) =>
            timed(`${proxyUrl}/v1/threads/${threads[i]!.id}/runs`, {
              assistant_id: assistant.id,
              stream: true,
            }),
          spreadMs,
        );
        for (const [path, result] of [
          ['direct', direct],
          ['chat via proxy', chat],
          ['run via proxy', runs],
        ] as const) {
          rows.push({
            table: table.name,
            concurrency,
            path,
            requests: total,
            ttft_p50: percentile(result.firsts, 50),
            ttft_p99: percentile(result.firsts, 99),
            total_p50: percentile(result.totals, 50),
            total_p99: percentile(result.totals, 99),
            per_second: result.perSecond,
            added_ttft_p50:
              path === 'direct' ? 0 : percentile(result.firsts, 50) - percentile(direct.firsts, 50),
            added_ttft_p99:
              path === 'direct' ? 0 : percentile(result.firsts, 99) - percentile(direct.firsts, 99),
            ...(result.cpu && path !== 'direct'
              ? {
                  cpu_main: result.cpu.main,
                  cpu_store: result.cpu.store,
                  cpu_helpers: result.cpu.helpers,
                  cpu_all: result.cpu.all,
                }
              : {}),
            ...(result.outsides.length === 0
              ? {}
              : {
                  outside_p50: percentile(result.outsides, 50),
                  outside_p99: percentile(result.outsides, 99),
                  added_outside_p50:
                    path === 'direct' ? 0 : percentile(result.outsides, 50) - percentile(direct.outsides, 50),
                  added_outside_p99:
                    path === 'direct' ? 0 : percentile(result.outsides, 99) - percentile(direct.outsides, 99),
                }),
          });
        }
      }
    }
    const rss = rssPeakMb(proxy.child.pid!);
    console.log(
      pinned
        ? `\nCPUs: the proxy (with its store worker) on CPU 0, ${oneCpuFlags.length > 0 ? `with ${oneCpuFlags.join(' ')} as advised for one CPU (PARLEY_BENCH_GC=default: without)` : "with Node's default GC"}; this client and the fake upstream on CPU 1.`
        : '\nCPUs: unpinned (taskset or a second core missing): proxy, client and fake upstream share them.',
    );
    for (const table of TABLES) {
      console.log(
        table.name === 'paced'
          ? `\nStreams paced like a model (first chunk after ${PACE.firstMs} ms, then one every ${PACE.gapMs} ms; 20 tokens; clients spread over one stream's ${PACED_STREAM_MS} ms; times in ms)\n`
          : '\nSaturation (upstream answers at once, closed loop: the throughput ceiling; times in ms)\n',
      );
      console.log(
        'conc  path              ttft p50 ttft p99  total p50 total p99   added p50 added p99   per s',
      );
      for (const row of rows.filter((r) => r['table'] === table.name)) {
        console.log(
          `${String(row['concurrency']).padStart(4)}  ${String(row['path']).padEnd(16)}${fmt(row['ttft_p50'] as number)} ${fmt(row['ttft_p99'] as number)}  ${fmt(row['total_p50'] as number)} ${fmt(row['total_p99'] as number)}   ${fmt(row['added_ttft_p50'] as number)} ${fmt(row['added_ttft_p99'] as number)}  ${(row['per_second'] as number).toFixed(0).padStart(6)}`,
        );
      }
    }
    console.log(
      "\nPaced, the time outside the upstream (stamped by it: from sending the request until the upstream had it, plus from the upstream writing the first token until it arrived; the upstream's own pauses fall out)\n",
    );
    console.log('conc  path              own p50  own p99   added p50 added p99');
    for (const row of rows.filter((r) => r['table'] === 'paced' && r['outside_p50'] !== undefined)) {
      console.log(
        `${String(row['concurrency']).padStart(4)}  ${String(row['path']).padEnd(16)}${fmt(row['outside_p50'] as number)} ${fmt(row['outside_p99'] as number)}   ${fmt(row['added_outside_p50'] as number)} ${fmt(row['added_outside_p99'] as number)}`,
      );
    }
    const cpuRows = rows.filter((r) => r['cpu_all'] !== undefined);
    if (cpuRows.length > 0) {
      console.log(
        "\nThe proxy's CPU per request while each level ran (ms, from /proc: its main thread, the store's worker, V8's helper threads, all threads)\n",
      );
      console.log('table       conc  path                 main    store  helpers      all');
      for (const row of cpuRows) {
        console.log(
          `${String(row['table']).padEnd(10)}${String(row['concurrency']).padStart(6)}  ${String(row['path']).padEnd(16)}${fmt(row['cpu_main'] as number)} ${fmt(row['cpu_store'] as number)} ${fmt(row['cpu_helpers'] as number)} ${fmt(row['cpu_all'] as number)}`,
        );
      }
    }
    console.log(`\nproxy peak RSS: ${rss.toFixed(1)} MB`);
    mkdirSync(join(root, 'test/artifacts'), { recursive: true });
    writeFileSync(
      join(root, 'test/artifacts/bench-proxy.json'),
      `${JSON.stringify({ pinned, nodeFlags: oneCpuFlags, pace: PACE, rows, peakRssMb: rss }, null, 2)}\n`,
    );
  } finally {
    proxy.child.kill('SIGTERM');
    fake.child.kill('SIGTERM');
    agent.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
