import type { AssistantStreamEvent } from '@parley/protocol';
import { StreamEvent } from '@parley/protocol';
import { type LoggedEvent, type RunEventLog, serialise } from '../event-log.js';
import { EVENTS_CHANNEL, type PgRunConnection } from './connection.js';

export interface PgEventLogOptions {
  /** How long a finished run's log stays readable (default 5 minutes). */
  retainMs?: number;
  /**
   * How long a log that is never retired is kept (default 1 day, and never less than `retainMs`): its
   * instance died mid-run, and whoever recovered the run did not retire it.
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

/** A run this instance appends to: its events not yet stored, and whether its log is to be retired. */
interface Producer {
  runId: string;
  /** The last seq handed out. */
  last: number;
  pending: Pending[];
  /** Whether the log's row in `parley_run_logs` exists (written with the first batch). */
  registered: boolean;
  retired: boolean;
}

/** What one statement writes for one run. */
interface Taken {
  producer: Producer;
  events: number;
  retiring: boolean;
}

interface Waiter {
  after: number;
  wake: () => void;
}

/** The largest seq a statement may bind (`integer`); readers past it are past the end of any log. */
const MAX_SEQ = 2_147_483_647;
/** Events written by one statement at most; more waits for the next. */
const MAX_BATCH = 500;
/** How many runs' last known seq is remembered (notifications cover every run of every instance). */
const MAX_KNOWN = 10_000;
/** How long appends keep being retried on close before what is left is given up. */
const CLOSE_FLUSH_MS = 5_000;

const UNIQUE_VIOLATION = '23505';

/**
 * The event log of instances sharing one PostgreSQL database, for deployments without Redis: correct
 * first, fast second. Events are rows of `parley_run_events` keyed by run and seq. `append` numbers the
 * event at once and queues it; one flusher per instance writes what all its runs queued in one statement
 * at a time (so the statement rate follows the round trip, not the token rate, and each run's events
 * stay in order), and the statement notifies `parley_run_events` with each run's new last seq. Readers on
 * any instance read the table; a waiting reader is woken by that notification, or by a poll every
 * `pollMs` should a notification be lost (the LISTEN connection dropped), so no reader hangs.
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
  /** Runs with something to write, oldest first. */
  readonly #dirty = new Set<Producer>();
  #flushing: Promise<void> | undefined;
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
    // Retiring only ever shortens a log's life (see #write), so the unfinished window is the longer one.
    this.#unfinishedMs = Math.max(this.#retainMs + 1, Math.round(options.unfinishedMs ?? 24 * 60 * 60_000));
    this.#pollMs = options.pollMs ?? 1000;
    this.#unsubscribe = [
      connection.subscribe(EVENTS_CHANNEL, (payload) => this.#notified(payload)),
      connection.onReconnect(() => void this.#poll()),
    ];
    this.#sweeper = setInterval(() => void this.sweep().catch(() => {}), options.sweepMs ?? 30_000);
    this.#sweeper.unref();
  }

  append(runId: string, event: AssistantStreamEvent): number {
    const producer = this.#producer(runId);
    const seq = ++producer.last;
    producer.pending.push({ seq, event: event.event, data: serialise(event) });
    this.#schedule(producer);
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
    // Written with (or after) the events still queued, so a log is never dropped before its done is stored.
    const producer = this.#producer(runId);
    producer.retired = true;
    this.#schedule(producer);
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
      while (this.#flushing) await this.#flushing;
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

  #producer(runId: string): Producer {
    let producer = this.#producers.get(runId);
    if (!producer) {
      // A run continued here after another instance (its tool outputs arrived here) was read first by
      // the engine, so its last seq is known; should it not be, the INSERT finds out (see #catchUp).
      producer = { runId, last: this.#known.get(runId) ?? 0, pending: [], registered: false, retired: false };
      this.#producers.set(runId, producer);
    }
    return producer;
  }

  #schedule(producer: Producer): void {
    this.#dirty.add(producer);
    this.#kick();
  }

  #kick(): void {
    if (this.#flushing) return;
    this.#flushing = this.#flush().finally(() => {
      this.#flushing = undefined;
      // Queued between the flusher's last look and now.
      if (this.#dirty.size > 0) this.#kick();
    });
  }

