/**
 * What another instance can tell the one holding a run: stop it (`cancel`), or let go of it because the
 * sender took it over (`adopted`: a waiting run whose outputs or cancel reached another instance).
 */
export type RunSignal = { type: 'cancel' } | { type: 'adopted'; by: string };

/**
 * Signals to live runs: a cancel accepted by any instance reaches the one executing the run, which stops
 * the upstream request. (Tool outputs need no signal: a waiting run executes nothing, so the instance that
 * receives the outputs continues the run itself.)
 *
 * Implementations: {@link MemoryRunSignals} (one process). Any other (Redis pub/sub, LISTEN/NOTIFY) must pass
 * `signalsContract`.
 */
export interface RunSignals {
  /** Delivers `signal` to whoever listens for `runId`; resolves once sent (not once handled). */
  send(runId: string, signal: RunSignal): Promise<void>;
  /** Calls `handler` for each signal sent to `runId` from now on; returns the function that stops it. */
  listen(runId: string, handler: (signal: RunSignal) => void): () => void;
  close(): Promise<void>;
}

/** Signals within one process. */
export class MemoryRunSignals implements RunSignals {
  readonly #handlers = new SignalHandlers();

  async send(runId: string, signal: RunSignal): Promise<void> {
    for (const handler of this.#handlers.of(runId)) {
      // A handler runs after the sender's turn, as it would across processes.
      queueMicrotask(() => handler(signal));
    }
  }

  listen(runId: string, handler: (signal: RunSignal) => void): () => void {
    return this.#handlers.add(runId, handler);
  }

  async close(): Promise<void> {
    this.#handlers.clear();
  }
}

/** The handlers listening for each run's signals, in one instance (every implementation keeps these). */
export class SignalHandlers {
  readonly #byRun = new Map<string, Set<(signal: RunSignal) => void>>();

  /** Adds a handler for `runId`; returns the function that removes it. */
  add(runId: string, handler: (signal: RunSignal) => void): () => void {
    let handlers = this.#byRun.get(runId);
    if (!handlers) {
      handlers = new Set();
      this.#byRun.set(runId, handlers);
    }
    handlers.add(handler);
    return () => {
      handlers.delete(handler);
      if (handlers.size === 0 && this.#byRun.get(runId) === handlers) this.#byRun.delete(runId);
    };
  }

  /** The handlers of `runId` as they are now (a handler may stop listening while they are called). */
  of(runId: string): Array<(signal: RunSignal) => void> {
    return [...(this.#byRun.get(runId) ?? [])];
  }

  clear(): void {
    this.#byRun.clear();
  }
}
