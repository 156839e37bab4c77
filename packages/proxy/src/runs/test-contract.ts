/**
 * The behaviour every implementation of the run state interfaces must show: the run registry, the event
 * log and run signals. Run against the in-process implementations here, and against any shared one (a
 * database, Redis) by calling the same suites with its factories (not imported by production code).
 */
import { StreamEvent } from '@parley/protocol';
import { expect, it } from 'vitest';
import { DONE_EVENT, type RunEventLog } from './event-log.js';
import type { RunRegistry } from './registry.js';
import type { RunSignal, RunSignals } from './signals.js';

let counter = 0;
/** Ids no other test (or earlier run of a shared backend) uses. */
const unique = (prefix: string) => `${prefix}_${process.pid}_${Date.now()}_${++counter}`;

/**
 * `create(instanceId)` makes a registry for one instance; two made with different ids must share state
 * (as two proxy processes on one database do); for an in-process registry, pass `shared: false`.
 */
export function registryContract(create: (instanceId: string) => RunRegistry, options: { shared: boolean }) {
  it('gives a free thread to the first claim and refuses a second run, naming the active one', async () => {
    const registry = create('a');
    const [thread, run1, run2] = [unique('thread'), unique('run'), unique('run')];
    expect(await registry.claim(thread, run1)).toBeUndefined();
    expect(await registry.claim(thread, run2)).toBe(run1);
    expect(await registry.active(thread)).toBe(run1);
    expect(await registry.holder(run1)).toBe('a');
    expect(await registry.holder(run2)).toBeUndefined();
  });

  it('frees the thread when the run is released, and ignores a release of another run', async () => {
    const registry = create('a');
    const [thread, run1, run2] = [unique('thread'), unique('run'), unique('run')];
    await registry.claim(thread, run1);
    await registry.release(thread, unique('run'));
    expect(await registry.active(thread)).toBe(run1);
    await registry.release(thread, run1);
    expect(await registry.active(thread)).toBeUndefined();
    expect(await registry.holder(run1)).toBeUndefined();
    expect(await registry.claim(thread, run2)).toBeUndefined();
  });

  it('lets exactly one of many concurrent claims on one thread win', async () => {
    const registries = options.shared ? [create('a'), create('b')] : [create('a')];
    const thread = unique('thread');
    const runs = Array.from({ length: 20 }, () => unique('run'));
    const outcomes = await Promise.all(
      runs.map((run, i) => registries[i % registries.length]!.claim(thread, run)),
    );
    const winners = outcomes.flatMap((outcome, i) => (outcome === undefined ? [runs[i]] : []));
    expect(winners).toHaveLength(1);
    for (const outcome of outcomes) if (outcome !== undefined) expect(outcome).toBe(winners[0]);
  });

  it('keeps threads apart', async () => {
    const registry = create('a');
    const [one, two, run1, run2] = [unique('thread'), unique('thread'), unique('run'), unique('run')];
    expect(await registry.claim(one, run1)).toBeUndefined();
    expect(await registry.claim(two, run2)).toBeUndefined();
    await registry.release(one, run1);
    expect(await registry.active(two)).toBe(run2);
  });

  it('says a claimed run is held and a released or never claimed one is not', async () => {
    const registry = create('a');
    const thread = unique('thread');
    const run = unique('run');
    expect(await registry.isHeld(run)).toBe(false);
    await registry.claim(thread, run);
    expect(await registry.isHeld(run)).toBe(true);
    await registry.release(thread, run);
    expect(await registry.isHeld(run)).toBe(false);
  });

  it('lists no claim of a live instance as orphaned', async () => {
    const registry = create(unique('live'));
    const thread = unique('thread');
    const run = unique('run');
    await registry.claim(thread, run);
    expect((await registry.orphans()).some((orphan) => orphan.runId === run)).toBe(false);
    await registry.release(thread, run);
  });

  it('lets exactly one of many concurrent takeovers of an unclaimed run win, and none of a held one', async () => {
    const registries = options.shared ? [create('a'), create('b'), create('c')] : [create('a')];
    const [thread, run] = [unique('thread'), unique('run')];
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, (_, i) => registries[i % registries.length]!.takeOver(thread, run)),
    );
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    const winner = registries[outcomes.indexOf(true) % registries.length]!;
    expect(await winner.holder(run)).toBe(winner.instanceId);
    expect(await winner.active(thread)).toBe(run);
    expect(await winner.isHeld(run)).toBe(true);
    // Held by a live instance now: nobody takes it without naming that holder.
    for (const registry of registries) expect(await registry.takeOver(thread, run)).toBe(false);
  });

  it('does not let a takeover steal a thread another run holds', async () => {
    const registry = create('a');
    const [thread, run1, run2] = [unique('thread'), unique('run'), unique('run')];
    await registry.claim(thread, run1);
    expect(await registry.takeOver(thread, run2)).toBe(false);
    expect(await registry.active(thread)).toBe(run1);
  });

  it('lets one of concurrent resumes continue a waiting run, and only while it waits', async () => {
    const registry = create('a');
    const [thread, run] = [unique('thread'), unique('run')];
    await registry.claim(thread, run);
    expect(await registry.resume(thread, run)).toBe(false);
    await registry.markWaiting(thread, run);
    const outcomes = await Promise.all([1, 2, 3].map(() => registry.resume(thread, run)));
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    await registry.markWaiting(thread, run); // the continuation failed: it waits again
    await registry.release(thread, run);
    expect(await registry.resume(thread, run)).toBe(false);
  });

  if (!options.shared) return;

  it('lets exactly one of many concurrent takeovers of a dead instance’s run win', async () => {
    const dead = create(unique('dead'));
    const [thread, run] = [unique('thread'), unique('run')];
    await dead.claim(thread, run);
    await dead.close(); // its lease ends at once: its claim is an orphan
    const registries = [create(unique('a')), create(unique('b')), create(unique('c'))];
    expect(await registries[0]!.isHeld(run)).toBe(false);
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, (_, i) => registries[i % registries.length]!.takeOver(thread, run)),
    );
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    const winner = registries[outcomes.indexOf(true) % registries.length]!;
    expect(await winner.holder(run)).toBe(winner.instanceId);
    expect(await winner.isHeld(run)).toBe(true);
    expect((await winner.orphans()).some((orphan) => orphan.runId === run)).toBe(false);
  });

  it('lets exactly one of many concurrent resumes of a waiting run win, from a live holder or a dead one', async () => {
    const [a, b, c] = [create(unique('a')), create(unique('b')), create(unique('c'))];
    const [thread, run] = [unique('thread'), unique('run')];
    await a.claim(thread, run);
    expect(await b.resume(thread, run)).toBe(false); // not waiting yet
    await a.markWaiting(thread, run);
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, (_, i) => [a, b, c][i % 3]!.resume(thread, run)),
    );
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    const winner = [a, b, c][outcomes.indexOf(true) % 3]!;
    expect(await a.holder(run)).toBe(winner.instanceId);
    expect(await a.active(thread)).toBe(run);
    // Being continued: nobody resumes it again, not even its old holder, until it waits again.
    for (const registry of [a, b, c]) expect(await registry.resume(thread, run)).toBe(false);
    // Only the holder marks it waiting: the old holder's late mark changes nothing.
    if (winner !== a) await a.markWaiting(thread, run);
    expect(await c.resume(thread, run)).toBe(false);
    await winner.markWaiting(thread, run);
    await winner.close(); // its lease ends: the waiting run is nobody's, and still waiting
    const [d, e] = [create(unique('d')), create(unique('e'))];
    expect(await d.takeOver(thread, run)).toBe(true); // recovery holds it now: it keeps waiting
    const late = await Promise.all([d.resume(thread, run), e.resume(thread, run)]);
    expect(late.filter(Boolean)).toHaveLength(1);
  });
}

