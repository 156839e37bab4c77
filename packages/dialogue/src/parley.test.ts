import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DialogueError } from './errors.js';
import type { NpcDefinition } from './npc.js';
import { createParley } from './parley.js';
import { memoryStore } from './store.js';
import { collect, REPLY, rejection, startTestProxy, type TestProxy } from './test-proxy.js';
import type { DialogueEvent } from './turn.js';

const innkeeper: NpcDefinition = {
  id: 'innkeeper',
  name: 'Marta',
  instructions: 'You run the Gilded Goose. Be warm and brief.',
  tools: [
    {
      name: 'give_item',
      description: 'Hand the player an item.',
      parameters: { type: 'object', properties: { item: { type: 'string' } }, required: ['item'] },
    },
  ],
};

let proxy: TestProxy;
beforeEach(async () => {
  proxy = await startTestProxy();
});
afterEach(async () => {
  await proxy.close();
});

describe('npc.ensure', () => {
  it('creates one assistant for concurrent ensures of the same NPC and reuses it from the store', async () => {
    const store = memoryStore();
    const parley = createParley({ url: proxy.url, store });
    const [a, b] = await Promise.all([parley.npc(innkeeper).ensure(), parley.npc(innkeeper).ensure()]);
    expect(a.id).toBe(b.id);
    expect(proxy.calls('POST', /^\/v1\/assistants$/)).toHaveLength(1);
    // One shared in-flight ensure: a single list request, not one per caller.
    expect(proxy.calls('GET', /^\/v1\/assistants/)).toHaveLength(1);
    expect(proxy.assistants[0]?.metadata['parley_npc']).toBe('innkeeper');
    expect(await store.get('parley:assistant:innkeeper')).toBe(a.id);

    // A page reload: a new instance with the same store verifies the remembered id and changes nothing.
    proxy.requests.length = 0;
    const again = await createParley({ url: proxy.url, store }).npc(innkeeper).ensure();
    expect(again.id).toBe(a.id);
    expect(proxy.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`GET /v1/assistants/${a.id}`]);
    expect(proxy.assistants).toHaveLength(1);
  });

  it('finds its assistant by metadata across list pages when the store is empty', async () => {
    proxy.pageSize = 2;
    const original = await createParley({ url: proxy.url, store: memoryStore() }).npc(innkeeper).ensure();
    for (let i = 0; i < 5; i++) {
      await createParley({ url: proxy.url, store: memoryStore() })
        .npc({ ...innkeeper, id: `villager-${i}` })
        .ensure();
    }
    proxy.requests.length = 0;
    const found = await createParley({ url: proxy.url, store: memoryStore() }).npc(innkeeper).ensure();
    expect(found.id).toBe(original.id);
    expect(proxy.calls('GET', /^\/v1\/assistants\?/).length).toBeGreaterThanOrEqual(3);
    expect(proxy.calls('POST', /^\/v1\/assistants/)).toHaveLength(0);
  });

  it('modifies the assistant only when the definition changed', async () => {
    const store = memoryStore();
    const first = await createParley({ url: proxy.url, store }).npc(innkeeper).ensure();
    const changed = { ...innkeeper, instructions: 'You are grumpy today.', temperature: 0.3 };
    const updated = await createParley({ url: proxy.url, store }).npc(changed).ensure();
    expect(updated.id).toBe(first.id);
    expect(proxy.calls('POST', new RegExp(`^/v1/assistants/${first.id}$`))).toHaveLength(1);
    expect(proxy.assistants[0]).toMatchObject({ instructions: 'You are grumpy today.', temperature: 0.3 });

    proxy.requests.length = 0;
    await createParley({ url: proxy.url, store }).npc(changed).ensure();
    expect(proxy.calls('POST', /^\/v1\/assistants/)).toHaveLength(0);
  });

  it('re-creates an assistant that the proxy no longer has', async () => {
    const store = memoryStore();
    const first = await createParley({ url: proxy.url, store }).npc(innkeeper).ensure();
    proxy.assistants.length = 0;
    const second = await createParley({ url: proxy.url, store }).npc(innkeeper).ensure();
    expect(second.id).not.toBe(first.id);
    expect(await store.get('parley:assistant:innkeeper')).toBe(second.id);
  });
});

