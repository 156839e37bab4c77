// Long memory (issue #21): the lines that fall out of a small context budget are summarised by the upstream
// (a real fake OpenAI server here) with the documented prompt, after the turn, and the summary rides along
// with the next turns; a failed summary leaves the extractive note. Offline, Brom still knows the name the
// player told him in the first line, long after that line has left his prompt.
import { readFileSync } from 'node:fs';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { castMember } from '../../demo-game/src/cast.ts';
import { createProxy, loadConfig } from '../../packages/proxy/src/index.ts';
import { SUMMARY_MAX_TOKENS, SUMMARY_PROMPT } from '../../packages/proxy/src/turns/summary.ts';
import { type FakeUpstream, type Script, startFakeUpstream } from '../support/fake-upstream.ts';
import { UNLIMITED } from '../support/limits.ts';

type Proxy = Awaited<ReturnType<typeof createProxy>>;

/** The smallest budget the proxy takes: a few long lines fill it. */
const CONTEXT_TOKENS = '256';
const PADDING =
  'The road from the coast was long and dusty, and the carts were slow, and the inns were full of noisy traders.';
const SUMMARY = "- The traveller's name is Ada of Westmarch; she owes you a cider.";

const isSummary = (body: Record<string, unknown>) =>
  (body['messages'] as Array<{ content?: unknown }> | undefined)?.[0]?.content === SUMMARY_PROMPT;

async function until<T>(find: () => T | undefined | Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const found = await find();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

describe('long memory, summarised by the upstream', () => {
  let fake: FakeUpstream;
  let proxy: Proxy;
  let client: OpenAI;
  let assistantId: string;
  /** How the fake answers a summary request. */
  let summaryAnswer: Script = { kind: 'text', text: SUMMARY };

  beforeAll(async () => {
    fake = await startFakeUpstream({ respond: (body) => (isSummary(body) ? summaryAnswer : undefined) });
    proxy = await createProxy(
      loadConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        PARLEY_LOG: 'silent',
        OPENAI_BASE_URL: fake.url,
        OPENAI_API_KEY: 'sk-test-memory',
        PARLEY_MODEL: 'fake-model',
        PARLEY_CONTEXT_TOKENS: CONTEXT_TOKENS,
        PARLEY_UPSTREAM_RETRIES: '0',
        ...UNLIMITED,
      }),
    );
    const url = await proxy.listen();
    client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
    assistantId = (
      await client.beta.assistants.create({
        model: 'fake-model',
        name: 'Brom',
        instructions: 'You guard the gate.',
      })
    ).id;
  });

  afterAll(async () => {
    await proxy?.close();
    await fake?.close();
  });

  /** Plays lines on a new thread until a summary request has been made; returns the thread and that request. */
  async function talkPastTheBudget() {
    const thread = await client.beta.threads.create();
    const asked = fake.requests.length;
    const say = (text: string) =>
      client.beta.threads.runs.createAndPoll(thread.id, {
        assistant_id: assistantId,
        additional_messages: [{ role: 'user', content: text }],
      });
    await say(`My name is Ada. ${PADDING}`);
    let request: (typeof fake.requests)[number] | undefined;
    for (let turn = 0; turn < 12 && !request; turn++) {
      await say(`Line ${turn}. ${PADDING}`);
      // The summary is asked for after the turn, never before its answer: give it a moment.
      await new Promise((resolve) => setTimeout(resolve, 50));
      request = fake.requests.slice(asked).find((r) => isSummary(r.body));
    }
    if (!request) throw new Error('No summary was asked for');
    return { thread, say, request };
  }

  /** The system message of the newest turn's request to the upstream. */
  const lastTurnSystem = () => {
    const turn = fake.requests.filter((r) => !isSummary(r.body)).at(-1);
    const messages = turn?.body['messages'] as Array<{ role: string; content: string }>;
    return messages.find((m) => m.role === 'system')?.content ?? '';
  };

  it('summarises the lines that fell out with the documented prompt, and the next turns carry the summary', async () => {
    summaryAnswer = { kind: 'text', text: SUMMARY };
    const { thread, say, request } = await talkPastTheBudget();
    const messages = request.body['messages'] as Array<{ role: string; content: string }>;
    expect(messages[0]).toEqual({ role: 'system', content: SUMMARY_PROMPT });
    expect(messages[1]?.content).toContain('Player: My name is Ada.');
    expect(request.body['max_completion_tokens']).toBe(SUMMARY_MAX_TOKENS);
    expect(request.body['stream']).not.toBe(true);
    // Kept on the thread, and shown as its memory note.
    const kept = await until(async () => {
      const metadata = (await client.beta.threads.retrieve(thread.id)).metadata as Record<string, string>;
      return metadata['parley_memory_summary'] ? metadata : undefined;
    }, 'the summary on the thread');
    expect(kept['parley_memory_summary']).toMatch(/^\d+:[0-9a-f]{12}\n/);
    expect(kept['parley_memory']).toBe(SUMMARY);
    await say('Do you remember me?');
    expect(lastTurnSystem()).toContain(SUMMARY);
    expect(lastTurnSystem()).not.toContain("The player's name is Ada.");
  });

  it('leaves the extractive note when the summary fails', async () => {
    summaryAnswer = { kind: 'status', status: 400 };
    const { thread, say } = await talkPastTheBudget();
    await say('Do you remember me?');
    expect(lastTurnSystem()).toContain("- The player's name is Ada.");
    expect(lastTurnSystem()).not.toContain(SUMMARY);
    const metadata = (await client.beta.threads.retrieve(thread.id)).metadata as Record<string, string>;
    expect(metadata['parley_memory_summary']).toBeUndefined();
    expect(metadata['parley_memory']).toContain("The player's name is Ada.");
  });

  it('documents the prompt word for word in docs/memory.md', () => {
    const doc = readFileSync(new URL('../../docs/memory.md', import.meta.url), 'utf8');
    expect(doc).toContain(SUMMARY_PROMPT);
  });
});

