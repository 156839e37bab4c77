import type { Context } from './context.js';
import { createFacts, type Facts } from './facts.js';
import { createRequest } from './http.js';
import { createNpc, type Npc, type NpcDefinition } from './npc.js';
import { defaultStore, type KeyValueStore } from './store.js';

/** Options of {@link createParley}. */
export interface ParleyOptions {
  /** The proxy's base URL, e.g. `'http://127.0.0.1:8787'`, or `''` for the page's origin. The API is under `/v1`. */
  url: string;
  /** The fetch to use; default: the global `fetch` at call time. */
  fetch?: typeof fetch;
  /** Returns the bearer token for each request (or undefined for none). */
  auth?: () => string | undefined | Promise<string | undefined>;
  /** Where assistant and thread ids are remembered. Default: `localStorage` when usable, else memory. */
  store?: KeyValueStore;
  /** How many rounds of tool calls one turn may make before it is stopped (an NPC calling tools in a loop). Default 8. */
  maxToolRounds?: number;
}

/** A connection to a Parley proxy. */
export interface Parley {
  /**
   * An NPC. Nothing is sent until it is used; its assistant is then found by `definition.id` (or created)
   * and updated when the definition changed.
   *
   * @example
   * ```ts
   * const innkeeper = parley.npc({ id: 'innkeeper', name: 'Marta', instructions: 'You run the Gilded Goose.' });
   * ```
   */
  npc(definition: NpcDefinition): Npc;
  /**
   * What is true in the game world now, for every NPC: each turn carries these facts to the model.
   *
   * @example
   * ```ts
   * parley.facts.set('gate', 'open: the traveller knew the password');
   * ```
   */
  readonly facts: Facts;
}

/**
 * Connects to a Parley proxy. Does no I/O until an NPC is used.
 *
 * @example
 * ```ts
 * const parley = createParley({ url: 'http://127.0.0.1:8787', auth: () => session.token });
 * const turn = parley.npc(innkeeper).conversation().say('Hello!');
 * for await (const event of turn) if (event.type === 'text.delta') bubble.setText(event.text);
 * ```
 */
export function createParley(options: ParleyOptions): Parley {
  const ctx: Context = {
    request: createRequest(options),
    store: options.store ?? defaultStore(),
    jobs: new Map(),
    tails: new Map(),
    tools: new Map(),
    maxToolRounds: options.maxToolRounds ?? 8,
    facts: { world: createFacts(), npcs: new Map() },
  };
  return { npc: (definition) => createNpc(ctx, definition), facts: ctx.facts.world };
}
