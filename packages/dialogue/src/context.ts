import type { Facts } from './facts.js';
import type { Request } from './http.js';
import type { GameTool } from './npc.js';
import type { KeyValueStore } from './store.js';

/** What one {@link createParley} instance shares between its NPCs and conversations. */
export interface Context {
  request: Request;
  store: KeyValueStore;
  /** In-flight or finished ensure jobs, so concurrent callers share one request chain. */
  jobs: Map<string, { tag: string; promise: Promise<unknown> }>;
  /** Per conversation: settles when its last turn has ended, so turns on one thread never overlap. */
  tails: Map<string, Promise<void>>;
  /** Per NPC id, the game's tools by name: every `npc()` of one id shares them. */
  tools: Map<string, Map<string, GameTool>>;
  maxToolRounds: number;
  /** The world's facts, and each NPC's own by NPC id. */
  facts: { world: Facts; npcs: Map<string, Facts> };
}

/**
 * Runs `run` once per `key` and `tag`: callers share its promise. A different `tag` (say, a changed NPC
 * definition) queues a new run behind the current one; a failed run is forgotten so the next call retries.
 */
export function share<T>(ctx: Context, key: string, tag: string, run: () => Promise<T>): Promise<T> {
  const job = ctx.jobs.get(key);
  if (job?.tag === tag) return job.promise as Promise<T>;
  const promise = (job?.promise ?? Promise.resolve()).catch(() => {}).then(run);
  ctx.jobs.set(key, { tag, promise });
  promise.catch(() => {
    if (ctx.jobs.get(key)?.promise === promise) ctx.jobs.delete(key);
  });
  return promise;
}
