import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { Pool, type PoolClient } from 'pg';
import { toStoreError } from './errors.js';

/** What the store needs from a result: rows, and how many rows a write touched. */
export interface QueryResult<Row> {
  rows: Row[];
  rowCount: number;
}

/** One statement with its values, for {@link Database.batch}. */
export interface Statement {
  text: string;
  params: readonly unknown[];
}

/** Something that runs one parameterized statement: the database itself or an open transaction. */
export interface Queryable {
  /**
   * Runs one statement. Values travel only in `params` (`$1`, `$2`, …), never inside `text`, so no
   * caller-supplied string ever reaches the SQL parser.
   */
  query<Row extends object>(text: string, params?: readonly unknown[]): Promise<QueryResult<Row>>;
}

/**
 * The two backends behind one face. Both speak the same Postgres dialect, so the store and its
 * migrations are written once; only connecting, transactions and closing differ.
 */
export interface Database extends Queryable {
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Runs statements in order as one transaction and returns their results in order: all are applied or,
   * if one fails, none. One round trip where the backend allows (the embedded database's worker).
   */
  batch(statements: ReadonlyArray<Statement>): Promise<Array<QueryResult<object>>>;
  close(): Promise<void>;
}

/**
 * Connects to a PostgreSQL server through a `pg` pool.
 *
 * Statements that take parameters are sent as named prepared statements: each pooled connection parses
 * and plans a statement once and then only binds values, which matters on the per-message hot path.
 */
export function connectPostgres(connectionString: string): Database {
  const pool = new Pool({ connectionString, max: 10 });
  // An idle pooled connection that breaks (server restart, network blip) is emitted here; without a
  // listener Node would crash the whole proxy. The pool drops that client and the next query reconnects.
  pool.on('error', () => {});

  const names = new Map<string, string>();
  const nameOf = (text: string): string => {
    let name = names.get(text);
    if (name === undefined) {
      name = `parley_${names.size + 1}`;
      names.set(text, name);
    }
    return name;
  };

  const run = async <Row extends object>(
    client: Pick<Pool, 'query'>,
    text: string,
    params: readonly unknown[],
  ): Promise<QueryResult<Row>> => {
    try {
      // Parameterless statements are migrations and transaction control: one-off, not worth preparing.
      const result =
        params.length === 0
          ? await client.query<Row>(text)
          : await client.query<Row>({ name: nameOf(text), text, values: [...params] });
      return { rows: result.rows, rowCount: result.rowCount ?? 0 };
    } catch (error) {
      throw toStoreError(error);
    }
  };

  const database: Database = {
    query: (text, params = []) => run(pool, text, params),
    batch: (statements) => batchInTransaction(database, statements),
    async transaction(work) {
      let client: PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        throw toStoreError(error);
      }
      let broken = false;
      try {
        await run(client, 'BEGIN', []);
        const tx: Queryable = { query: (text, params = []) => run(client, text, params) };
        const result = await work(tx);
        await run(client, 'COMMIT', []);
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch {
          // A connection that cannot even roll back must not go back into the pool.
          broken = true;
        }
        throw toStoreError(error);
      } finally {
        client.release(broken);
      }
    },
    async close() {
      await pool.end();
    },
  };
  return database;
}

/** A batch as a transaction of its statements, one after another (for backends with no batch of their own). */
function batchInTransaction(
  db: Database,
  statements: ReadonlyArray<Statement>,
): Promise<Array<QueryResult<object>>> {
  return db.transaction(async (tx) => {
    const results: Array<QueryResult<object>> = [];
    for (const { text, params } of statements) results.push(await tx.query(text, params));
    return results;
  });
}

/**
 * PostgreSQL settings for the embedded database, after PGlite's own start parameters. PGlite keeps
 * PostgreSQL's default of 128 MB of shared buffers inside its WebAssembly memory, which never shrinks, so
 * the proxy's resident memory grew with the database up to that much. 16 MB holds the pages a turn reads
 * (the embedded store has a memory cache above it); the rest come from the operating system's file cache.
 * What is stored and how it is made durable do not change. Measured in docs/decisions/0006.
 */
export const PGLITE_START_PARAMS: readonly string[] = ['-c', 'shared_buffers=16MB'];

/**
 * Starts an embedded PGlite (Postgres compiled to WebAssembly): persisted in `dataDir` when given,
 * otherwise in memory and gone on close. PGlite runs one statement at a time, so concurrent callers queue
 * inside it; that is fine for a single proxy process, which is the only thing PGlite is meant for.
 *
 * It runs on the calling thread, blocking it for every statement; the proxy uses `openPgliteInWorker`
 * instead and keeps this for comparison and for hosts without worker threads.
 */
export async function openPglite(dataDir?: string): Promise<Database> {
  if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });
  let db: PGlite;
  try {
    db = await PGlite.create({
      ...(dataDir === undefined ? {} : { dataDir }),
      startParams: [...PGlite.defaultStartParams, ...PGLITE_START_PARAMS],
    });
  } catch (error) {
    throw toStoreError(error);
  }

  const run = async <Row extends object>(
    target: Pick<PGlite, 'query'>,
    text: string,
    params: readonly unknown[],
  ): Promise<QueryResult<Row>> => {
    try {
      const result = await target.query<Row>(text, [...params]);
      return { rows: result.rows, rowCount: result.rowCount ?? result.affectedRows ?? 0 };
    } catch (error) {
      throw toStoreError(error);
    }
  };

  const database: Database = {
    query: (text, params = []) => run(db, text, params),
    batch: (statements) => batchInTransaction(database, statements),
    async transaction(work) {
      try {
        return await db.transaction((tx) => work({ query: (text, params = []) => run(tx, text, params) }));
      } catch (error) {
        throw toStoreError(error);
      }
    },
    async close() {
      await db.close();
    },
  };
  return database;
}
