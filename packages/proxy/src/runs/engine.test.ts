import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeAssistant, makeMessage, makeThread } from '../objects.js';
import { defaultPolicy, PolicyGuard } from '../policy/policy.js';
import { withMemoryCache } from '../store/cache.js';
import { StoreError } from '../store/errors.js';
import { createStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import { createUpstream } from '../upstream/upstream.js';
import { RunEngine, type StartedRun } from './engine.js';

const OWNER = 'player-1';

/** The store with its run writes held back (`hold`) or failing (`fail`); everything else goes through. */
function withRunWrites(store: Store) {
  const control = {
    mode: 'pass' as 'pass' | 'hold' | 'fail',
    /** Also holds the writes of runs in these statuses while the mode is `pass`. */
    holdStatuses: [] as string[],
    held: [] as Array<() => void>,
    /** The status of each run row written, in order. */
    statuses: [] as string[],
    /** Each message, step and run row written, in order, as "kind status". */
    rows: [] as string[],
  };
  /** Records a row; a run's write is held or failed as the mode says. */
  const write = async (object: { object: string; status: string }) => {
    const kind = { 'thread.message': 'message', 'thread.run.step': 'step', 'thread.run': 'run' }[
      object.object
    ];
    control.rows.push(`${kind} ${object.status}`);
    if (kind !== 'run') return;
    control.statuses.push(object.status);
    if (control.mode === 'fail') throw new StoreError('unavailable', 'The database is unreachable.');
    if (control.mode === 'hold' || control.holdStatuses.includes(object.status))
      await new Promise<void>((resolve) => control.held.push(resolve));
  };
  const wrapped = new Proxy(store, {
    get(target, key) {
      const value = Reflect.get(target, key);
      if (key === 'putMessage' || key === 'putStep' || key === 'putRun') {
        return async (owner: string, object: { object: string; status: string }) => {
          await write(object);
          return (value as (owner: string, object: unknown) => Promise<void>).call(target, owner, object);
        };
      }
      if (key === 'putAll') {
        return async (...args: Parameters<Store['putAll']>) => {
          for (const object of args[1]) await write(object);
          return target.putAll(...args);
        };
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store: wrapped, control };
}

async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400 && !(await condition()); i++)
    await new Promise((resolve) => setTimeout(resolve, 5));
  expect(await condition()).toBe(true);
}

/** The names of the events a run has logged so far. */
async function names(started: StartedRun): Promise<string[]> {
  return (await started.channel.events()).map((event) => event.event);
}

/** Waits until the run's log has ended. */
async function ended(started: StartedRun): Promise<string[]> {
  await until(async () => (await names(started)).at(-1) === 'done');
  return names(started);
}

/** One chat-completions stream chunk in the wire format. */
const chunk = (delta: object, finish: string | null) =>
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

/** A compatible upstream whose requests all go to `fetch`. */
const upstreamOver = (fetch: typeof globalThis.fetch) =>
  createUpstream(
    {
      kind: 'compatible',
      baseURL: 'http://upstream.invalid/v1',
      apiKey: 'sk-test',
      defaultModel: 'm',
      maxRetries: 0,
      timeoutMs: 5000,
      offline: { tokenDelayMs: 0, seed: 1 },
    },
    { fetch },
  );

/**
 * An upstream whose requests wait until `release()` is called, so a test can see that a request was
 * sent and whether it was aborted before it was answered.
 */
function heldUpstream() {
  const sent: Array<{ aborted: () => boolean }> = [];
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const fetch = (async (_url: RequestInfo | URL, init?: RequestInit) => {
    const signal = init?.signal ?? undefined;
    sent.push({ aborted: () => signal?.aborted === true });
    await Promise.race([
      released,
      new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason))),
    ]);
    return new Response(
      `${chunk({ role: 'assistant', content: 'Hello' }, null)}${chunk({}, 'stop')}data: [DONE]\n\n`,
      {
        headers: { 'content-type': 'text/event-stream' },
      },
    );
  }) as typeof globalThis.fetch;
  const upstream = upstreamOver(fetch);
  return { upstream, sent, release };
}

