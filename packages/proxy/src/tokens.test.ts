import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import { estimateMessageTokens, estimateTokens } from './tokens.js';

describe('estimateTokens', () => {
  it('is 0 for empty or blank text and at least 1 for any word', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('   \t ')).toBe(0);
    expect(estimateTokens('a')).toBe(1);
    expect(estimateTokens('!')).toBe(1);
  });

  it('counts short words as one token and long words by about four characters', () => {
    expect(estimateTokens('the gate')).toBe(2);
    expect(estimateTokens('Well met, traveler.')).toBe(6);
    expect(estimateTokens('internationalization')).toBe(5);
  });

  it('stays within ~25% of four characters per token on ordinary English', () => {
    const text =
      'The gate closes at dusk, and only merchants carrying a writ from the magistrate may pass after that. ' +
      'Travelers who arrive late must wait outside until the morning bell rings over Eastwatch.';
    const estimate = estimateTokens(text);
    expect(estimate).toBeGreaterThan((text.length / 4) * 0.75);
    expect(estimate).toBeLessThan((text.length / 4) * 1.25);
  });

  it('counts numbers by up to three digits and dense scripts by character', () => {
    expect(estimateTokens('1234567')).toBe(3);
    expect(estimateTokens('城門')).toBe(2);
  });

  it('gives contractions and punctuation their own tokens', () => {
    expect(estimateTokens("don't")).toBe(2);
    expect(estimateTokens('Halt!?')).toBe(2);
  });

  it('is additive across whitespace, so a streamed reply costs the same word by word', () => {
    const text = "Hm. Brom, gate guard of Eastwatch. Don't test me, 42 times!\nNext.";
    const pieces = text.match(/\s*\S+/g) ?? [];
    expect(pieces.reduce((sum, piece) => sum + estimateTokens(piece), 0)).toBe(estimateTokens(text));
  });
});

describe('estimateMessageTokens', () => {
  it('is 0 for no messages so budgets can subtract it', () => {
    expect(estimateMessageTokens([])).toBe(0);
  });

  it('adds per-message framing and the reply priming to the content', () => {
    const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: 'Open the gate!' }];
    expect(estimateMessageTokens(messages)).toBe(3 + 3 + estimateTokens('Open the gate!'));
  });

  it('counts text parts, names and images', () => {
    const withParts: ChatCompletionMessageParam[] = [
      {
        role: 'user',
        name: 'Aria',
        content: [
          { type: 'text', text: 'What is this?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
        ],
      },
    ];
    expect(estimateMessageTokens(withParts)).toBe(3 + 3 + estimateTokens('What is this?') + 85 + 1 + 1);
  });

  it("counts the assistant's tool calls, so a turn with big arguments costs more", () => {
    const plain: ChatCompletionMessageParam[] = [{ role: 'assistant', content: null }];
    const withCall: ChatCompletionMessageParam[] = [
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_1',
            type: 'function',
            function: { name: 'give_item', arguments: '{"item":"sword","quantity":2}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '{"ok":true}' },
    ];
    const callCost = estimateMessageTokens(withCall) - estimateMessageTokens(plain);
    expect(callCost).toBe(
      3 +
        estimateTokens('give_item') +
        estimateTokens('{"item":"sword","quantity":2}') +
        3 +
        estimateTokens('{"ok":true}'),
    );
  });

  it('grows with history, which is what trimming relies on', () => {
    const one: ChatCompletionMessageParam[] = [{ role: 'user', content: 'Hello there.' }];
    const two: ChatCompletionMessageParam[] = [
      ...one,
      { role: 'assistant', content: 'Hm. State your business.' },
    ];
    expect(estimateMessageTokens(two)).toBeGreaterThan(estimateMessageTokens(one));
  });
});