  /** Writes what the runs queued, one statement at a time, until nothing is left. */
  async #flush(): Promise<void> {
    let failures = 0;
    while (this.#dirty.size > 0) {
      const taken = this.#take();
      try {
        await this.#write(taken);
        failures = 0;
      } catch (error) {
        if (isUniqueViolation(error) && (await this.#catchUp(taken).catch(() => false))) continue;
        failures++;
        const givingUp =
          this.#closing !== undefined && Date.now() - this.#closing > CLOSE_FLUSH_MS && failures > 1;
        this.#connection.logger[givingUp ? 'error' : 'warn'](
          givingUp
            ? 'run event log: writes failed on shutdown; events not stored are lost'
            : 'run event log: a write failed; retrying',
          { runs: taken.length, error: String(error) },
        );
        if (givingUp) {
          for (const producer of this.#dirty) this.#producers.delete(producer.runId);
          this.#dirty.clear();
          return;
        }
        await sleep(Math.min(100 * 2 ** (failures - 1), 5000));
        continue;
      }
      for (const { producer, events, retiring } of taken) {
        const stored = producer.pending.splice(0, events);
        producer.registered = true;
        if (retiring) producer.retired = false;
        if (producer.pending.length === 0 && !producer.retired) {
          this.#dirty.delete(producer);
          if (retiring) this.#producers.delete(producer.runId);
        }
        if (stored.length > 0) this.#saw(producer.runId, stored.at(-1)!.seq);
      }
    }
  }

  /** The next statement's share of each dirty run, oldest first, at most {@link MAX_BATCH} events. */
  #take(): Taken[] {
    const taken: Taken[] = [];
    let room = MAX_BATCH;
    for (const producer of this.#dirty) {
      if (room === 0) break;
      const events = Math.min(producer.pending.length, room);
      room -= events;
      taken.push({ producer, events, retiring: producer.retired && events === producer.pending.length });
    }
    return taken;
  }

  async #write(taken: Taken[]): Promise<void> {
    const runs: string[] = [];
    const seqs: number[] = [];
    const names: string[] = [];
    const datas: string[] = [];
    const logs: string[] = [];
    const lifetimes: number[] = [];
    const notes: string[] = [];
    for (const { producer, events, retiring } of taken) {
      for (const entry of producer.pending.slice(0, events)) {
        runs.push(producer.runId);
        seqs.push(entry.seq);
        names.push(entry.event);
        datas.push(entry.data);
      }
      if (events > 0) notes.push(`${producer.pending[events - 1]!.seq} ${producer.runId}`);
      if (retiring || !producer.registered) {
        logs.push(producer.runId);
        lifetimes.push(Math.min(retiring ? this.#retainMs : this.#unfinishedMs, MAX_SEQ));
      }
    }
    // A log's row is written with its first events (expiring after the unfinished window) and again when
    // it is retired; an update only ever brings the expiry nearer, so a second instance continuing a
    // retired run's log cannot extend it. Notifications are delivered at commit: a woken reader finds the rows.
    await this.#connection.pool.query({
      name: 'parley_log_write',
      text: `WITH logged AS (
          INSERT INTO parley_run_logs (run_id, expires_at)
          SELECT run_id, now() + ms * interval '1 millisecond' FROM unnest($5::text[], $6::integer[]) AS l(run_id, ms)
          ON CONFLICT (run_id) DO UPDATE SET expires_at = excluded.expires_at
            WHERE excluded.expires_at < parley_run_logs.expires_at
        ), added AS (
          INSERT INTO parley_run_events (run_id, seq, event, data)
          SELECT * FROM unnest($1::text[], $2::integer[], $3::text[], $4::text[])
        )
        SELECT pg_notify('${EVENTS_CHANNEL}', note) FROM unnest($7::text[]) AS n(note)`,
      values: [runs, seqs, names, datas, logs, lifetimes, notes],
    });
  }

  /**
   * Some log already had events this instance did not know of (it appended without reading first):
   * renumber what is queued to follow them, so the log stays gapless and ordered. Seqs returned before are
   * off by the shift; the engine reads a log before continuing it, so this is a safety net, not a path.
   * False when no queue was behind (the conflict was something else).
   */
  async #catchUp(taken: Taken[]): Promise<boolean> {
    const writing = taken.filter((entry) => entry.events > 0).map((entry) => entry.producer);
    const { rows } = await this.#connection.pool.query<{ run_id: string; seq: number }>(
      'SELECT run_id, max(seq) AS seq FROM parley_run_events WHERE run_id = ANY($1::text[]) GROUP BY run_id',
      [writing.map((producer) => producer.runId)],
    );
    let shifted = false;
    for (const row of rows) {
      const producer = this.#producers.get(row.run_id);
      const first = producer?.pending[0]?.seq;
      if (!producer || first === undefined || row.seq < first) continue;
      const shift = row.seq - first + 1;
      for (const entry of producer.pending) entry.seq += shift;
      producer.last += shift;
      shifted = true;
      this.#connection.logger.warn('run event log: appended to a log with unknown events; renumbered', {
        run: row.run_id,
        shift,
      });
    }
    return shifted;
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
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === UNIQUE_VIOLATION;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
