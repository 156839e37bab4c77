/**
 * Ownership: every id player A created (assistant, thread, message, run, step) probed by player B
 * through every route that takes it (retrieve, modify, delete, list, cancel, submit tool outputs,
 * events) answers 404, exactly as for an id that never existed, and never the object. Afterwards A's
 * objects are as A left them. Game-defined assistants are usable by all and changeable by none.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  as,
  bearer,
  type Client,
  eventually,
  expectError,
  gameJwt,
  newSession,
  PRODUCTION_AUTH,
  policyFile,
  type Reply,
  type Started,
  startProxy,
} from './support.ts';
import { attack, attackEach, reportFile } from './tally.ts';

reportFile(import.meta.url);

const GAME_ASSISTANT = 'asst_gateGuardBrom';
const SECRET_TEXT = 'the vault code is 7741';
const SECRET_META = 'a-only-metadata-9f2c';
const SECRET_INSTRUCTIONS = 'You know the smuggler route under the mill.';

let server: Started;
let A: Client;
let B: Client;
let C: Client;
let playerA: string;
/** A's objects. */
const ids = {} as {
  assistant: string;
  thread: string;
  message: string;
  run: string;
  step: string;
  waitingThread: string;
  waitingRun: string;
  waitingStep: string;
  toolCall: string;
};
/** B's own thread, message and run (to mix B's path with A's ids). */
const own = {} as { thread: string; message: string; run: string; step: string };

beforeAll(async () => {
  server = await startProxy({
    fake: true,
    env: {
      ...PRODUCTION_AUTH,
      PARLEY_CONFIG: policyFile({
        assistants: [{ id: GAME_ASSISTANT, name: 'Brom', instructions: 'You guard the gate.' }],
      }),
    },
  });
  const a = await newSession(server.url);
  const b = await newSession(server.url);
  playerA = a.player;
  A = as(server.url, bearer(a.token));
  B = as(server.url, bearer(b.token));
  // C proves itself with a game JWT whose subject is A's anonymous id: namespaces must keep them apart.
  C = as(server.url, bearer(gameJwt(a.player)));

  const ok = (reply: Reply) => {
    expect(reply.status, reply.text).toBe(200);
    return reply.json;
  };
  ids.assistant = ok(
    await A('POST', '/v1/assistants', {
      name: 'Private NPC',
      instructions: SECRET_INSTRUCTIONS,
      metadata: { owner_note: SECRET_META },
      tools: [{ type: 'function', function: { name: 'open_vault', parameters: { type: 'object' } } }],
    }),
  ).id;
  const thread = ok(
    await A('POST', '/v1/threads', {
      messages: [{ role: 'user', content: SECRET_TEXT, metadata: { note: SECRET_META } }],
      metadata: { note: SECRET_META },
    }),
  );
  ids.thread = thread.id;
  ids.message = ok(await A('GET', `/v1/threads/${ids.thread}/messages`)).data[0].id;
  ids.run = ok(
    await A('POST', `/v1/threads/${ids.thread}/runs`, {
      assistant_id: ids.assistant,
      metadata: { note: SECRET_META },
    }),
  ).id;
  await eventually(
    async () => ok(await A('GET', `/v1/threads/${ids.thread}/runs/${ids.run}`)).status === 'completed',
    10_000,
    "A's run to complete",
  );
  ids.step = ok(await A('GET', `/v1/threads/${ids.thread}/runs/${ids.run}/steps`)).data[0].id;

  // A run waiting for tool outputs: the target of submit and cancel probes.
  server.fake!.enqueue({ kind: 'tools', calls: [{ name: 'open_vault', arguments: '{"code":"7741"}' }] });
  const waiting = ok(
    await A('POST', '/v1/threads/runs', {
      assistant_id: ids.assistant,
      thread: { messages: [{ role: 'user', content: 'Open it.' }] },
    }),
  );
  ids.waitingThread = waiting.thread_id;
  ids.waitingRun = waiting.id;
  const requiresAction = await eventually(async () => {
    const run = ok(await A('GET', `/v1/threads/${ids.waitingThread}/runs/${ids.waitingRun}`));
    return run.status === 'requires_action' ? run : undefined;
  }, 10_000);
  ids.toolCall = requiresAction.required_action.submit_tool_outputs.tool_calls[0].id;
  ids.waitingStep = ok(
    await A('GET', `/v1/threads/${ids.waitingThread}/runs/${ids.waitingRun}/steps`),
  ).data[0].id;

  // B's own objects.
  own.thread = ok(await B('POST', '/v1/threads', { messages: [{ role: 'user', content: 'Hello.' }] })).id;
  own.message = ok(await B('GET', `/v1/threads/${own.thread}/messages`)).data[0].id;
  own.run = ok(await B('POST', `/v1/threads/${own.thread}/runs`, { assistant_id: GAME_ASSISTANT })).id;
  await eventually(
    async () => ok(await B('GET', `/v1/threads/${own.thread}/runs/${own.run}`)).status === 'completed',
    10_000,
  );
  own.step = ok(await B('GET', `/v1/threads/${own.thread}/runs/${own.run}/steps`)).data[0].id;
});
afterAll(async () => {
  await server?.close();
});

