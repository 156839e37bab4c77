import type { AssistantStreamEvent } from '@parley/protocol';
import { DONE_DATA, StreamEvent } from '@parley/protocol';

/** One event of a run's log, as stored: its place in the run, its name and its serialised `data`. */
export interface LoggedEvent {
  /** 1-based over the whole run (across the streams that tool-output submissions open). */
  seq: number;
  event: AssistantStreamEvent['event'];
  /** The `data:` value, serialised once when the event happened. */
  data: string;
}

/**
 * Each run's stream of events: the instance executing a run appends, any stream reads from any position
 * and follows the live rest, so a player whose connection dropped resumes from their last event id. A log
 * ends with `done`; a finished run's log stays readable for a while, then is dropped (a resume that finds
 * no log is told how the run ended, from the store).
 *
 * Implementations: {@link MemoryEventLog} (one process). Any other must pass `eventLogContract`.
 */
export interface RunEventLog {
  /**
   * Appends `event` to the run's log and returns its sequence number. Appends of one run come from one
   * producer and keep their order; the call does not wait for a shared log to acknowledge.
   */
  append(runId: string, event: AssistantStreamEvent): number;
  /**
   * Events after `after`, oldest first (at most `limit`); an empty array when there are none yet, and
   * undefined when the log is not kept (never was, or dropped after the retention window). A reader at or
   * past the end of a log that has ended gets its `done` again, so no reader waits on a finished run.
   */
  read(runId: string, after: number, limit?: number): Promise<LoggedEvent[] | undefined>;
  /** Resolves once the log has an event after `after`, is dropped, or `signal` aborts. */
  wait(runId: string, after: number, signal: AbortSignal): Promise<void>;
  /** The run is over (its `done` is appended): keep the log for late resumes, then drop it. */
  retire(runId: string): void;
  /** Drops every log and stops timers (shutdown). */
  close(): void;
}

/** Serialises an event's data once, for the log. */
export function serialise(event: AssistantStreamEvent): string {
  return typeof event.data === 'string' ? event.data : JSON.stringify(event.data);
}

/** The event that ends every log. */
export const DONE_EVENT: AssistantStreamEvent = { event: StreamEvent.Done, data: DONE_DATA };

interface Log {
  events: LoggedEvent[];
  waiters: Set<() => void>;
  bytes: number;
  timer: NodeJS.Timeout | undefined;
}

export interface MemoryEventLogOptions {
  /** How long a finished run's log stays readable (default 5 minutes). */
  retainMs?: number;
  /** How many characters of finished logs to keep in all, oldest dropped first (default 64 Mi). */
  retainChars?: number;
}

/**
 * The event log of one process: an array per run. Finished logs stay for `retainMs` and at most
 * `retainChars` in all, so a busy proxy's memory does not grow with its turn rate.
 */
export class MemoryEventLog implements RunEventLog {
  readonly #logs = new Map<string, Log>();
  /** Finished runs, oldest first. */
  readonly #retired = new Set<string>();
  #retiredChars = 0;
  readonly #retainMs: number;
  readonly #retainChars: number;

  constructor(options: MemoryEventLogOptions = {}) {
    this.#retainMs = options.retainMs ?? 5 * 60_000;
    this.#retainChars = options.retainChars ?? 64 * 1024 * 1024;
  }

  append(runId: string, event: AssistantStreamEvent): number {
    let log = this.#logs.get(runId);
    if (!log) {
      log = { events: [], waiters: new Set(), bytes: 0, timer: undefined };
      this.#logs.set(runId, log);
    }
    const data = serialise(event);
    const seq = log.events.length + 1;
    log.events.push({ seq, event: event.event, data });
    log.bytes += data.length;
    this.#wake(log);
    return seq;
  }

  async read(
    runId: string,
    after: number,
    limit = Number.POSITIVE_INFINITY,
  ): Promise<LoggedEvent[] | undefined> {
    const log = this.#logs.get(runId);
    if (!log) return undefined;
    const last = log.events.at(-1);
    if (last?.event === StreamEvent.Done && after >= log.events.length) return [last];
    const start = Math.max(0, after);
    return log.events.slice(start, Math.min(log.events.length, start + limit));
  }

  wait(runId: string, after: number, signal: AbortSignal): Promise<void> {
    const log = this.#logs.get(runId);
    if (!log || log.events.length > after || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        log.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      log.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  retire(runId: string): void {
    const log = this.#logs.get(runId);
    if (!log || this.#retired.has(runId)) return;
    this.#retired.add(runId);
    this.#retiredChars += log.bytes;
    log.timer = setTimeout(() => this.#drop(runId), this.#retainMs);
    log.timer.unref();
    for (const oldest of this.#retired) {
      if (this.#retiredChars <= this.#retainChars || oldest === runId) break;
      this.#drop(oldest);
    }
  }

  close(): void {
    for (const runId of [...this.#logs.keys()]) this.#drop(runId);
  }

  #drop(runId: string): void {
    const log = this.#logs.get(runId);
    if (!log) return;
    clearTimeout(log.timer);
    this.#logs.delete(runId);
    if (this.#retired.delete(runId)) this.#retiredChars -= log.bytes;
    this.#wake(log);
  }

  #wake(log: Log): void {
    for (const waiter of [...log.waiters]) waiter();
  }
}
