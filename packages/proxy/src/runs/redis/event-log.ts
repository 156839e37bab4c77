import { randomUUID } from 'node:crypto';
import { type AssistantStreamEvent, StreamEvent } from '@parley/protocol';
import { type LoggedEvent, type RunEventLog, serialise } from '../event-log.js';
import { asError, type RedisConnections, unavailable } from './connections.js';

/**
 * Appends one event: numbers it (the run's next seq, kept beside the stream), adds it with the id `0-<seq>`,
 * refreshes the keys' expiry and tells the run's channel. Counted once per producer and append number, so a
 * command resent after a dropped connection does not add the event twice.
 *
 * KEYS: 1 the stream, 2 the run's counters (hash: `seq`, and per producer the last append number applied).
 * ARGV: 1 producer, 2 its append number, 3 most events kept, 4 expiry ms, 5 channel, 6 event, 7 data.
 * Returns the event's seq, or 0 for a repeat.
 */
const APPEND = `
local applied = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if tonumber(ARGV[2]) <= applied then return 0 end
local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '0-' .. seq, 'e', ARGV[6], 'd', ARGV[7])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('PUBLISH', ARGV[5], seq)
return seq
`;

interface LogScripts {
  parleyAppend(...args: Array<string | number>): Promise<unknown>;
}

/** Options of {@link RedisEventLog}. */
export interface RedisEventLogOptions {
  /** How long a finished run's log stays readable (default 5 minutes). */
  retainMs?: number;
  /**
   * How long a log that is never retired outlives its last event (default 1 hour): the instance writing
   * it died, and whoever ended the run wrote its end elsewhere.
   */
  abandonedMs?: number;
  /**
   * Most events kept per run (default 100 000, trimmed approximately). A reader resuming before the
   * oldest kept event continues from there: far more than any reply streams, so only a runaway run is cut.
   */
  maxEvents?: number;
  /** A waiting reader looks at the log this often even when told nothing (default 5000 ms). */
  pollMs?: number;
}

/** What this instance knows of a run it appends to, to answer `append` without waiting for Redis. */
interface Appending {
  /** The highest seq Redis has given this instance's appends. */
  acked: number;
  /** Appends sent and not yet answered. */
  pending: number;
}

/** Runs whose append counters are kept; past this, the oldest idle ones are forgotten. */
const APPENDING_CAP = 10_000;

/**
 * Run event logs in Redis, shared by every instance on one Redis: a Stream per run (key
 * `<prefix>run:<id>:log`, one entry per event with the id `0-<seq>`, so reading after a position is one
 * XRANGE), its counters beside it (`…:meta`), and a notification per event on the channel `…:events`.
 *
 * Appends go out pipelined on one connection without waiting for Redis, so an instance's appends keep their
 * order; Redis numbers them. The seq `append` returns is this instance's count, from what it appended and
 * read: exact for a run it wrote from the start or read before continuing, a guess for the first appends to
 * a run another instance began that it has not read (Redis's number, which readers see, is right always).
 *
 * A reader waits on the run's channel, subscribed through the instance's one subscriber connection, and
 * looks at the stream again once subscribed, so an event appended between its read and its subscription
 * still wakes it. A finished log expires `retainMs` after `retire`.
 */
export class RedisEventLog implements RunEventLog {
  readonly #connections: RedisConnections;
  readonly #redis: RedisConnections['redis'] & LogScripts;
  readonly #producer = randomUUID();
  readonly #retainMs: number;
  readonly #abandonedMs: number;
  readonly #maxEvents: number;
  readonly #pollMs: number;
  readonly #appending = new Map<string, Appending>();
  readonly #waiters = new Set<() => void>();
  #appends = 0;
  #closed = false;

  constructor(connections: RedisConnections, options: RedisEventLogOptions = {}) {
    this.#connections = connections.acquire();
    this.#retainMs = options.retainMs ?? 5 * 60_000;
    this.#abandonedMs = options.abandonedMs ?? 60 * 60_000;
    this.#maxEvents = options.maxEvents ?? 100_000;
    this.#pollMs = options.pollMs ?? 5000;
    const redis = connections.redis as RedisConnections['redis'] & LogScripts;
    if (typeof redis.parleyAppend !== 'function')
      redis.defineCommand('parleyAppend', { numberOfKeys: 2, lua: APPEND });
    this.#redis = redis;
  }

  append(runId: string, event: AssistantStreamEvent): number {
    const state = this.#counters(runId);
    state.pending++;
    const seq = state.acked + state.pending;
    this.#redis
      .parleyAppend(
        this.#key(runId, 'log'),
        this.#key(runId, 'meta'),
        this.#producer,
        ++this.#appends,
        this.#maxEvents,
        this.#abandonedMs,
        this.#key(runId, 'events'),
        event.event,
        serialise(event),
      )
      .then(
        (given) => {
          state.pending--;
          if (typeof given === 'number' && given > 0) state.acked = Math.max(state.acked, given);
        },
        (error: unknown) => {
          state.pending--;
          this.#connections.onError(asError(error));
        },
      );
    return seq;
  }

