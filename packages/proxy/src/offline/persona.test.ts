import { describe, expect, it } from 'vitest';
import { parsePersona, toFirstPerson } from './persona.js';
import { BROM, MIRA, ODO } from './test-fixtures.js';

describe('parsePersona', () => {
  it('reads "You are NAME, the ROLE" with style words out of the role', () => {
    const brom = parsePersona(BROM);
    expect(brom.name).toBe('Brom');
    expect(brom.role).toBe('the gate guard of Eastwatch');
    expect(brom.style).toBe('terse');
  });

  it('reads "You are a ROLE named NAME"', () => {
    const mira = parsePersona(MIRA);
    expect(mira).toMatchObject({ name: 'Mira', role: 'a baker', style: 'cheerful' });
  });

  it('reads "NAME is a ROLE" written about the NPC, keeping the head noun', () => {
    const odo = parsePersona(ODO);
    expect(odo).toMatchObject({ name: 'Odo', role: 'a scholar of the old tongue', style: 'scholarly' });
    expect(odo.lore).toEqual(['I keep the library of Varn.']);
  });

  it('reads "Your name is NAME" and a role from another sentence', () => {
    const p = parsePersona(
      'Your name is Captain Ilsa Varn. You are the harbor master. Be formal and polite.',
    );
    expect(p).toMatchObject({ name: 'Captain Ilsa Varn', role: 'the harbor master', style: 'formal' });
  });

  it('leaves name and role empty when the instructions give none, and ignores chat-setup roles', () => {
    expect(parsePersona('')).toEqual({ name: undefined, role: undefined, style: 'neutral', lore: [] });
    expect(parsePersona('You are a helpful NPC in a fantasy game.')).toMatchObject({
      name: undefined,
      role: undefined,
    });
  });

  it('keeps lore as first-person statements and drops directives', () => {
    const brom = parsePersona(BROM);
    expect(brom.lore).toEqual([
      'The gate closes at dusk; only merchants with a writ may pass.',
      'My brother Tam runs the Rusty Nail inn.',
    ]);
  });
});

describe('toFirstPerson', () => {
  it('turns the second person into the first, subject and object alike', () => {
    expect(toFirstPerson("You lost your brother in the war, and you're still angry.")).toBe(
      "I lost my brother in the war, and I'm still angry.",
    );
    expect(toFirstPerson('The mayor pays you well.')).toBe('The mayor pays me well.');
    expect(toFirstPerson('You are the last of your order.')).toBe('I am the last of my order.');
  });
});
