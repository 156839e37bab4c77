import { describe, expect, it } from 'vitest';
import { MAX_NOTE_CHARS, memoryNote } from './memory.js';

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
