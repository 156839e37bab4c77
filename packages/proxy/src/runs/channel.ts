import type { ServerResponse } from 'node:http';
import { DONE_DATA, StreamEvent } from '@parley/protocol';
import { formatEvent } from '../http/sse.js';

/** Past this much, a batch is written before more is taken from the log (back-pressure still applies). */
const BATCH_CHARS = 64 * 1024;

export interface LoggedEvent {
  /** 1-based, over the whole run (across the streams that tool-output submissions open). */
  seq: number;
  event: string;
  /** The whole SSE frame, serialised once when the event happened and shared by every reader. */
  frame: string;
}

/** One HTTP stream reading the log. */
interface Reader {
  res: ServerResponse;
  /** How many events of the log it has been sent. */
  position: number;
  /** Waiting for `drain`: the socket's buffer is full. */
  blocked: boolean;
  /** Ended (its `done` sent) or closed: it is sent nothing more. */
  over: boolean;
  finish(): void;
}

/**
 * A run's event log. The engine appends; any number of HTTP streams read from any position, each at its
 * own pace. Because readers replay from the log, a stream that drops can resume from its last event id,
 * and a slow reader costs no more memory than the log the run keeps anyway.
 *
 * Readers are written to from callbacks rather than loops of promises: an append schedules one flush
 * for the tick, so the events that one upstream read produces (a run announces seven before its first
 * token) leave in one write per reader, and a token costs no promise here.
 */
export class RunChannel {
  readonly events: LoggedEvent[] = [];
  readonly #readers = new Set<Reader>();
  #scheduled = false;
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
    this.#schedule();
  }

  done(): void {
    this.push(StreamEvent.Done, DONE_DATA);
  }

  get readers(): number {
    return this.#readers.size;
  }

  /**
   * Writes events after `after` to `res` until (and including) the next `done`, then ends the response;
   * resolves once the response is ended or closed. Honors back-pressure: while the socket's buffer is
   * full it waits for `drain` instead of queueing more. Not with `res.cork()`: a corked chunked response
   * reports no back-pressure from `write()` (Node 24), and a reader that never reads would be buffered
   * whole. If nothing is being produced and the log is exhausted, a lone `done` closes the stream.
   */
  pipe(res: ServerResponse, after: number): Promise<void> {
    return new Promise((resolve) => {
      const onDrain = () => {
        reader.blocked = false;
        this.#flush(reader);
      };
      const reader: Reader = {
        res,
        position: Math.max(0, Math.min(after, this.events.length)),
        blocked: false,
        over: false,
        finish: () => {
          if (reader.over) return;
          reader.over = true;
          res.off('close', reader.finish);
          res.off('drain', onDrain);
          this.#readers.delete(reader);
          if (this.#readers.size === 0 && this.producing) this.onAbandoned?.();
          resolve();
        },
      };
      this.#readers.add(reader);
      this.onReader?.();
      if (res.destroyed) {
        reader.finish();
        return;
      }
      res.on('close', reader.finish);
      res.on('drain', onDrain);
      this.#schedule(); // what the log holds leaves with whatever this tick appends
    });
  }

  /** Flushes every reader once, after the current tick's appends have all been logged. */
  #schedule(): void {
    if (this.#scheduled || this.#readers.size === 0) return;
    this.#scheduled = true;
    process.nextTick(() => {
      this.#scheduled = false;
      for (const reader of this.#readers) this.#flush(reader);
    });
  }

  /** Writes what `reader` has not been sent, until its socket is full or it has sent a `done`. */
  #flush(reader: Reader): void {
    const { res } = reader;
    while (!reader.over && !reader.blocked) {
      if (res.destroyed) {
        reader.finish();
        return;
      }
      if (reader.position >= this.events.length) {
        if (!this.producing) {
          res.end(formatEvent({ event: StreamEvent.Done, data: DONE_DATA }));
          reader.finish();
        }
        return;
      }
      let batch = '';
      let ended = false;
      while (reader.position < this.events.length && !ended && batch.length < BATCH_CHARS) {
        const entry = this.events[reader.position++]!;
        batch += entry.frame;
        ended = entry.event === StreamEvent.Done;
      }
      if (ended) {
        res.end(batch);
        reader.finish();
        return;
      }
      if (!res.write(batch)) reader.blocked = true;
    }
  }
}
