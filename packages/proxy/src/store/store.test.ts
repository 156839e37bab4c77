import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Assistant, Message, Run, RunStatus, RunStep, Thread } from '@parley/protocol';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresAvailable, startPostgres, type TestPostgres } from '../../../../test/support/postgres.js';
import { connectPostgres, type Database, openPglite } from './database.js';
import { createStore, type PageQuery, type Store, StoreError } from './index.js';
import { MIGRATIONS, migrate } from './migrations.js';
import { SqlStore } from './sql-store.js';

// ---------------------------------------------------------------------------------------------------------
// Fixtures. Every test works under fresh owners and ids, so one database serves a whole suite.

const unique = (prefix: string): string => `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 16)}`;

function assistant(overrides: Partial<Assistant> = {}): Assistant {
  return {
    id: unique('asst'),
    object: 'assistant',
    created_at: 1_767_225_600,
    name: 'Mira the smith',
    description: null,
    model: 'parley-offline',
    instructions: 'You forge swords and speak in short sentences.',
    tools: [{ type: 'function', function: { name: 'give_item', parameters: { type: 'object' } } }],
    tool_resources: null,
    metadata: { npc: 'smith' },
    temperature: 0.7,
    top_p: null,
    response_format: 'auto',
    ...overrides,
  };
}

function thread(overrides: Partial<Thread> = {}): Thread {
  return {
    id: unique('thread'),
    object: 'thread',
    created_at: 1_767_225_600,
    metadata: {},
    tool_resources: null,
    ...overrides,
  };
}

function message(threadId: string, overrides: Partial<Message> = {}): Message {
  return {
    id: unique('msg'),
    object: 'thread.message',
    created_at: 1_767_225_600,
    thread_id: threadId,
    role: 'user',
    content: [{ type: 'text', text: { value: 'Can you mend my blade?', annotations: [] } }],
    status: 'completed',
    assistant_id: null,
    run_id: null,
    attachments: [],
    completed_at: null,
    incomplete_at: null,
    incomplete_details: null,
    metadata: {},
    ...overrides,
  };
}

function run(threadId: string, overrides: Partial<Run> = {}): Run {
  return {
    id: unique('run'),
    object: 'thread.run',
    created_at: 1_767_225_600,
    thread_id: threadId,
    assistant_id: 'asst_1',
    status: 'queued',
    required_action: null,
    last_error: null,
    expires_at: null,
    started_at: null,
    cancelled_at: null,
    failed_at: null,
    completed_at: null,
    incomplete_details: null,
    model: 'parley-offline',
    instructions: 'Be brief.',
    tools: [],
    tool_choice: 'auto',
    parallel_tool_calls: true,
    response_format: 'auto',
    truncation_strategy: { type: 'auto', last_messages: null },
    max_prompt_tokens: null,
    max_completion_tokens: null,
    usage: null,
    metadata: {},
    temperature: null,
    top_p: null,
    ...overrides,
  };
}

function step(threadId: string, runId: string, overrides: Partial<RunStep> = {}): RunStep {
  return {
    id: unique('step'),
    object: 'thread.run.step',
    created_at: 1_767_225_600,
    run_id: runId,
    thread_id: threadId,
    assistant_id: 'asst_1',
    type: 'message_creation',
    status: 'completed',
    step_details: { type: 'message_creation', message_creation: { message_id: 'msg_1' } },
    last_error: null,
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    completed_at: 1_767_225_601,
    cancelled_at: null,
    failed_at: null,
    expired_at: null,
    metadata: {},
    ...overrides,
  };
}

const page = (query: Partial<PageQuery> = {}): PageQuery => ({ limit: 20, order: 'desc', ...query });
const ids = (result: { data: Array<{ id: string }> }): string[] => result.data.map((item) => item.id);

async function rejection(promise: Promise<unknown>): Promise<StoreError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(StoreError);
  return error as StoreError;
}

/** A thread with one run, ready for messages and steps. */
async function seedThread(store: Store, owner: string): Promise<{ thread: Thread; run: Run }> {
  const t = thread();
  await store.putThread(owner, t);
  const r = run(t.id);
  await store.putRun(owner, r);
  return { thread: t, run: r };
}

// ---------------------------------------------------------------------------------------------------------
// The contract every backend must keep.

