import { describe, expect, it } from 'vitest';
import { asSentence, identifierWords, keyOf, numbers, quoted, stem, words } from './words.js';

describe('stem', () => {
  it('folds plural, past, gerund and trailing-e forms together', () => {
    expect(new Set(['open', 'opens', 'opened', 'opening'].map(stem)).size).toBe(1);
    expect(new Set(['close', 'closes', 'closed', 'closing'].map(stem)).size).toBe(1);
    expect(stem('gates')).toBe(stem('gate'));
    expect(stem('berries')).toBe(stem('berry'));
    expect(stem('unbarred')).toBe(stem('unbar'));
  });

  it('leaves short words and words that only look inflected alone', () => {
    expect(stem('is')).toBe('is');
    expect(stem('string')).toBe('string');
    expect(stem('pass')).toBe('pass');
  });
});

describe('keyOf', () => {
  it('folds synonyms onto one key', () => {
    expect(keyOf('unlock')).toBe(keyOf('open'));
    expect(keyOf('purchase')).toBe(keyOf('buy'));
    expect(keyOf('sell')).toBe(keyOf('buy'));
    expect(keyOf('hand')).toBe(keyOf('give'));
    expect(keyOf('gate')).not.toBe(keyOf('open'));
  });
});

describe('words', () => {
  it('marks content words and keeps the punctuation before each word', () => {
    const line = words('Hello, open the gate!');
    expect(line.filter((w) => w.content).map((w) => w.raw)).toEqual(['open', 'gate']);
    expect(line[1]?.before).toBe(',');
  });
});

describe('numbers and quotes', () => {
  it('reads digits and number words in order', () => {
    expect(numbers('Sell me 3 apples, two pears and a dozen eggs for 2.5 gold')).toEqual([3, 2, 12, 2.5]);
  });

  it('reads quoted text but not apostrophes', () => {
    expect(quoted(`Say "open sesame" or 'swordfish', don't you think`)).toEqual(['open sesame', 'swordfish']);
  });
});

describe('helpers', () => {
  it('splits identifiers in any case style', () => {
    expect(identifierWords('give_item')).toEqual(['give', 'item']);
    expect(identifierWords('openCityGate')).toEqual(['open', 'city', 'gate']);
    expect(identifierWords('set-mood')).toEqual(['set', 'mood']);
  });

  it('makes a sentence', () => {
    expect(asSentence('not enough gold')).toBe('Not enough gold.');
    expect(asSentence('Done!')).toBe('Done!');
  });
});
