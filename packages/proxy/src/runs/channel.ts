import type { ServerResponse } from 'node:http';
import { DONE_DATA, StreamEvent } from '@parley/protocol';
import { drained, formatEvent } from '../http/sse.js';

/** Past this much, a batch is written before more is taken from the log (back-pressure still applies). */
const BATCH_CHARS = 64 * 1024;

/**
 * Resolves after the current tick's microtasks have run: by then every event that one upstream read
 * produces has been logged, so they can leave in one write.
 */
function afterTick(): Promise<void> {
  return new Promise((resolve) => process.nextTick(resolve));
}

export interface LoggedEvent {
  /** 1-based, over the whole run (across the streams that tool-output submissions open). */
  seq: number;
  event: string;
  /** The whole SSE frame, serialised once when the event happened and shared by every reader. */
  frame: string;
}

/**
 * A run's event log. The engine appends; any number of HTTP streams read from any position, each at its
 * own pace. Because readers replay from the log, a stream that drops can resume from its last event id,
 * and a slow reader costs no more memory than the log the run keeps anyway.
 */
export class RunChannel {
  readonly events: LoggedEvent[] = [];
  #waiters: Array<() => void> = [];
  #readers = 0;
  /** True while the engine is producing events for this run (between a start and its `done`). */
  producing = false;
  /** Called when the last reader leaves while the run is producing; the engine decides what to do. */
  onAbandoned: (() => void) | undefined;
  onReader: (() => void) | undefined;

  constructor(readonly runId: string) {}

  push(event: string, data: unknown): void {
    const seq = this.events.length + 1;
    const payload = typeof data === 'string' ? data : JSON.stringify(data);
    this.events.push({ seq, event, frame: formatEvent({ id: seq, event, data: payload }) });
    if (event === StreamEvent.Done) this.producing = false;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  done(): void {
    this.push(StreamEvent.Done, DONE_DATA);
  }

  get readers(): number {
    return this.#readers;
  }

  #next(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /**
   * Writes events after `after` to `res` until (and including) the next `done`, then ends the response.
   * Honors back-pressure: when the socket's buffer is full it waits for `drain` instead of queueing more.
   * If nothing is being produced and the log is exhausted, a lone `done` closes the stream.
   */
  async pipe(res: ServerResponse, after: number): Promise<void> {
    let position = Math.max(0, Math.min(after, this.events.length));
    let closed = res.destroyed;
    const onClose = () => {
      closed = true;
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const wake of waiters) wake();
    };
    res.on('close', onClose);
    this.#readers++;
    this.onReader?.();
    try {
      while (!closed) {
        // The events one upstream read produces (a run announces seven before its first token) leave in
        // one write rather than one each. Not with `res.cork()`: a corked chunked response reports no
        // back-pressure from `write()` (Node 24), and a reader that never reads would be buffered whole.
        if (position < this.events.length) await afterTick();
        let batch = '';
        let ended = false;
        while (position < this.events.length && !ended && batch.length < BATCH_CHARS) {
          const entry = this.events[position++]!;
          batch += entry.frame;
          ended = entry.event === StreamEvent.Done;
        }
        if (batch) {
          if (ended) {
            res.end(batch);
            return;
          }
          if (closed) return;
          if (!res.write(batch)) await drained(res);
          continue;
        }
        if (closed) return;
        if (!this.producing) {
          res.end(formatEvent({ event: StreamEvent.Done, data: DONE_DATA }));
          return;
        }
        await this.#next();
      }
    } finally {
      res.off('close', onClose);
      this.#readers--;
      if (this.#readers === 0 && this.producing) this.onAbandoned?.();
    }
  }
}