function storeContract(current: () => Store): void {
  it('stores, updates, lists and deletes assistants', async () => {
    const store = current();
    const owner = unique('owner');
    const smith = assistant({ created_at: 100 });
    const bard = assistant({ created_at: 200, name: 'Odo the bard' });
    await store.putAssistant(owner, smith);
    await store.putAssistant(owner, bard);

    expect(await store.getAssistant(owner, smith.id)).toEqual(smith);
    expect(ids(await store.listAssistants(owner, page()))).toEqual([bard.id, smith.id]);

    await store.putAssistant(owner, { ...smith, instructions: 'Now a retired smith.' });
    expect((await store.getAssistant(owner, smith.id))?.instructions).toBe('Now a retired smith.');

    expect(await store.deleteAssistant(owner, smith.id)).toBe(true);
    expect(await store.getAssistant(owner, smith.id)).toBeUndefined();
    expect(await store.deleteAssistant(owner, smith.id)).toBe(false);
    expect(ids(await store.listAssistants(owner, page()))).toEqual([bard.id]);
  });

  it('stores, updates and deletes threads', async () => {
    const store = current();
    const owner = unique('owner');
    const t = thread({ metadata: { quest: 'lost-ring' } });
    await store.putThread(owner, t);
    expect(await store.getThread(owner, t.id)).toEqual(t);

    await store.putThread(owner, { ...t, metadata: { quest: 'found-ring' } });
    expect((await store.getThread(owner, t.id))?.metadata).toEqual({ quest: 'found-ring' });

    expect(await store.deleteThread(owner, t.id)).toBe(true);
    expect(await store.getThread(owner, t.id)).toBeUndefined();
    expect(await store.deleteThread(owner, t.id)).toBe(false);
  });

  it('stores, updates, filters and deletes messages', async () => {
    const store = current();
    const owner = unique('owner');
    const { thread: t, run: r } = await seedThread(store, owner);
    const question = message(t.id, { created_at: 100 });
    const answer = message(t.id, { created_at: 101, role: 'assistant', run_id: r.id, status: 'in_progress' });
    await store.putMessage(owner, question);
    await store.putMessage(owner, answer);

    expect(await store.getMessage(owner, t.id, answer.id)).toEqual(answer);
    expect(await store.getMessage(owner, 'thread_other', answer.id)).toBeUndefined();

    const finished = { ...answer, status: 'completed' as const, completed_at: 102 };
    await store.putMessage(owner, finished);
    expect(await store.getMessage(owner, t.id, answer.id)).toEqual(finished);

    expect(ids(await store.listMessages(owner, t.id, page()))).toEqual([answer.id, question.id]);
    expect(ids(await store.listMessages(owner, t.id, page(), { runId: r.id }))).toEqual([answer.id]);
    expect(ids(await store.listMessages(owner, t.id, page(), { runId: 'run_none' }))).toEqual([]);
    expect(ids(await store.listMessages(owner, t.id, page(), {}))).toEqual([answer.id, question.id]);
    expect(await store.allMessages(owner, t.id)).toEqual([question, finished]);

    expect(await store.deleteMessage(owner, t.id, question.id)).toBe(true);
    expect(await store.deleteMessage(owner, t.id, question.id)).toBe(false);
    expect(await store.allMessages(owner, t.id)).toEqual([finished]);
  });

  it('stores, updates and lists runs', async () => {
    const store = current();
    const owner = unique('owner');
    const t = thread();
    await store.putThread(owner, t);
    const first = run(t.id, { created_at: 100 });
    const second = run(t.id, { created_at: 100 });
    await store.putRun(owner, first);
    await store.putRun(owner, second);
    expect(await store.getRun(owner, t.id, first.id)).toEqual(first);
    expect(await store.getRun(owner, 'thread_other', first.id)).toBeUndefined();

    const done = { ...first, status: 'completed' as const, completed_at: 105 };
    await store.putRun(owner, done);
    expect(await store.getRun(owner, t.id, first.id)).toEqual(done);
    expect((await store.listRuns(owner, t.id, page({ order: 'asc' }))).data).toEqual([done, second]);
    expect(ids(await store.listRuns(owner, t.id, page({ order: 'desc' })))).toEqual([second.id, first.id]);
  });

  it('ends a run once: of two writers ending it, one stores its end', async () => {
    const store = current();
    const owner = unique('owner');
    const t = thread();
    await store.putThread(owner, t);
    const live = run(t.id, { status: 'in_progress' });
    await store.putRun(owner, live);
    const failed = { ...live, status: 'failed' as const, failed_at: 110 };
    const cancelled = { ...live, status: 'cancelled' as const, cancelled_at: 111 };
    const outcomes = await Promise.all([store.endRun(owner, failed), store.endRun(owner, cancelled)]);
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    expect(await store.getRun(owner, t.id, live.id)).toEqual(outcomes[0] ? failed : cancelled);
    // Not another owner's run, and not a run that is not there.
    expect(await store.endRun(unique('other'), { ...live, status: 'expired' })).toBe(false);
    expect(await store.endRun(owner, { ...failed, id: 'run_missing' })).toBe(false);
  });

  it('stores, updates and lists run steps', async () => {
    const store = current();
    const owner = unique('owner');
    const { thread: t, run: r } = await seedThread(store, owner);
    const call = step(t.id, r.id, {
      type: 'tool_calls',
      status: 'in_progress',
      step_details: {
        type: 'tool_calls',
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'give_item', arguments: '{}' } }],
      },
    });
    const reply = step(t.id, r.id, { created_at: call.created_at + 1 });
    await store.putStep(owner, call);
    await store.putStep(owner, reply);
    expect(await store.getStep(owner, t.id, r.id, call.id)).toEqual(call);
    expect(await store.getStep(owner, t.id, 'run_other', call.id)).toBeUndefined();
    expect(await store.getStep(owner, 'thread_other', r.id, call.id)).toBeUndefined();

    const completed = { ...call, status: 'completed' as const, completed_at: 1_767_225_700 };
    await store.putStep(owner, completed);
    expect(await store.getStep(owner, t.id, r.id, call.id)).toEqual(completed);
    expect((await store.listSteps(owner, t.id, r.id, page({ order: 'asc' }))).data).toEqual([
      completed,
      reply,
    ]);
    expect(ids(await store.listSteps(owner, t.id, 'run_other', page()))).toEqual([]);
  });

  it('stores a run’s boundary together with putAll, or none of it when the database refuses a part', async () => {
    const store = current();
    const owner = unique('owner');
    const { thread: t, run: r } = await seedThread(store, owner);
    const reply = message(t.id, { role: 'assistant', run_id: r.id, assistant_id: r.assistant_id });
    const made = step(t.id, r.id);
    const ended = { ...r, status: 'completed' as const, completed_at: 1_767_225_700 };
    // The last part names a thread that does not exist: the whole batch is rolled back.
    const stray = run('thread_missing');
    await rejection(store.putAll(owner, [reply, made, stray]));
    expect(await store.getMessage(owner, t.id, reply.id)).toBeUndefined();
    expect(await store.getStep(owner, t.id, r.id, made.id)).toBeUndefined();

    await store.putAll(owner, [reply, made, ended]);
    expect(await store.getMessage(owner, t.id, reply.id)).toEqual(reply);
    expect(await store.getStep(owner, t.id, r.id, made.id)).toEqual(made);
    expect(await store.getRun(owner, t.id, r.id)).toEqual(ended);
    expect(await store.allMessages(owner, t.id)).toEqual([reply]);
    // Another owner's ids are refused as a single put refuses them.
    const taken = await rejection(store.putAll(unique('owner'), [{ ...reply }]));
    expect(taken.code).toBe('id_taken');
    expect(await store.getMessage(owner, t.id, reply.id)).toEqual(reply);
  });

  it('keeps an object in its place when it is updated (upsert keeps insertion order)', async () => {
    const store = current();
    const owner = unique('owner');
    const t = thread();
    await store.putThread(owner, t);
    // Same second: only insertion order separates them.
    const [a, b, c] = [message(t.id), message(t.id), message(t.id)];
    for (const m of [a, b, c]) await store.putMessage(owner, m);
    await store.putMessage(owner, {
      ...a,
      content: [{ type: 'text', text: { value: 'edited', annotations: [] } }],
    });
    await store.putMessage(owner, { ...b, metadata: { edited: 'yes' } });

    const listed = await store.listMessages(owner, t.id, page({ order: 'asc' }));
    expect(ids(listed)).toEqual([a.id, b.id, c.id]);
    expect(listed.data[0]?.content).toEqual([{ type: 'text', text: { value: 'edited', annotations: [] } }]);
    expect(ids(await store.listMessages(owner, t.id, page({ order: 'desc' })))).toEqual([c.id, b.id, a.id]);
    expect((await store.allMessages(owner, t.id)).map((m) => m.id)).toEqual([a.id, b.id, c.id]);
  });

  it('returns fresh copies that callers may mutate', async () => {
    const store = current();
    const owner = unique('owner');
    const smith = assistant();
    await store.putAssistant(owner, smith);
    smith.metadata['npc'] = 'changed after put';

    const first = await store.getAssistant(owner, smith.id);
    expect(first?.metadata).toEqual({ npc: 'smith' });
    if (first !== undefined) first.metadata['npc'] = 'changed after get';
    const second = await store.getAssistant(owner, smith.id);
    expect(second?.metadata).toEqual({ npc: 'smith' });
    expect(second).not.toBe(first);
  });

  it('hides every object from other owners', async () => {
    const store = current();
    const alice = unique('alice');
    const bob = unique('bob');
    const asst = assistant();
    await store.putAssistant(alice, asst);
    const { thread: t, run: r } = await seedThread(store, alice);
    const m = message(t.id, { run_id: r.id });
    await store.putMessage(alice, m);
    const s = step(t.id, r.id);
    await store.putStep(alice, s);

    expect(await store.getAssistant(bob, asst.id)).toBeUndefined();
    expect(await store.getThread(bob, t.id)).toBeUndefined();
    expect(await store.getMessage(bob, t.id, m.id)).toBeUndefined();
    expect(await store.getRun(bob, t.id, r.id)).toBeUndefined();
    expect(await store.getStep(bob, t.id, r.id, s.id)).toBeUndefined();
    expect(await store.listAssistants(bob, page())).toEqual({ data: [], has_more: false });
    expect(await store.listMessages(bob, t.id, page())).toEqual({ data: [], has_more: false });
    expect(await store.listMessages(bob, t.id, page(), { runId: r.id })).toEqual({
      data: [],
      has_more: false,
    });
    expect(await store.listRuns(bob, t.id, page())).toEqual({ data: [], has_more: false });
    expect(await store.listSteps(bob, t.id, r.id, page())).toEqual({ data: [], has_more: false });
    expect(await store.allMessages(bob, t.id)).toEqual([]);

    expect(await store.deleteAssistant(bob, asst.id)).toBe(false);
    expect(await store.deleteMessage(bob, t.id, m.id)).toBe(false);
    expect(await store.deleteThread(bob, t.id)).toBe(false);

    // Bob cannot overwrite Alice's objects by reusing their ids.
    expect((await rejection(store.putAssistant(bob, { ...asst, name: 'stolen' }))).code).toBe('id_taken');
    expect((await rejection(store.putThread(bob, { ...t, metadata: { stolen: 'yes' } }))).code).toBe(
      'id_taken',
    );
    expect((await rejection(store.putMessage(bob, { ...m, metadata: { stolen: 'yes' } }))).code).toBe(
      'id_taken',
    );
    expect((await rejection(store.putRun(bob, { ...r, status: 'cancelled' }))).code).toBe('id_taken');
    expect((await rejection(store.putStep(bob, { ...s, status: 'failed' }))).code).toBe('id_taken');

    // A cursor naming Alice's object means nothing to Bob, even inside his own list.
    await store.putAssistant(bob, assistant());
    expect(await store.listAssistants(bob, page({ after: asst.id }))).toEqual({ data: [], has_more: false });

    expect(await store.getAssistant(alice, asst.id)).toEqual(asst);
    expect(await store.getThread(alice, t.id)).toEqual(t);
    expect(await store.getMessage(alice, t.id, m.id)).toEqual(m);
    expect(await store.getRun(alice, t.id, r.id)).toEqual(r);
    expect(await store.getStep(alice, t.id, r.id, s.id)).toEqual(s);
  });

  describe('pagination', () => {
    // Inserted a..e; (created_at, seq) order is b, c, a, e, d: both keys matter.
    let owner: string;
    let threadId: string;
    let asc: string[];
    const byName: Record<string, string> = {};

    beforeAll(async () => {
      const store = current();
      owner = unique('owner');
      const t = thread();
      threadId = t.id;
      await store.putThread(owner, t);
      const seconds: Record<string, number> = { a: 101, b: 100, c: 100, d: 102, e: 101 };
      for (const [name, createdAt] of Object.entries(seconds)) {
        const m = message(t.id, { created_at: createdAt });
        byName[name] = m.id;
        await store.putMessage(owner, m);
      }
      asc = ['b', 'c', 'a', 'e', 'd'].map((name) => byName[name]!);
    });

    const list = (query: Partial<PageQuery>) => current().listMessages(owner, threadId, page(query));
    const named = (...names: string[]) => names.map((name) => byName[name]);

    it('orders by created_at then insertion, both ways', async () => {
      expect(ids(await list({ order: 'asc' }))).toEqual(asc);
      expect(ids(await list({ order: 'desc' }))).toEqual([...asc].reverse());
      expect((await list({ order: 'asc' })).has_more).toBe(false);
    });

    it('walks forward with after, ascending', async () => {
      expect(await list({ order: 'asc', limit: 2 }).then(ids)).toEqual(named('b', 'c'));
      expect((await list({ order: 'asc', limit: 2 })).has_more).toBe(true);
      const second = await list({ order: 'asc', limit: 2, after: byName['c'] });
      expect(ids(second)).toEqual(named('a', 'e'));
      expect(second.has_more).toBe(true);
      const last = await list({ order: 'asc', limit: 2, after: byName['e'] });
      expect(ids(last)).toEqual(named('d'));
      expect(last.has_more).toBe(false);
      expect(await list({ order: 'asc', limit: 2, after: byName['d'] })).toEqual({
        data: [],
        has_more: false,
      });
    });

    it('walks forward with after, descending', async () => {
      const first = await list({ order: 'desc', limit: 2 });
      expect(ids(first)).toEqual(named('d', 'e'));
      expect(first.has_more).toBe(true);
      const second = await list({ order: 'desc', limit: 2, after: byName['e'] });
      expect(ids(second)).toEqual(named('a', 'c'));
      expect(second.has_more).toBe(true);
      const last = await list({ order: 'desc', limit: 2, after: byName['c'] });
      expect(ids(last)).toEqual(named('b'));
      expect(last.has_more).toBe(false);
      expect(await list({ order: 'desc', after: byName['b'] })).toEqual({ data: [], has_more: false });
    });

    it('walks back with before, returning pages in the chosen order', async () => {
      const nearD = await list({ order: 'asc', limit: 2, before: byName['d'] });
      expect(ids(nearD)).toEqual(named('a', 'e'));
      expect(nearD.has_more).toBe(true);
      const nearA = await list({ order: 'asc', limit: 2, before: byName['a'] });
      expect(ids(nearA)).toEqual(named('b', 'c'));
      expect(nearA.has_more).toBe(false);
      expect(await list({ order: 'asc', before: byName['b'] })).toEqual({ data: [], has_more: false });

      const descNearB = await list({ order: 'desc', limit: 2, before: byName['b'] });
      expect(ids(descNearB)).toEqual(named('a', 'c'));
      expect(descNearB.has_more).toBe(true);
      const descNearE = await list({ order: 'desc', limit: 3, before: byName['e'] });
      expect(ids(descNearE)).toEqual(named('d'));
      expect(descNearE.has_more).toBe(false);
      expect(await list({ order: 'desc', before: byName['d'] })).toEqual({ data: [], has_more: false });
    });

    it('combines after and before into a window', async () => {
      const window = await list({ order: 'asc', after: byName['b'], before: byName['d'] });
      expect(ids(window)).toEqual(named('c', 'a', 'e'));
      expect(window.has_more).toBe(false);
      const narrow = await list({ order: 'asc', limit: 2, after: byName['b'], before: byName['d'] });
      expect(ids(narrow)).toEqual(named('c', 'a'));
      expect(narrow.has_more).toBe(true);
      const descWindow = await list({ order: 'desc', after: byName['d'], before: byName['b'] });
      expect(ids(descWindow)).toEqual(named('e', 'a', 'c'));
    });

    it('respects limit at the boundaries', async () => {
      const exact = await list({ order: 'asc', limit: 5 });
      expect(ids(exact)).toEqual(asc);
      expect(exact.has_more).toBe(false);
      const oneShort = await list({ order: 'asc', limit: 4 });
      expect(ids(oneShort)).toEqual(asc.slice(0, 4));
      expect(oneShort.has_more).toBe(true);
      const single = await list({ order: 'desc', limit: 1 });
      expect(ids(single)).toEqual(named('d'));
      expect(single.has_more).toBe(true);
    });

    it('answers an unknown cursor with an empty page', async () => {
      expect(await list({ after: 'msg_unknown' })).toEqual({ data: [], has_more: false });
      expect(await list({ before: 'msg_unknown' })).toEqual({ data: [], has_more: false });
      // A cursor from another thread is unknown here too.
      const other = thread();
      await current().putThread(owner, other);
      const stranger = message(other.id);
      await current().putMessage(owner, stranger);
      expect(await list({ after: stranger.id })).toEqual({ data: [], has_more: false });
    });

    it('treats SQL in ids as plain text', async () => {
      const hostile = "x' OR '1'='1";
      expect(await list({ after: hostile })).toEqual({ data: [], has_more: false });
      expect(await current().getMessage(owner, threadId, hostile)).toBeUndefined();
      expect(await current().listMessages(hostile, threadId, page())).toEqual({ data: [], has_more: false });
    });

    it('pages assistants, runs and steps the same way', async () => {
      const store = current();
      const other = unique('owner');
      const { thread: t, run: r } = await seedThread(store, other);
      const assistants = [
        assistant({ created_at: 5 }),
        assistant({ created_at: 5 }),
        assistant({ created_at: 4 }),
      ];
      for (const item of assistants) await store.putAssistant(other, item);
      const runs = [run(t.id, { created_at: 2_000_000_000 }), run(t.id, { created_at: 2_000_000_000 })];
      for (const item of runs) await store.putRun(other, item);
      const steps = [step(t.id, r.id), step(t.id, r.id), step(t.id, r.id)];
      for (const item of steps) await store.putStep(other, item);

      const firstAssistants = await store.listAssistants(other, page({ order: 'asc', limit: 2 }));
      expect(ids(firstAssistants)).toEqual([assistants[2]!.id, assistants[0]!.id]);
      expect(firstAssistants.has_more).toBe(true);
      expect(
        ids(await store.listAssistants(other, page({ order: 'asc', after: assistants[0]!.id }))),
      ).toEqual([assistants[1]!.id]);

      const runPage = await store.listRuns(other, t.id, page({ limit: 2 }));
      expect(ids(runPage)).toEqual([runs[1]!.id, runs[0]!.id]);
      expect(runPage.has_more).toBe(true);
      expect(ids(await store.listRuns(other, t.id, page({ after: runs[0]!.id })))).toEqual([r.id]);

      const stepPage = await store.listSteps(
        other,
        t.id,
        r.id,
        page({ order: 'desc', before: steps[0]!.id }),
      );
      expect(ids(stepPage)).toEqual([steps[2]!.id, steps[1]!.id]);
      expect(stepPage.has_more).toBe(false);
    });
  });

  it('deletes a thread with its messages, runs and steps', async () => {
    const store = current();
    const owner = unique('owner');
    const { thread: doomed, run: doomedRun } = await seedThread(store, owner);
    const doomedMessage = message(doomed.id, { run_id: doomedRun.id });
    const doomedStep = step(doomed.id, doomedRun.id);
    await store.putMessage(owner, doomedMessage);
    await store.putStep(owner, doomedStep);
    const { thread: kept, run: keptRun } = await seedThread(store, owner);
    const keptMessage = message(kept.id);
    const keptStep = step(kept.id, keptRun.id);
    await store.putMessage(owner, keptMessage);
    await store.putStep(owner, keptStep);

    expect(await store.deleteThread(owner, doomed.id)).toBe(true);
    expect(await store.getThread(owner, doomed.id)).toBeUndefined();
    expect(await store.getMessage(owner, doomed.id, doomedMessage.id)).toBeUndefined();
    expect(await store.getRun(owner, doomed.id, doomedRun.id)).toBeUndefined();
    expect(await store.getStep(owner, doomed.id, doomedRun.id, doomedStep.id)).toBeUndefined();
    expect(await store.allMessages(owner, doomed.id)).toEqual([]);
    expect(ids(await store.listRuns(owner, doomed.id, page()))).toEqual([]);
    expect(ids(await store.listSteps(owner, doomed.id, doomedRun.id, page()))).toEqual([]);
    const unfinished = (await store.listUnfinishedRuns()).map((entry) => entry.run.id);
    expect(unfinished).not.toContain(doomedRun.id);
    expect(unfinished).toContain(keptRun.id);

    expect(await store.getThread(owner, kept.id)).toEqual(kept);
    expect(await store.getMessage(owner, kept.id, keptMessage.id)).toEqual(keptMessage);
    expect(await store.getRun(owner, kept.id, keptRun.id)).toEqual(keptRun);
    expect(await store.getStep(owner, kept.id, keptRun.id, keptStep.id)).toEqual(keptStep);

    // Writing into the deleted thread fails loudly instead of leaving orphans behind.
    expect((await rejection(store.putMessage(owner, message(doomed.id)))).code).toBe('missing_parent');
    expect((await rejection(store.putRun(owner, run(doomed.id)))).code).toBe('missing_parent');
    expect((await rejection(store.putStep(owner, step(doomed.id, doomedRun.id)))).code).toBe(
      'missing_parent',
    );
  });

  it('lists unfinished runs across owners', async () => {
    const store = current();
    const owners = [unique('owner'), unique('owner')] as const;
    const expected = new Map<string, string>();
    const finished: string[] = [];
    const statuses: RunStatus[] = [
      'queued',
      'in_progress',
      'requires_action',
      'cancelling',
      'cancelled',
      'failed',
      'completed',
      'incomplete',
      'expired',
    ];
    for (const [index, owner] of owners.entries()) {
      const t = thread();
      await store.putThread(owner, t);
      for (const status of statuses) {
        const r = run(t.id, { status, created_at: 1000 + index });
        await store.putRun(owner, r);
        if (['queued', 'in_progress', 'requires_action', 'cancelling'].includes(status))
          expected.set(r.id, owner);
        else finished.push(r.id);
      }
    }

    const ours = (await store.listUnfinishedRuns()).filter((entry) => owners.includes(entry.owner));
    expect(new Map(ours.map((entry) => [entry.run.id, entry.owner]))).toEqual(expected);
    expect(ours).toHaveLength(8);
    expect(ours.every((entry) => expected.has(entry.run.id) && entry.run.object === 'thread.run')).toBe(true);

    // Once a run finishes it drops out.
    const [firstId] = expected.keys();
    const firstOwner = expected.get(firstId!)!;
    const first = ours.find((entry) => entry.run.id === firstId)!.run;
    await store.putRun(firstOwner, { ...first, status: 'failed', failed_at: 1001 });
    const after = (await store.listUnfinishedRuns()).map((entry) => entry.run.id);
    expect(after).not.toContain(firstId);
    expect(after.filter((id) => finished.includes(id))).toEqual([]);
  });

  it('migrates idempotently', async () => {
    const store = current();
    const owner = unique('owner');
    const t = thread();
    await store.putThread(owner, t);
    await store.migrate();
    await store.migrate();
    expect(await store.getThread(owner, t.id)).toEqual(t);
    await store.putAssistant(owner, assistant());
    expect((await store.listAssistants(owner, page())).data).toHaveLength(1);
  });

  it('refuses text Postgres cannot hold with a typed error, and keeps it inside an object', async () => {
    const store = current();
    const owner = unique('owner');
    // In a column of its own, a NUL cannot be stored.
    const bad = thread({ id: `${unique('thread')}\u0000` });
    expect((await rejection(store.putThread(owner, bad))).code).toBe('invalid_text');
    // Inside an object, kept as JSON text, it is an escape like any other and comes back as it went in.
    const t = thread({ metadata: { name: 'nul\u0000byte' } });
    await store.putThread(owner, t);
    expect(await store.getThread(owner, t.id)).toEqual(t);
  });
}