describe('conversation', () => {
  /** The lines sent, in order: `run: <line>` for a run that carries it, `message: <text>` for a message. */
  const lines = () =>
    proxy.requests
      .filter((r) => r.method === 'POST' && /\/(messages|runs)$/.test(r.path))
      .map((r) => {
        const added = r.body?.['additional_messages'] as Array<{ content: string }> | undefined;
        return r.path.endsWith('/runs')
          ? `run: ${added?.map((m) => m.content).join(' + ')}`
          : `message: ${r.body?.['content']}`;
      });

  it('remembers the thread across instances sharing a store and replaces it after a 404', async () => {
    const store = memoryStore();
    const first = await createParley({ url: proxy.url, store })
      .npc(innkeeper)
      .conversation({ key: 'slot-1' })
      .threadId();
    expect(await store.get('parley:thread:innkeeper:slot-1')).toBe(first);
    const again = await createParley({ url: proxy.url, store })
      .npc(innkeeper)
      .conversation({ key: 'slot-1' })
      .threadId();
    expect(again).toBe(first);
    const otherSlot = await createParley({ url: proxy.url, store })
      .npc(innkeeper)
      .conversation({ key: 'slot-2' })
      .threadId();
    expect(otherSlot).not.toBe(first);
    expect(proxy.calls('POST', /^\/v1\/threads$/)).toHaveLength(2);

    proxy.threads.delete(first);
    const replaced = await createParley({ url: proxy.url, store })
      .npc(innkeeper)
      .conversation({ key: 'slot-1' })
      .threadId();
    expect(replaced).not.toBe(first);
    expect(proxy.threads.has(replaced)).toBe(true);
    expect(await store.get('parley:thread:innkeeper:slot-1')).toBe(replaced);
  });

  it('say() streams turn.start → text.delta… → turn.end and resolves .text with the whole reply', async () => {
    proxy.token = 'player-token';
    const parley = createParley({ url: proxy.url, store: memoryStore(), auth: async () => 'player-token' });
    const conversation = parley.npc(innkeeper).conversation();
    const turn = conversation.say('A room for the night?');
    const events = await collect(turn);
    const threadId = await conversation.threadId();

    expect(events[0]).toEqual({ type: 'turn.start', runId: turn.runId, threadId });
    expect(turn.runId).toMatch(/^run_/);
    const deltas = events.filter((e) => e.type === 'text.delta');
    expect(deltas.length).toBeGreaterThan(5);
    expect(deltas.map((d) => d.delta).join('')).toBe(REPLY);
    expect(deltas.at(-1)?.text).toBe(REPLY);
    expect(events.at(-1)).toEqual({
      type: 'turn.end',
      text: REPLY,
      status: 'completed',
      runId: turn.runId,
      usage: { prompt_tokens: 12, completion_tokens: 9, total_tokens: 21 },
    });
    expect(events.filter((e) => e.type === 'turn.start' || e.type === 'turn.end')).toHaveLength(2);
    expect(await turn.text).toBe(REPLY);

    // The run carries the player's line: no separate message request.
    expect(proxy.calls('POST', /\/messages$/)).toHaveLength(0);
    const [run] = proxy.calls('POST', /\/runs$/);
    expect(run?.headers.accept).toBe('text/event-stream');
    expect(run?.headers.authorization).toBe('Bearer player-token');
    expect(run?.body).toEqual({
      assistant_id: proxy.assistants[0]?.id,
      additional_messages: [{ role: 'user', content: 'A room for the night?' }],
      stream: true,
    });
    expect(proxy.threads.get(threadId)?.map((m) => m.role)).toEqual(['user', 'assistant']);
  });

  it('a turn on a known thread and assistant is one request, then its stream', async () => {
    const conversation = createParley({ url: proxy.url, store: memoryStore() }).npc(innkeeper).conversation();
    await Promise.all([conversation.threadId(), conversation.npc.ensure()]);
    proxy.requests.length = 0;
    const turn = conversation.say('Same as yesterday.');
    expect(await turn.text).toBe(REPLY);
    const thread = await conversation.threadId();
    expect(proxy.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`POST /v1/threads/${thread}/runs`]);
    const { messages } = await conversation.history();
    expect(messages.map((m) => [m.role, m.text])).toEqual([
      ['user', 'Same as yesterday.'],
      ['assistant', REPLY],
    ]);
  });

  it('a turn the proxy refuses leaves no line behind, and the retry after a lost assistant sends it once', async () => {
    const store = memoryStore();
    const conversation = createParley({ url: proxy.url, store }).npc(innkeeper).conversation();
    await conversation.say('One').text;
    proxy.failures.push({
      method: 'POST',
      path: /\/runs$/,
      status: 400,
      error: { code: 'thread_busy', message: 'Thread is busy.' },
    });
    expect(await rejection(conversation.say('Two').text)).toMatchObject({
      code: 'invalid_request',
      retryable: true,
    });
    // The proxy lost its assistants mid-session: the run is refused (404), the assistant made again, and
    // the run sent again.
    proxy.assistants.length = 0;
    expect(await conversation.say('Three').text).toBe(REPLY);
    expect(proxy.calls('POST', /\/runs$/)).toHaveLength(4);
    const { messages } = await conversation.history();
    expect(messages.map((m) => `${m.role}: ${m.text}`)).toEqual([
      'user: One',
      `assistant: ${REPLY}`,
      'user: Three',
      `assistant: ${REPLY}`,
    ]);
  });

  it('buffers a turn: late and repeated iteration each see every event exactly once', async () => {
    const turn = createParley({ url: proxy.url, store: memoryStore() })
      .npc(innkeeper)
      .conversation()
      .say('Hi');
    expect(await turn.text).toBe(REPLY);
    const first = await collect(turn);
    const second = await collect(turn);
    expect(first.map((e) => e.type)).toEqual([
      'turn.start',
      ...Array(first.length - 2).fill('text.delta'),
      'turn.end',
    ]);
    expect(second).toEqual(first);
  });

  it('runs turns of one conversation one after another', async () => {
    const conversation = createParley({ url: proxy.url, store: memoryStore() }).npc(innkeeper).conversation();
    const a = conversation.say('One');
    const b = conversation.say('Two');
    await Promise.all([a.text, b.text]);
    expect(lines()).toEqual(['run: One', 'run: Two']);
  });

  it('interrupt() stops the stream mid-reply, ends with an interrupted error and cancels the run', async () => {
    let closed = false;
    proxy.script = async ({ run, send, say, cancelled, closed: gone }) => {
      send('thread.run.created', run('queued'));
      await say('Well, let me tell you', 100);
      void gone.then(() => {
        closed = true;
      });
      await cancelled;
      send('thread.run.cancelled', run('cancelled'));
    };
    const turn = createParley({ url: proxy.url, store: memoryStore() })
      .npc(innkeeper)
      .conversation()
      .say('Tell me a story');
    const events: DialogueEvent[] = [];
    for await (const event of turn) {
      events.push(event);
      if (event.type === 'text.delta') turn.interrupt();
    }
    expect(events.map((e) => e.type)).toEqual(['turn.start', 'text.delta', 'error']);
    const last = events.at(-1);
    expect(last?.type === 'error' && last.error.code).toBe('interrupted');
    expect((await rejection(turn.text)).code).toBe('interrupted');
    await vi.waitFor(() => expect(proxy.calls('POST', /\/runs\/run_\w+\/cancel$/)).toHaveLength(1));
    expect(proxy.calls('POST', /\/cancel$/)[0]?.path).toContain(`/runs/${turn.runId}/cancel`);
    await vi.waitFor(() => expect(closed).toBe(true));
  });

  it('an aborted say() signal interrupts the turn', async () => {
    proxy.script = async ({ run, send, closed }) => {
      send('thread.run.created', run('in_progress'));
      await closed;
    };
    const controller = new AbortController();
    const turn = createParley({ url: proxy.url, store: memoryStore() })
      .npc(innkeeper)
      .conversation()
      .say('Hello?', { signal: controller.signal });
    for await (const event of turn) if (event.type === 'turn.start') controller.abort();
    expect((await rejection(turn.text)).code).toBe('interrupted');
  });

  it('recovers when the proxy lost the thread mid-session', async () => {
    const store = memoryStore();
    const conversation = createParley({ url: proxy.url, store }).npc(innkeeper).conversation();
    const before = await conversation.threadId();
    proxy.threads.clear();
    expect(await conversation.say('Still there?').text).toBe(REPLY);
    const after = await conversation.threadId();
    expect(after).not.toBe(before);
    expect(await store.get('parley:thread:innkeeper:default')).toBe(after);
    expect(proxy.threads.get(after)?.map((m) => m.role)).toEqual(['user', 'assistant']);
  });

  it('history() pages back through text messages, oldest → newest', async () => {
    const conversation = createParley({ url: proxy.url, store: memoryStore() }).npc(innkeeper).conversation();
    expect(await conversation.history()).toEqual({ messages: [], hasMore: false });
    expect(proxy.calls('POST', /^\/v1\/threads$/)).toHaveLength(0);

    await conversation.say('First').text;
    await conversation.say('Second').text;
    const latest = await conversation.history({ limit: 3 });
    expect(latest.messages.map((m) => `${m.role}: ${m.text}`)).toEqual([
      `assistant: ${REPLY}`,
      'user: Second',
      `assistant: ${REPLY}`,
    ]);
    expect(latest.hasMore).toBe(true);
    expect(latest.messages[0]?.createdAt).toBeGreaterThan(Date.now() - 60_000);
    const older = await conversation.history({ limit: 3, before: latest.messages[0]?.id });
    expect(older).toEqual({
      messages: [expect.objectContaining({ role: 'user', text: 'First' })],
      hasMore: false,
    });
  });

  it('thread() reads the thread with its metadata (the memory note), and none before the first say()', async () => {
    const conversation = createParley({ url: proxy.url, store: memoryStore() }).npc(innkeeper).conversation();
    expect(await conversation.thread()).toBeUndefined();
    expect(proxy.calls('POST', /^\/v1\/threads$/)).toHaveLength(0);

    await conversation.say('I am Ada.').text;
    const id = await conversation.threadId();
    // What the proxy does once the thread outgrows its context budget (docs/memory.md).
    proxy.threadMetadata.get(id)!['parley_memory'] = "- The player's name is Ada.";
    const thread = await conversation.thread();
    expect(thread?.id).toBe(id);
    expect(thread?.metadata).toEqual({
      parley_npc: 'innkeeper',
      parley_conversation: 'default',
      parley_memory: "- The player's name is Ada.",
    });

    // A read is retried past a 5xx, and a refusal rejects with a DialogueError, as every request does.
    proxy.failures.push({ method: 'GET', path: new RegExp(`/threads/${id}$`), status: 503 });
    expect((await conversation.thread())?.metadata['parley_memory']).toBe("- The player's name is Ada.");
    proxy.token = 'secret';
    expect((await rejection(conversation.thread())).code).toBe('auth');
  });

  it('tell() adds an event message without a run, after the running turn', async () => {
    const conversation = createParley({ url: proxy.url, store: memoryStore() }).npc(innkeeper).conversation();
    const turn = conversation.say('Hello');
    const told = conversation.tell('The player paid 5 gold.');
    await Promise.all([turn.text, told]);
    expect(lines()).toEqual(['run: Hello', 'message: [event] The player paid 5 gold.']);
    expect(proxy.calls('POST', /\/messages$/)[0]?.body?.['metadata']).toEqual({ parley_kind: 'event' });

    await conversation.tell('The player sat down.');
    expect(proxy.calls('POST', /\/runs$/)).toHaveLength(1);
    const { messages } = await conversation.history();
    expect(messages.map((m) => [m.role, m.text, m.event])).toEqual([
      ['user', 'Hello', undefined],
      ['assistant', REPLY, undefined],
      ['user', 'The player paid 5 gold.', true],
      ['user', 'The player sat down.', true],
    ]);
  });

  it('reset() deletes the thread and the next say() starts a new one', async () => {
    const store = memoryStore();
    const conversation = createParley({ url: proxy.url, store }).npc(innkeeper).conversation();
    await conversation.say('Remember me').text;
    const old = await conversation.threadId();
    await conversation.reset();
    expect(proxy.calls('DELETE', new RegExp(`/v1/threads/${old}$`))).toHaveLength(1);
    expect(proxy.threads.has(old)).toBe(false);
    expect(await store.get('parley:thread:innkeeper:default')).toBeNull();
    expect(await conversation.history()).toEqual({ messages: [], hasMore: false });
    const fresh = await conversation.threadId();
    expect(fresh).not.toBe(old);
  });
});