  async read(
    runId: string,
    after: number,
    limit = Number.POSITIVE_INFINITY,
  ): Promise<LoggedEvent[] | undefined> {
    const from = position(after);
    const key = this.#key(runId, 'log');
    const count = Number.isFinite(limit) ? ['COUNT', Math.max(1, Math.floor(limit))] : [];
    let replies: Array<[Error | null, unknown]> | null;
    try {
      replies = await this.#redis
        .multi()
        .xrange(key, `0-${from + 1}`, '+', ...(count as ['COUNT', number]))
        .xrevrange(key, '+', '-', 'COUNT', 1)
        .exec();
    } catch (error) {
      throw unavailable(error);
    }
    if (!replies) throw unavailable(new Error('Transaction aborted'));
    const [events, last] = replies.map(([error, value]) => {
      if (error) throw unavailable(error);
      return (value as StreamEntry[]).map(toEvent);
    });
    const end = last?.[0];
    if (end === undefined) return undefined;
    // An instance about to continue a run another began reads it first: its next append is numbered on.
    const counters = this.#counters(runId);
    if (counters.pending === 0) counters.acked = Math.max(counters.acked, end.seq);
    if (events?.length === 0 && end.event === StreamEvent.Done && from >= end.seq) return [end];
    return events ?? [];
  }

  async wait(runId: string, after: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted || this.#closed) return;
    let finish = () => {};
    const woken = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const look = () => {
      this.#lastSeq(runId).then(
        (last) => {
          if (last === undefined || last > after) finish();
        },
        // Redis is failing: let the caller read, and hear it from there.
        () => finish(),
      );
    };
    const subscription = this.#connections.subscribe(this.#key(runId, 'events'), (message) => {
      if (message === undefined) look();
      else if (Number(message) > after) finish();
    });
    signal.addEventListener('abort', finish, { once: true });
    this.#waiters.add(finish);
    const poll = setInterval(look, this.#pollMs);
    poll.unref();
    // Once subscribed, look again: an event appended since the caller read would otherwise be missed.
    subscription.ready.then(look, () => {});
    try {
      await woken;
    } finally {
      clearInterval(poll);
      signal.removeEventListener('abort', finish);
      this.#waiters.delete(finish);
      subscription.stop();
    }
  }

  retire(runId: string): void {
    this.#appending.delete(runId);
    const report = (error: unknown) => this.#connections.onError(asError(error));
    this.#redis.pexpire(this.#key(runId, 'log'), this.#retainMs).catch(report);
    this.#redis.pexpire(this.#key(runId, 'meta'), this.#retainMs).catch(report);
  }

  /** Wakes every waiting reader and lets go of the connections (the logs stay in Redis for others). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const finish of [...this.#waiters]) finish();
    this.#appending.clear();
    void this.#connections.release();
  }

  async #lastSeq(runId: string): Promise<number | undefined> {
    const last = (await this.#redis.xrevrange(
      this.#key(runId, 'log'),
      '+',
      '-',
      'COUNT',
      1,
    )) as StreamEntry[];
    return last[0] === undefined ? undefined : toEvent(last[0]).seq;
  }

  #counters(runId: string): Appending {
    let state = this.#appending.get(runId);
    if (state) return state;
    state = { acked: 0, pending: 0 };
    this.#appending.set(runId, state);
    if (this.#appending.size > APPENDING_CAP) {
      for (const [oldest, counters] of this.#appending) {
        if (counters.pending === 0 && oldest !== runId) {
          this.#appending.delete(oldest);
          break;
        }
      }
    }
    return state;
  }

  // Run ids are ours, but URI-encoded they cannot reach into another key's parts whatever they hold.
  #key(runId: string, part: 'log' | 'meta' | 'events'): string {
    return `${this.#connections.prefix}run:${encodeURIComponent(runId)}:${part}`;
  }
}

type StreamEntry = [id: string, fields: string[]];

function toEvent([id, fields]: StreamEntry): LoggedEvent {
  let event = '';
  let data = '';
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'e') event = fields[i + 1] ?? '';
    else if (fields[i] === 'd') data = fields[i + 1] ?? '';
  }
  return { seq: Number(id.slice(id.indexOf('-') + 1)), event: event as LoggedEvent['event'], data };
}

/** `after` as a stream position: a whole number, and past any real log rather than past what ids hold. */
function position(after: number): number {
  if (Number.isNaN(after) || after <= 0) return 0;
  return Math.min(Math.floor(after), Number.MAX_SAFE_INTEGER - 1);
}
