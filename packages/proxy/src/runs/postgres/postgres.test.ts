import { StreamEvent } from '@parley/protocol';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresAvailable, startPostgres, type TestPostgres } from '../../../../../test/support/postgres.js';
import { connectPostgres } from '../../store/database.js';
import { migrate } from '../../store/migrations.js';
import { DONE_EVENT, type LoggedEvent } from '../event-log.js';
import type { RunSignal } from '../signals.js';
import { eventLogContract, registryContract, signalsContract } from '../test-contract.js';
import {
  createPostgresRunState,
  PgEventLog,
  type PgEventLogOptions,
  PgRunConnection,
  PgRunRegistry,
  PgRunSignals,
} from './index.js';

const inCi = Boolean(process.env.CI) && process.env.CI !== 'false';
const havePostgres = postgresAvailable();
// Locally a missing server is a skip with its reason in the title; in CI it is a failure (beforeAll throws).
const title =
  havePostgres || inCi
    ? 'run state on PostgreSQL'
    : 'run state on PostgreSQL (skipped: no PostgreSQL binaries under /usr/lib/postgresql; apt-get install postgresql)';

let counter = 0;
const unique = (prefix: string) => `${prefix}_${process.pid}_${Date.now()}_${++counter}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const delta = (text: string) => ({
  event: StreamEvent.MessageDelta,
  data: {
    id: 'msg_1',
    object: 'thread.message.delta' as const,
    delta: { content: [{ index: 0, type: 'text' as const, text: { value: text, annotations: [] } }] },
  },
});
const textOf = (event: LoggedEvent) => JSON.parse(event.data).delta.content[0].text.value as string;

async function until(condition: () => Promise<boolean> | boolean, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
}

/** Follows a run's log from `after` until its done, as an HTTP stream does; the seqs and texts it saw. */
async function follow(log: PgEventLog, run: string, after = 0, timeoutMs = 10_000): Promise<LoggedEvent[]> {
  const seen: LoggedEvent[] = [];
  const deadline = AbortSignal.timeout(timeoutMs);
  let position = after;
  while (!deadline.aborted) {
    const events = (await log.read(run, position, 64)) ?? [];
    for (const event of events) {
      seen.push(event);
      position = event.seq;
      if (event.event === StreamEvent.Done) return seen;
    }
    if (events.length === 0) await log.wait(run, position, deadline);
  }
  return seen;
}

describe.skipIf(!havePostgres && !inCi)(title, () => {
  let server: TestPostgres | undefined;
  let url = '';
  /** Closed after the suite: the contract suites do not close what they create. */
  const opened: Array<{ close(): Promise<void> }> = [];
  /** Two instances' connections, listening before any test starts (a fresh one needs a moment). */
  let instances: PgRunConnection[] = [];
  let turn = 0;
  const nextInstance = () => instances[turn++ % instances.length]!;
  const connection = (name?: string) =>
    new PgRunConnection(url, name === undefined ? {} : { applicationName: name });
  let admin: Client;

  beforeAll(async () => {
    server = await startPostgres();
    url = server.url;
    const db = connectPostgres(url);
    await migrate(db);
    await db.close();
    instances = [connection(), connection()];
    for (const instance of instances) {
      instance.retain();
      await instance.listen();
    }
    admin = new Client({ connectionString: url });
    await admin.connect();
  });

  afterAll(async () => {
    await Promise.allSettled(opened.map((each) => each.close()));
    await Promise.allSettled(instances.map((instance) => instance.release()));
    await admin?.end();
    await server?.stop();
  });

  const registry = (instanceId: string, leaseMs?: number) => {
    const made = new PgRunRegistry(connection(), {
      instanceId,
      ...(leaseMs === undefined ? {} : { leaseMs }),
    });
    opened.push(made);
    return made;
  };
  const eventLog = (options?: PgEventLogOptions, on = nextInstance()) => {
    const log = new PgEventLog(on, options);
    opened.push({ close: () => log.closed() });
    return log;
  };

  describe('the registry, two instances on one database', () => {
    registryContract((instanceId) => registry(instanceId), { shared: true });
  });

  describe('the event log, two instances on one database', () => {
    eventLogContract(() => eventLog(), { shared: true });
  });

  describe('run signals, two instances on one database', () => {
    signalsContract(() => new PgRunSignals(nextInstance()), { shared: true });
  });

  describe('leases', () => {
    it('holds a run while its instance beats, and not once the instance stops beating for a lease', async () => {
      const dying = connection();
      const a = new PgRunRegistry(dying, { instanceId: unique('dying'), leaseMs: 300 });
      const b = registry(unique('survivor'), 300);
      const [thread, run] = [unique('thread'), unique('run')];
      expect(await a.claim(thread, run)).toBeUndefined();
      // More than two leases: only the heartbeat keeps the run held.
      await sleep(800);
      expect(await b.isHeld(run)).toBe(true);
      expect((await b.liveInstances()).map((instance) => instance.id)).toContain(a.instanceId);

      // The instance dies: its connections go, its row and its claim stay.
      await dying.close();
      const died = Date.now();
      expect(await until(async () => !(await b.isHeld(run)), 3000)).toBe(true);
      expect(Date.now() - died).toBeLessThan(1500);
      expect(await b.active(thread)).toBe(run);
      expect(await b.holder(run)).toBe(a.instanceId);
      expect((await b.liveInstances()).map((instance) => instance.id)).not.toContain(a.instanceId);
      // Its claim is an orphan now (recovery ends or clears it), and only then.
      expect(await b.orphans()).toContainEqual({ threadId: thread, runId: run });
      // Whoever recovers it takes the run over; then it is held again, by the survivor.
      expect(await b.takeOver(thread, run)).toBe(true);
      expect(await b.isHeld(run)).toBe(true);
      expect((await b.orphans()).some((orphan) => orphan.runId === run)).toBe(false);
      await a.close();
    });

    it('lets go of its runs at once on a clean close, and leaves their claims to the engine', async () => {
      const a = new PgRunRegistry(connection(), { instanceId: unique('closing') });
      const b = registry(unique('other'));
      const [thread, run] = [unique('thread'), unique('run')];
      await a.claim(thread, run);
      expect(await b.isHeld(run)).toBe(true);
      await a.close();
      expect(await b.isHeld(run)).toBe(false);
      expect(await b.active(thread)).toBe(run);
    });

    it('lets exactly one of two instances win a thread, in each of 20 races', async () => {
      const a = registry(unique('a'));
      const b = registry(unique('b'));
      await Promise.all([a.register(), b.register()]);
      const wins = { a: 0, b: 0 };
      for (let trial = 0; trial < 20; trial++) {
        const [thread, runA, runB] = [unique('thread'), unique('run'), unique('run')];
        const [outcomeA, outcomeB] = await Promise.all([a.claim(thread, runA), b.claim(thread, runB)]);
        const winners = [outcomeA === undefined, outcomeB === undefined].filter(Boolean);
        expect(winners).toHaveLength(1);
        const winner = outcomeA === undefined ? runA : runB;
        // The loser is told which run has the thread.
        expect(outcomeA ?? outcomeB).toBe(winner);
        expect(await b.active(thread)).toBe(winner);
        wins[outcomeA === undefined ? 'a' : 'b']++;
      }
      expect(wins.a + wins.b).toBe(20);
    });

    it('lists the live instances with whether they use Redis', async () => {
      const withRedis = new PgRunRegistry(connection(), { instanceId: unique('redis'), redis: true });
      const without = registry(unique('plain'));
      await Promise.all([withRedis.register(), without.register()]);
      const live = await without.liveInstances();
      expect(live).toContainEqual({ id: withRedis.instanceId, redis: true });
      expect(live).toContainEqual({ id: without.instanceId, redis: false });
      await withRedis.close();
      expect((await without.liveInstances()).map((instance) => instance.id)).not.toContain(
        withRedis.instanceId,
      );
    });
  });

  describe('event logs across instances', () => {
    it('reads on one instance, in order and without gaps, what another appends in bursts', async () => {
      const [writer, reader] = [eventLog({}, instances[0]), eventLog({}, instances[1])];
      const run = unique('run');
      const following = follow(reader, run);
      const seqs: number[] = [];
      for (let burst = 0; burst < 10; burst++) {
        for (let i = 0; i < 30; i++) seqs.push(writer.append(run, delta(String(burst * 30 + i))));
        await new Promise((resolve) => setImmediate(resolve));
      }
      seqs.push(writer.append(run, DONE_EVENT));
      writer.retire(run);
      const seen = await following;
      expect(seqs).toEqual(Array.from({ length: 301 }, (_, i) => i + 1));
      expect(seen.map((event) => event.seq)).toEqual(seqs);
      expect(seen.slice(0, -1).map(textOf)).toEqual(Array.from({ length: 300 }, (_, i) => String(i)));
      // A late resume from the middle, on a third reader.
      const late = await follow(eventLog({}, instances[0]), run, 290);
      expect(late.map((event) => event.seq)).toEqual(Array.from({ length: 11 }, (_, i) => 291 + i));
    });

    it('wakes a waiting reader by polling when a notification is lost', async () => {
      const [writer, reader] = [eventLog({}, instances[0]), eventLog({}, instances[1])];
      const run = unique('run');
      writer.append(run, delta('first'));
      expect((await follow(reader, run, 0, 1000)).map((event) => event.seq)).toEqual([1]);
      const timeout = AbortSignal.timeout(4000);
      const started = Date.now();
      const waiting = reader.wait(run, 1, timeout);
      // Another writer's event whose NOTIFY never comes.
      await admin.query(
        `INSERT INTO parley_run_events (run_id, seq, event, data) VALUES ($1, 2, 'thread.message.delta', '{}')`,
        [run],
      );
      await waiting;
      expect(timeout.aborted).toBe(false);
      expect(Date.now() - started).toBeLessThan(2500);
      expect((await reader.read(run, 1))!.map((event) => event.seq)).toEqual([2]);
    });

    it('says an appended log exists before its first event is stored, and wakes its reader once it is', async () => {
      const log = eventLog({}, instances[0]);
      const run = unique('run');
      // Inserts wait for the lock; reads do not.
      await admin.query('BEGIN');
      await admin.query('LOCK TABLE parley_run_events IN EXCLUSIVE MODE');
      try {
        expect(log.append(run, delta('held back'))).toBe(1);
        expect(await log.read(run, 0)).toEqual([]);
        expect(await eventLog({}, instances[1]).read(run, 0)).toBeUndefined();
      } finally {
        await admin.query('COMMIT');
      }
      await log.wait(run, 0, AbortSignal.timeout(3000));
      expect((await log.read(run, 0))!.map(textOf)).toEqual(['held back']);
    });

    it('continues a run another instance started after the events it already logged', async () => {
      const [first, second] = [eventLog({}, instances[0]), eventLog({}, instances[1])];
      const run = unique('run');
      for (const text of ['a', 'b', 'c']) first.append(run, delta(text));
      expect((await follow(second, run, 0, 1000)).length).toBe(3);
      // The engine reads the log before it continues a run (tool outputs arrived here).
      expect((await second.read(run, 0))!.length).toBe(3);
      expect(second.append(run, delta('d'))).toBe(4);
      expect(await until(async () => (await first.read(run, 3))!.length === 1)).toBe(true);
      await sleep(100); // its notification has reached every instance: a log made now has not heard of it
      // Without that read, the log still comes out gapless: what this instance queued is renumbered.
      const careless = eventLog({}, instances[1]);
      expect(careless.append(run, delta('e'))).toBe(1);
      careless.append(run, DONE_EVENT);
      const all = await follow(first, run);
      expect(all.map((event) => event.seq)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(all.slice(0, -1).map(textOf)).toEqual(['a', 'b', 'c', 'd', 'e']);
    });

    it('keeps a retired log for its retention, then the sweep drops it and wakes its readers', async () => {
      const log = eventLog({ retainMs: 200, sweepMs: 60_000, pollMs: 100 }, instances[0]);
      const reader = eventLog({ pollMs: 100 }, instances[1]);
      const run = unique('run');
      log.append(run, delta('x'));
      log.append(run, DONE_EVENT);
      log.retire(run);
      expect((await follow(reader, run)).map((event) => event.event)).toEqual([
        StreamEvent.MessageDelta,
        StreamEvent.Done,
      ]);
      await sleep(50);
      await log.sweep();
      expect(await reader.read(run, 0)).toHaveLength(2);
      // Waiting past the end (as no stream does once it has the done): woken when the log goes.
      const waiting = reader.wait(run, 2, AbortSignal.timeout(3000));
      await sleep(250);
      expect(await log.sweep()).toBeGreaterThanOrEqual(1);
      const woken = Date.now();
      await waiting;
      expect(Date.now() - woken).toBeLessThan(1000);
      expect(await reader.read(run, 0)).toBeUndefined();
    });

    it('drops a log nobody retired (its instance died mid-run) after the longer window', async () => {
      const log = eventLog({ retainMs: 50, unfinishedMs: 100, sweepMs: 60_000 }, instances[0]);
      const run = unique('run');
      log.append(run, delta('orphan'));
      expect(await follow(log, run, 0, 1000)).toHaveLength(1);
      await sleep(150);
      await log.sweep();
      expect(await log.read(run, 0)).toBeUndefined();
    });

    it('writes what is still queued before it closes', async () => {
      const log = new PgEventLog(connection());
      const run = unique('run');
      for (let i = 0; i < 50; i++) log.append(run, delta(String(i)));
      log.append(run, DONE_EVENT);
      log.retire(run);
      await log.closed();
      const events = await follow(eventLog({}, instances[1]), run);
      expect(events.map((event) => event.seq)).toEqual(Array.from({ length: 51 }, (_, i) => i + 1));
    });
  });

  describe('signals across instances', () => {
    it('hears signals again after its LISTEN connection is cut', async () => {
      const name = unique('cut');
      const listening = connection(name);
      const listener = new PgRunSignals(listening);
      opened.push(listener);
      const sender = new PgRunSignals(nextInstance());
      opened.push(sender);
      await listening.listen();
      const run = unique('run');
      const got: RunSignal[] = [];
      listener.listen(run, (signal) => got.push(signal));
      const { rows } = await admin.query<{ killed: boolean }>(
        'SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = $1',
        [`${name}-listen`],
      );
      expect(rows.map((row) => row.killed)).toEqual([true]);
      expect(await until(() => !listening.listening, 2000)).toBe(true);
      expect(await until(() => listening.listening, 3000)).toBe(true);
      await sender.send(run, { type: 'adopted', by: 'b' });
      expect(await until(() => got.length === 1)).toBe(true);
      expect(got).toEqual([{ type: 'adopted', by: 'b' }]);
    });

    it('ignores a malformed notification on its channel', async () => {
      const listener = new PgRunSignals(instances[0]!);
      opened.push(listener);
      const run = unique('run');
      const got: RunSignal[] = [];
      listener.listen(run, (signal) => got.push(signal));
      await admin.query(`SELECT pg_notify('parley_run_signals', $1)`, [
        JSON.stringify({ runId: run, signal: { type: 'explode' } }),
      ]);
      await admin.query(`SELECT pg_notify('parley_run_signals', 'not json')`);
      await admin.query(`SELECT pg_notify('parley_run_signals', $1)`, [
        JSON.stringify({ runId: run, signal: { type: 'cancel' } }),
      ]);
      expect(await until(() => got.length > 0)).toBe(true);
      expect(got).toEqual([{ type: 'cancel' }]);
    });
  });

  it('gives each instance a ready registry, log and signals from one factory, closed in one call', async () => {
    const [idA, idB] = [unique('instance'), unique('instance')];
    const a = await createPostgresRunState({ databaseUrl: url, instanceId: idA, redis: false });
    const b = await createPostgresRunState({ databaseUrl: url, instanceId: idB, redis: false });
    try {
      const ids = (await a.liveInstances()).map((instance) => instance.id);
      expect(ids).toEqual(expect.arrayContaining([idA, idB]));
      const [thread, run] = [unique('thread'), unique('run')];
      expect(await a.registry.claim(thread, run)).toBeUndefined();
      expect(await b.registry.claim(thread, unique('run'))).toBe(run);
      const cancelled: RunSignal[] = [];
      a.signals.listen(run, (signal) => cancelled.push(signal));
      await b.signals.send(run, { type: 'cancel' });
      a.log.append(run, delta('hello'));
      a.log.append(run, DONE_EVENT);
      a.log.retire(run);
      expect((await follow(b.log, run)).map((event) => event.event)).toEqual([
        StreamEvent.MessageDelta,
        StreamEvent.Done,
      ]);
      expect(await until(() => cancelled.length === 1)).toBe(true);
    } finally {
      await a.close();
      await b.close();
    }
    expect(a.registry.shared).toBe(true);
    const left = await admin.query('SELECT id FROM parley_instances WHERE id = ANY($1)', [[idA, idB]]);
    expect(left.rows).toEqual([]);
  });
});