/**
 * A database at schema version 1 (objects as `jsonb`) with one of each object, written as version 1
 * wrote them; then the current migrations; then every object must read back as it was.
 */
async function upgradeFromVersion1(db: Database): Promise<void> {
  await migrate(db, MIGRATIONS.slice(0, 1));
  const owner = unique('owner');
  const asst = assistant({ metadata: { shape: 'kept', quote: 'say "hello"\n' } });
  const t = thread({ metadata: { title: 'Ünïcode ✓' } });
  const r = run(t.id);
  const m = message(t.id, { run_id: r.id, role: 'assistant' });
  const st = step(t.id, r.id);
  await db.query(
    'INSERT INTO parley_assistants (id, owner, created_at, data) VALUES ($1, $2, $3, $4::jsonb)',
    [asst.id, owner, asst.created_at, JSON.stringify(asst)],
  );
  await db.query('INSERT INTO parley_threads (id, owner, created_at, data) VALUES ($1, $2, $3, $4::jsonb)', [
    t.id,
    owner,
    t.created_at,
    JSON.stringify(t),
  ]);
  await db.query(
    'INSERT INTO parley_runs (id, owner, thread_id, status, created_at, data) VALUES ($1, $2, $3, $4, $5, $6::jsonb)',
    [r.id, owner, t.id, r.status, r.created_at, JSON.stringify(r)],
  );
  await db.query(
    'INSERT INTO parley_messages (id, owner, thread_id, run_id, created_at, data) VALUES ($1, $2, $3, $4, $5, $6::jsonb)',
    [m.id, owner, t.id, r.id, m.created_at, JSON.stringify(m)],
  );
  await db.query(
    'INSERT INTO parley_steps (id, owner, thread_id, run_id, created_at, data) VALUES ($1, $2, $3, $4, $5, $6::jsonb)',
    [st.id, owner, t.id, r.id, st.created_at, JSON.stringify(st)],
  );
  const store = new SqlStore(db);
  await store.migrate();
  expect(await store.getAssistant(owner, asst.id)).toEqual(asst);
  expect(await store.getThread(owner, t.id)).toEqual(t);
  expect(await store.getRun(owner, t.id, r.id)).toEqual(r);
  expect(await store.getMessage(owner, t.id, m.id)).toEqual(m);
  expect(await store.getStep(owner, t.id, r.id, st.id)).toEqual(st);
  expect((await store.listUnfinishedRuns()).map((entry) => entry.run.id)).toContain(r.id);
  // And it goes on working: objects written after the upgrade sit beside the old ones.
  const later = message(t.id);
  await store.putMessage(owner, later);
  expect((await store.allMessages(owner, t.id)).map((each) => each.id)).toEqual([m.id, later.id]);
  await store.close();
}

