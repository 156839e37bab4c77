// Proxy benchmark (`pnpm bench proxy`): what Parley adds to the time to first token, against calling the fake
// upstream directly and against a naive pass-through (`naive-proxy.ts`, issue #17), for chat pass-through
// (`POST /v1/chat/completions`) and for runs (`POST /v1/threads/runs`, the Assistants path), streams paced like
// a model at 1, 50 and 200 concurrent streams. Then each path's throughput ceiling, the proxies' CPU per
// request, and Parley's idle RSS once the load is over. Writes test/artifacts/bench-proxy.json too.
//
// Unpinned by default: proxy, naive peer, fake upstream and this client share the machine's cores, as they
// would on a studio's small VM. `PARLEY_BENCH_PIN=1` puts both proxies on CPU 0 and the load (this client and
// the fake upstream) on CPU 1, the nearest this machine comes to a load generator on another host.
// Every server runs in its own process, as it would in production.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monotonicUs, PACED_MODEL } from '../support/fake-upstream.ts';
import { UNLIMITED } from '../support/limits.ts';
import { threadStats } from '../support/proc.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

/** Paced like a model: the first token 200 ms after the request, then 50 tokens a second. */
const PACE = { firstTokenMs: 200, gapMs: 20 };
const WORDS = 20;
/**
 * Frames the fake upstream writes before the first word (a keep-alive comment, an empty-`choices` chunk, the
 * role chunk), each followed by one gap: it is told to open the stream that much earlier, so the first word
 * leaves it at {@link PACE}'s `firstTokenMs`.
 */
const PREAMBLE_FRAMES = 3;
/** How long one paced stream lasts, about: the first word, then the other words and the finish chunk. */
const STREAM_MS = PACE.firstTokenMs + WORDS * PACE.gapMs;
/**
 * Requests timed a path at each concurrency. At 1 stream they take most of the bench's time (a stream lasts
 * ~0.6 s), so 50 there, whose p99 is their slowest; at 200, ten a client, so the figures rest on the steady
 * state of 200 open streams more than on the ramp up and down.
 */
const LEVELS = [
  { concurrency: 1, requests: 50 },
  { concurrency: 50, requests: 1000 },
  { concurrency: 200, requests: 2000 },
] as const;
/** The throughput ceiling: an upstream that answers at once, each client sending again the moment it is done. */
const CEILING = { concurrency: 200, requests: 2000 } as const;
/** Issue #17's targets, read at 200 streams (set for the unpinned machine). */
const TARGETS = {
  chatVsNaiveP50: 1,
  chatAddedP99: 8,
  runsAddedP50: 3,
  runsAddedP99: 10,
  idleRssMb: 250,
};

const MARK = 'word0'; // the first content token of every fake reply
/** What a paced reply's first word carries after it: when the upstream got the request and sent the word. */
const STAMP = /word0 t(\d+)_(\d+)/;

type Path = 'direct' | 'naive' | 'chat' | 'runs';
const PATHS: readonly Path[] = ['direct', 'naive', 'chat', 'runs'];
const LABEL: Record<Path, string> = {
  direct: 'direct',
  naive: 'naive peer',
  chat: 'Parley chat',
  runs: 'Parley runs',
};

/** One timed request: ms to the first content token and to the end, and (paced) ms spent outside the upstream. */
interface Timing {
  first: number;
  total: number;
  /**
   * From sending the request until the upstream had it, plus from the upstream writing the first token until
   * it arrived here, on the monotonic clock every process shares: the whole path minus the upstream's own
   * time, so the fake upstream's pauses (it shares a CPU with this client) fall out of it.
   */
  outside?: number;
}

/** `PARLEY_BENCH_PIN=1`, two cores or more and `taskset`: this process moves to CPU 1 here. */
const pinned =
  process.env['PARLEY_BENCH_PIN'] === '1' &&
  availableParallelism() >= 2 &&
  spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' }).status === 0;
/**
 * Pinned, Parley runs on one CPU, and so as its README advises there: `--single-threaded-gc` (V8's GC helpers
 * could only take turns with the main thread) and `--max-semi-space-size=16` (shorter young-generation pauses).
 * The naive peer runs with Node's defaults, as its developer would run it.
 */
const oneCpuFlags = pinned ? ['--single-threaded-gc', '--max-semi-space-size=16'] : [];

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