const delta = (text: string) => ({
  event: StreamEvent.MessageDelta,
  data: {
    id: 'msg_1',
    object: 'thread.message.delta' as const,
    delta: { content: [{ index: 0, type: 'text' as const, text: { value: text, annotations: [] } }] },
  },
});

/** `create()` makes a log; for a shared log, two calls must see one another's appends. */
export function eventLogContract(create: () => RunEventLog, options: { shared: boolean }) {
  it('numbers events from 1 and reads after any position, in order', async () => {
    const log = create();
    const run = unique('run');
    expect(log.append(run, delta('a'))).toBe(1);
    expect(log.append(run, delta('b'))).toBe(2);
    expect(log.append(run, DONE_EVENT)).toBe(3);
    const all = await waitFor(log, run, 0, 3);
    expect(all.map((event) => event.seq)).toEqual([1, 2, 3]);
    expect(JSON.parse(all[1]!.data).delta.content[0].text.value).toBe('b');
    expect(all[2]).toMatchObject({ event: 'done', data: '[DONE]' });
    expect((await log.read(run, 2))!.map((event) => event.seq)).toEqual([3]);
    // Past the end of an ended log: its done again, so a resume never waits on a finished run.
    expect((await log.read(run, 3))!.map((event) => event.event)).toEqual(['done']);
    expect((await log.read(run, 2 ** 64))!.map((event) => event.event)).toEqual(['done']);
    expect((await log.read(run, 0, 2))!.map((event) => event.seq)).toEqual([1, 2]);
    log.close();
  });

  it('says a log it does not keep is missing, rather than empty', async () => {
    const log = create();
    expect(await log.read(unique('run'), 0)).toBeUndefined();
    log.close();
  });

  it('wakes a waiting reader when the next event arrives, from the same or another instance', async () => {
    const writer = create();
    const reader = options.shared ? create() : writer;
    const run = unique('run');
    writer.append(run, delta('first'));
    await waitFor(reader, run, 0, 1);
    const controller = new AbortController();
    let woke = false;
    const waiting = reader.wait(run, 1, controller.signal).then(() => {
      woke = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(woke).toBe(false);
    expect(await reader.read(run, 1)).toEqual([]); // not ended: nothing yet
    writer.append(run, delta('second'));
    await waiting;
    expect((await reader.read(run, 1))!.map((event) => event.seq)).toEqual([2]);
    writer.close();
    if (reader !== writer) reader.close();
  });

  it('stops waiting when the signal aborts', async () => {
    const log = create();
    const run = unique('run');
    log.append(run, delta('x'));
    await waitFor(log, run, 0, 1);
    const controller = new AbortController();
    const waiting = log.wait(run, 1, controller.signal);
    controller.abort();
    await waiting;
    log.close();
  });

  it('keeps a retired log readable, with its done', async () => {
    const log = create();
    const run = unique('run');
    log.append(run, delta('x'));
    log.append(run, DONE_EVENT);
    log.retire(run);
    const events = await waitFor(log, run, 0, 2);
    expect(events.at(-1)!.event).toBe('done');
    log.close();
  });

  it('keeps runs apart', async () => {
    const log = create();
    const [one, two] = [unique('run'), unique('run')];
    log.append(one, delta('1'));
    log.append(two, delta('2'));
    log.append(two, delta('2b'));
    expect((await waitFor(log, one, 0, 1)).length).toBe(1);
    expect((await waitFor(log, two, 0, 2)).length).toBe(2);
    log.close();
  });
}

/** Reads until `count` events are there (a shared log acknowledges appends a moment later). */
async function waitFor(log: RunEventLog, run: string, after: number, count: number) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const events = (await log.read(run, after)) ?? [];
    if (events.length >= count || Date.now() > deadline) return events;
    await log.wait(run, after + events.length, AbortSignal.timeout(100));
  }
}

