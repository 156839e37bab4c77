import { describe, expect, it } from 'vitest';
import { MAX_SUMMARY_CHARS } from './memory.js';
import { cleanSummary, SUMMARY_PROMPT, summaryMessages } from './summary.js';

describe('summaryMessages', () => {
  it('sends the documented prompt, the earlier note and the older lines as a transcript', () => {
    const messages = summaryMessages('- The player is Ada.', [
      { role: 'user', content: 'I will bring you a cider.' },
      { role: 'assistant', content: 'I shall hold you to that.' },
    ]);
    expect(messages[0]).toEqual({ role: 'system', content: SUMMARY_PROMPT });
    expect(messages[1]?.content).toBe(
      'Earlier note:\n- The player is Ada.\n\nOlder lines:\nPlayer: I will bring you a cider.\nYou: I shall hold you to that.',
    );
  });

  it('puts lines beyond the transcript bound in as their extractive note', () => {
    const lines = [
      { role: 'user' as const, content: 'My name is Ada.' },
      ...Array.from({ length: 40 }, () => ({ role: 'user' as const, content: 'x '.repeat(290) })),
    ];
    const user = String(summaryMessages(undefined, lines)[1]?.content);
    expect(user).toContain("Earlier note:\n- The player's name is Ada.");
    expect(user).not.toContain('Player: My name is Ada.');
    expect(user.length).toBeLessThan(9000);
  });
});

describe('cleanSummary', () => {
  it('keeps whole lines up to the bound, NONE as an empty note, nothing as a failure', () => {
    expect(cleanSummary('  - Ada.\n\n- Owes a cider.  ')).toBe('- Ada.\n- Owes a cider.');
    expect(cleanSummary('NONE')).toBe('');
    expect(cleanSummary('   ')).toBeUndefined();
    const long = cleanSummary(
      Array.from({ length: 20 }, (_, i) => `- Fact number ${i} about the player.`).join('\n'),
    );
    expect(long!.length).toBeLessThanOrEqual(MAX_SUMMARY_CHARS);
    expect(long!.endsWith('player.')).toBe(true);
  });
});
