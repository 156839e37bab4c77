/**
 * Which runs are live and on which thread: the rule "one active run per thread" and who holds each run.
 * A run is active from its creation until it ends (a run waiting for tool outputs is active too).
 *
 * Implementations: {@link MemoryRunRegistry} (one process). Any other (a database table with a unique
 * index per thread, say) must pass `registryContract`.
 */
export interface RunRegistry {
  /** This instance's id, as recorded for the runs it holds. */
  readonly instanceId: string;
  /**
   * Claims `threadId` for the new run `runId`, held by this instance. Resolves undefined when claimed, or
   * the id of the run already active on the thread (nothing changes then). Two claims racing for one
   * thread: exactly one wins.
   */
  claim(threadId: string, runId: string): Promise<string | undefined>;
  /** The run active on `threadId`, if any. */
  active(threadId: string): Promise<string | undefined>;
  /** The instance holding `runId`, if the run is active. */
  holder(runId: string): Promise<string | undefined>;
  /** Takes over an active run (found waiting after a restart, or whose holder is gone). */
  adopt(threadId: string, runId: string): Promise<void>;
  /** The run ended: its thread is free. Releasing a run that is not active does nothing. */
  release(threadId: string, runId: string): Promise<void>;
}

/** The registry of one process: two maps. */
export class MemoryRunRegistry implements RunRegistry {
  readonly #byThread = new Map<string, string>();
  readonly #threadOf = new Map<string, string>();

  constructor(readonly instanceId = 'local') {}

  async claim(threadId: string, runId: string): Promise<string | undefined> {
    const current = this.#byThread.get(threadId);
    if (current !== undefined && current !== runId) return current;
    this.#byThread.set(threadId, runId);
    this.#threadOf.set(runId, threadId);
    return undefined;
  }

  async active(threadId: string): Promise<string | undefined> {
    return this.#byThread.get(threadId);
  }

  async holder(runId: string): Promise<string | undefined> {
    return this.#threadOf.has(runId) ? this.instanceId : undefined;
  }

  async adopt(threadId: string, runId: string): Promise<void> {
    const current = this.#byThread.get(threadId);
    if (current !== undefined) this.#threadOf.delete(current);
    this.#byThread.set(threadId, runId);
    this.#threadOf.set(runId, threadId);
  }

  async release(threadId: string, runId: string): Promise<void> {
    if (this.#byThread.get(threadId) === runId) this.#byThread.delete(threadId);
    this.#threadOf.delete(runId);
  }
}