describe('errors', () => {
  const talk = () => createParley({ url: proxy.url, store: memoryStore() }).npc(innkeeper).conversation();

  it('maps a refused token to auth', async () => {
    proxy.token = 'right';
    const parley = createParley({ url: proxy.url, store: memoryStore(), auth: () => 'wrong' });
    const error = await rejection(parley.npc(innkeeper).ensure());
    expect(error).toBeInstanceOf(DialogueError);
    expect(error).toMatchObject({ code: 'auth', status: 401, retryable: false });
  });

  it('tells budget (stop) from rate limits (retry) on 429', async () => {
    proxy.failures.push({
      method: 'POST',
      path: /\/runs$/,
      status: 429,
      error: { code: 'budget_exceeded', message: 'Out of words for today.', type: 'rate_limit_error' },
    });
    const turn = talk().say('Hello');
    const events = await collect(turn);
    expect(events).toHaveLength(1);
    const [only] = events;
    expect(only?.type === 'error' && only.error).toMatchObject({
      code: 'budget',
      status: 429,
      retryable: false,
      message: 'Out of words for today.',
    });

    proxy.failures.push({
      method: 'POST',
      path: /\/runs$/,
      status: 429,
      error: { code: 'rate_limit_exceeded' },
    });
    expect(await rejection(talk().say('Hello').text)).toMatchObject({
      code: 'rate_limited',
      retryable: true,
    });
  });

  it('maps 500 to a retryable upstream error', async () => {
    proxy.failures.push({
      method: 'POST',
      path: /\/runs$/,
      status: 500,
      error: { code: 'server_error' },
    });
    expect(await rejection(talk().say('Hello').text)).toMatchObject({
      code: 'upstream',
      status: 500,
      retryable: true,
    });
  });

  it('maps an in-stream error event and a failed run', async () => {
    proxy.script = async ({ run, send }) => {
      send('thread.run.created', run('in_progress'));
      send('error', {
        code: 'moderation_flagged',
        message: 'Let us keep it civil.',
        type: 'invalid_request_error',
      });
    };
    const turn = talk().say('something rude');
    const events = await collect(turn);
    expect(events.map((e) => e.type)).toEqual(['turn.start', 'error']);
    expect(await rejection(turn.text)).toMatchObject({
      code: 'moderation',
      message: 'Let us keep it civil.',
    });

    proxy.script = async ({ run, send }) => {
      send('thread.run.created', run('in_progress'));
      send(
        'thread.run.failed',
        run('failed', { last_error: { code: 'rate_limit_exceeded', message: 'Slow down.' } }),
      );
      send('done', '[DONE]');
    };
    expect(await rejection(talk().say('Again').text)).toMatchObject({
      code: 'rate_limited',
      retryable: true,
    });
  });

  it("prefers the error event after a failed run to the run's coarser last_error", async () => {
    // A budget spent mid-run: OpenAI's last_error codes can only say rate_limit_exceeded.
    proxy.script = async ({ run, send, say }) => {
      send('thread.run.created', run('in_progress'));
      await say('Let me th', 100);
      send(
        'thread.run.failed',
        run('failed', { last_error: { code: 'rate_limit_exceeded', message: 'Out of words for today.' } }),
      );
      send('error', {
        code: 'budget_exceeded',
        message: 'Out of words for today.',
        type: 'rate_limit_error',
        param: null,
      });
      send('done', '[DONE]');
    };
    const turn = talk().say('Hello');
    const events = await collect(turn);
    expect(events.map((e) => e.type)).toEqual(['turn.start', 'text.delta', 'error']);
    expect(await rejection(turn.text)).toMatchObject({ code: 'budget', retryable: false });

    // Without one (OpenAI), the last_error decides.
    proxy.script = async ({ run, send }) => {
      send('thread.run.created', run('in_progress'));
      send('thread.run.expired', run('expired'));
      send('done', '[DONE]');
    };
    expect(await rejection(talk().say('Again').text)).toMatchObject({
      code: 'upstream',
      message: 'Run expired',
    });
  });

  it('treats a stream that ends before the run finished as a retryable network error', async () => {
    proxy.script = async ({ run, send, say }) => {
      send('thread.run.created', run('in_progress'));
      await say('Half a sen', 100);
    };
    const turn = talk().say('Hello');
    const events = await collect(turn);
    expect(events.map((e) => e.type)).toEqual(['turn.start', 'text.delta', 'error']);
    expect(await rejection(turn.text)).toMatchObject({ code: 'network', retryable: true });
    // It tried to resume first; the proxy had nothing more (a lone `done`), so there was nothing to wait for.
    expect(proxy.calls('GET', /\/events$/)).toHaveLength(1);
  });

  it('maps an unreachable proxy to a retryable network error', async () => {
    const url = proxy.url;
    await proxy.close();
    const turn = createParley({ url, store: memoryStore() }).npc(innkeeper).conversation().say('Anyone?');
    const error = await rejection(turn.text);
    expect(error).toMatchObject({ code: 'network', retryable: true });
    expect((await collect(turn)).map((e) => e.type)).toEqual(['error']);
    proxy = await startTestProxy(); // for afterEach
  });

  it('uses the injected fetch, resolved per call', async () => {
    const seen: string[] = [];
    const fetch: typeof globalThis.fetch = (input, init) => {
      seen.push(String(input));
      return globalThis.fetch(input, init);
    };
    await createParley({ url: `${proxy.url}/`, fetch, store: memoryStore() })
      .npc(innkeeper)
      .ensure();
    expect(seen[0]).toBe(`${proxy.url}/v1/assistants?limit=100`);
  });
});