/** An upstream that streams each reply's first token at once and the rest when `release()` is next called. */
function pausingUpstream() {
  let release = () => {};
  let released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const fetch = (async () => {
    const rest = released;
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        const encoder = new TextEncoder();
        controller.enqueue(encoder.encode(chunk({ role: 'assistant', content: 'Well.' }, null)));
        await rest;
        controller.enqueue(
          encoder.encode(`${chunk({ content: ' met' }, null)}${chunk({}, 'stop')}data: [DONE]\n\n`),
        );
        controller.close();
      },
    });
    return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
  }) as typeof globalThis.fetch;
  const upstream = upstreamOver(fetch);
  return {
    upstream,
    release: () => {
      release();
      released = new Promise<void>((resolve) => {
        release = resolve;
      });
    },
  };
}

describe('RunEngine', () => {
  let base: Store;
  beforeEach(async () => {
    base = await createStore();
  });
  afterEach(async () => {
    await base.close();
  });

  async function setUp(store: Store) {
    const assistant = makeAssistant({ model: 'm', instructions: 'Be brief.' });
    await store.putAssistant(OWNER, assistant);
    const thread = makeThread({});
    await store.putThread(OWNER, thread);
    await store.putMessage(OWNER, makeMessage(thread.id, { role: 'user', content: 'Hi' }));
    return { assistant, thread };
  }

  const config = { runExpiresSeconds: 600, contextTokens: 8000, resumeGraceMs: 0 };

  it('asks the model while the run is being stored, and announces the run only once it is stored', async () => {
    const { store, control } = withRunWrites(base);
    const { upstream, sent, release } = heldUpstream();
    const engine = new RunEngine(store, upstream, config);
    const { assistant, thread } = await setUp(store);

    control.mode = 'hold';
    let settled = false;
    const creating = engine
      .createRun(OWNER, thread, { assistant_id: assistant.id, stream: true })
      .finally(() => {
        settled = true;
      });
    await until(() => sent.length === 1 && control.held.length === 1);
    expect(settled).toBe(false); // the request is out, the run row not yet written
    control.mode = 'pass';
    for (const write of control.held.splice(0)) write();
    const started = await creating;
    expect(await base.getRun(OWNER, thread.id, started.run.id)).toBeDefined();
    expect((await names(started)).slice(0, 2)).toEqual(['thread.run.created', 'thread.run.queued']);
    release();
    expect(await ended(started)).toContain('thread.message.delta');
    await engine.close();
  });

  it('leaves no run behind when the run cannot be stored, and aborts the request already sent', async () => {
    const { store, control } = withRunWrites(base);
    const { upstream, sent, release } = heldUpstream();
    const engine = new RunEngine(store, upstream, config);
    const { assistant, thread } = await setUp(store);

    control.mode = 'fail';
    const failed = engine.createRun(OWNER, thread, { assistant_id: assistant.id, stream: true });
    await expect(failed).rejects.toMatchObject({ code: 'unavailable' });
    expect(sent.every((request) => request.aborted())).toBe(true);
    expect(await engine.activeRun(OWNER, thread.id)).toBeUndefined();
    expect((await base.listRuns(OWNER, thread.id, { limit: 20, order: 'desc' })).data).toEqual([]);

    // The thread is not left busy: once the store is back, the next turn runs to the end.
    control.mode = 'pass';
    release();
    const retried = await engine.createRun(OWNER, thread, { assistant_id: assistant.id, stream: true });
    await ended(retried);
    expect((await base.getRun(OWNER, thread.id, retried.run.id))?.status).toBe('completed');
    await engine.close();
  });

  it('fails a run whose last write fails, rather than announce an end that was not stored', async () => {
    const { store: recorded, control } = withRunWrites(base);
    const store = withMemoryCache(recorded); // as the proxy runs on its embedded store
    const { upstream, release } = heldUpstream();
    const engine = new RunEngine(store, upstream, config);
    const { assistant, thread } = await setUp(store);
    const started = await engine.createRun(OWNER, thread, { assistant_id: assistant.id, stream: true });
    await until(() => control.statuses.includes('in_progress'));
    control.mode = 'fail'; // the run is stored; its end cannot be
    release();
    const events = await ended(started);
    expect(events).not.toContain('thread.run.completed');
    expect(events.slice(-3)).toEqual(['thread.run.failed', 'error', 'done']);
    // The reply, its step and the run's end went to the store together, and none of that write was stored.
    expect(control.rows.slice(-4, -1)).toEqual(['message completed', 'step completed', 'run completed']);
    expect((await base.getRun(OWNER, thread.id, started.run.id))?.status).toBe('in_progress');
    await engine.close();
  });

  it('keeps finished runs’ logs for late resumes within a size bound, newest first', async () => {
    const { upstream, release } = heldUpstream();
    release();
    // Room for less than one log: each run that finishes pushes the older out (the newest always stays).
    const engine = new RunEngine(base, upstream, { ...config, retiredLogBytes: 1 });
    const finished: Array<{ threadId: string; runId: string }> = [];
    for (let i = 0; i < 3; i++) {
      const { assistant, thread } = await setUp(base);
      const started = await engine.createRun(OWNER, thread, { assistant_id: assistant.id, stream: true });
      await ended(started);
      finished.push({ threadId: thread.id, runId: started.run.id });
    }
    const logs = await Promise.all(
      finished.map(({ threadId, runId }) => engine.channelFor(OWNER, threadId, runId)),
    );
    expect(logs.map((log) => log !== undefined)).toEqual([false, false, true]);
    await engine.close();
  });

  it('shows a run ended only once its final row is stored; a cancel meanwhile is answered with the ending', async () => {
    const { store, control } = withRunWrites(base);
    const { upstream, release } = heldUpstream();
    const engine = new RunEngine(store, upstream, config);
    const { assistant, thread } = await setUp(store);
    control.holdStatuses = ['completed'];
    const started = await engine.createRun(OWNER, thread, { assistant_id: assistant.id, stream: true });
    release();
    // While the final row is written, readers see the run as its log shows it: not ended yet.
    await until(() => control.held.length === 1);
    expect(engine.liveRun(started.run.id)?.status).toBe('in_progress');
    expect(await names(started)).not.toContain('thread.run.completed');
    const cancelling = engine.cancel(OWNER, thread.id, started.run.id);
    for (const write of control.held.splice(0)) write();
    expect(await cancelling).toMatchObject({ status: 'completed' });
    const events = await ended(started);
    expect(events).not.toContain('thread.run.cancelling');
    expect(events.at(-2)).toBe('thread.run.completed');
    expect(engine.liveRun(started.run.id)).toBeUndefined(); // ended: readers get the stored row
    expect((await base.getRun(OWNER, thread.id, started.run.id))?.status).toBe('completed');
    await engine.close();
  });

  it('answers a cancel of a run that has already ended with the run as it is (idempotent, 200)', async () => {
    const { upstream, release } = heldUpstream();
    release();
    const engine = new RunEngine(base, upstream, config);
    const { assistant, thread } = await setUp(base);
    const started = await engine.createRun(OWNER, thread, { assistant_id: assistant.id, stream: true });
    await ended(started);
    const again = await engine.cancel(OWNER, thread.id, started.run.id);
    expect(again).toMatchObject({ id: started.run.id, status: 'completed' });
    expect(await engine.cancel(OWNER, thread.id, started.run.id)).toEqual(again);
    await expect(engine.cancel(OWNER, thread.id, 'run_nope')).rejects.toMatchObject({ status: 404 });
    await engine.close();
  });

  it('stores the reply as it streams, so a crash keeps the words the player already saw', async () => {
    const gate = pausingUpstream();
    const engine = new RunEngine(base, gate.upstream, config);
    const { assistant, thread } = await setUp(base);
    const started = await engine.createRun(OWNER, thread, { assistant_id: assistant.id, stream: true });
    await until(async () => (await names(started)).includes('thread.message.delta'));
    // "Well." ends a sentence: it is in the store while the rest has not arrived.
    await until(async () => {
      const page = await base.listMessages(OWNER, thread.id, { limit: 1, order: 'desc' });
      const text = page.data[0]?.content[0];
      return text?.type === 'text' && text.text.value === 'Well.';
    });
    const page = await base.listMessages(OWNER, thread.id, { limit: 1, order: 'desc' });
    expect(page.data[0]).toMatchObject({ role: 'assistant', status: 'in_progress', run_id: started.run.id });
    gate.release();
    await ended(started);
    await engine.close();
  });

  it('after a crash, recovery keeps the interrupted reply’s text, marked incomplete, and never sends an empty reply on', async () => {
    const gate = pausingUpstream();
    const engine = new RunEngine(base, gate.upstream, config);
    const { assistant, thread } = await setUp(base);
    const started = await engine.createRun(OWNER, thread, { assistant_id: assistant.id, stream: true });
    await until(async () => {
      const page = await base.listMessages(OWNER, thread.id, { limit: 1, order: 'desc' });
      return page.data[0]?.role === 'assistant' && page.data[0].content.length > 0;
    });
    // The process dies here: nothing more of this engine runs. A new one recovers from the store.
    const next = new RunEngine(base, heldUpstream().upstream, config);
    expect(await next.recover()).toBe(1);
    const run = await base.getRun(OWNER, thread.id, started.run.id);
    expect(run).toMatchObject({ status: 'failed', usage: null, required_action: null });
    const [reply] = (await base.listMessages(OWNER, thread.id, { limit: 1, order: 'desc' })).data;
    expect(reply).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'run_failed' } });
    expect(reply?.content[0]).toMatchObject({ type: 'text', text: { value: 'Well.' } });
    gate.release();
    await engine.close();
    await next.close();
  });

  it('writes the run in progress, and its final row carries what in_progress set', async () => {
    const { store, control } = withRunWrites(base);
    const { upstream, release } = heldUpstream();
    release();
    const engine = new RunEngine(store, upstream, config);
    const { assistant, thread } = await setUp(store);
    const started = await engine.createRun(OWNER, thread, { assistant_id: assistant.id, stream: true });
    expect(await ended(started)).toContain('thread.run.in_progress');
    const stored = await base.getRun(OWNER, thread.id, started.run.id);
    expect(stored?.status).toBe('completed');
    expect(stored?.started_at).toEqual(expect.any(Number));
    expect(control.statuses).toEqual(['queued', 'in_progress', 'completed']);
    await engine.close();
  });

  it('refuses a turn that would take a thread past the policy’s message cap, reading the history once', async () => {
    const { upstream, release } = heldUpstream();
    release();
    const policy = new PolicyGuard({ ...defaultPolicy(), maxMessagesPerThread: 2 }, 'm');
    let reads = 0;
    const counted = new Proxy(base, {
      get(target, key) {
        const value = Reflect.get(target, key);
        if (key === 'allMessages') reads++;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const engine = new RunEngine(counted, upstream, config, { policy });
    const { assistant, thread } = await setUp(base); // one message in the thread
    const started = await engine.createRun(OWNER, thread, {
      assistant_id: assistant.id,
      stream: true,
      additional_messages: [{ role: 'user', content: 'Hello?' }],
    });
    await ended(started); // now three: the cap is reached
    expect(reads).toBe(1); // one read of the history for the whole turn
    await expect(
      engine.createRun(OWNER, thread, {
        assistant_id: assistant.id,
        additional_messages: [{ role: 'user', content: 'Still there?' }],
      }),
    ).rejects.toMatchObject({ status: 400, param: 'thread_id' });
    expect(await engine.activeRun(OWNER, thread.id)).toBeUndefined(); // the refused turn left no claim
    await engine.close();
  });

  it('stores what the player saw: a cancel with shown_characters cuts a finished run’s reply there', async () => {
    const { upstream, release } = heldUpstream();
    release();
    const engine = new RunEngine(base, upstream, config);
    const { assistant, thread } = await setUp(base);
    const started = await engine.createRun(OWNER, thread, { assistant_id: assistant.id, stream: true });
    await ended(started);
    // The reply ("Hello") arrived at once but was still being typed: the player saw three characters.
    const answer = await engine.cancel(OWNER, thread.id, started.run.id, 3);
    expect(answer.status).toBe('completed'); // the run is as it ended
    const [reply] = (await base.listMessages(OWNER, thread.id, { limit: 1, order: 'desc' })).data;
    expect(reply).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'run_cancelled' } });
    expect(reply?.content[0]).toMatchObject({ text: { value: 'Hel' } });
    // Without the field (any other client) nothing changes.
    await engine.cancel(OWNER, thread.id, started.run.id);
    const [same] = (await base.listMessages(OWNER, thread.id, { limit: 1, order: 'desc' })).data;
    expect(same?.content[0]).toMatchObject({ text: { value: 'Hel' } });
    await engine.close();
  });

  it('stores what the player saw: a cancel with shown_characters mid-stream cuts the reply there', async () => {
    const gate = pausingUpstream();
    const engine = new RunEngine(base, gate.upstream, config);
    const { assistant, thread } = await setUp(base);
    const started = await engine.createRun(OWNER, thread, { assistant_id: assistant.id, stream: true });
    await until(async () => (await names(started)).includes('thread.message.delta'));
    const answer = await engine.cancel(OWNER, thread.id, started.run.id, 2);
    expect(answer.status).toBe('cancelling');
    gate.release();
    await ended(started);
    const [reply] = (await base.listMessages(OWNER, thread.id, { limit: 1, order: 'desc' })).data;
    expect(reply).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'run_cancelled' } });
    expect(reply?.content[0]).toMatchObject({ text: { value: 'We' } });
    await engine.close();
  });

  it('shows a cancelled run what it was charged, estimated when the upstream reported no usage', async () => {
    const gate = pausingUpstream();
    const engine = new RunEngine(base, gate.upstream, config);
    const { assistant, thread } = await setUp(base);
    const started = await engine.createRun(OWNER, thread, { assistant_id: assistant.id, stream: true });
    await until(async () => (await names(started)).includes('thread.message.delta'));
    await engine.cancel(OWNER, thread.id, started.run.id);
    gate.release();
    await ended(started);
    const run = await base.getRun(OWNER, thread.id, started.run.id);
    expect(run?.status).toBe('cancelled');
    expect(run?.usage?.completion_tokens).toBeGreaterThan(0); // "Well." was produced, and paid for
    expect(run?.usage?.prompt_tokens).toBeGreaterThan(0);
    await engine.close();
  });

  it('a player who lists the thread mid-turn sees the reply in progress', async () => {
    const store = withMemoryCache(base); // as the proxy runs on its embedded store
    const gate = pausingUpstream();
    const engine = new RunEngine(store, gate.upstream, config);
    const { assistant, thread } = await setUp(store);
    const started = await engine.createRun(OWNER, thread, { assistant_id: assistant.id, stream: true });
    await until(async () => (await names(started)).includes('thread.message.delta'));
    await until(async () => {
      const page = await store.listMessages(OWNER, thread.id, { limit: 20, order: 'desc' });
      return page.data[0]?.role === 'assistant' && page.data[0].status === 'in_progress';
    });
    gate.release();
    await ended(started);
    await engine.close();
  });
});
