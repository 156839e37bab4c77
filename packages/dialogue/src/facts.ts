/**
 * What the game says is true now, for the NPCs to know: the world's facts (every NPC) and each NPC's own.
 * Every turn carries the current facts to the model as the run's `additional_instructions`, so they work
 * with every upstream and need no change to the NPC's instructions.
 *
 * @example
 * ```ts
 * parley.facts.set('gate', 'open since the traveller gave the password');
 * tilda.facts.set('lantern', 'sold to the traveller; she has none left');
 * tilda.facts.delete('lantern'); // restocked
 * ```
 */
export interface Facts {
  /** States a fact (replacing one of the same key). */
  set(key: string, value: string): void;
  /** Removes a fact; true when there was one. */
  delete(key: string): boolean;
  /** A fact's value, if set. */
  get(key: string): string | undefined;
  /** Every fact, in the order they were first set. */
  all(): Array<[key: string, value: string]>;
}

/** Facts kept in a map. */
export function createFacts(): Facts {
  const facts = new Map<string, string>();
  return {
    set: (key, value) => void facts.set(key, value),
    delete: (key) => facts.delete(key),
    get: (key) => facts.get(key),
    all: () => [...facts],
  };
}

/** The facts as a turn's `additional_instructions`, or undefined when there are none. */
export function factsInstructions(...sources: Facts[]): string | undefined {
  const lines = sources.flatMap((facts) => facts.all()).map(([key, value]) => `- ${key}: ${value}`);
  return lines.length > 0 ? `Facts (true now; they overrule earlier lines):\n${lines.join('\n')}` : undefined;
}
