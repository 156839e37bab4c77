import OpenAI from 'openai';
import type {
  ChatCompletionCreateParams,
  ChatCompletionFunctionTool,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import { createOfflineFetch, OFFLINE_BASE_URL } from './fetch.js';
import { generateReply, type OfflineReply } from './reply.js';
import { BROM, MIRA, ODO, OPEN_GATE, talk } from './test-fixtures.js';

/** The tool exactly as the proxy offers it (file-search contract, section 1). */
const FILE_SEARCH_TOOL: ChatCompletionFunctionTool = {
  type: 'function',
  function: {
    name: 'file_search',
    description:
      "Search the knowledge files for passages that answer the player's question. Call it before answering a question about the world, its history, people or things.",
    parameters: {
      type: 'object',
      properties: { query: { type: 'string', description: 'What to look up' } },
      required: ['query'],
      additionalProperties: false,
    },
  },
};

const PASSAGES = [
  'Passages from the knowledge files. Cite a passage by writing its marker right after the sentence that uses it, e.g. 【0†chronicle.md】.',
  '【0†chronicle.md】 Eastwatch was founded in the year 812 by river traders. The old mill burned in the winter of 1102.',
  '【1†odo-notes.pdf】 The mill stood by the north bridge. Hal the miller rebuilt the old mill after the fire with stone from the quarry.',
].join('\n');

function request(
  messages: ChatCompletionMessageParam[],
  extra: Partial<ChatCompletionCreateParams> = {},
): ChatCompletionCreateParams {
  return {
    model: 'parley-offline',
    messages,
    tools: [FILE_SEARCH_TOOL],
    ...extra,
  } as ChatCompletionCreateParams;
}

/** The conversation after the model called file_search for `line` and the proxy answered with `result`. */
function searched(instructions: string, line: string, result: string): ChatCompletionMessageParam[] {
  return [
    ...talk(instructions, line),
    {
      role: 'assistant',
      content: null,
      tool_calls: [
        {
          id: 'call_1',
          type: 'function',
          function: { name: 'file_search', arguments: JSON.stringify({ query: line }) },
        },
      ],
    },
    { role: 'tool', tool_call_id: 'call_1', content: result },
  ];
}

function text(reply: OfflineReply): string {
  if (reply.kind !== 'text') throw new Error(`expected text, got ${JSON.stringify(reply)}`);
  return reply.text;
}

function calls(reply: OfflineReply): Array<{ name: string; args: Record<string, unknown> }> {
  if (reply.kind !== 'tool_calls') throw new Error(`expected tool calls, got ${JSON.stringify(reply)}`);
  return reply.calls.map((c) => ({ name: c.name, args: JSON.parse(c.arguments) as Record<string, unknown> }));
}

describe('calling file_search', () => {
  it.each([
    'When did the old mill burn?',
    'Tell me about the founding of Eastwatch.',
    "I'd like to know who rebuilt the mill",
  ])('looks up «%s» with the line as the query', (line) => {
    expect(calls(generateReply(request(talk(ODO, line)), 1))).toEqual([
      { name: 'file_search', args: { query: line } },
    ]);
  });

  it.each([
    'Hello!',
    'Who are you?',
    'How are you today?',
    'What should I do next?',
    'Thanks, friend.',
    'Do you have a lantern?',
    'What do you study?',
    'Is there any work for a traveller?',
    "What's my name?",
  ])('answers «%s» itself, as before', (line) => {
    const offered = generateReply(request(talk(ODO, line)), 1);
    const plain = generateReply(request(talk(ODO, line), { tools: undefined }), 1);
    expect(offered.kind).toBe('text');
    expect(text(offered)).not.toContain('【');
    expect(plain.kind).toBe('text');
  });

  it('makes a game call when the line asks for a game action, even phrased as a question', () => {
    const reply = generateReply(
      request(talk(BROM, 'Can you open the north gate?'), { tools: [FILE_SEARCH_TOOL, OPEN_GATE] }),
      1,
    );
    expect(calls(reply)).toEqual([{ name: 'open_gate', args: { gate: 'north' } }]);
  });

  it('is never picked by word matching like a game tool', () => {
    // Plenty of the tool's description words, but a statement: nothing to look up, nothing to call.
    const reply = generateReply(request(talk(ODO, 'I searched the files for passages about the world.')), 1);
    expect(reply.kind).toBe('text');
  });

  it('does not search when not offered, when tool_choice is none, or twice in one turn', () => {
    const line = 'When did the old mill burn?';
    expect(generateReply(request(talk(ODO, line), { tools: [OPEN_GATE] }), 1).kind).toBe('text');
    expect(generateReply(request(talk(ODO, line), { tool_choice: 'none' }), 1).kind).toBe('text');
    expect(generateReply(request(searched(ODO, line, PASSAGES)), 1).kind).toBe('text');
  });

  it('calls it when tool_choice names it, whatever the line', () => {
    const reply = generateReply(
      request(talk(ODO, 'Nice weather.'), {
        tool_choice: { type: 'function', function: { name: 'file_search' } },
      }),
      1,
    );
    expect(calls(reply)).toEqual([{ name: 'file_search', args: { query: 'Nice weather.' } }]);
  });
});

describe('answering from the passages', () => {
  it('says the sentence sharing the most words with the line, with its marker right after it', () => {
    const reply = text(generateReply(request(searched(ODO, 'When did the old mill burn?', PASSAGES)), 1));
    expect(reply).toContain('The old mill burned in the winter of 1102.【0†chronicle.md】');
    expect(reply).not.toContain('odo-notes.pdf');
  });

  it('cites a lower-ranked passage when it answers better', () => {
    const reply = text(
      generateReply(request(searched(ODO, 'Who rebuilt the old mill after the fire?', PASSAGES)), 1),
    );
    expect(reply).toMatch(/Hal the miller rebuilt the old mill after the fire[^.]*\.【1†odo-notes\.pdf】/);
  });

  it('stays in character: greets on the first turn, and a terse guard says little', () => {
    const odo = text(generateReply(request(searched(ODO, 'When did the old mill burn?', PASSAGES)), 1));
    const brom = text(generateReply(request(searched(BROM, 'When did the old mill burn?', PASSAGES)), 1));
    expect(odo.indexOf('【0†chronicle.md】')).toBeGreaterThan(0);
    expect(brom).toContain('【0†chronicle.md】');
    expect(brom.split(/(?<=[.!?】])\s+/).length).toBeLessThanOrEqual(2);
  });

  it('says it does not know, in character and without a marker, when no passage matched', () => {
    const line = 'Where is the dragon hoard?';
    const none = `No passage in the knowledge files matches "${line}".`;
    const reply = text(generateReply(request(searched(BROM, line, none)), 1));
    expect(reply).not.toContain('【');
    expect(reply).toMatch(/\b(?:know|no idea|not my concern|can't say)\b/i);
    expect(reply).toMatch(/dragon hoard/i);
  });

  it('says it does not know rather than quote passages about something else', () => {
    const reply = text(generateReply(request(searched(ODO, 'Where is the dragon hoard?', PASSAGES)), 1));
    expect(reply).not.toContain('【');
    expect(reply).not.toContain('812');
    expect(reply).toMatch(/dragon hoard/i);
  });

  it('answers from its own knowledge when the passages do not cover the line', () => {
    const line = 'When does the gate close?';
    const none = `No passage in the knowledge files matches "${line}".`;
    const reply = text(generateReply(request(searched(BROM, line, none)), 1));
    expect(reply).toMatch(/dusk/);
    expect(reply).not.toContain('【');
  });

  it('answers from its own lore when that shares more words with the line than any passage', () => {
    const line = 'Why is the mill by the river broken?';
    const reply = text(generateReply(request(searched(MIRA, line, PASSAGES)), 1));
    expect(reply).toContain('The mill by the river has been broken for a week.');
    expect(reply).not.toContain('【');
  });

  it('reads passages written in Markdown as plain sentences', () => {
    const markdown = [
      'Passages from the knowledge files. Cite a passage by writing its marker right after the sentence that uses it, e.g. 【0†chronicle.md】.',
      '【0†chronicle.md】 # The mill The **old mill** burned in the winter of 1102.',
    ].join('\n');
    const reply = text(generateReply(request(searched(ODO, 'When did the old mill burn?', markdown)), 1));
    expect(reply).toContain('old mill burned in the winter of 1102.【0†chronicle.md】');
    expect(reply).not.toMatch(/[#*]/);
  });

  it('gives the same answer for the same request and seed', () => {
    const r = request(searched(ODO, 'When did the old mill burn?', PASSAGES));
    expect(generateReply(r, 7)).toEqual(generateReply(structuredClone(r), 7));
  });
});

describe('file_search on the wire', () => {
  const client = new OpenAI({
    baseURL: OFFLINE_BASE_URL,
    apiKey: 'offline',
    maxRetries: 0,
    fetch: createOfflineFetch({ tokenDelayMs: 0 }),
  });
  const body = {
    model: 'parley-offline',
    messages: talk(ODO, 'When did the old mill burn?'),
    tools: [FILE_SEARCH_TOOL],
  };

  it('is a normal tool call, not streamed', async () => {
    const completion = await client.chat.completions.create(body);
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    const call = choice.message.tool_calls?.[0];
    expect(call?.type === 'function' && call.function.name).toBe('file_search');
    expect(call?.type === 'function' && JSON.parse(call.function.arguments)).toEqual({
      query: 'When did the old mill burn?',
    });
  });

  it('is a normal tool call, streamed', async () => {
    const stream = await client.chat.completions.create({ ...body, stream: true });
    let name = '';
    let args = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      for (const fragment of choice?.delta.tool_calls ?? []) {
        name += fragment.function?.name ?? '';
        args += fragment.function?.arguments ?? '';
      }
      finish = choice?.finish_reason ?? finish;
    }
    expect(name).toBe('file_search');
    expect(JSON.parse(args)).toEqual({ query: 'When did the old mill burn?' });
    expect(finish).toBe('tool_calls');
  });
});
