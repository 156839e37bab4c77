import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DialogueError } from './errors.js';
import type { NpcDefinition } from './npc.js';
import { createParley, type ParleyOptions } from './parley.js';
import { memoryStore } from './store.js';
import {
  collect,
  REPLY,
  replyScript,
  startTestProxy,
  type TestProxy,
  type ToolOutput,
} from './test-proxy.js';
import type { DialogueEvent, Turn } from './turn.js';

const smith: NpcDefinition = { id: 'smith', name: 'Brom', instructions: 'You forge and sell blades.' };

let proxy: TestProxy;
beforeEach(async () => {
  proxy = await startTestProxy();
});
afterEach(async () => {
  await proxy.close();
});

const setup = (options?: Partial<ParleyOptions>) => {
  const npc = createParley({ url: proxy.url, store: memoryStore(), ...options }).npc(smith);
  return { npc, conversation: npc.conversation() };
};
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Event types with repeats collapsed: `text.delta ×12` reads as one `text.delta`. */
const shape = (events: DialogueEvent[]) =>
  events.map((e) => e.type).filter((type, i, all) => type !== all[i - 1]);
const deltas = (events: DialogueEvent[]) =>
  events.map((e) => (e.type === 'text.delta' ? e.delta : '')).join('');
const item = {
  type: 'object',
  properties: { item: { type: 'string', enum: ['sword', 'shield'] } },
  required: ['item'],
  additionalProperties: false,
};