type Probe = [method: string, path: () => string, body?: () => unknown];

const probes: Probe[] = [
  // Assistants
  ['GET', () => `/v1/assistants/${ids.assistant}`],
  ['POST', () => `/v1/assistants/${ids.assistant}`, () => ({ name: 'Hijacked', metadata: { x: 'y' } })],
  ['DELETE', () => `/v1/assistants/${ids.assistant}`],
  // Threads
  ['GET', () => `/v1/threads/${ids.thread}`],
  ['POST', () => `/v1/threads/${ids.thread}`, () => ({ metadata: { note: 'hijacked' } })],
  ['DELETE', () => `/v1/threads/${ids.thread}`],
  ['DELETE', () => `/v1/threads/${ids.waitingThread}`],
  // Messages
  ['GET', () => `/v1/threads/${ids.thread}/messages`],
  ['GET', () => `/v1/threads/${ids.thread}/messages?run_id=${ids.run}&order=asc`],
  ['POST', () => `/v1/threads/${ids.thread}/messages`, () => ({ role: 'user', content: 'injected line' })],
  ['GET', () => `/v1/threads/${ids.thread}/messages/${ids.message}`],
  ['POST', () => `/v1/threads/${ids.thread}/messages/${ids.message}`, () => ({ metadata: { x: 'y' } })],
  ['DELETE', () => `/v1/threads/${ids.thread}/messages/${ids.message}`],
  ['GET', () => `/v1/threads/${own.thread}/messages/${ids.message}`],
  ['POST', () => `/v1/threads/${own.thread}/messages/${ids.message}`, () => ({ metadata: { x: 'y' } })],
  ['DELETE', () => `/v1/threads/${own.thread}/messages/${ids.message}`],
  // Runs
  ['POST', () => `/v1/threads/${ids.thread}/runs`, () => ({ assistant_id: GAME_ASSISTANT })],
  ['POST', () => `/v1/threads/${own.thread}/runs`, () => ({ assistant_id: ids.assistant })],
  [
    'POST',
    () => '/v1/threads/runs',
    () => ({ assistant_id: ids.assistant, thread: { messages: [{ role: 'user', content: 'hi' }] } }),
  ],
  ['GET', () => `/v1/threads/${ids.thread}/runs`],
  ['GET', () => `/v1/threads/${ids.thread}/runs/${ids.run}`],
  ['GET', () => `/v1/threads/${own.thread}/runs/${ids.run}`],
  ['POST', () => `/v1/threads/${ids.thread}/runs/${ids.run}`, () => ({ metadata: { x: 'y' } })],
  ['POST', () => `/v1/threads/${ids.waitingThread}/runs/${ids.waitingRun}/cancel`],
  ['POST', () => `/v1/threads/${own.thread}/runs/${ids.waitingRun}/cancel`],
  [
    'POST',
    () => `/v1/threads/${ids.waitingThread}/runs/${ids.waitingRun}/submit_tool_outputs`,
    () => ({ tool_outputs: [{ tool_call_id: ids.toolCall, output: 'forged output' }] }),
  ],
  [
    'POST',
    () => `/v1/threads/${own.thread}/runs/${ids.waitingRun}/submit_tool_outputs`,
    () => ({ tool_outputs: [{ tool_call_id: ids.toolCall, output: 'forged output' }] }),
  ],
  ['GET', () => `/v1/threads/${ids.thread}/runs/${ids.run}/events`],
  ['GET', () => `/v1/threads/${ids.waitingThread}/runs/${ids.waitingRun}/events`],
  ['GET', () => `/v1/threads/${own.thread}/runs/${ids.waitingRun}/events?after=0`],
  // Steps
  ['GET', () => `/v1/threads/${ids.thread}/runs/${ids.run}/steps`],
  ['GET', () => `/v1/threads/${ids.thread}/runs/${ids.run}/steps/${ids.step}`],
  ['GET', () => `/v1/threads/${ids.waitingThread}/runs/${ids.waitingRun}/steps/${ids.waitingStep}`],
  ['GET', () => `/v1/threads/${own.thread}/runs/${own.run}/steps/${ids.step}`],
  ['GET', () => `/v1/threads/${own.thread}/runs/${ids.run}/steps`],
];

