import type { ServerResponse } from 'node:http';
import { DONE_DATA, StreamEvent } from '@parley/protocol';
import { drained, formatEvent } from '../http/sse.js';
import type { LoggedEvent, RunEventLog } from './event-log.js';

/** Past this many events, a batch is written before more is read (back-pressure still applies). */
const BATCH_EVENTS = 256;
/** How often a follower looks again for a log that is not there yet. */
const LOG_POLL_MS = 100;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Told when a stream starts and stops reading a run (a run streamed to nobody may be stopped). */
export interface ReaderHooks {
  joined(): void;
  left(): void;
}

/**
 * One run's events as an HTTP stream: replays the log after `after`, then follows it until `done`, at the
 * reader's pace (while the socket's buffer is full it waits for `drain` rather than queue more). If the log
 * is not kept, a lone `done` closes the stream.
 */
export class RunStream {
  constructor(
    private readonly log: RunEventLog,
    readonly runId: string,
    private readonly hooks?: ReaderHooks,
    /**
     * For a run executing on another instance: whether it is still active, asked while its log is not
     * there yet (a follower can be faster than the first append reaches a shared log). Without it, a log
     * that is not kept ends the stream with a lone `done`.
     */
    private readonly stillActive?: () => Promise<boolean>,
  ) {}

  /** The events logged so far (for tests and tools; streams use {@link pipe}). */
  async events(after = 0): Promise<LoggedEvent[]> {
    return (await this.log.read(this.runId, after)) ?? [];
  }

  /** Writes events after `after` to `res` until the run's `done`, then ends it; resolves once it ends or closes. */
  async pipe(res: ServerResponse, after: number): Promise<void> {
    const closed = new AbortController();
    const onClose = () => closed.abort();
    res.on('close', onClose);
    this.hooks?.joined();
    let position = after;
    try {
      while (!res.destroyed) {
        const events = await this.log.read(this.runId, position, BATCH_EVENTS);
        if (res.destroyed) return;
        if (events === undefined) {
          if (this.stillActive && (await this.stillActive())) {
            await Promise.race([this.log.wait(this.runId, position, closed.signal), sleep(LOG_POLL_MS)]);
            continue;
          }
          res.end(formatEvent({ event: StreamEvent.Done, data: DONE_DATA }));
          return;
        }
        if (events.length === 0) {
          await this.log.wait(this.runId, position, closed.signal);
          continue;
        }
        let batch = '';
        for (const entry of events) {
          batch += formatEvent({ id: entry.seq, event: entry.event, data: entry.data });
          position = entry.seq;
          if (entry.event === StreamEvent.Done) {
            res.end(batch);
            return;
          }
        }
        if (!res.write(batch)) await drained(res);
      }
    } finally {
      res.off('close', onClose);
      this.hooks?.left();
    }
  }
}