describe('tools', () => {
  it('runs parallel calls concurrently, submits their outputs and streams the rest of the turn', async () => {
    let submitted: ToolOutput[] = [];
    proxy.script = async ({ run, send, say, requireAction }) => {
      send('thread.run.created', run('queued'));
      await say('Let me look.');
      submitted = await requireAction([
        ['call_1', 'give_item', '{"item":"sword"}'],
        ['call_2', 'set_mood', '{"mood":"proud"}'],
      ]);
      await say('Here, take it!');
      send('thread.run.completed', run('completed'));
      send('done', '[DONE]');
    };
    const { npc, conversation } = setup();
    const log: string[] = [];
    const slowly = async (name: string, result: unknown) => {
      log.push(`start ${name}`);
      await pause(40);
      log.push(`end ${name}`);
      return result;
    };
    npc.tool<{ item: string }>('give_item', {
      description: 'Hand the player an item.',
      parameters: item,
      run: ({ item }, { call, conversation: from }) => {
        expect(from).toBe(conversation);
        expect(call).toEqual({ id: 'call_1', name: 'give_item', arguments: '{"item":"sword"}' });
        return slowly('give_item', { given: item });
      },
    });
    npc.tool('set_mood', { run: ({ mood }) => slowly('set_mood', `Brom is ${mood}`) });

    const turn = conversation.say('A sword, please.');
    const events = await collect(turn);
    expect(shape(events)).toEqual([
      'turn.start',
      'text.delta',
      'tool.call',
      'tool.result',
      'text.delta',
      'turn.end',
    ]);
    // Both handlers started before either finished.
    expect(log.slice(0, 2).sort()).toEqual(['start give_item', 'start set_mood']);
    expect(events.find((e) => e.type === 'tool.call')).toEqual({
      type: 'tool.call',
      calls: [
        { id: 'call_1', name: 'give_item', arguments: '{"item":"sword"}' },
        { id: 'call_2', name: 'set_mood', arguments: '{"mood":"proud"}' },
      ],
    });
    expect(events.filter((e) => e.type === 'tool.result')).toEqual(
      expect.arrayContaining([
        { type: 'tool.result', id: 'call_1', name: 'give_item', output: '{"given":"sword"}' },
        { type: 'tool.result', id: 'call_2', name: 'set_mood', output: 'Brom is proud' },
      ]),
    );
    expect(submitted).toEqual([
      { tool_call_id: 'call_1', output: '{"given":"sword"}' },
      { tool_call_id: 'call_2', output: 'Brom is proud' },
    ]);
    expect(proxy.calls('POST', /\/submit_tool_outputs$/)[0]?.body?.['stream']).toBe(true);
    expect(await turn.text).toBe('Let me look.\n\nHere, take it!');
    expect(deltas(events)).toBe(await turn.text);
    expect(events.at(-1)).toMatchObject({ type: 'turn.end', status: 'completed' });
    // Registered tools are part of the assistant.
    expect(proxy.assistants[0]?.tools).toEqual([
      {
        type: 'function',
        function: {
          name: 'give_item',
          description: 'Hand the player an item.',
          parameters: item,
          strict: false,
        },
      },
      { type: 'function', function: { name: 'set_mood', strict: false } },
    ]);
  });

  it('answers bad arguments, unknown tools, failures and timeouts with error outputs', async () => {
    let submitted: ToolOutput[] = [];
    proxy.script = async ({ run, send, say, requireAction }) => {
      send('thread.run.created', run('queued'));
      submitted = await requireAction([
        ['call_1', 'give_item', '{"item":5}'],
        ['call_2', 'give_item', '{"item":"sword","gold":1}'],
        ['call_3', 'give_item', '{"item":"axe"}'],
        ['call_4', 'give_item', '{"item":'],
        ['call_5', 'fly', '{}'],
        ['call_6', 'slow', '{}'],
        ['call_7', 'broken', '{}'],
      ]);
      await say('Never mind.');
      send('thread.run.completed', run('completed'));
      send('done', '[DONE]');
    };
    const { npc, conversation } = setup();
    const seen: unknown[] = [];
    let aborted = false;
    npc.tool('give_item', { parameters: item, run: (args) => seen.push(args) });
    npc.tool('slow', {
      timeout: 50,
      run: (_, { signal }) =>
        new Promise(() => signal.addEventListener('abort', () => (aborted = true), { once: true })),
    });
    npc.tool('broken', {
      run: () => {
        throw new Error('The forge is cold');
      },
    });
    const started = Date.now();
    const turn = conversation.say('Do things.');
    expect(await turn.text).toBe('Never mind.');
    expect(Date.now() - started).toBeLessThan(2000); // the timeout was 50 ms, not the default 5 s
    expect(seen).toEqual([]);
    expect(aborted).toBe(true);
    const errors = submitted.map(({ output }) => (JSON.parse(output) as { error: string }).error);
    expect(errors).toEqual([
      'Invalid arguments: args.item must be string',
      'Invalid arguments: args.gold is not allowed',
      'Invalid arguments: args.item must be one of ["sword","shield"]',
      'The arguments are not valid JSON',
      "No tool named 'fly'",
      'Timed out after 50 ms',
      'The forge is cold',
    ]);
    const results = (await collect(turn)).filter((e) => e.type === 'tool.result');
    expect(results).toHaveLength(7);
    for (const result of results) expect(result).toMatchObject({ error: expect.any(String) });
  });

  it('stops a turn whose NPC keeps calling tools after maxToolRounds and cancels the run', async () => {
    proxy.script = async ({ run, send, requireAction, cancelled }) => {
      send('thread.run.created', run('queued'));
      for (let i = 1; ; i++) {
        const next = requireAction([[`call_${i}`, 'give_item', '{"item":"sword"}']]);
        if (!(await Promise.race([next, cancelled.then(() => undefined)]))) break;
      }
    };
    const { npc, conversation } = setup({ maxToolRounds: 3 });
    let calls = 0;
    npc.tool('give_item', { run: () => ++calls });
    const turn = conversation.say('Everything!');
    const events = await collect(turn);
    expect(calls).toBe(3);
    // The fourth round is refused, not reported as a call.
    expect(events.filter((e) => e.type === 'tool.call')).toHaveLength(3);
    expect(proxy.calls('POST', /\/submit_tool_outputs$/)).toHaveLength(3);
    expect(events.at(-1)).toMatchObject({
      type: 'error',
      error: { code: 'upstream', retryable: false },
    });
    await vi.waitFor(() => expect(proxy.calls('POST', /\/cancel$/)).toHaveLength(1));
  });

  it('interrupting during a tool call aborts its signal and cancels the run', async () => {
    proxy.script = async ({ run, send, requireAction, cancelled }) => {
      send('thread.run.created', run('queued'));
      void requireAction([['call_1', 'give_item', '{"item":"shield"}']]);
      await cancelled;
    };
    const { npc, conversation } = setup();
    let aborted = false;
    const turn = conversation.say('A shield.');
    npc.tool('give_item', {
      run: (_, { signal }) =>
        new Promise(() => {
          signal.addEventListener('abort', () => (aborted = true));
          turn.interrupt();
        }),
    });
    const events = await collect(turn);
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { code: 'interrupted' } });
    expect(aborted).toBe(true);
    expect(proxy.calls('POST', /\/submit_tool_outputs$/)).toHaveLength(0);
    await vi.waitFor(() => expect(proxy.calls('POST', /\/cancel$/)).toHaveLength(1));
  });
});