/** 404 not_found in OpenAI's body, exactly like an id that never existed, and nothing of A's in it. */
function expectInvisible(reply: Reply): void {
  expectError(reply, 404, 'not_found');
  for (const secret of [SECRET_TEXT, SECRET_META, SECRET_INSTRUCTIONS, 'open_vault', playerA])
    expect(reply.text).not.toContain(secret);
  expect(reply.headers['content-type']).toMatch(/^application\/json/);
}

describe.each([
  ['B, another anonymous session', () => B],
  ['C, a JWT player whose sub is A’s player id', () => C],
])('%s', (_name, who) => {
  it("gets 404 for every one of A's ids on every route", async () => {
    await attackEach(
      'cross-player id probes (404)',
      probes,
      ([method, path]) => `${method} ${path()}`,
      async ([method, path, body]) => {
        expectInvisible(await who()(method, path(), body?.()));
      },
    );
  });

  it("lists none of A's objects and reads only its own usage", async () => {
    await attack('cross-player id probes (404)', async () => {
      const assistants = await who()('GET', '/v1/assistants?limit=100');
      expect(assistants.status).toBe(200);
      expect(assistants.json.data.map((a: { id: string }) => a.id)).not.toContain(ids.assistant);
      const usage = await who()('GET', `/v1/usage?player=${encodeURIComponent(playerA)}`);
      expect(usage.status).toBe(200);
      expect(usage.json.player).not.toBe(playerA);
      // Paging B's own list from A's cursor reveals nothing of A's.
      const paged = await B('GET', `/v1/threads/${own.thread}/messages?after=${ids.message}`);
      expect(paged.text).not.toContain(SECRET_TEXT);
    });
  });
});

describe("after the probes, A's objects are untouched", () => {
  it('every object reads back as A left it; the waiting run still waits', async () => {
    await attack('cross-player id probes (404)', async () => {
      const assistant = await A('GET', `/v1/assistants/${ids.assistant}`);
      expect(assistant.json.name).toBe('Private NPC');
      expect(assistant.json.metadata).toEqual({ owner_note: SECRET_META });
      const thread = await A('GET', `/v1/threads/${ids.thread}`);
      expect(thread.json.metadata).toEqual({ note: SECRET_META });
      const messages = await A('GET', `/v1/threads/${ids.thread}/messages?order=asc`);
      expect(messages.json.data.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant']);
      expect(messages.json.data[0].metadata).toEqual({ note: SECRET_META });
      const run = await A('GET', `/v1/threads/${ids.thread}/runs/${ids.run}`);
      expect(run.json.metadata).toEqual({ note: SECRET_META });
      const waiting = await A('GET', `/v1/threads/${ids.waitingThread}/runs/${ids.waitingRun}`);
      expect(waiting.json.status).toBe('requires_action');
      const step = await A(
        'GET',
        `/v1/threads/${ids.waitingThread}/runs/${ids.waitingRun}/steps/${ids.waitingStep}`,
      );
      expect(step.json.step_details.tool_calls[0].function.output).toBeNull();
    });
  });

  it('A can still finish its own run with the real output (control)', async () => {
    const reply = await A(
      'POST',
      `/v1/threads/${ids.waitingThread}/runs/${ids.waitingRun}/submit_tool_outputs`,
      {
        tool_outputs: [{ tool_call_id: ids.toolCall, output: 'opened' }],
      },
    );
    expect(reply.status, reply.text).toBe(200);
  });
});

describe('game-defined assistants', () => {
  it('every player can read and use them; nobody can modify or delete them', async () => {
    const players: Array<[string, Client]> = [
      ['A', A],
      ['B', B],
      ['C', C],
      // A JWT whose subject imitates the game's internal owner id.
      ['parley:game impostor', as(server.url, bearer(gameJwt('parley:game')))],
    ];
    await attackEach(
      'game assistant tampering (403)',
      players,
      ([name]) => name,
      async ([, client]) => {
        const read = await client('GET', `/v1/assistants/${GAME_ASSISTANT}`);
        expect(read.status, read.text).toBe(200);
        const modify = await client('POST', `/v1/assistants/${GAME_ASSISTANT}`, { instructions: 'Obey me.' });
        expectError(modify, 403);
        expectError(await client('DELETE', `/v1/assistants/${GAME_ASSISTANT}`), 403);
      },
    );
    const after = await A('GET', `/v1/assistants/${GAME_ASSISTANT}`);
    expect(after.json.instructions).toBe('You guard the gate.');
  });
});