describe('long memory, offline', () => {
  let proxy: Proxy;
  let client: OpenAI;

  beforeAll(async () => {
    proxy = await createProxy(
      loadConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        PARLEY_LOG: 'silent',
        PARLEY_OFFLINE_DELAY_MS: '0',
        OPENAI_API_KEY: '',
        PARLEY_CONTEXT_TOKENS: CONTEXT_TOKENS,
        ...UNLIMITED,
      }),
    );
    const url = await proxy.listen();
    client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });

  afterAll(async () => {
    await proxy?.close();
  });

  it('keeps the name Brom was told in the first line in his memory note, and he uses it past the budget', async () => {
    const brom = castMember('brom');
    const assistant = await client.beta.assistants.create({
      model: 'parley-offline',
      name: brom.name,
      instructions: brom.instructions,
      tools: Object.entries(brom.tools).map(([name, spec]) => ({
        type: 'function' as const,
        function: { name, description: spec.description, parameters: spec.parameters },
      })),
    });
    const thread = await client.beta.threads.create();
    const say = async (text: string) => {
      const run = await client.beta.threads.runs.createAndPoll(thread.id, {
        assistant_id: assistant.id,
        additional_messages: [{ role: 'user', content: text }],
      });
      expect(run.status).toBe('completed');
      const [reply] = (await client.beta.threads.messages.list(thread.id, { limit: 1, order: 'desc' })).data;
      return reply?.content.map((part) => (part.type === 'text' ? part.text.value : '')).join('') ?? '';
    };
    await say('Good evening, guard. My name is Ada.');
    const smallTalk = [
      'Cold night tonight, is it not?',
      'How long have you stood watch at this gate?',
      'The road from the coast was long and the inns were full.',
      'Do many travellers come this way after dark?',
      'I saw torches on the hills as I walked in.',
      'Is the tavern still serving at this hour?',
      'What do the villagers do for fun around here?',
      'The wind smells like rain coming.',
    ];
    for (const line of smallTalk) await say(line);
    // The first line has left the prompt: only the memory note still holds the name.
    const metadata = (await client.beta.threads.retrieve(thread.id)).metadata as Record<string, string>;
    expect(metadata['parley_memory']).toContain("The player's name is Ada.");
    expect(metadata['parley_memory_summary']).toBeUndefined(); // the offline model keeps the extractive note
    // Brom reads the name out of the note in his system message (the line that said it is long gone).
    expect(await say('Do you remember my name?')).toMatch(/\bAda\b/);
  });
});
