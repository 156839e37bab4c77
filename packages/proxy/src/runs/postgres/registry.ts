import type { RunRegistry } from '../registry.js';
import type { PgRunConnection } from './connection.js';

/** How long an instance's runs stay held after its last heartbeat, by default. */
export const DEFAULT_LEASE_MS = 15_000;

export interface PgRunRegistryOptions {
  /** This instance's id: unique among the instances sharing the database. */
  instanceId: string;
  /** How long a heartbeat vouches for this instance (default 15 s); it beats every third of that. */
  leaseMs?: number;
  /** Whether this instance shares budgets and logs through Redis (for the start-up warning). */
  redis?: boolean;
}

/** An instance sharing the database whose lease is live. */
export interface LiveInstance {
  id: string;
  redis: boolean;
}

/** Rows of crashed instances are forgotten after this long (their claims lapsed long before). */
const FORGET_DEAD_AFTER = '1 hour';

/**
 * The run registry of instances sharing one PostgreSQL database. `parley_run_claims` has one row per busy
 * thread (its primary key is the "one active run per thread" rule, so two instances racing cannot both win);
 * `parley_instances` has one row per instance, whose `heartbeat_at` is renewed every `leaseMs / 3`. A run is
 * held while the instance named on its claim has beaten within its own lease; a claim whose instance died
 * stays until whoever recovers the run releases it.
 *
 * Times are the database server's, so the instances' clocks do not matter. Needs the tables of migration 3
 * (applied by the store).
 */
export class PgRunRegistry implements RunRegistry {
  readonly shared = true;
  readonly instanceId: string;
  readonly #connection: PgRunConnection;
  readonly #leaseMs: number;
  readonly #redis: boolean;
  readonly #heartbeat: NodeJS.Timeout;
  /** Settles once this instance's row exists; undefined again after a failed attempt (the next call retries). */
  #registered: Promise<void> | undefined;
  #closed: Promise<void> | undefined;
  /** The heartbeat in flight, awaited on close so that it cannot recreate the row close deletes. */
  #beating: Promise<void> = Promise.resolve();

