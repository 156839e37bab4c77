import { z } from 'zod';
import type { RunSignal, RunSignals } from '../signals.js';
import { type RedisConnections, unavailable } from './connections.js';

const runSignal = z.discriminatedUnion('type', [
  z.object({ type: z.literal('cancel') }),
  z.object({ type: z.literal('adopted'), by: z.string() }),
]);

/**
 * Signals to live runs over Redis pub/sub: one channel per run (`<prefix>run:<id>:signals`), the signal as
 * JSON. Whichever instance holds the run listens on it through its one subscriber connection.
 *
 * Pub/sub delivers to whoever is subscribed when a signal is sent, and to nobody else: a listener counts
 * from the moment Redis acknowledges its subscription (a millisecond or so after `listen`), and a signal
 * sent while the holder's subscriber is reconnecting is lost; the run registry's leases decide what
 * happens to a run whose holder cannot be reached.
 */
export class RedisRunSignals implements RunSignals {
  readonly #connections: RedisConnections;
  readonly #stops = new Set<() => void>();
  #closed = false;

  constructor(connections: RedisConnections) {
    this.#connections = connections.acquire();
  }

  async send(runId: string, signal: RunSignal): Promise<void> {
    try {
      await this.#connections.redis.publish(this.#channel(runId), JSON.stringify(signal));
    } catch (error) {
      throw unavailable(error);
    }
  }

  listen(runId: string, handler: (signal: RunSignal) => void): () => void {
    const subscription = this.#connections.subscribe(this.#channel(runId), (message) => {
      if (message === undefined) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(message);
      } catch {
        return;
      }
      const signal = runSignal.safeParse(parsed);
      if (signal.success) handler(signal.data);
    });
    subscription.ready.catch((error: unknown) =>
      this.#connections.onError(error instanceof Error ? error : new Error(String(error))),
    );
    const stop = () => {
      this.#stops.delete(stop);
      subscription.stop();
    };
    this.#stops.add(stop);
    return stop;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const stop of [...this.#stops]) stop();
    await this.#connections.release();
  }

  #channel(runId: string): string {
    return `${this.#connections.prefix}run:${encodeURIComponent(runId)}:signals`;
  }
}