// ---------------------------------------------------------------------------------------------------------
// The backends.

describe('store on PGlite in memory (worker thread, the default)', () => {
  let store: Store;
  beforeAll(async () => {
    store = await createStore({});
  });
  afterAll(async () => {
    await store?.close();
  });

  storeContract(() => store);
});

describe('store on PGlite in memory (in-thread)', () => {
  let store: Store;
  beforeAll(async () => {
    store = new SqlStore(await openPglite());
    await store.migrate();
  });
  afterAll(async () => {
    await store?.close();
  });

  storeContract(() => store);

  it('keeps every object when a version 1 database is brought up to date', async () => {
    await upgradeFromVersion1(await openPglite());
  });
});

describe('store on PGlite in a data directory (worker thread, the default)', () => {
  let root: string;
  let dataDir: string;
  let store: Store;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'parley-store-'));
    // A nested path that does not exist yet: createStore must make it.
    dataDir = join(root, 'nested', 'data');
    store = await createStore({ dataDir });
  });
  afterAll(async () => {
    await store?.close();
    await rm(root, { recursive: true, force: true });
  });

  storeContract(() => store);

  it('keeps everything across close and reopen', async () => {
    expect(existsSync(dataDir)).toBe(true);
    const owner = unique('owner');
    const asst = assistant();
    await store.putAssistant(owner, asst);
    const { thread: t, run: r } = await seedThread(store, owner);
    const messages = [message(t.id), message(t.id, { run_id: r.id, role: 'assistant' }), message(t.id)];
    for (const m of messages) await store.putMessage(owner, m);
    const s = step(t.id, r.id);
    await store.putStep(owner, s);

    await store.close();
    await store.close(); // closing twice is harmless
    store = await createStore({ dataDir });

    expect(await store.getAssistant(owner, asst.id)).toEqual(asst);
    expect(await store.getThread(owner, t.id)).toEqual(t);
    expect(await store.allMessages(owner, t.id)).toEqual(messages);
    expect(ids(await store.listMessages(owner, t.id, page({ order: 'desc', limit: 2 })))).toEqual([
      messages[2]!.id,
      messages[1]!.id,
    ]);
    expect(await store.getRun(owner, t.id, r.id)).toEqual(r);
    expect(await store.getStep(owner, t.id, r.id, s.id)).toEqual(s);
    expect((await store.listUnfinishedRuns()).map((entry) => entry.run.id)).toContain(r.id);

    // Order survives too: a new message lands after the old ones.
    const later = message(t.id);
    await store.putMessage(owner, later);
    expect((await store.allMessages(owner, t.id)).map((m) => m.id)).toEqual(
      [...messages, later].map((m) => m.id),
    );
  });
});

