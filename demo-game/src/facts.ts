// What each villager knows of what the game has done, as Parley facts: derived from the game state
// alone, so a reload (or a state the player reached in another tab) tells the NPCs the same thing. The
// facts travel with every turn (`additional_instructions`) and overrule the NPCs' instructions, so Tilda
// never offers a lantern she sold and Brom never asks for a password after he opened the gate.
//
// No Phaser here (only type imports), so the derivation can be checked without a browser.
import type { Facts } from '@parley/dialogue';
import type { NpcId } from './cast.ts';
import type { GameState } from './state.ts';
import { ITEM_IDS, ITEMS, PASSWORD } from './state.ts';

/** A fact's value, or undefined when it does not hold (and must be removed). */
type Derived = Record<string, string | undefined>;

/** The facts every villager knows. */
export function worldFacts(state: GameState): Derived {
  return {
    'north gate': state.gateOpen
      ? 'open tonight: Brom let the traveller through after they gave the night password'
      : undefined,
  };
}

/** The facts one villager knows of their own part in the quest. */
export function npcFacts(id: NpcId, state: GameState): Derived {
  switch (id) {
    case 'tilda': {
      const facts: Derived = {};
      for (const item of ITEM_IDS) {
        const left = state.stock(item);
        facts[item] =
          left === 0
            ? `sold to the traveller; none left, so never offer or sell the ${ITEMS[item].name} again`
            : left < ITEMS[item].stock
              ? `${left} left`
              : undefined;
      }
      return facts;
    }
    case 'marta':
      return {
        quest: state.questAtLeast('lantern')
          ? 'you already asked the traveller to bring Odo a lantern; do not hand out the quest again'
          : undefined,
        'Odo’s lantern': state.questAtLeast('oil')
          ? 'the traveller brought Odo a new lantern; his library is lit again'
          : undefined,
      };
    case 'odo':
      return {
        lantern: state.questAtLeast('password')
          ? `the traveller gave you a new lantern; your old one is no longer broken or missed, and you told them the night password (${PASSWORD})`
          : undefined,
      };
    case 'brom':
      return {
        gate: state.gateOpen
          ? 'you opened the north gate for the traveller, who gave the right password; it stays open for them'
          : undefined,
      };
  }
}

/** Sets the facts that hold and removes the ones that no longer do. */
export function applyFacts(facts: Facts, derived: Derived): void {
  for (const [key, value] of Object.entries(derived)) {
    if (value === undefined) facts.delete(key);
    else if (facts.get(key) !== value) facts.set(key, value);
  }
}

/**
 * What a villager mutters when the player passes, given what has happened: a bark that the game has
 * made untrue (Brom's "No password, no passage." after the gate opened) is never played.
 */
export function barksNow(id: NpcId, barks: readonly string[], state: GameState): readonly string[] {
  switch (id) {
    case 'brom':
      return state.gateOpen
        ? ['Gate’s open for you. Mind the road north.', 'Safe travels, traveller.', 'Hm. Quiet night.']
        : barks;
    case 'tilda':
      return state.stock('lantern') === 0
        ? barks.map((line) => line.replace(/^Lanterns! /, '')).concat('Sold my last lantern today!')
        : barks;
    case 'odo':
      return state.questAtLeast('password')
        ? ['Hm, where did I put that book…', 'Light at last! Fascinating.', 'Fascinating, fascinating.']
        : barks;
    case 'marta':
      return barks;
  }
}