describe('a dropped stream', () => {
  const STORY =
    'Once, a dragon slept under the forge; its breath kept the fire alive for a hundred years. 🐉';
  const lastEventIds = () => proxy.calls('GET', /\/events$/).map((r) => Number(r.headers['last-event-id']));

  it('resumes from the last event id with no duplicated or missing text', async () => {
    proxy.script = async ({ run, send, say, cut, resumed }) => {
      send('thread.run.created', run('queued'));
      send('thread.run.in_progress', run('in_progress'));
      await say(STORY, 3, async (n) => {
        if (n === 4) cut();
        // Deltas 5–8 happen while the client is away (replayed); the rest streams live after it is back.
        if (n === 8) await resumed();
      });
      send('thread.run.completed', run('completed'));
      send('done', '[DONE]');
    };
    const turn = setup().conversation.say('A story?');
    const events = await collect(turn);
    expect(await turn.text).toBe(STORY);
    expect(deltas(events)).toBe(STORY);
    expect(shape(events)).toEqual(['turn.start', 'text.delta', 'turn.end']);
    // Ids 1–3 are run created, in progress, message created; 4–7 the deltas before the cut.
    expect(lastEventIds()).toHaveLength(1);
    expect(lastEventIds()[0]).toBeGreaterThanOrEqual(3);
    expect(lastEventIds()[0]).toBeLessThanOrEqual(7);
  });

  it.each([
    ['before thread.run.completed', true],
    ['between thread.run.completed and done', false],
  ])('ends the turn exactly when the cut lands %s', async (_, beforeCompleted) => {
    proxy.script = async ({ run, send, say, cut, resumed }) => {
      send('thread.run.created', run('queued'));
      await say(REPLY);
      if (beforeCompleted) {
        cut();
        await resumed();
      }
      send('thread.run.completed', run('completed'));
      if (!beforeCompleted) cut();
      send('done', '[DONE]');
    };
    const turn = setup().conversation.say('Hello');
    const events = await collect(turn);
    expect(await turn.text).toBe(REPLY);
    expect(deltas(events)).toBe(REPLY);
    expect(events.at(-1)).toMatchObject({ type: 'turn.end', status: 'completed', text: REPLY });
    if (beforeCompleted) expect(lastEventIds()).toHaveLength(1);
  });

  it('retries a reconnect that fails, then resumes', async () => {
    proxy.failures.push({ method: 'GET', path: /\/events$/, destroy: true });
    proxy.script = async ({ run, send, say, cut, resumed }) => {
      send('thread.run.created', run('queued'));
      await say(STORY, 5, async (n) => {
        if (n === 3) {
          cut();
          await resumed();
        }
      });
      send('thread.run.completed', run('completed'));
      send('done', '[DONE]');
    };
    const turn = setup().conversation.say('Again?');
    const events = await collect(turn);
    expect(await turn.text).toBe(STORY);
    expect(deltas(events)).toBe(STORY);
    const [failed, succeeded] = lastEventIds();
    expect(lastEventIds()).toHaveLength(2);
    expect(failed).toBeGreaterThan(0);
    expect(succeeded).toBe(failed);
  });

  it('resumes a stream cut after a tool round: ids count across the streams of a run', async () => {
    proxy.script = async ({ run, send, say, cut, resumed, requireAction }) => {
      send('thread.run.created', run('queued'));
      await requireAction([['call_1', 'give_item', '{"item":"sword"}']]);
      await say(STORY, 4, async (n) => {
        if (n === 2) {
          cut();
          await resumed();
        }
      });
      send('thread.run.completed', run('completed'));
      send('done', '[DONE]');
    };
    const { npc, conversation } = setup();
    npc.tool('give_item', { run: () => 'done' });
    const turn = conversation.say('A sword.');
    const events = await collect(turn);
    expect(await turn.text).toBe(STORY);
    expect(deltas(events)).toBe(STORY);
    // 1 created, 2 requires_action, 3 done; the submission's stream goes on from 4.
    expect(lastEventIds()[0]).toBeGreaterThanOrEqual(4);
    expect(proxy.calls('POST', /\/runs$/)).toHaveLength(1);
  });
});