/** One streamed request; resolves with its {@link Timing}. */
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
          res.on('end', () => reject(new Error(`${url}: HTTP ${res.statusCode}: ${text}`)));
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

type Cpu = Record<'main' | 'store' | 'helpers' | 'all', number>;

/** CPU milliseconds a process's threads have used so far, by kind (Linux `/proc`; undefined elsewhere). */
function cpuOf(pid: number | undefined): Cpu | undefined {
  if (pid === undefined) return undefined;
  try {
    const used = { main: 0, store: 0, helpers: 0, all: 0 };
    for (const { tid, name, cpuMs } of threadStats(pid)) {
      if (tid === String(pid)) used.main += cpuMs;
      else if (name === 'parley-pglite') used.store += cpuMs;
      else if (name.startsWith('V8')) used.helpers += cpuMs;
      used.all += cpuMs;
    }
    return used;
  } catch {
    return undefined;
  }
}

/** The machine's cores (`availableParallelism` counts only those this process may use, one when pinned). */
const CORES = cpus().length;
/** Every process of the bench, this one aside: their CPU is not "other work on the machine". */
const benchPids: number[] = [];

/**
 * CPU milliseconds the bench's processes and the whole machine have used so far: the difference is other work
 * (tests, builds), which on a shared machine takes cores from the bench (Linux `/proc/stat`).
 */
