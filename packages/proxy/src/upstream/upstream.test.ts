import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import { ProxyError } from '../errors.js';
import { readTurn, type TurnEvent } from './upstream.js';

const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk' as const, created: 1, model: 'm' };
function chunk(delta: Record<string, unknown>, finish: string | null = null): ChatCompletionChunk {
  return {
    ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  } as ChatCompletionChunk;
}
async function* from(chunks: ChatCompletionChunk[]) {
  yield* chunks;
}
async function collect(chunks: ChatCompletionChunk[]): Promise<TurnEvent[]> {
  const out: TurnEvent[] = [];
  for await (const event of readTurn(from(chunks))) out.push(event);
  return out;
}

describe('readTurn', () => {
  it('skips empty choices (Azure filter chunks) and reads the usage chunk', async () => {
    const events = await collect([
      { ...base, choices: [] } as ChatCompletionChunk,
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: 'Well met' }),
      chunk({}, 'stop'),
      {
        ...base,
        choices: [],
        usage: { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 },
      } as ChatCompletionChunk,
    ]);
    expect(events).toEqual([
      { type: 'text', delta: 'Well met' },
      { type: 'finish', reason: 'stop' },
      { type: 'usage', usage: { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 } },
    ]);
  });

  it('passes tool-call fragments through keyed by index', async () => {
    const events = await collect([
      chunk({
        tool_calls: [
          { index: 0, id: 'call_1', type: 'function', function: { name: 'open_gate', arguments: '' } },
        ],
      }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"a":' } }] }),
      chunk({
        tool_calls: [
          { index: 1, id: 'call_2', type: 'function', function: { name: 'wave', arguments: '{}' } },
        ],
      }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }),
      chunk({}, 'tool_calls'),
    ]);
    expect(events).toEqual([
      { type: 'tool_call', index: 0, id: 'call_1', name: 'open_gate' },
      { type: 'tool_call', index: 0, arguments: '{"a":' },
      { type: 'tool_call', index: 1, id: 'call_2', name: 'wave', arguments: '{}' },
      { type: 'tool_call', index: 0, arguments: '1}' },
      { type: 'finish', reason: 'tool_calls' },
    ]);
  });

  it('treats a stream that ends without finish_reason as a failure', async () => {
    await expect(collect([chunk({ content: 'half an ans' })])).rejects.toBeInstanceOf(ProxyError);
  });
});
