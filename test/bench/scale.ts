// `pnpm bench scale`: what sharing runs between instances costs (issue #18). In one run, on one PostgreSQL
// and one Redis: one instance, and two instances, each behind the same small round-robin balancer written
// here (so the balancer's hop is in both figures and falls out of the difference), streaming runs against a
// paced fake upstream. Reports time to first token (whole, and outside the upstream as its stamps tell) and
// turns per second at a few concurrency levels, and the same for a stream followed on the instance that
// did not start the run (the shared event log's path). Measures; never fails on a number.
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monotonicUs, PACED_MODEL } from '../support/fake-upstream.ts';
import { Instance, percentile } from '../support/instances.ts';
import { UNLIMITED } from '../support/limits.ts';
import { postgresAvailable, startPostgres } from '../support/postgres.ts';
import { redisAvailable, startRedis } from '../support/redis.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

/** The fake model: its first word 200 ms after the request, then one every 20 ms. */
const PACE = { firstMs: 200, gapMs: 20, words: 8 };
/** Concurrent streams, and turns timed at each. */
const LEVELS = [
  { concurrency: 1, turns: 20 },
  { concurrency: 20, turns: 300 },
  { concurrency: 100, turns: 600 },
] as const;
const MARK = 'word0';
const STAMP = /word0 t(\d+)_(\d+)/;

type Path = 'one' | 'two' | 'same' | 'across';
const LABEL: Record<Path, string> = {
  one: 'one instance, via the balancer',
  two: 'two instances, via the balancer',
  same: 'followed on the instance that started it',
  across: 'followed on the other instance',
};

/** One timed turn: ms to the first content token (-1: the stream ended without one), and ms of it spent outside the upstream (stamped). */
interface Timing {
  first: number;
  outside: number | undefined;
  /** Without a token: the events the stream held instead (name, and a run's status). */
  instead?: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });

/**
 * A round-robin balancer: each request goes to the next backend, body and answer piped through unbuffered
 * (as nginx with `proxy_buffering off`), keep-alive to the backends.
 */