describe('facts', () => {
  const sent = () =>
    proxy.requests
      .filter((r) => r.method === 'POST' && r.path.endsWith('/runs'))
      .map((r) => r.body?.['additional_instructions']);

  it('carries the world’s and the NPC’s facts with every turn, as the run’s additional_instructions', async () => {
    const parley = createParley({ url: proxy.url, store: memoryStore() });
    const marta = parley.npc(innkeeper);
    const talk = marta.conversation();
    await talk.say('Hello.').text;
    expect(sent()).toEqual([undefined]); // no facts: nothing extra is sent

    parley.facts.set('gate', 'open');
    marta.facts.set('room', 'taken by the traveller');
    // Another npc() of the same id shares the NPC's facts; another NPC does not get them.
    parley.npc(innkeeper).facts.set('ale', 'sold out');
    await talk.say('Any rooms?').text;
    expect(sent()[1]).toBe(
      'Facts (true now; they overrule earlier lines):\n' +
        '- gate: open\n- room: taken by the traveller\n- ale: sold out',
    );
    await parley
      .npc({ ...innkeeper, id: 'guard' })
      .conversation()
      .say('Hi.').text;
    expect(sent()[2]).toBe('Facts (true now; they overrule earlier lines):\n- gate: open');

    expect(marta.facts.delete('room')).toBe(true);
    marta.facts.set('ale', 'restocked');
    await talk.say('And now?').text;
    expect(sent()[3]).toContain('- ale: restocked');
    expect(sent()[3]).not.toContain('room');
    expect(marta.facts.get('ale')).toBe('restocked');
  });
});
