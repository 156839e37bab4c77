import { ErrorCode } from '@parley/protocol';
import { ProxyError } from '../errors.js';

/**
 * A counting semaphore with a bounded queue: at most `max` holders at once, at most `queued` waiting.
 * Beyond that a caller is told to come back (429) instead of piling up processes or buffers that the
 * machine cannot serve anyway.
 */
export class Slots {
  #active = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(
    readonly max: number,
    readonly queued: number,
    /** What a caller turned away is told. */
    private readonly busyMessage: string,
  ) {}

  /** Holders now, for tests and metrics. */
  get active(): number {
    return this.#active;
  }

  /** Waits for a slot; resolves to the function that gives it back (call it exactly once). */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.#active >= this.max) {
      if (this.#waiting.length >= this.queued) {
        throw new ProxyError(ErrorCode.RateLimited, this.busyMessage, { headers: { 'Retry-After': '1' } });
      }
      await new Promise<void>((resolve, reject) => {
        const wake = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          const at = this.#waiting.indexOf(wake);
          if (at >= 0) this.#waiting.splice(at, 1);
          reject(signal?.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        this.#waiting.push(wake);
      });
    } else {
      this.#active++;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // A waiter takes the slot over directly, so a newcomer cannot jump the queue.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active--;
    };
  }
}
