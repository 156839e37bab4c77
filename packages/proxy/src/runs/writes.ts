import type { Message, Run, RunStep } from '@parley/protocol';
import type { Owner, Store } from '../store/types.js';

type Stored = Message | RunStep | Run;

/**
 * A run's writes made while it streams, in order, without the upstream's tokens waiting for the store.
 * Each write stores its object as it stands when the write runs (`current()` is read then), so a write
 * queued behind one of the same object that has not started yet is redundant and dropped. The first error
 * is kept; {@link flush} waits for the queue and throws it, so nothing final is announced over a lost write.
 */
export class WriteQueue {
  #tail: Promise<void> = Promise.resolve();
  #error: unknown;
  readonly #queued = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly owner: Owner,
  ) {}

  /** Queues a write of the object `current()` returns when the write runs. */
  put(id: string, current: () => Stored): void {
    if (this.#queued.has(id)) return;
    this.#queued.add(id);
    this.#tail = this.#tail
      .then(() => {
        this.#queued.delete(id);
        return putOne(this.store, this.owner, current());
      })
      .catch((error: unknown) => {
        this.#error ??= error;
      });
  }

  /** Waits for every queued write; throws the first that failed (once). */
  async flush(): Promise<void> {
    await this.#tail;
    if (this.#error !== undefined) {
      const error = this.#error;
      this.#error = undefined;
      throw error;
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
