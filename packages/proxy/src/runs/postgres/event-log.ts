import type { AssistantStreamEvent } from '@parley/protocol';
import { StreamEvent } from '@parley/protocol';
import { type LoggedEvent, type RunEventLog, serialise } from '../event-log.js';
import { EVENTS_CHANNEL, type PgRunConnection } from './connection.js';

export interface PgEventLogOptions {
  /** How long a finished run's log stays readable (default 5 minutes). */
  retainMs?: number;
  /**
   * How long a log that never finishes is kept (default 1 day): its instance died mid-run, and the
   * instance that recovered the run did not retire it.
   */
  unfinishedMs?: number;
  /** How often expired logs are deleted (default 30 s; each instance sweeps, the work is idempotent). */
  sweepMs?: number;
  /** How often waiting readers check the table themselves, should a notification be lost (default 1 s). */
  pollMs?: number;
}

interface Pending {
  seq: number;
  event: string;
  data: string;
}

/** A run this instance appends to: its events not yet stored, written in order by one flush at a time. */
interface Producer {
  /** The last seq handed out. */
  last: number;
  pending: Pending[];
  flushing: Promise<void> | undefined;
  /** Whether the log's row in `parley_run_logs` exists (written with the first batch). */
  registered: boolean;
  retired: boolean;
}

interface Waiter {
  after: number;
  wake: () => void;
}

/** The largest seq a statement may bind (`integer`); readers past it are past the end of any log. */
const MAX_SEQ = 2_147_483_647;
/** Events written by one statement at most; a burst beyond that is split. */
const MAX_BATCH = 500;
/** How many runs' last known seq is remembered (notifications cover every run of every instance). */
const MAX_KNOWN = 10_000;
/** How long appends keep being retried on close before what is left is given up. */
const CLOSE_FLUSH_MS = 5_000;

const UNIQUE_VIOLATION = '23505';

/**
 * The event log of instances sharing one PostgreSQL database, for deployments without Redis: correct
 * first, fast second. Events are rows of `parley_run_events` keyed by run and seq. `append` numbers the
 * event at once and queues it; each run's queue is written in order, one batched INSERT at a time, and the
 * statement notifies `parley_run_events` with the run's new last seq. Readers on any instance read the
 * table; a waiting reader is woken by that notification, or by a poll every `pollMs` should a notification
 * be lost (the LISTEN connection dropped), so no reader hangs.
 *
 * `retire` gives the log `retainMs` more life; a periodic sweep deletes expired logs.
 *
 * @example
 * ```ts
 * const connection = new PgRunConnection(databaseUrl);
 * const log = new PgEventLog(connection);
 * log.append(runId, { event: 'thread.run.queued', data: run }); // 1, stored a moment later
 * for (let after = 0; ; ) {
 *   const events = await log.read(runId, after);
 *   // …
 * }
 * ```
 */
export class PgEventLog implements RunEventLog {
  readonly #connection: PgRunConnection;
  readonly #producers = new Map<string, Producer>();
  readonly #waiters = new Map<string, Set<Waiter>>();
  /** Each run's last stored seq as last seen here (appends, notifications, reads), most recent last. */
  readonly #known = new Map<string, number>();
  readonly #retainMs: number;
  readonly #unfinishedMs: number;
  readonly #pollMs: number;
  readonly #sweeper: NodeJS.Timeout;
  #poller: NodeJS.Timeout | undefined;
  #polling = false;
  #closing: number | undefined;
  #closed: Promise<void> | undefined;
  readonly #unsubscribe: Array<() => void>;