function cpuSoFar(): { bench: number; machine: number } | undefined {
  try {
    // user nice system idle iowait irq softirq steal (guest time is already in user), in 10 ms ticks
    const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const busy = ticks.slice(0, 8).reduce((sum, n, i) => (i === 3 || i === 4 ? sum : sum + n), 0);
    const own = process.cpuUsage();
    const children = benchPids.reduce((sum, pid) => sum + (cpuOf(pid)?.all ?? 0), 0);
    return { bench: (own.user + own.system) / 1000 + children, machine: busy * 10 };
  } catch {
    return undefined;
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

interface LevelResult {
  firsts: number[];
  outsides: number[];
  perSecond: number;
  /** Share of the machine's cores that other work used while the level ran (%). */
  othersPct?: number;
  /** CPU per request of the process serving the path while the level ran (ms). */
  cpu?: Cpu;
}

/**
 * Times `total` requests from `concurrency` clients, each sending its next when the last ends. One untimed
 * request per client goes first, so connections are open and the figures are the steady state, not
 * `concurrency` connection set-ups at once. With `spreadMs`, client k starts k/concurrency of it late: paced
 * streams all last the same time, so clients started together would stay in lockstep and arrive in waves of
 * `concurrency` at once, which players do not.
 */
async function level(
  concurrency: number,
  total: number,
  one: () => Promise<Timing>,
  server: number | undefined,
  spreadMs: number,
): Promise<LevelResult> {
  await Promise.all(Array.from({ length: concurrency }, one));
  const firsts: number[] = [];
  const outsides: number[] = [];
  let next = 0;
  const before = cpuOf(server);
  const machineBefore = cpuSoFar();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, client) => {
      if (spreadMs > 0)
        await new Promise((resolve) => setTimeout(resolve, (client / concurrency) * spreadMs));
      while (next < total) {
        next++;
        const result = await one();
        firsts.push(result.first);
        if (result.outside !== undefined) outsides.push(result.outside);
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  const perSecond = total / (elapsedMs / 1000);
  const after = cpuOf(server);
  const machineAfter = cpuSoFar();
  const othersPct =
    machineBefore && machineAfter
      ? (100 * (machineAfter.machine - machineBefore.machine - (machineAfter.bench - machineBefore.bench))) /
        (elapsedMs * CORES)
      : undefined;
  const cpu =
    before && after
      ? {
          main: (after.main - before.main) / total,
          store: (after.store - before.store) / total,
          helpers: (after.helpers - before.helpers) / total,
          all: (after.all - before.all) / total,
        }
      : undefined;
  return {
    firsts,
    outsides,
    perSecond,
    ...(cpu ? { cpu } : {}),
    ...(othersPct === undefined ? {} : { othersPct }),
  };
}

function rssMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(status.match(new RegExp(`${field}:\\s+(\\d+)`))?.[1] ?? Number.NaN) / 1024;
}

/**
 * The RSS once the process has settled: sampled every second until five samples in a row lie within 2 MB
 * (or a minute has passed). Nothing here forces a collection: this is what the process holds when left alone.
 */
async function settledRssMb(pid: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 60; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    samples.push(rssMb(pid, 'VmRSS'));
    const last = samples.slice(-5);
    if (last.length === 5 && Math.max(...last) - Math.min(...last) < 2) break;
  }
  return samples.at(-1)!;
}

const num = (n: number | undefined, width = 8) =>
  (n === undefined || Number.isNaN(n) ? '—' : n.toFixed(2)).padStart(width);
const signed = (n: number) => `${n >= 0 ? '+' : ''}${n.toFixed(2)}`;

interface Row {
  concurrency: number;
  requests: number;
  path: Path;
  ttftP50: number;
  ttftP99: number;
  outsideP50: number;
  outsideP99: number;
  vsDirectP50?: number;
  vsDirectP99?: number;
  vsNaiveP50?: number;
  vsNaiveP99?: number;
  outsideVsDirectP50?: number;
  outsideVsDirectP99?: number;
  outsideVsNaiveP50?: number;
  outsideVsNaiveP99?: number;
  perSecond: number;
  cpu?: Cpu;
  othersPct?: number;
}

/**
 * One level's rows. Runs are compared with the naive peer's chat stream: the naive peer has no runs, and what
 * a run adds beyond relaying the same model stream is what this comparison is for.
 */
function rowsOf(concurrency: number, requests: number, results: Record<Path, LevelResult>): Row[] {
  const at = (path: Path, p: number, of: 'firsts' | 'outsides') => percentile(results[path][of], p);
  return PATHS.map((path) => {
    const versus = (base: Path, of: 'firsts' | 'outsides', p: number) => at(path, p, of) - at(base, p, of);
    const { cpu, othersPct } = results[path];
    return {
      concurrency,
      requests,
      path,
      ttftP50: at(path, 50, 'firsts'),
      ttftP99: at(path, 99, 'firsts'),
      outsideP50: at(path, 50, 'outsides'),
      outsideP99: at(path, 99, 'outsides'),
      ...(path === 'direct'
        ? {}
        : {
            vsDirectP50: versus('direct', 'firsts', 50),
            vsDirectP99: versus('direct', 'firsts', 99),
            outsideVsDirectP50: versus('direct', 'outsides', 50),
            outsideVsDirectP99: versus('direct', 'outsides', 99),
          }),
      ...(path === 'chat' || path === 'runs'
        ? {
            vsNaiveP50: versus('naive', 'firsts', 50),
            vsNaiveP99: versus('naive', 'firsts', 99),
            outsideVsNaiveP50: versus('naive', 'outsides', 50),
            outsideVsNaiveP99: versus('naive', 'outsides', 99),
          }
        : {}),
      perSecond: results[path].perSecond,
      ...(cpu && path !== 'direct' ? { cpu } : {}),
      ...(othersPct === undefined ? {} : { othersPct }),
    };
  });
}

function printAdded(rows: Row[], outside: boolean) {
  const [p50, p99] = outside ? ['own p50', 'own p99'] : ['ttft p50', 'ttft p99'];
  console.log(
    `streams  path          requests${p50.padStart(10)}${p99.padStart(10)} │ vs direct p50      p99 │ vs naive p50      p99 │  per s`,
  );
  for (const row of rows) {
    const figures = outside
      ? [
          row.outsideP50,
          row.outsideP99,
          row.outsideVsDirectP50,
          row.outsideVsDirectP99,
          row.outsideVsNaiveP50,
          row.outsideVsNaiveP99,
        ]
      : [row.ttftP50, row.ttftP99, row.vsDirectP50, row.vsDirectP99, row.vsNaiveP50, row.vsNaiveP99];
    const [a50, a99, d50, d99, n50, n99] = figures;
    console.log(
      `${String(row.concurrency).padStart(7)}  ${LABEL[row.path].padEnd(12)}${String(row.requests).padStart(10)}${num(a50, 10)}${num(a99, 10)} │${num(d50, 14)} ${num(d99, 8)} │${num(n50, 13)} ${num(n99, 8)} │${row.perSecond.toFixed(0).padStart(7)}`,
    );
  }
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-'));
  const fake = await startChild(
    [
      join(root, 'test/support/fake-upstream-server.ts'),
      String(WORDS),
      String(PACE.firstTokenMs - PREAMBLE_FRAMES * PACE.gapMs),
      String(PACE.gapMs),
    ],
    {},
    /(http:\S+)/,
    1,
  );
  const upstreamUrl = fake.match[1]!;
  const children: ChildProcess[] = [fake.child];
  try {
    const naive = await startChild(
      [join(here, 'naive-proxy.ts')],
      { UPSTREAM_URL: upstreamUrl, OPENAI_API_KEY: 'sk-bench' },
      /listening on (http:\S+)/,
      0,
    );
    children.push(naive.child);
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
    children.push(proxy.child);
    for (const child of children) if (child.pid !== undefined) benchPids.push(child.pid);
    const proxyPid = proxy.child.pid!;
    const naiveUrl = naive.match[1]!;
    const proxyUrl = proxy.match[1]!;
    const store = process.env['DATABASE_URL'] ? 'PostgreSQL (DATABASE_URL)' : 'embedded PGlite';

    const chatBody = (model: string) => ({
      model,
      stream: true,
      messages: [{ role: 'user', content: 'Hello there' }],
    });
    const runBody = (assistantId: string) => ({
      assistant_id: assistantId,
      stream: true,
      thread: { messages: [{ role: 'user', content: 'Hello there' }] },
    });
    const paced = await json(`${proxyUrl}/v1/assistants`, {
      model: PACED_MODEL,
      name: 'Bench',
      instructions: 'Be brief.',
    });
    const unpaced = await json(`${proxyUrl}/v1/assistants`, {
      model: 'fake-model',
      name: 'Bench',
      instructions: 'Be brief.',
    });
    const request = (path: Path, model: string): (() => Promise<Timing>) => {
      const body = chatBody(model);
      const assistant = model === PACED_MODEL ? paced : unpaced;
      switch (path) {
        case 'direct':
          return () => timed(`${upstreamUrl}/chat/completions`, body);
        case 'naive':
          return () => timed(`${naiveUrl}/v1/chat/completions`, body);
        case 'chat':
          return () => timed(`${proxyUrl}/v1/chat/completions`, body);
        case 'runs':
          return () => timed(`${proxyUrl}/v1/threads/runs`, runBody(assistant.id));
      }
    };
    const serverOf = (path: Path) =>
      path === 'naive' ? naive.child.pid : path === 'direct' ? undefined : proxyPid;

    // Warm up every path (JIT, connection pools, the store), unpaced.
    for (let i = 0; i < 50; i++) for (const path of PATHS) await request(path, 'fake-model')();
    const startRss = await settledRssMb(proxyPid);

    const rows: Row[] = [];
    for (const { concurrency, requests } of LEVELS) {
      const results = {} as Record<Path, LevelResult>;
      for (const path of PATHS) {
        results[path] = await level(
          concurrency,
          requests,
          request(path, PACED_MODEL),
          serverOf(path),
          STREAM_MS,
        );
      }
      rows.push(...rowsOf(concurrency, requests, results));
    }
    const ceiling = {} as Record<Path, number>;
    for (const path of PATHS) {
      const result = await level(
        CEILING.concurrency,
        CEILING.requests,
        request(path, 'fake-model'),
        undefined,
        0,
      );
      ceiling[path] = result.perSecond;
    }
    const idleRss = await settledRssMb(proxyPid);
    const peakRss = rssMb(proxyPid, 'VmHWM');

    console.log(
      pinned
        ? `\nCPUs: pinned (PARLEY_BENCH_PIN=1): Parley (with its store's worker) and the naive peer on CPU 0, Parley with ${oneCpuFlags.join(' ')} as its README advises for one CPU; this client and the fake upstream on CPU 1.`
        : `\nCPUs: unpinned${process.env['PARLEY_BENCH_PIN'] === '1' ? ' (PARLEY_BENCH_PIN=1 asked, but taskset or a second core is missing)' : ''}: Parley, the naive peer, the fake upstream and this client share all ${CORES} cores. PARLEY_BENCH_PIN=1 pins.`,
    );
    console.log(`Store: ${store}, in a fresh data directory.`);
    console.log(
      `\nAdded time to first token (ms). Streams paced like a model: the first token ${PACE.firstTokenMs} ms after the request, then one every ${PACE.gapMs} ms, ${WORDS} tokens; clients spread over one stream's ~${STREAM_MS} ms, each sending its next request when its stream ends. "vs direct": minus the same percentile straight to the fake upstream; "vs naive": minus the naive peer's (chat pass-through for both rows: the naive peer has no runs). At 1 stream, p99 is the slowest of ${LEVELS[0].requests}. "per s": streams a second the path served (direct: what the clients offer; fewer is queueing).\n`,
    );
    printAdded(rows, false);
    console.log(
      "\nThe same, counting only the time outside the upstream (stamped by it: from sending the request until the upstream had it, plus from the upstream writing the first token until it arrived; the upstream's own pauses fall out)\n",
    );
    printAdded(rows, true);

    console.log(
      `\nCPU per request of the process serving the path while each level ran (ms, /proc; Parley: main thread, store worker, V8 helpers, all threads), and the share of the machine's ${CORES} cores that work outside the bench took meanwhile (tests, builds: on a shared machine they take cores from the bench)\n`,
    );
    console.log('streams  path                main    store  helpers      all   others %');
    for (const row of rows) {
      const { cpu } = row;
      const own =
        row.path === 'naive' ? [undefined, undefined, undefined] : [cpu?.main, cpu?.store, cpu?.helpers];
      console.log(
        `${String(row.concurrency).padStart(7)}  ${LABEL[row.path].padEnd(14)}${own.map((n) => num(n)).join(' ')} ${num(cpu?.all)} ${num(row.othersPct, 10)}`,
      );
    }
    const busiest = Math.max(...rows.map((r) => r.othersPct ?? 0));
    if (busiest > 10) {
      console.log(
        `(Work outside the bench took up to ${busiest.toFixed(0)} % of the cores during a level: those figures are the machine's, not only the proxies'.)`,
      );
    }

    console.log(
      `\nThroughput ceiling: ${CEILING.concurrency} clients, each sending its next request the moment the last ends, the upstream answering at once; ${CEILING.requests} requests a path (requests a second)\n`,
    );
    console.log(PATHS.map((path) => `${LABEL[path]} ${ceiling[path].toFixed(0)}`).join('   '));

    console.log(
      `\nParley's RSS (${store}): ${startRss.toFixed(1)} MB idle after start-up and warm-up, ${idleRss.toFixed(1)} MB idle after the bench settled, ${peakRss.toFixed(1)} MB peak`,
    );

    const at200 = (path: Path) => rows.find((r) => r.concurrency === 200 && r.path === path)!;
    const verdict = (value: number, limit: number) =>
      `${signed(value).padStart(8)}  ≤ ${String(limit).padEnd(4)}${value <= limit ? 'met' : 'MISSED'}`;
    console.log(
      `\nTargets (issue #17; set for 200 streams unpinned${pinned ? ', read here on a pinned run' : ''}):`,
    );
    console.log(
      `  chat, p50 vs naive peer (ms)      ${verdict(at200('chat').vsNaiveP50!, TARGETS.chatVsNaiveP50)}`,
    );
    console.log(
      `  chat, p99 vs direct (ms)          ${verdict(at200('chat').vsDirectP99!, TARGETS.chatAddedP99)}`,
    );
    console.log(
      `  runs, p50 vs direct (ms)          ${verdict(at200('runs').vsDirectP50!, TARGETS.runsAddedP50)}`,
    );
    console.log(
      `  runs, p99 vs direct (ms)          ${verdict(at200('runs').vsDirectP99!, TARGETS.runsAddedP99)}`,
    );
    console.log(
      `  idle RSS after the bench (MB)     ${idleRss.toFixed(1).padStart(8)}  ≤ ${String(TARGETS.idleRssMb).padEnd(4)}${idleRss <= TARGETS.idleRssMb ? 'met' : 'MISSED'}${store === 'embedded PGlite' ? '' : ' (the target is for embedded PGlite)'}`,
    );

    mkdirSync(join(root, 'test/artifacts'), { recursive: true });
    writeFileSync(
      join(root, 'test/artifacts/bench-proxy.json'),
      `${JSON.stringify({ pinned, nodeFlags: oneCpuFlags, pace: PACE, store, rows, ceiling, rssMb: { start: startRss, idle: idleRss, peak: peakRss } }, null, 2)}\n`,
    );
  } finally {
    for (const child of children) child.kill('SIGTERM');
    agent.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