const inCi = Boolean(process.env.CI) && process.env.CI !== 'false';
const havePostgres = postgresAvailable();
// Locally a missing server is a skip with its reason in the title; in CI it is a failure (beforeAll throws).
const postgresTitle =
  havePostgres || inCi
    ? 'store on PostgreSQL'
    : 'store on PostgreSQL (skipped: no PostgreSQL binaries under /usr/lib/postgresql; apt-get install postgresql)';

describe.skipIf(!havePostgres && !inCi)(postgresTitle, () => {
  let server: TestPostgres | undefined;
  let store: Store;
  beforeAll(async () => {
    server = await startPostgres();
    store = await createStore({ databaseUrl: server.url });
  });
  afterAll(async () => {
    await store?.close();
    await server?.stop();
  });

  storeContract(() => store);

  /** Creates an empty database on the test server and returns its URL. */
  async function freshDatabase(name: string): Promise<string> {
    const url = new URL(server!.url);
    const admin = new Client({ connectionString: url.href });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    url.pathname = `/${name}`;
    return url.href;
  }

  it('lets several processes migrate one fresh database at once, applying each migration once', async () => {
    const url = await freshDatabase('parley_race');
    const stores = await Promise.all(Array.from({ length: 4 }, () => createStore({ databaseUrl: url })));
    try {
      await Promise.all(stores.map((each) => each.migrate()));
      const owner = unique('owner');
      const t = thread();
      await stores[0]!.putThread(owner, t);
      // Another "process" sees the write: they share one schema, not four.
      expect(await stores[3]!.getThread(owner, t.id)).toEqual(t);
    } finally {
      await Promise.all(stores.map((each) => each.close()));
    }
    const race = new Client({ connectionString: url });
    await race.connect();
    try {
      const applied = await race.query<{ version: number }>(
        'SELECT version FROM parley_migrations ORDER BY version',
      );
      expect(applied.rows.map((row) => row.version)).toEqual(
        MIGRATIONS.map((migration) => migration.version),
      );
    } finally {
      await race.end();
    }
  });

  it('keeps every object when a version 1 database is brought up to date', async () => {
    await upgradeFromVersion1(connectPostgres(await freshDatabase('parley_upgrade')));
  });

  it('shares data between two stores on the same server', async () => {
    const second = await createStore({ databaseUrl: server!.url });
    try {
      const owner = unique('owner');
      const { thread: t } = await seedThread(store, owner);
      const m = message(t.id);
      await second.putMessage(owner, m);
      expect(await store.getMessage(owner, t.id, m.id)).toEqual(m);
    } finally {
      await second.close();
    }
  });

  it('reports an unreachable server as a retryable StoreError', async () => {
    const url = new URL(server!.url);
    url.port = '1';
    const error = await rejection(createStore({ databaseUrl: url.href }));
    expect(error.code).toBe('unavailable');
    expect(error.retryable).toBe(true);
  });
});