async function startBalancer(backends: readonly string[]): Promise<{ url: string; close(): Promise<void> }> {
  let next = 0;
  const server = http.createServer((req, res) => {
    const target = new URL(req.url ?? '/', backends[next++ % backends.length]);
    const upstream = http.request(target, { method: req.method, headers: req.headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/**
 * Sends a request and resolves with the time to the first content token; `startedAt` (performance.now())
 * and `sentUs` (monotonic) are when the turn began, which for a followed stream is before its create.
 */
function firstToken(
  url: string,
  method: 'GET' | 'POST',
  body: unknown,
  startedAt = performance.now(),
  sentUs = monotonicUs(),
): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? '' : JSON.stringify(body);
    let first = -1;
    let firstUs = 0;
    let seen = '';
    let outside: number | undefined;
    const held: string[] = [];
    const req = http.request(
      url,
      {
        method,
        agent,
        headers:
          body === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        if (res.statusCode !== 200) {
          let text = '';
          res.on('data', (d: Buffer) => {
            text += d;
          });
          res.on('end', () => reject(new Error(`${method} ${url}: HTTP ${res.statusCode}: ${text}`)));
          return;
        }
        res.on('data', (data: Buffer) => {
          if (outside !== undefined) return;
          const text = data.toString();
          if (first < 0)
            for (const [, name, status] of text.matchAll(/^event: (\S+)\ndata: (?:.*?"status":"(\w+)")?/gm))
              held.push(status ? `${name} (${status})` : name!);
          seen += text;
          if (first < 0 && seen.includes(MARK)) {
            first = performance.now() - startedAt;
            firstUs = monotonicUs();
          }
          const stamp = first >= 0 ? STAMP.exec(seen) : null;
          if (stamp) outside = (Number(stamp[1]) - sentUs + (firstUs - Number(stamp[2]))) / 1000;
          else if (first < 0) seen = seen.slice(-256); // a token split across reads is still found
        });
        res.on('end', () =>
          resolve(first < 0 ? { first, outside, instead: held.join(', ') } : { first, outside }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Creates a run without streaming it and returns its thread and run ids. */
function createRun(url: string, body: unknown): Promise<{ thread_id: string; id: string }> {
  return fetch(`${url}/v1/threads/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }).then(async (res) => {
    if (!res.ok) throw new Error(`create: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as { thread_id: string; id: string };
  });
}

interface LevelResult {
  firsts: number[];
  outsides: number[];
  perSecond: number;
  /** Streams that ended without a token (a follower that saw none of the run's events). */
  missed: number;
  /** What the first of them held instead. */
  instead?: string;
}

/** `turns` turns from `concurrency` clients (each sends its next when the last ends), after one untimed each. */
async function level(concurrency: number, turns: number, one: () => Promise<Timing>): Promise<LevelResult> {
  await Promise.all(Array.from({ length: concurrency }, one));
  const firsts: number[] = [];
  const outsides: number[] = [];
  let missed = 0;
  let instead: string | undefined;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, client) => {
      // Staggered, so that paced streams do not arrive in waves of `concurrency`.
      await new Promise((ready) => setTimeout(ready, (client / concurrency) * PACE.firstMs));
      while (next < turns) {
        next++;
        const timing = await one();
        if (timing.first < 0) {
          missed++;
          instead ??= timing.instead;
          continue;
        }
        firsts.push(timing.first);
        if (timing.outside !== undefined) outsides.push(timing.outside);
      }
    }),
  );
  const perSecond = turns / ((performance.now() - started) / 1000);
  return { firsts, outsides, missed, perSecond, ...(instead === undefined ? {} : { instead }) };
}

/** Starts a Node script and resolves once it prints a URL. */
function startPrintingUrl(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (data: Buffer) => {
      out += data.toString();
      const url = /(http:\S+)/.exec(out)?.[1];
      if (url) resolve({ child, url });
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}`)));
  });
}

/** A balancer in a process of its own, as a real one would be: its work is not this client's. */
async function spawnBalancer(backends: string[]): Promise<ChildProcess & { url: string }> {
  const { child, url } = await startPrintingUrl([fileURLToPath(import.meta.url), '--balancer', ...backends]);
  return Object.assign(child, { url });
}

const num = (n: number, width = 9) => (Number.isNaN(n) ? '—' : n.toFixed(2)).padStart(width);

async function main(): Promise<void> {
  if (!postgresAvailable() || !redisAvailable()) {
    console.log('(skipped: needs PostgreSQL and Redis: apt-get install postgresql redis-server)');
    return;
  }
  const [postgres, redis, fake] = await Promise.all([
    startPostgres(),
    startRedis(),
    startPrintingUrl([
      join(root, 'test/support/fake-upstream-server.ts'),
      String(PACE.words),
      String(PACE.firstMs),
      String(PACE.gapMs),
    ]),
  ]);
  const instances: Instance[] = [];
  const balancers: ChildProcess[] = [];
  try {
    const env = {
      DATABASE_URL: postgres.url,
      REDIS_URL: redis.url,
      OPENAI_BASE_URL: fake.url,
      OPENAI_API_KEY: 'sk-bench',
      PARLEY_MODEL: 'fake-model',
      PARLEY_MODELS: PACED_MODEL,
      PARLEY_LOG: 'silent',
      ...UNLIMITED, // budgets are test/bench/security.ts's subject
    };
    for (const name of ['single', 'pair-1', 'pair-2']) instances.push(await Instance.start({ name, env }));
    const [single, first, second] = instances as [Instance, Instance, Instance];
    const one = await spawnBalancer([single.url]);
    const two = await spawnBalancer([first.url, second.url]);
    balancers.push(one, two);

    const assistant = await fetch(`${single.url}/v1/assistants`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: PACED_MODEL,
        name: 'Brom',
        instructions: 'You are Brom, the gate guard.',
      }),
    }).then((res) => res.json() as Promise<{ id: string }>);
    const body = (stream: boolean) => ({
      assistant_id: assistant.id,
      stream,
      thread: { messages: [{ role: 'user', content: 'Hello there' }] },
    });
    const followed = (starter: Instance, follower: Instance) => async (): Promise<Timing> => {
      const startedAt = performance.now();
      const sentUs = monotonicUs();
      const run = await createRun(starter.url, body(false));
      const events = `${follower.url}/v1/threads/${run.thread_id}/runs/${run.id}/events`;
      return firstToken(events, 'GET', undefined, startedAt, sentUs);
    };
    const turn: Record<Path, () => Promise<Timing>> = {
      one: () => firstToken(`${one.url}/v1/threads/runs`, 'POST', body(true)),
      two: () => firstToken(`${two.url}/v1/threads/runs`, 'POST', body(true)),
      same: followed(first, first),
      across: followed(first, second),
    };

    console.log(
      `PostgreSQL + Redis, fake model: first word after ${PACE.firstMs} ms, then one every ${PACE.gapMs} ms ` +
        `(${PACE.words} words); the balancer is a Node process of its own. "Outside" is the time to first token ` +
        "minus the upstream's own (its stamps): what the path adds.\n",
    );
    const header = `${'path'.padEnd(42)} ${'streams'.padStart(7)} ${'turns/s'.padStart(9)} ${'ttft p50'.padStart(9)} ${'p99'.padStart(9)} ${'added p50'.padStart(9)} ${'p99'.padStart(9)} ${'no token'.padStart(8)}`;
    const results: Array<{
      path: Path;
      concurrency: number;
      turnsPerSecond: number;
      ttft: number[];
      added: number[];
      missed: number;
    }> = [];
    for (const { concurrency, turns } of LEVELS) {
      console.log(header);
      const byPath = {} as Record<Path, LevelResult>;
      // Alternating order between levels, so that neither path always runs on a warmer machine.
      const order: Path[] =
        concurrency % 2 ? ['one', 'two', 'same', 'across'] : ['two', 'one', 'across', 'same'];
      for (const path of order) byPath[path] = await level(concurrency, turns, turn[path]);
      for (const path of ['one', 'two', 'same', 'across'] as const) {
        const r = byPath[path];
        const ttft = [percentile(r.firsts, 50), percentile(r.firsts, 99)];
        const added = [percentile(r.outsides, 50), percentile(r.outsides, 99)];
        results.push({ path, concurrency, turnsPerSecond: r.perSecond, ttft, added, missed: r.missed });
        console.log(
          `${LABEL[path].padEnd(42)} ${String(concurrency).padStart(7)} ${num(r.perSecond)} ${num(ttft[0]!)} ${num(ttft[1]!)} ${num(added[0]!)} ${num(added[1]!)} ${String(r.missed).padStart(8)}`,
        );
      }
      for (const path of ['one', 'two', 'same', 'across'] as const) {
        const instead = byPath[path].instead;
        if (instead !== undefined) console.log(`  ${LABEL[path]}, a stream without a token held: ${instead}`);
      }
      const cost = (a: Path, b: Path, p: 50 | 99) =>
        percentile(byPath[b].outsides, p) - percentile(byPath[a].outsides, p);
      console.log(
        `  sharing (two − one): added p50 ${num(cost('one', 'two', 50), 0)} ms, p99 ${num(cost('one', 'two', 99), 0)} ms, ` +
          `turns/s ${num((100 * (byPath.two.perSecond - byPath.one.perSecond)) / byPath.one.perSecond, 0)} %; ` +
          `following on the other instance: p50 ${num(cost('same', 'across', 50), 0)} ms, p99 ${num(cost('same', 'across', 99), 0)} ms\n`,
      );
    }
    const artifact = join(root, 'test/artifacts/bench-scale.json');
    writeFileSync(artifact, `${JSON.stringify({ pace: PACE, results }, null, 2)}\n`);
    console.log(`figures: ${artifact}`);
  } finally {
    for (const balancer of balancers) balancer.kill('SIGTERM');
    await Promise.all(instances.map((instance) => instance.dispose()));
    fake.child.kill('SIGTERM');
    await redis.stop();
    await postgres.stop();
    agent.destroy();
  }
}

if (process.argv[2] === '--balancer') {
  const balancer = await startBalancer(process.argv.slice(3));
  process.stdout.write(`${balancer.url}\n`);
  process.on('SIGTERM', () => void balancer.close().then(() => process.exit(0)));
} else {
  await main();
}