describe('interrupting near the end of a line', () => {
  /** Collects unhandled rejections and console.error/warn calls while `body` runs. */
  const quietly = async (body: () => Promise<void>) => {
    const noise: unknown[] = [];
    const onRejection = (reason: unknown) => noise.push(reason);
    process.on('unhandledRejection', onRejection);
    const error = vi.spyOn(console, 'error').mockImplementation((...args) => noise.push(args));
    const warn = vi.spyOn(console, 'warn').mockImplementation((...args) => noise.push(args));
    try {
      await body();
      // Unhandled rejections are reported after a turn of the event loop.
      await pause(20);
    } finally {
      process.off('unhandledRejection', onRejection);
      error.mockRestore();
      warn.mockRestore();
    }
    expect(noise).toEqual([]);
  };

  // The run finishes on the proxy while the player interrupts: the client has seen the first words, not the end.
  const finishesWhileInterrupted = () => {
    proxy.script = async ({ run, send, say, closed }) => {
      send('thread.run.created', run('queued'));
      await say('Well, let me tell you', 100);
      await closed;
      await say(' about the dragon.', 100);
      send('thread.run.completed', run('completed'));
      send('done', '[DONE]');
    };
  };
  const interruptAtFirstWords = async (turn: Turn) => {
    const events: DialogueEvent[] = [];
    for await (const event of turn) {
      events.push(event);
      if (event.type === 'text.delta') turn.interrupt();
    }
    return events;
  };

  it.each([
    ['200 with the finished run (this proxy)', undefined],
    ['400 invalid_run_state (older proxies, OpenAI)', 400],
  ])(
    'a cancel answered %s is no error: the turn ends interrupted and the next one runs',
    async (_, status) => {
      if (status) {
        proxy.failures.push({
          method: 'POST',
          path: /\/cancel$/,
          status,
          error: { code: 'invalid_run_state', message: "Cannot cancel run with status 'completed'." },
        });
      }
      finishesWhileInterrupted();
      const { conversation } = setup();
      await quietly(async () => {
        const turn = conversation.say('A story?');
        const events = await interruptAtFirstWords(turn);
        expect(shape(events)).toEqual(['turn.start', 'text.delta', 'error']);
        expect(events.at(-1)).toMatchObject({ type: 'error', error: { code: 'interrupted' } });
        expect(await turn.text.catch((error: DialogueError) => error.code)).toBe('interrupted');
        // The next turn waits for the cancel's answer, then runs normally.
        proxy.script = replyScript;
        expect(await conversation.say('Never mind.').text).toBe(REPLY);
      });
      const [cancel] = proxy.calls('POST', /\/cancel$/);
      expect(cancel).toBeDefined();
      if (!status) {
        const answer = await fetch(proxy.url + cancel!.path, { method: 'POST' });
        expect(((await answer.json()) as { status: string }).status).toBe('completed');
      }
    },
  );

  it('once the outcome has arrived, interrupt() neither cuts the line nor sends a cancel', async () => {
    let finish = () => {};
    const outcome = new Promise<void>((resolve) => {
      proxy.script = async ({ run, send, say }) => {
        send('thread.run.created', run('queued'));
        await say(REPLY);
        send('thread.run.completed', run('completed'));
        resolve();
        // `done` is still on its way when the player interrupts.
        await new Promise<void>((go) => {
          finish = go;
        });
        send('done', '[DONE]');
      };
    });
    const { conversation } = setup();
    await quietly(async () => {
      const turn = conversation.say('Hello');
      await outcome;
      await pause(100); // for the client to read thread.run.completed
      turn.interrupt();
      finish();
      const events = await collect(turn);
      expect(events.at(-1)).toMatchObject({ type: 'turn.end', status: 'completed', text: REPLY });
      expect(await turn.text).toBe(REPLY);
    });
    expect(proxy.calls('POST', /\/cancel$/)).toHaveLength(0);
  });
});

