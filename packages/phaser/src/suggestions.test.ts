import { describe, expect, it } from 'vitest';
import { parseSuggestReplies, splitSuggestions } from './suggestions.js';

describe('splitSuggestions', () => {
  it('cuts the trailing > lines into suggested replies', () => {
    expect(splitSuggestions('Closed till dawn.\n\n> Ask why\n>Leave\n')).toEqual({
      body: 'Closed till dawn.',
      suggestions: ['Ask why', 'Leave'],
    });
  });

  it('leaves text without suggestions alone, and > lines followed by prose are prose', () => {
    expect(splitSuggestions('Halt! ')).toEqual({ body: 'Halt! ', suggestions: [] });
    const quoted = 'The sign says:\n> No entry\nSo, no.';
    expect(splitSuggestions(quoted)).toEqual({ body: quoted, suggestions: [] });
  });

  it('holds back a suggestion as soon as its > arrives in a stream', () => {
    const stream = 'Not tonight.\n> Ask why\n> Le';
    let text = '';
    for (const char of stream) {
      text += char;
      const { body } = splitSuggestions(text);
      expect(body).not.toContain('>');
      expect('Not tonight.'.startsWith(body.trimEnd())).toBe(true);
    }
    expect(splitSuggestions('Not tonight.\n>').body).toBe('Not tonight.');
  });

  it('keeps at most six', () => {
    const text = `Pick one.\n${Array.from({ length: 9 }, (_, i) => `> ${i}`).join('\n')}`;
    expect(splitSuggestions(text).suggestions).toEqual(['0', '1', '2', '3', '4', '5']);
  });
});

describe('parseSuggestReplies', () => {
  it('reads the replies of a suggest_replies call, ignoring junk', () => {
    expect(parseSuggestReplies('{"replies":["Ask about the gate"," ",3,"Leave"]}')).toEqual([
      'Ask about the gate',
      'Leave',
    ]);
    expect(parseSuggestReplies('{"replies":"nope"}')).toEqual([]);
    expect(parseSuggestReplies('not json')).toEqual([]);
    expect(parseSuggestReplies('')).toEqual([]);
  });
});
