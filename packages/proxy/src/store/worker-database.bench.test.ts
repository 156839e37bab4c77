import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { makeMessage, makeThread } from '../objects.js';
import { type Database, openPglite } from './database.js';
import { SqlStore } from './sql-store.js';
import { openPgliteInWorker } from './worker-database.js';

// Figures, not assertions: too slow and too machine-dependent for every run of the suite.
// PARLEY_STORE_BENCH=1 pnpm exec vitest run packages/proxy/src/store/worker-database.bench.test.ts
const enabled = process.env['PARLEY_STORE_BENCH'] === '1';

const STATEMENTS = 500;
const ROUNDS = 3;
/** Writes in flight at once in the blocking run, as from several NPC turns streaming together. */
const CONCURRENCY = 8;

const ms = (value: number): string => value.toFixed(3);

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Runs `each` once per item, one after another, and summarizes how long each call took. */
async function latency<T>(items: readonly T[], each: (item: T) => Promise<unknown>): Promise<string> {
  const took: number[] = [];
  for (const item of items) {
    const start = performance.now();
    await each(item);
    took.push(performance.now() - start);
  }
  took.sort((a, b) => a - b);
  const mean = took.reduce((sum, value) => sum + value, 0) / took.length;
  return `${ms(mean)} / ${ms(percentile(took, 50))} / ${ms(percentile(took, 99))}`;
}

/**
 * How much of `work` the main thread spends busy (event-loop utilization, and its own CPU time) and how
 * long the event loop goes without turning meanwhile: a 1 ms timer stands in for a token waiting to be
 * relayed to a game.
 *
 * A hand-made timer rather than `monitorEventLoopDelay`: in-thread PGlite resolves statement after
 * statement in microtasks, so the loop may not turn once during the whole burst, and the histogram then
 * records nothing at all (measured: count 0 over a 300 ms burst) where the timer sees one 300 ms stall.
 */
async function blocking(work: () => Promise<unknown>): Promise<Record<string, string>> {
  const gaps: number[] = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    gaps.push(now - last);
    last = now;
  }, 1);
  await new Promise((resolve) => setTimeout(resolve, 5));
  gaps.length = 0;
  last = performance.now();

  const before = performance.eventLoopUtilization();
  const cpuBefore = process.threadCpuUsage();
  const start = performance.now();
  await work();
  const wall = performance.now() - start;
  const cpu = process.threadCpuUsage(cpuBefore);
  const used = performance.eventLoopUtilization(before);
  // Let the timer fire once more: a stall that lasted to the end of the work is measured only then.
  await new Promise((resolve) => setTimeout(resolve, 5));
  clearInterval(timer);

  gaps.sort((a, b) => a - b);
  return {
    'burst wall ms': ms(wall),
    'main busy ms': ms(used.active),
    // CPU time of this thread alone: unlike wall-clock busy time, not inflated when a loaded machine
    // descheduled the thread mid-callback.
    'main CPU ms/write': ms((cpu.user + cpu.system) / 1000 / STATEMENTS),
    'timer ticks': String(gaps.length),
    'tick gap p99 ms': ms(percentile(gaps, 99)),
    'longest stall ms': ms(gaps.at(-1) ?? Number.NaN),
  };
}

async function inBatches<T>(items: readonly T[], width: number, each: (item: T) => Promise<unknown>) {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await each(items[next++]!);
  };
  await Promise.all(Array.from({ length: width }, lane));
}

async function measure(name: string, db: Database): Promise<Record<string, string>> {
  const store = new SqlStore(db);
  try {
    await store.migrate();
    const owner = 'bench';
    const thread = makeThread({});
    await store.putThread(owner, thread);
    const batch = () =>
      Array.from({ length: STATEMENTS }, (_, index) =>
        makeMessage(thread.id, { role: 'assistant', content: `${'The smith nods. '.repeat(20)}${index}` }),
      );
    // Warm up: plans cached, WASM and JIT settled, so the figures describe a proxy that has been running.
    for (const message of batch().slice(0, 100)) await store.putMessage(owner, message);

    const written = batch();
    const writes = await latency(written, (message) => store.putMessage(owner, message));
    const reads = await latency(written, (message) => store.getMessage(owner, thread.id, message.id));
    const burst = batch();
    const load = await blocking(() =>
      inBatches(burst, CONCURRENCY, (message) => store.putMessage(owner, message)),
    );
    expect(await store.getMessage(owner, thread.id, burst.at(-1)!.id)).toBeDefined();
    return { backend: name, 'write mean/p50/p99 ms': writes, 'read mean/p50/p99 ms': reads, ...load };
  } finally {
    await store.close();
  }
}

describe.skipIf(!enabled)('PGlite in-thread vs on a worker: latency and main-thread blocking', () => {
  it(`prints figures for ${STATEMENTS} statements`, async () => {
    const rows: Array<Record<string, string>> = [];
    // Alternating rounds, so that a noisy neighbour on a shared machine weighs on both backends alike.
    for (let round = 1; round <= ROUNDS; round++) {
      rows.push(await measure(`in-thread #${round}`, await openPglite()));
      rows.push(await measure(`worker #${round}`, await openPgliteInWorker()));
    }
    console.table(rows);
  }, 600_000);
});
