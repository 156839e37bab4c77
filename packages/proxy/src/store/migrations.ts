import type { Database } from './database.js';

/** One schema change. Numbers only ever grow; an applied migration is never edited, only followed. */
export interface Migration {
  version: number;
  name: string;
  /** Single statements, run in order (PGlite's extended protocol takes one statement per call). */
  statements: readonly string[];
}

/**
 * The statuses a run can still leave. Spelled out in SQL (not bound) because the partial index and the
 * query that uses it must carry the very same predicate for the planner to match them.
 */
export const UNFINISHED_RUN_PREDICATE =
  "status IN ('queued', 'in_progress', 'requires_action', 'cancelling')";

/**
 * Every table keeps the whole wire object in `data` and copies out only what queries filter or sort on.
 * `seq` records insertion order: `created_at` has one-second resolution, so it alone cannot order a burst
 * of messages. Steps cascade from runs, runs and messages from threads, so deleting a thread is one
 * statement. Messages do not reference runs: a message may name a run that is stored after it.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'assistants, threads, messages, runs, steps',
    statements: [
      `CREATE TABLE parley_assistants (
        id text PRIMARY KEY,
        owner text NOT NULL,
        created_at bigint NOT NULL,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        data jsonb NOT NULL
      )`,
      'CREATE INDEX parley_assistants_page ON parley_assistants (owner, created_at, seq)',
      `CREATE TABLE parley_threads (
        id text PRIMARY KEY,
        owner text NOT NULL,
        created_at bigint NOT NULL,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        data jsonb NOT NULL
      )`,
      `CREATE TABLE parley_messages (
        id text PRIMARY KEY,
        owner text NOT NULL,
        thread_id text NOT NULL REFERENCES parley_threads (id) ON DELETE CASCADE,
        run_id text,
        created_at bigint NOT NULL,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        data jsonb NOT NULL
      )`,
      'CREATE INDEX parley_messages_page ON parley_messages (thread_id, created_at, seq)',
      'CREATE INDEX parley_messages_run ON parley_messages (run_id, created_at, seq) WHERE run_id IS NOT NULL',
      `CREATE TABLE parley_runs (
        id text PRIMARY KEY,
        owner text NOT NULL,
        thread_id text NOT NULL REFERENCES parley_threads (id) ON DELETE CASCADE,
        status text NOT NULL,
        created_at bigint NOT NULL,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        data jsonb NOT NULL
      )`,
      'CREATE INDEX parley_runs_page ON parley_runs (thread_id, created_at, seq)',
      `CREATE INDEX parley_runs_unfinished ON parley_runs (created_at, seq) WHERE ${UNFINISHED_RUN_PREDICATE}`,
      `CREATE TABLE parley_steps (
        id text PRIMARY KEY,
        owner text NOT NULL,
        thread_id text NOT NULL,
        run_id text NOT NULL REFERENCES parley_runs (id) ON DELETE CASCADE,
        created_at bigint NOT NULL,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        data jsonb NOT NULL
      )`,
      'CREATE INDEX parley_steps_page ON parley_steps (run_id, created_at, seq)',
    ],
  },
  {
    // Nothing queries inside `data` (lists filter and sort on copied columns; reads select it as text),
    // and `json` keeps the text as sent where `jsonb` parses it into a binary form on every write: about
    // a third of PGlite's cost per row, seven rows a turn.
    version: 2,
    name: 'objects stored as json, not jsonb',
    statements: (['assistants', 'threads', 'messages', 'runs', 'steps'] as const).map(
      (table) => `ALTER TABLE parley_${table} ALTER COLUMN data TYPE json USING data::json`,
    ),
  },
  {
    // Run state shared by several proxies on one server (runs/postgres/). Times are the server's `now()`,
    // so instances' clocks never disagree about a lease. No foreign keys: a claim outlives the row of the
    // instance that died holding it (that is how its lease is seen to lapse), and events are written before
    // their run may be stored. The event log is UNLOGGED: it takes a write per flush of tokens and is kept minutes;
    // after a server crash or a failover it is empty, and a resume that finds no log is told how the run
    // ended, from the store, as after the retention window.
    version: 3,
    name: 'run state shared between instances: instances, claims, event logs',
    statements: [
      `CREATE TABLE parley_instances (
        id text PRIMARY KEY,
        started_at timestamptz NOT NULL DEFAULT now(),
        heartbeat_at timestamptz NOT NULL DEFAULT now(),
        lease_ms integer NOT NULL,
        redis boolean NOT NULL
      )`,
      `CREATE TABLE parley_run_claims (
        thread_id text PRIMARY KEY,
        run_id text NOT NULL,
        instance_id text NOT NULL,
        claimed_at timestamptz NOT NULL DEFAULT now()
      )`,
      'CREATE INDEX parley_run_claims_run ON parley_run_claims (run_id)',
      `CREATE UNLOGGED TABLE parley_run_events (
        run_id text NOT NULL,
        seq integer NOT NULL,
        event text NOT NULL,
        data text NOT NULL,
        PRIMARY KEY (run_id, seq)
      )`,
      `CREATE UNLOGGED TABLE parley_run_logs (
        run_id text PRIMARY KEY,
        expires_at timestamptz NOT NULL
      )`,
      'CREATE INDEX parley_run_logs_expiry ON parley_run_logs (expires_at)',
    ],
  },
  {
    // Knowledge (src/knowledge/): uploaded files with their bytes, vector stores, the files attached to
    // them, file batches, and the chunks they were cut into. A chunk's tsvector is generated by the
    // database from its text, so full-text search needs no model and reads the same on PGlite and
    // PostgreSQL. Deleting a file or a store cascades to its attachments and their chunks.
    version: 4,
    name: 'knowledge: files, vector stores, attached files, file batches, chunks',
    statements: [
      `CREATE TABLE parley_files (
        id text PRIMARY KEY,
        owner text NOT NULL,
        created_at bigint NOT NULL,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        expires_at bigint,
        filename text NOT NULL,
        purpose text NOT NULL,
        mime text NOT NULL,
        bytes bigint NOT NULL,
        content bytea NOT NULL
      )`,
      'CREATE INDEX parley_files_page ON parley_files (owner, created_at, seq)',
      `CREATE TABLE parley_vector_stores (
        id text PRIMARY KEY,
        owner text NOT NULL,
        created_at bigint NOT NULL,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        last_active_at bigint NOT NULL,
        data json NOT NULL
      )`,
      'CREATE INDEX parley_vector_stores_page ON parley_vector_stores (owner, created_at, seq)',
      `CREATE TABLE parley_file_batches (
        id text PRIMARY KEY,
        owner text NOT NULL,
        vector_store_id text NOT NULL REFERENCES parley_vector_stores (id) ON DELETE CASCADE,
        created_at bigint NOT NULL,
        cancelled boolean NOT NULL DEFAULT false
      )`,
      `CREATE TABLE parley_vector_store_files (
        vector_store_id text NOT NULL REFERENCES parley_vector_stores (id) ON DELETE CASCADE,
        file_id text NOT NULL REFERENCES parley_files (id) ON DELETE CASCADE,
        owner text NOT NULL,
        batch_id text,
        created_at bigint NOT NULL,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        status text NOT NULL,
        usage_bytes bigint NOT NULL DEFAULT 0,
        last_error json,
        chunking json NOT NULL,
        attributes json,
        PRIMARY KEY (vector_store_id, file_id)
      )`,
      'CREATE INDEX parley_vector_store_files_page ON parley_vector_store_files (vector_store_id, created_at, seq)',
      'CREATE INDEX parley_vector_store_files_file ON parley_vector_store_files (file_id)',
      `CREATE INDEX parley_vector_store_files_batch ON parley_vector_store_files (batch_id, created_at, seq)
        WHERE batch_id IS NOT NULL`,
      "CREATE INDEX parley_vector_store_files_pending ON parley_vector_store_files (created_at) WHERE status = 'in_progress'",
      `CREATE TABLE parley_chunks (
        vector_store_id text NOT NULL,
        file_id text NOT NULL,
        position integer NOT NULL,
        text text NOT NULL,
        tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED,
        PRIMARY KEY (vector_store_id, file_id, position),
        FOREIGN KEY (vector_store_id, file_id)
          REFERENCES parley_vector_store_files (vector_store_id, file_id) ON DELETE CASCADE
      )`,
      'CREATE INDEX parley_chunks_search ON parley_chunks USING gin (tsv)',
    ],
  },
  {
    // Knowledge with an embedding model (PARLEY_EMBEDDING_MODEL): each chunk's vector (float32,
    // little-endian, unit length) and the model that made the file's vectors, for hybrid ranking by exact
    // cosine in-process (neither PGlite nor Debian's PostgreSQL here has pgvector).
    version: 5,
    name: 'knowledge: chunk embeddings',
    statements: [
      'ALTER TABLE parley_chunks ADD COLUMN embedding bytea',
      'ALTER TABLE parley_vector_store_files ADD COLUMN embedding_model text',
    ],
  },
  {
    // A run waiting for tool outputs: the one request that clears this (through any instance) continues,
    // cancels or expires it (RunRegistry.resume).
    version: 6,
    name: 'runs: waiting claims',
    statements: ['ALTER TABLE parley_run_claims ADD COLUMN waiting boolean NOT NULL DEFAULT false'],
  },
];

/**
 * An arbitrary constant naming Parley's migration lock among other applications' advisory locks on a
 * shared server ("parley" in ASCII).
 */
const MIGRATION_LOCK_KEY = 0x7061726c6579;

/**
 * Applies the migrations not yet recorded in `parley_migrations`, all in one transaction.
 *
 * Two proxies starting against the same server would otherwise race: both see version 1 missing, both
 * create the tables, one fails. The transaction-scoped advisory lock makes the second wait until the
 * first commits, after which it finds nothing left to do. The lock is taken before even the bookkeeping
 * table is created, because concurrent `CREATE TABLE IF NOT EXISTS` can itself fail on a unique index.
 */
export async function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS parley_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`,
    );
    const applied = await tx.query<{ version: number }>('SELECT version FROM parley_migrations');
    const done = new Set(applied.rows.map((row) => Number(row.version)));
    const pending = migrations.filter((migration) => !done.has(migration.version));
    for (const migration of pending.sort((a, b) => a.version - b.version)) {
      for (const statement of migration.statements) await tx.query(statement);
      await tx.query('INSERT INTO parley_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
    }
  });
}