/** `create()` makes the signals of one instance; for shared signals, two must reach each other. */
export function signalsContract(create: () => RunSignals, options: { shared: boolean }) {
  it('delivers a signal to the listener of that run only, from the same or another instance', async () => {
    const listener = create();
    const sender = options.shared ? create() : listener;
    const [run, other] = [unique('run'), unique('run')];
    const got: RunSignal[] = [];
    const gotOther: RunSignal[] = [];
    const stop = listener.listen(run, (signal) => got.push(signal));
    const stopOther = listener.listen(other, (signal) => gotOther.push(signal));
    await settle(listener);
    await sender.send(run, { type: 'cancel' });
    await until(() => got.length === 1);
    expect(got).toEqual([{ type: 'cancel' }]);
    expect(gotOther).toEqual([]);
    stop();
    stopOther();
    await sender.close();
    if (sender !== listener) await listener.close();
  });

  it('stops delivering once the listener stops', async () => {
    const signals = create();
    const run = unique('run');
    const got: RunSignal[] = [];
    const stop = signals.listen(run, (signal) => got.push(signal));
    stop();
    await signals.send(run, { type: 'cancel' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(got).toEqual([]);
    await signals.close();
  });

  it('sends to nobody without failing when no one listens', async () => {
    const signals = create();
    await expect(signals.send(unique('run'), { type: 'cancel' })).resolves.toBeUndefined();
    await signals.close();
  });
}

/** Gives a subscription that is set up asynchronously (pub/sub) a moment to take effect. */
async function settle(_signals: RunSignals) {
  await new Promise((resolve) => setTimeout(resolve, 20));
}

async function until(condition: () => boolean, timeoutMs = 2000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
}