describe('interrupting with what the player saw', () => {
  const cancelBodies = () => proxy.calls('POST', /\/cancel$/).map((r) => r.body);

  it('after the turn ended, interrupt({ shown }) cuts the stored line and the next turn waits for it', async () => {
    const { conversation } = setup();
    const turn = conversation.say('Hello');
    expect(await turn.text).toBe(REPLY);
    await pause(20); // the turn has settled: only a late cancel can cut the line
    proxy.cancelDelayMs = 100;
    turn.interrupt({ shown: 6 });
    turn.interrupt({ shown: 3 }); // cut once
    // The next turn starts only once the cut is stored: its history must be what the player saw.
    let seen: string | undefined;
    proxy.script = async (context) => {
      const part = proxy.threads.get(context.threadId)?.findLast((m) => m.role === 'assistant')?.content[0];
      seen = part?.type === 'text' ? part.text.value : undefined;
      await replyScript(context);
    };
    expect(await conversation.say('Go on.').text).toBe(REPLY);
    expect(cancelBodies()).toEqual([{ shown_characters: 6 }]);
    expect(seen).toBe('Hail, ');
    const { messages } = await conversation.history();
    expect(messages.map((m) => m.text)).toEqual(['Hello', 'Hail, ', 'Go on.', REPLY]);
  });

  it('after the turn ended, interrupt() without shown, or with the whole line, sends nothing', async () => {
    const { conversation } = setup();
    const turn = conversation.say('Hello');
    await turn.text;
    turn.interrupt();
    turn.interrupt({ shown: REPLY.length });
    await pause(20);
    expect(cancelBodies()).toEqual([]);
  });

  it('mid-stream, interrupt({ shown }) stops the turn and sends shown_characters', async () => {
    proxy.script = async ({ run, send, say, cancelled }) => {
      send('thread.run.created', run('queued'));
      await say('Well, let me tell you about the dragon', 4);
      await cancelled;
      send('thread.run.cancelled', run('cancelled'));
      send('done', '[DONE]');
    };
    const { conversation } = setup();
    const turn = conversation.say('A story?');
    const events: DialogueEvent[] = [];
    for await (const event of turn) {
      events.push(event);
      if (event.type === 'text.delta' && event.text.length >= 8) turn.interrupt({ shown: 5 });
    }
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { code: 'interrupted' } });
    await pause(20);
    expect(cancelBodies()).toEqual([{ shown_characters: 5 }]);
  });

  it('counts shown from the start of the last message of a run that wrote several', async () => {
    proxy.script = async ({ run, send, say, requireAction }) => {
      send('thread.run.created', run('queued'));
      await say('Let me look.');
      await requireAction([['call_1', 'look', '{}']]);
      await say('Here it is!');
      send('thread.run.completed', run('completed'));
      send('done', '[DONE]');
    };
    const { npc, conversation } = setup();
    npc.tool('look', { run: () => 'found' });
    const turn = conversation.say('Find it?');
    const text = await turn.text;
    expect(text).toBe('Let me look.\n\nHere it is!');
    turn.interrupt({ shown: 'Let me look.\n\nHere'.length });
    await conversation.say('Thanks.').text;
    expect(cancelBodies()).toEqual([{ shown_characters: 4 }]);
  });
});