  constructor(connection: PgRunConnection, options: PgEventLogOptions = {}) {
    connection.retain();
    this.#connection = connection;
    this.#retainMs = Math.max(0, Math.round(options.retainMs ?? 5 * 60_000));
    this.#unfinishedMs = Math.max(0, Math.round(options.unfinishedMs ?? 24 * 60 * 60_000));
    this.#pollMs = options.pollMs ?? 1000;
    this.#unsubscribe = [
      connection.subscribe(EVENTS_CHANNEL, (payload) => this.#notified(payload)),
      connection.onReconnect(() => void this.#poll()),
    ];
    this.#sweeper = setInterval(() => void this.sweep().catch(() => {}), options.sweepMs ?? 30_000);
    this.#sweeper.unref();
  }

  append(runId: string, event: AssistantStreamEvent): number {
    let producer = this.#producers.get(runId);
    if (!producer) {
      // A run continued here after another instance (its tool outputs arrived here) was read first by
      // the engine, so its last seq is known; should it not be, the first INSERT finds out (see #flush).
      producer = {
        last: this.#known.get(runId) ?? 0,
        pending: [],
        flushing: undefined,
        registered: false,
        retired: false,
      };
      this.#producers.set(runId, producer);
    }
    const seq = ++producer.last;
    producer.pending.push({ seq, event: event.event, data: serialise(event) });
    producer.flushing ??= this.#flush(runId, producer);
    return seq;
  }

  async read(
    runId: string,
    after: number,
    limit = Number.POSITIVE_INFINITY,
  ): Promise<LoggedEvent[] | undefined> {
    const position = Number.isNaN(after) ? 0 : Math.min(Math.max(Math.trunc(after), 0), MAX_SEQ);
    const unstored = this.#unstored(runId);
    // One round trip: the events after `position`, and the log's last event (is there a log, has it ended).
    const { rows } = await this.#connection.pool.query<LoggedEvent & { tail: boolean }>({
      name: 'parley_log_read',
      text: `(SELECT seq, event, data, false AS tail FROM parley_run_events
          WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3)
        UNION ALL
        (SELECT seq, event, data, true AS tail FROM parley_run_events
          WHERE run_id = $1 ORDER BY seq DESC LIMIT 1)`,
      values: [runId, position, Number.isFinite(limit) ? Math.max(0, Math.trunc(limit)) : null],
    });
    let tail: LoggedEvent | undefined;
    const events: LoggedEvent[] = [];
    for (const row of rows) {
      const entry = { seq: row.seq, event: row.event, data: row.data };
      if (row.tail) tail = entry;
      else events.push(entry);
    }
    if (!tail) {
      // Appended here but not stored when the statement began: the log exists, it is only empty so far.
      return unstored || this.#unstored(runId) ? [] : undefined;
    }
    this.#saw(runId, tail.seq);
    if (events.length === 0 && tail.event === StreamEvent.Done && after >= tail.seq) return [tail];
    return events;
  }

  wait(runId: string, after: number, signal: AbortSignal): Promise<void> {
    if (this.#closing !== undefined || signal.aborted || (this.#known.get(runId) ?? 0) > after) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      let waiters = this.#waiters.get(runId);
      if (!waiters) {
        waiters = new Set();
        this.#waiters.set(runId, waiters);
      }
      const waiter: Waiter = {
        after,
        wake: () => {
          signal.removeEventListener('abort', waiter.wake);
          const current = this.#waiters.get(runId);
          current?.delete(waiter);
          if (current?.size === 0) this.#waiters.delete(runId);
          if (this.#waiters.size === 0) this.#stopPolling();
          resolve();
        },
      };
      waiters.add(waiter);
      signal.addEventListener('abort', waiter.wake, { once: true });
      this.#startPolling();
    });
  }

  retire(runId: string): void {
    const producer = this.#producers.get(runId);
    if (producer) {
      // After the events still queued, so the log is never dropped before its done is stored.
      producer.retired = true;
      producer.flushing ??= this.#flush(runId, producer);
      return;
    }
    void this.#retire(runId).catch((error: unknown) => this.#failed('retire', runId, error));
  }

  /** Stops timers and wakes every reader; appends still queued are written first, then the pool closes. */
  close(): void {
    void this.closed();
  }

  /** Like {@link close}, resolving once the queued appends are written (or given up) and connections let go. */
  closed(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing = Date.now();
      clearInterval(this.#sweeper);
      this.#stopPolling();
      for (const unsubscribe of this.#unsubscribe) unsubscribe();
      for (const waiters of [...this.#waiters.values()]) for (const waiter of [...waiters]) waiter.wake();
      await Promise.allSettled([...this.#producers.values()].map((producer) => producer.flushing));
      await this.#connection.release();
    })();
    return this.#closed;
  }

  /** Deletes the logs whose time is up; resolves with how many. Runs every `sweepMs` on its own. */
  async sweep(): Promise<number> {
    const { rows } = await this.#connection.pool.query<{ runs: number }>(
      `WITH expired AS (
          DELETE FROM parley_run_logs WHERE expires_at <= now() RETURNING run_id
        ), deleted AS (
          DELETE FROM parley_run_events WHERE run_id IN (SELECT run_id FROM expired)
        )
        SELECT count(*)::integer AS runs FROM expired`,
    );
    return rows[0]?.runs ?? 0;
  }

  /** Writes a run's queue in order, a batch per statement; then retires the log if asked. */
  async #flush(runId: string, producer: Producer): Promise<void> {
    let failures = 0;
    try {
      while (producer.pending.length > 0 || producer.retired) {
        try {
          if (producer.pending.length > 0) {
            const batch = producer.pending.slice(0, MAX_BATCH);
            await this.#insert(runId, producer, batch);
            producer.pending.splice(0, batch.length);
            producer.registered = true;
            this.#saw(runId, batch.at(-1)!.seq);
          } else {
            await this.#retire(runId);
            this.#producers.delete(runId);
            return;
          }
          failures = 0;
        } catch (error) {
          if (isUniqueViolation(error) && (await this.#catchUp(runId, producer))) continue;
          failures++;
          const givingUp =
            this.#closing !== undefined && Date.now() - this.#closing > CLOSE_FLUSH_MS && failures > 1;
          this.#failed(producer.pending.length > 0 ? 'append' : 'retire', runId, error, givingUp);
          if (givingUp) {
            this.#producers.delete(runId);
            return;
          }
          await sleep(Math.min(100 * 2 ** (failures - 1), 5000));
        }
      }
    } finally {
      producer.flushing = undefined;
      // Appends made while the last statement was in flight, after the loop saw the queue empty.
      if (this.#producers.get(runId) === producer && (producer.pending.length > 0 || producer.retired)) {
        producer.flushing = this.#flush(runId, producer);
      }
    }
  }

  async #insert(runId: string, producer: Producer, batch: Pending[]): Promise<void> {
    const values = [
      runId,
      batch.map((entry) => entry.seq),
      batch.map((entry) => entry.event),
      batch.map((entry) => entry.data),
      `${batch.at(-1)!.seq} ${runId}`,
    ];
    const insertEvents = `INSERT INTO parley_run_events (run_id, seq, event, data)
      SELECT $1, seq, event, data FROM unnest($2::integer[], $3::text[], $4::text[]) AS e(seq, event, data)`;
    // Notifications are delivered at commit, so a woken reader always finds the rows.
    if (producer.registered) {
      await this.#connection.pool.query({
        name: 'parley_log_append',
        text: `WITH added AS (${insertEvents}) SELECT pg_notify('${EVENTS_CHANNEL}', $5)`,
        values,
      });
      return;
    }
    await this.#connection.pool.query({
      name: 'parley_log_append_first',
      text: `WITH logged AS (
          INSERT INTO parley_run_logs (run_id, expires_at)
          VALUES ($1, now() + $6::integer * interval '1 millisecond')
          ON CONFLICT (run_id) DO NOTHING
        ), added AS (${insertEvents})
        SELECT pg_notify('${EVENTS_CHANNEL}', $5)`,
      values: [...values, Math.min(this.#unfinishedMs, MAX_SEQ)],
    });
  }

  /**
   * The log already had events this instance did not know of (it appended without reading first): renumber
   * what is queued to follow them, so the log stays gapless and ordered. Seqs returned before are off by
   * the shift; the engine reads a log before continuing it, so this is a safety net, not a path.
   */
  async #catchUp(runId: string, producer: Producer): Promise<boolean> {
    const { rows } = await this.#connection.pool.query<{ seq: number | null }>(
      'SELECT max(seq) AS seq FROM parley_run_events WHERE run_id = $1',
      [runId],
    );
    const stored = rows[0]?.seq ?? 0;
    const first = producer.pending[0]?.seq ?? producer.last + 1;
    const shift = stored - first + 1;
    if (shift <= 0) return false;
    for (const entry of producer.pending) entry.seq += shift;
    producer.last += shift;
    this.#connection.logger.warn('run event log: appended to a log with unknown events; renumbered', {
      run: runId,
      shift,
    });
    return true;
  }

  async #retire(runId: string): Promise<void> {
    await this.#connection.pool.query({
      name: 'parley_log_retire',
      text: `INSERT INTO parley_run_logs (run_id, expires_at) VALUES ($1, now() + $2::integer * interval '1 millisecond')
        ON CONFLICT (run_id) DO UPDATE SET expires_at = excluded.expires_at`,
      values: [runId, Math.min(this.#retainMs, MAX_SEQ)],
    });
  }

  /** Whether this instance has events of `runId` not yet stored. */
  #unstored(runId: string): boolean {
    return (this.#producers.get(runId)?.pending.length ?? 0) > 0;
  }

  #notified(payload: string): void {
    const space = payload.indexOf(' ');
    const seq = Number(payload.slice(0, space));
    if (space < 0 || !Number.isInteger(seq)) return;
    this.#saw(payload.slice(space + 1), seq);
  }

  /** Records that `runId`'s log reaches `seq` and wakes the readers waiting for less. */
  #saw(runId: string, seq: number): void {
    const known = this.#known.get(runId) ?? 0;
    this.#known.delete(runId);
    this.#known.set(runId, Math.max(known, seq));
    if (this.#known.size > MAX_KNOWN) {
      const oldest = this.#known.keys().next().value;
      if (oldest !== undefined) this.#known.delete(oldest);
    }
    const waiters = this.#waiters.get(runId);
    if (!waiters) return;
    for (const waiter of [...waiters]) if (waiter.after < seq) waiter.wake();
  }

  #startPolling(): void {
    if (this.#poller !== undefined) return;
    this.#poller = setInterval(() => void this.#poll(), this.#pollMs);
    this.#poller.unref();
  }

  #stopPolling(): void {
    clearInterval(this.#poller);
    this.#poller = undefined;
  }

  /** Reads the last seq of every run someone waits for: what a lost notification would have said. */
  async #poll(): Promise<void> {
    if (this.#polling || this.#waiters.size === 0 || this.#closing !== undefined) return;
    this.#polling = true;
    try {
      const runs = [...this.#waiters.keys()];
      const { rows } = await this.#connection.pool.query<{ run_id: string; seq: number | null }>({
        name: 'parley_log_poll',
        text: `SELECT w.run_id,
            (SELECT e.seq FROM parley_run_events e WHERE e.run_id = w.run_id ORDER BY e.seq DESC LIMIT 1) AS seq
          FROM unnest($1::text[]) AS w(run_id)`,
        values: [runs],
      });
      for (const row of rows) {
        if (row.seq !== null) this.#saw(row.run_id, row.seq);
        else if (!this.#unstored(row.run_id)) {
          // The log is gone (dropped): its readers read that and stop.
          for (const waiter of [...(this.#waiters.get(row.run_id) ?? [])]) waiter.wake();
        }
      }
    } catch (error) {
      this.#connection.logger.debug('run event log: poll failed', { error: String(error) });
    } finally {
      this.#polling = false;
    }
  }

  #failed(what: 'append' | 'retire', runId: string, error: unknown, givingUp = false): void {
    this.#connection.logger[givingUp ? 'error' : 'warn'](
      givingUp
        ? `run event log: ${what} failed on shutdown; events not stored are lost`
        : `run event log: ${what} failed; retrying`,
      { run: runId, error: String(error) },
    );
  }
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === UNIQUE_VIOLATION;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
