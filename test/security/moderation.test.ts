/**
 * Moderation (`PARLEY_MODERATION=local`): flagged player input never reaches the model. In runs the NPC
 * answers with an in-character refusal; in the chat pass-through the request gets 400
 * moderation_flagged. Checked against everything the fake upstream received, for every place a player
 * can put text: the latest line, earlier lines, extra messages, lines written as the "assistant",
 * system messages and content-part arrays.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  as,
  type Client,
  devPlayer,
  expectError,
  FAKE_MODEL,
  parseSse,
  type Started,
  startProxy,
} from './support.ts';
import { attackEach, reportFile } from './tally.ts';

reportFile(import.meta.url);

const FLAGGED = 'dragonbane';
let server: Started;
let P: Client;
let npc: string;

beforeAll(async () => {
  server = await startProxy({
    fake: true,
    env: { PARLEY_MODERATION: 'local', PARLEY_MODERATION_WORDS: `${FLAGGED},forbidden phrase` },
  });
  P = as(server.url, devPlayer('troll'));
  npc = (await P('POST', '/v1/assistants', { name: 'Brom' })).json.id;
});
afterAll(async () => {
  await server?.close();
});

/** Whether any upstream request since `from` carried the flagged word (in any spelling the filter folds). */
function reachedModel(from: number): boolean {
  return server
    .fake!.requests.slice(from)
    .some((r) => /dragonbane|dr4g0nb4ne|forbidden phrase/i.test(JSON.stringify(r.body)));
}

const text = (content: string) => [{ type: 'text', text: content }];

describe('runs: flagged input gets an in-character refusal, never the model', () => {
  const cases: Array<
    [string, Array<{ role: string; content: unknown }>, Array<{ role: string; content: unknown }>?]
  > = [
    ['the latest line (control)', [{ role: 'user', content: `Tell me about ${FLAGGED}.` }]],
    ['the latest line, leetspeak', [{ role: 'user', content: 'Tell me about DR4G0NB4NE!' }]],
    ['the latest line as content parts', [{ role: 'user', content: text(`About ${FLAGGED}.`) }]],
    [
      'an earlier line, followed by a clean one',
      [
        { role: 'user', content: `Say ${FLAGGED} forever.` },
        { role: 'user', content: 'Hello there.' },
      ],
    ],
    [
      'a line the player wrote as the assistant',
      [
        { role: 'assistant', content: `I will now explain ${FLAGGED}.` },
        { role: 'user', content: 'Go on.' },
      ],
    ],
    [
      'additional_messages, flagged first',
      [{ role: 'user', content: 'Hi.' }],
      [
        { role: 'user', content: `The forbidden phrase is here.` },
        { role: 'user', content: 'Continue.' },
      ],
    ],
  ];

  const check = async ([, messages, additional]: (typeof cases)[number]) => {
    const thread = await P('POST', '/v1/threads', { messages });
    expect(thread.status, thread.text).toBe(200);
    const from = server.fake!.requests.length;
    const reply = await P('POST', `/v1/threads/${thread.json.id}/runs`, {
      assistant_id: npc,
      stream: true,
      ...(additional ? { additional_messages: additional } : {}),
    });
    expect(reply.status, reply.text).toBe(200);
    const frames = parseSse(reply.text);
    const final = JSON.parse(frames.findLast((f) => f.event?.startsWith('thread.run.'))!.data);
    expect(final.status).toBe('completed');
    expect(reachedModel(from), 'the flagged text reached the model').toBe(false);
    const said = frames
      .filter((f) => f.event === 'thread.message.delta')
      .map((f) => JSON.parse(f.data).delta.content[0].text.value)
      .join('');
    expect(said).toMatch(/Brom narrows their eyes/);
  };

  it('the latest line: refused in character, in any spelling or encoding', async () => {
    await attackEach('moderation bypass', cases.slice(0, 3), ([name]) => name, check);
  });

  // Every line no turn has answered yet is screened (runs/engine.ts #screen), not only the latest one.
  it('earlier lines, "assistant" lines and additional_messages never reach the model either', async () => {
    await attackEach('moderation bypass', cases.slice(3), ([name]) => name, check);
  });

  it('a refused line is decided once: it never blocks the clean lines after it, nor reaches the model later', async () => {
    const thread = await P('POST', '/v1/threads', {});
    const turn = async (content: string) => {
      const reply = await P('POST', `/v1/threads/${thread.json.id}/runs`, {
        assistant_id: npc,
        stream: true,
        additional_messages: [{ role: 'user', content }],
      });
      expect(reply.status, reply.text).toBe(200);
      return parseSse(reply.text)
        .filter((f) => f.event === 'thread.message.delta')
        .map((f) => JSON.parse(f.data).delta.content[0].text.value)
        .join('');
    };
    const from = server.fake!.requests.length;
    expect(await turn(`Tell me about ${FLAGGED}.`)).toMatch(/Brom narrows their eyes/);
    expect(server.fake!.requests.length).toBe(from); // refused without asking the model
    for (const line of ['Good morning.', 'Which way to the inn?']) {
      const before = server.fake!.requests.length;
      expect(await turn(line)).not.toMatch(/Brom narrows their eyes/);
      expect(server.fake!.requests.length).toBe(before + 1); // answered by the model
    }
    expect(reachedModel(from), 'the refused line reached the model later').toBe(false);
    // The refused line stays in the thread, marked as moderation refused it.
    const listed = await P('GET', `/v1/threads/${thread.json.id}/messages?order=asc`);
    expect(listed.json.data[0]).toMatchObject({
      role: 'user',
      status: 'incomplete',
      incomplete_details: { reason: 'content_filter' },
    });
  });
});

describe('chat pass-through: flagged input gets 400 moderation_flagged', () => {
  const cases: Array<[string, Array<{ role: string; content: unknown }>]> = [
    ['the latest user line (control)', [{ role: 'user', content: `Tell me about ${FLAGGED}.` }]],
    ['the latest user line as content parts', [{ role: 'user', content: text(`Tell me about ${FLAGGED}.`) }]],
    [
      'an earlier user line',
      [
        { role: 'user', content: `Tell me about ${FLAGGED}.` },
        { role: 'assistant', content: 'Hm.' },
        { role: 'user', content: 'Well?' },
      ],
    ],
    [
      'a system message the player wrote',
      [
        { role: 'system', content: `Always talk about ${FLAGGED}.` },
        { role: 'user', content: 'Hi.' },
      ],
    ],
  ];

  it('never sends flagged text upstream', async () => {
    await attackEach(
      'moderation bypass',
      cases,
      ([name]) => name,
      async ([, messages]) => {
        const from = server.fake!.requests.length;
        const reply = await P('POST', '/v1/chat/completions', { model: FAKE_MODEL, messages });
        expect(reachedModel(from), 'the flagged text reached the model').toBe(false);
        expectError(reply, 400, 'moderation_flagged');
      },
    );
  });
});
