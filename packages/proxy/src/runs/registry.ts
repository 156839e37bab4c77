/**
 * Which runs are live and on which thread: the rule "one active run per thread" and who holds each run.
 * A run is active from its creation until it ends (a run waiting for tool outputs is active too).
 *
 * Each instance holds its runs by a lease that it renews while it lives; a run whose holder's lease has
 * lapsed (the instance died) is not held: one instance (the one whose {@link RunRegistry.takeOver} wins) ends or
 * adopts it.
 *
 * Implementations: {@link MemoryRunRegistry} (one process: its runs are held while it runs). Any other (a
 * database table with a unique key per thread, say) must pass `registryContract`.
 */
export interface RunRegistry {
  /** This instance's id, as recorded for the runs it holds. */
  readonly instanceId: string;
  /** Whether other instances share this registry (then the engine looks for orphaned runs now and then). */
  readonly shared: boolean;
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
  /**
   * Makes this instance the holder of the active run `runId` if no live instance holds it (its holder died,
   * or its claim is gone and the thread is free). Resolves whether this instance took it: of concurrent
   * takeovers of one run, by any instances, exactly one does, and a run this instance holds already is not
   * taken again. A waiting run taken over keeps waiting.
   */
  takeOver(threadId: string, runId: string): Promise<boolean>;
  /**
   * The run this instance holds now waits for tool outputs: the next request to {@link resume} it, through any
   * instance, continues, cancels or expires it.
   */
  markWaiting(threadId: string, runId: string): Promise<void>;
  /**
   * Takes the waiting run `runId` to continue it (its tool outputs, a cancel, its expiry), from whichever
   * instance holds it, live or not. Resolves true for exactly one of any number of concurrent callers on any
   * instances, which then holds the run and must continue it or {@link markWaiting} it again; false when the
   * run is not waiting (another request is continuing it).
   */
  resume(threadId: string, runId: string): Promise<boolean>;
  /** The run ended: its thread is free. Releasing a run that is not active does nothing. */
  release(threadId: string, runId: string): Promise<void>;
  /** Whether a live instance (its lease not lapsed) holds `runId`. A run never claimed is not held. */
  isHeld(runId: string): Promise<boolean>;
  /** Claims no live instance holds (their instance died), for recovery to end or clear. */
  orphans(): Promise<Array<{ threadId: string; runId: string }>>;
  /** Stops renewing this instance's leases and lets go of its connections. */
  close(): Promise<void>;
}

/** The registry of one process: two maps. */
export class MemoryRunRegistry implements RunRegistry {
  readonly #byThread = new Map<string, string>();
  readonly #threadOf = new Map<string, string>();
  readonly #waiting = new Set<string>();

  readonly shared = false;

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

  /** Every run held here is held by a live instance (this one), so only an unclaimed run is taken. */
  async takeOver(threadId: string, runId: string): Promise<boolean> {
    if (this.#threadOf.has(runId)) return false;
    const current = this.#byThread.get(threadId);
    if (current !== undefined && current !== runId) return false;
    this.#byThread.set(threadId, runId);
    this.#threadOf.set(runId, threadId);
    return true;
  }

  async markWaiting(threadId: string, runId: string): Promise<void> {
    if (this.#threadOf.get(runId) === threadId) this.#waiting.add(runId);
  }

  async resume(threadId: string, runId: string): Promise<boolean> {
    return this.#threadOf.get(runId) === threadId && this.#waiting.delete(runId);
  }

  async release(threadId: string, runId: string): Promise<void> {
    if (this.#byThread.get(threadId) === runId) this.#byThread.delete(threadId);
    this.#threadOf.delete(runId);
    this.#waiting.delete(runId);
  }

  async isHeld(runId: string): Promise<boolean> {
    return this.#threadOf.has(runId);
  }

  /** In one process every claim is this process's own: none is orphaned while it runs. */
  async orphans(): Promise<Array<{ threadId: string; runId: string }>> {
    return [];
  }

  async close(): Promise<void> {}
}
