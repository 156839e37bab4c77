import type { Message, Run, RunStep } from '@parley/protocol';
import type { Owner, Store } from '../store/types.js';

type Stored = Message | RunStep | Run;

/**
 * A run's writes made while it streams, in order, without the upstream's tokens waiting for the store.
 * Each write stores its object as it stands when the write runs (`current()` is read then). Writes queued
 * while the store is busy go together, in the order first queued, as one transaction; a second write of an
 * object still waiting replaces the first (the newest `current` wins), so under load a turn stores each
 * object once per batch. The first error is kept; {@link flush} waits for the queue and throws it, so
 * nothing final is announced over a lost write.
 */
export class WriteQueue {
  readonly #pending = new Map<string, () => Stored>();
  #draining: Promise<void> | undefined;
  #error: unknown;

  constructor(
    private readonly store: Store,
    private readonly owner: Owner,
  ) {}

  /** Queues a write of the object `current()` returns when the write runs. */
  put(id: string, current: () => Stored): void {
    this.#pending.set(id, current);
    this.#draining ??= this.#drain();
  }

  /** Waits for every queued write; throws the first that failed (once). */
  async flush(): Promise<void> {
    while (this.#draining) await this.#draining;
    if (this.#error !== undefined) {
      const error = this.#error;
      this.#error = undefined;
      throw error;
    }
  }

  async #drain(): Promise<void> {
    // Let the writes of this tick gather first.
    await Promise.resolve();
    try {
      while (this.#pending.size > 0) {
        const batch = [...this.#pending.values()].map((current) => current());
        this.#pending.clear();
        try {
          if (batch.length === 1) await putOne(this.store, this.owner, batch[0]!);
          else await this.store.putAll(this.owner, batch);
        } catch (error) {
          this.#error ??= error;
        }
      }
    } finally {
      this.#draining = undefined;
    }
  }
}

/** Stores one message, step or run by itself. */
export function putOne(store: Store, owner: Owner, object: Stored): Promise<void> {
  switch (object.object) {
    case 'thread.message':
      return store.putMessage(owner, object);
    case 'thread.run.step':
      return store.putStep(owner, object);
    case 'thread.run':
      return store.putRun(owner, object);
  }
}
