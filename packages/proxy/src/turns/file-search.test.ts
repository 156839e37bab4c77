import type { Message, Run, RunStep } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { passagesMessage, searchQuery, vectorStoreIds } from './file-search.js';
import { buildChatRequest, replaySteps } from './prompt.js';

const passage = (file_name: string, text: string) => ({
  file_id: `file-${file_name}`,
  file_name,
  score: 0.4,
  content: [{ type: 'text' as const, text }],
});

describe('file_search as the model sees it', () => {
  it('words the passages as the contract says: one line each, after its marker, best first', () => {
    expect(
      passagesMessage('Who founded Varn?', [
        passage('chronicle.md', 'Varn was founded\n\nby   Queen Ysolde.'),
        passage('odo-notes.pdf', ' The ledger is green. '),
      ]),
    ).toBe(
      [
        'Passages from the knowledge files. Cite a passage by writing its marker right after the sentence that uses it, e.g. 【0†chronicle.md】.',
        '【0†chronicle.md】 Varn was founded by Queen Ysolde.',
        '【1†odo-notes.pdf】 The ledger is green.',
      ].join('\n'),
    );
    expect(passagesMessage('dragon eggs', [])).toBe(
      'No passage in the knowledge files matches "dragon eggs".',
    );
  });

  it('reads the query from the arguments, or takes text that is not JSON as the query', () => {
    expect(searchQuery('{"query":" Who founded Varn? "}')).toBe('Who founded Varn?');
    expect(searchQuery('"Varn"')).toBe('Varn');
    expect(searchQuery('Varn founder')).toBe('Varn founder');
    expect(searchQuery('{"q":1}')).toBe('{"q":1}');
  });

  it("searches the assistant's and the thread's vector stores, each once", () => {
    expect(
      vectorStoreIds(
        { file_search: { vector_store_ids: ['vs_lore_library', 'vs_a'] } },
        { file_search: { vector_store_ids: ['vs_a', 'vs_b', 7] }, code_interpreter: {} },
        null,
      ),
    ).toEqual(['vs_lore_library', 'vs_a', 'vs_b']);
    expect(vectorStoreIds({ file_search: {} }, undefined)).toEqual([]);
  });

  it('replays a search as the call the model made and the passages it was given', () => {
    const step = {
      id: 'step_1',
      type: 'tool_calls',
      status: 'completed',
      step_details: {
        type: 'tool_calls',
        tool_calls: [
          {
            id: 'call_1',
            type: 'file_search',
            file_search: { query: 'Varn', results: [passage('chronicle.md', 'Varn was founded by Ysolde.')] },
          },
        ],
      },
    } as RunStep;
    expect(replaySteps([step], new Map<string, Message>())).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_1',
            type: 'function',
            function: { name: 'file_search', arguments: '{"query":"Varn"}' },
          },
        ],
      },
      {
        role: 'tool',
        tool_call_id: 'call_1',
        content: expect.stringContaining('【0†chronicle.md】 Varn was founded'),
      },
    ]);
  });

  it('offers the function, and forces it for tool_choice file_search only while asked to', () => {
    const run = {
      model: 'm',
      instructions: '',
      tools: [{ type: 'file_search' }],
      tool_choice: { type: 'file_search' },
      parallel_tool_calls: true,
      truncation_strategy: null,
      max_prompt_tokens: null,
      max_completion_tokens: null,
      temperature: null,
      top_p: null,
      response_format: null,
    } as unknown as Run;
    const parts = { history: [{ role: 'user' as const, content: 'Who?' }], tail: [], contextTokens: 4000 };
    const forced = buildChatRequest(run, { ...parts, fileSearch: 'force' }).request;
    expect(forced.tools?.map((tool) => tool.type === 'function' && tool.function.name)).toEqual([
      'file_search',
    ]);
    expect(forced.tool_choice).toEqual({ type: 'function', function: { name: 'file_search' } });
    expect(buildChatRequest(run, { ...parts, fileSearch: 'offer' }).request.tool_choice).toBe('auto');
    expect(buildChatRequest(run, parts).request.tools).toBeUndefined();
  });
});
