import { describe, expect, it } from 'vitest';
import {
  formatSummary,
  lineFingerprint,
  MAX_NOTE_CHARS,
  memoryNote,
  parseSummary,
  recallNote,
} from './memory.js';

describe('memoryNote', () => {
  it('keeps names, promises, items and facts the player stated, and the NPC’s own promises', () => {
    const note = memoryNote([
      { role: 'user', content: "Hi! I'm Tomas. I come from Westmarch." },
      { role: 'assistant', content: 'Welcome. I will keep your horse in the stable.' },
      { role: 'user', content: 'I have a letter for the scholar. Nice weather today.' },
      { role: 'user', content: "I'll pay you tomorrow, I promise." },
    ]);
    expect(note?.split('\n')).toEqual([
      "- The player's name is Tomas.",
      '- The player said: "I come from Westmarch."',
      '- You promised: "I will keep your horse in the stable."',
      '- The player said: "I have a letter for the scholar."',
      `- The player promised: "I'll pay you tomorrow, I promise."`,
    ]);
  });

  it('keeps nothing from small talk, and stays short however much there is', () => {
    expect(memoryNote([{ role: 'user', content: 'Nice weather. What a day.' }])).toBeUndefined();
    const many = Array.from({ length: 50 }, (_, i) => ({
      role: 'user' as const,
      content: `I have ${'a very long list of things '.repeat(5)} number ${i}.`,
    }));
    expect(memoryNote(many)!.length).toBeLessThanOrEqual(MAX_NOTE_CHARS);
  });
});

describe('recallNote', () => {
  const history = [
    { role: 'user' as const, content: 'My name is Ada.' },
    { role: 'assistant' as const, content: 'Welcome.' },
    { role: 'user' as const, content: 'I have a letter for the scholar.' },
    { role: 'assistant' as const, content: 'Odo is in the library.' },
    { role: 'user' as const, content: 'I come from Westmarch.' },
  ];
  const summary = {
    lines: 4,
    fingerprint: lineFingerprint(history[3]!),
    text: '- Ada carries a letter for Odo.',
  };

  it('uses the summary for the lines it covers and the extractive note for the lines dropped since', () => {
    expect(recallNote(history, 5, summary)).toBe(
      '- Ada carries a letter for Odo.\n- The player said: "I come from Westmarch."',
    );
    expect(recallNote(history, 4, summary)).toBe('- Ada carries a letter for Odo.');
  });

  it('sets a summary aside when the history it was made from has changed', () => {
    const changed = [
      ...history.slice(0, 3),
      { role: 'assistant' as const, content: 'Go away.' },
      history[4]!,
    ];
    expect(recallNote(changed, 5, summary)).toContain("- The player's name is Ada.");
    expect(recallNote(changed, 5, summary)).not.toContain('letter for Odo.\n');
  });

  it('round-trips a summary through thread metadata', () => {
    expect(parseSummary(formatSummary(summary))).toEqual(summary);
    expect(parseSummary('- just a note')).toBeUndefined();
    expect(parseSummary(undefined)).toBeUndefined();
  });
});
