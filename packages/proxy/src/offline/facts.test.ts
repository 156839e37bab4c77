import { describe, expect, it } from 'vitest';
import { applyFacts, isGone, readFacts, sayFact } from './facts.js';

describe('facts', () => {
  it('splits the facts block off the instructions, as key: value entries or sentences', () => {
    const sheet = readFacts(
      'You are Tilda, a merchant.\n\nFacts: lantern: sold to the traveller; the gate is open\nrope: 1 left',
    );
    expect(sheet.instructions.trim()).toBe('You are Tilda, a merchant.');
    expect(sheet.facts).toEqual([
      { key: 'lantern', value: 'sold to the traveller' },
      { key: undefined, value: 'the gate is open' },
      { key: 'rope', value: '1 left' },
    ]);
  });

  it('drops lore about how a thing stood, and cuts a sold item out of a list', () => {
    const facts = readFacts('Facts: lantern: sold to the traveller').facts;
    expect(isGone(facts[0]!)).toBe(true);
    expect(
      applyFacts(
        [
          'My stall sells a lantern for 12 coins, a coil of rope for 4 coins and an apple for 1 coin.',
          'The lantern is my last one, brass with a glass chimney.',
          'Lanterns come from the lowland towns every autumn.',
        ],
        facts,
      ),
    ).toEqual([
      'My stall sells a coil of rope for 4 coins and an apple for 1 coin.',
      'Lanterns come from the lowland towns every autumn.',
    ]);
  });

  it('says a fact to the player in the first and second person', () => {
    expect(sayFact({ key: 'lantern', value: 'given to Odo by the traveller' }, 'Odo')).toBe(
      'The lantern was given to me by you.',
    );
    expect(sayFact({ key: 'gate', value: 'open' }, 'Brom')).toBe('The gate is open.');
  });
});
