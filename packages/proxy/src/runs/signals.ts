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
  readonly #handlers = new Map<string, Set<(signal: RunSignal) => void>>();

  async send(runId: string, signal: RunSignal): Promise<void> {
    for (const handler of [...(this.#handlers.get(runId) ?? [])]) {
      // A handler runs after the sender's turn, as it would across processes.
      queueMicrotask(() => handler(signal));
    }
  }

  listen(runId: string, handler: (signal: RunSignal) => void): () => void {
    let handlers = this.#handlers.get(runId);
    if (!handlers) {
      handlers = new Set();
      this.#handlers.set(runId, handlers);
    }
    handlers.add(handler);
    return () => {
      handlers.delete(handler);
      if (handlers.size === 0 && this.#handlers.get(runId) === handlers) this.#handlers.delete(runId);
    };
  }

  async close(): Promise<void> {
    this.#handlers.clear();
  }
}