  constructor(connection: PgRunConnection, options: PgRunRegistryOptions) {
    connection.retain();
    this.#connection = connection;
    this.instanceId = options.instanceId;
    this.#leaseMs = Math.max(1, Math.round(options.leaseMs ?? DEFAULT_LEASE_MS));
    this.#redis = options.redis ?? false;
    this.#heartbeat = setInterval(
      () => {
        this.#beat().catch((error: unknown) => {
          this.#connection.logger.warn('run registry: heartbeat failed; this instance may lose its leases', {
            instance: this.instanceId,
            error: String(error),
          });
        });
      },
      Math.max(1, Math.floor(this.#leaseMs / 3)),
    );
    this.#heartbeat.unref();
  }

  /**
   * Records this instance (and forgets instances dead for an hour). Claims wait for it, so a run claimed
   * here is held from the start; call it at start-up to fail early when the database is unreachable.
   */
  register(): Promise<void> {
    this.#registered ??= (async () => {
      await this.#beat();
      await this.#connection.pool.query(
        `DELETE FROM parley_instances WHERE heartbeat_at < now() - interval '${FORGET_DEAD_AFTER}'`,
      );
    })().catch((error: unknown) => {
      this.#registered = undefined;
      throw error;
    });
    return this.#registered;
  }

  async claim(threadId: string, runId: string): Promise<string | undefined> {
    await this.register();
    // The outer SELECT sees the table as it was when the statement began; a claim committed by a racing
    // instance after that is invisible to it, so an empty answer is asked again in a new statement.
    for (let attempt = 0; attempt < 5; attempt++) {
      const { rows } = await this.#connection.pool.query<{ claimed: string | null; current: string | null }>({
        name: 'parley_registry_claim',
        text: `WITH claimed AS (
            INSERT INTO parley_run_claims (thread_id, run_id, instance_id) VALUES ($1, $2, $3)
            ON CONFLICT (thread_id) DO NOTHING
            RETURNING run_id
          )
          SELECT (SELECT run_id FROM claimed) AS claimed,
                 (SELECT run_id FROM parley_run_claims WHERE thread_id = $1) AS current`,
        values: [threadId, runId, this.instanceId],
      });
      const row = rows[0];
      if (row?.claimed != null) return undefined;
      const current = row?.current ?? (await this.active(threadId));
      if (current !== undefined) return current === runId ? undefined : current;
      // The racing run was released in between: the thread is free again, try once more.
    }
    throw new Error(`Could not claim thread ${threadId}: it kept changing hands.`);
  }

  async active(threadId: string): Promise<string | undefined> {
    const { rows } = await this.#connection.pool.query<{ run_id: string }>({
      name: 'parley_registry_active',
      text: 'SELECT run_id FROM parley_run_claims WHERE thread_id = $1',
      values: [threadId],
    });
    return rows[0]?.run_id;
  }

  async holder(runId: string): Promise<string | undefined> {
    const { rows } = await this.#connection.pool.query<{ instance_id: string }>({
      name: 'parley_registry_holder',
      text: 'SELECT instance_id FROM parley_run_claims WHERE run_id = $1 LIMIT 1',
      values: [runId],
    });
    return rows[0]?.instance_id;
  }

  /**
   * The database decides: the claim moves in one conditional `UPDATE` whose condition (held by an instance
   * whose lease has lapsed, and not by this one) is checked again on the row as a concurrent takeover left
   * it, so the second of two racing takeovers finds the first's live instance and changes nothing. A run whose
   * claim is gone takes its thread back only while the thread is free. `waiting` is left as it was.
   */
  async takeOver(threadId: string, runId: string): Promise<boolean> {
    await this.register();
    const moved = await this.#connection.pool.query({
      name: 'parley_registry_take_over',
      text: `UPDATE parley_run_claims c SET instance_id = $3, claimed_at = now()
        WHERE c.thread_id = $1 AND c.run_id = $2 AND c.instance_id <> $3
          AND NOT EXISTS (
            SELECT 1 FROM parley_instances i
            WHERE i.id = c.instance_id AND i.heartbeat_at + i.lease_ms * interval '1 millisecond' > now())
        RETURNING 1`,
      values: [threadId, runId, this.instanceId],
    });
    if ((moved.rowCount ?? 0) > 0) return true;
    const added = await this.#connection.pool.query({
      name: 'parley_registry_take_free',
      text: `INSERT INTO parley_run_claims (thread_id, run_id, instance_id)
        SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM parley_run_claims WHERE run_id = $2)
        ON CONFLICT (thread_id) DO NOTHING
        RETURNING 1`,
      values: [threadId, runId, this.instanceId],
    });
    return (added.rowCount ?? 0) > 0;
  }

  async markWaiting(threadId: string, runId: string): Promise<void> {
    await this.#connection.pool.query({
      name: 'parley_registry_mark_waiting',
      text: `UPDATE parley_run_claims SET waiting = true
        WHERE thread_id = $1 AND run_id = $2 AND instance_id = $3`,
      values: [threadId, runId, this.instanceId],
    });
  }

  /**
   * One conditional `UPDATE`: of concurrent callers, the first clears `waiting` and becomes the holder; the
   * others, re-checking the row it left, find it no longer waiting and change nothing.
   */
  async resume(threadId: string, runId: string): Promise<boolean> {
    await this.register();
    const taken = await this.#connection.pool.query({
      name: 'parley_registry_resume',
      text: `UPDATE parley_run_claims SET waiting = false, instance_id = $3, claimed_at = now()
        WHERE thread_id = $1 AND run_id = $2 AND waiting
        RETURNING 1`,
      values: [threadId, runId, this.instanceId],
    });
    return (taken.rowCount ?? 0) > 0;
  }

  async release(threadId: string, runId: string): Promise<void> {
    await this.#connection.pool.query({
      name: 'parley_registry_release',
      text: 'DELETE FROM parley_run_claims WHERE thread_id = $1 AND run_id = $2',
      values: [threadId, runId],
    });
  }

  async isHeld(runId: string): Promise<boolean> {
    const { rows } = await this.#connection.pool.query({
      name: 'parley_registry_held',
      text: `SELECT 1 FROM parley_run_claims c JOIN parley_instances i ON i.id = c.instance_id
        WHERE c.run_id = $1 AND i.heartbeat_at + i.lease_ms * interval '1 millisecond' > now()
        LIMIT 1`,
      values: [runId],
    });
    return rows.length > 0;
  }

  async orphans(): Promise<Array<{ threadId: string; runId: string }>> {
    const { rows } = await this.#connection.pool.query<{ thread_id: string; run_id: string }>({
      name: 'parley_registry_orphans',
      text: `SELECT c.thread_id, c.run_id FROM parley_run_claims c LEFT JOIN parley_instances i ON i.id = c.instance_id
        WHERE i.id IS NULL OR i.heartbeat_at + i.lease_ms * interval '1 millisecond' <= now()`,
    });
    return rows.map((row) => ({ threadId: row.thread_id, runId: row.run_id }));
  }

  /** The instances whose lease is live, this one included once registered. */
  async liveInstances(): Promise<LiveInstance[]> {
    const { rows } = await this.#connection.pool.query<LiveInstance>(
      `SELECT id, redis FROM parley_instances
        WHERE heartbeat_at + lease_ms * interval '1 millisecond' > now() ORDER BY started_at, id`,
    );
    return rows.map((row) => ({ id: row.id, redis: row.redis }));
  }

  /**
   * Stops the heartbeat and removes this instance's row, so its leases end at once. Its claims stay: the
   * engine has ended its runs before closing, and a run it could not end is recovered by another instance.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      clearInterval(this.#heartbeat);
      await Promise.allSettled([this.#registered, this.#beating]);
      await this.#connection.pool
        .query('DELETE FROM parley_instances WHERE id = $1', [this.instanceId])
        .catch((error: unknown) => {
          this.#connection.logger.warn('run registry: could not remove this instance on close', {
            instance: this.instanceId,
            error: String(error),
          });
        });
      await this.#connection.release();
    })();
    return this.#closed;
  }

  #beat(): Promise<void> {
    if (this.#connection.closed) return Promise.resolve();
    this.#beating = this.#upsert();
    return this.#beating;
  }

  async #upsert(): Promise<void> {
    await this.#connection.pool.query({
      name: 'parley_registry_beat',
      text: `INSERT INTO parley_instances (id, lease_ms, redis) VALUES ($1, $2, $3)
        ON CONFLICT (id) DO UPDATE
        SET heartbeat_at = now(), lease_ms = excluded.lease_ms, redis = excluded.redis`,
      values: [this.instanceId, this.#leaseMs, this.#redis],
    });
  }
}
