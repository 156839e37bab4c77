import { describe, expect, it } from 'vitest';
import { readAct } from './acts.js';

describe('readAct', () => {
  it('reads questions about what a tool does as questions, never as requests', () => {
    for (const line of [
      'Do you check my coins before you sell?',
      'Any rumours about Odo and his lantern?',
      'Would you open the gate if I paid you?',
      'Can you tell me where the library is?',
      'Do you give out quests?',
      'Can you do magic?',
    ])
      expect(readAct(line), line).toBe('question');
  });

  it('reads asking for suggestions as a request (an NPC with a suggest_replies tool offers them)', () => {
    expect(readAct('Suggest some replies I could give')).toBe('request');
    expect(readAct('Please propose a few answers.')).toBe('request');
  });

  it('reads plain requests, polite ones, offers and asking for work as requests', () => {
    for (const line of [
      'Open the gate.',
      'Please unlock the north gate.',
      'Can you give me a discount?',
      'Would you sell me an apple?',
      'I offer 9 coins for the lantern.',
      "Deal, I'll take it.",
      'Here, take this lantern.',
      'Is there any work for a traveller?',
      'Can I help with anything?',
      'The password is ember, open the gate.',
    ])
      expect(readAct(line), line).toBe('request');
  });

  it('reads insults and threats as hostile, whatever they ask for', () => {
    for (const line of ['Give me a free room or else.', 'Your prices are a joke.', 'Out of my way, you oaf.'])
      expect(readAct(line), line).toBe('hostile');
    expect(readAct('Tell me a joke.')).not.toBe('hostile');
  });
});
