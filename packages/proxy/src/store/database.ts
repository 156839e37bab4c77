import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { Pool, type PoolClient } from 'pg';
import { toStoreError } from './errors.js';

/** What the store needs from a result: rows, and how many rows a write touched. */
export interface QueryResult<Row> {
  rows: Row[];
  rowCount: number;
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

  return {
    query: (text, params = []) => run(pool, text, params),
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
}

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
    db = await PGlite.create(dataDir === undefined ? {} : { dataDir });
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

  return {
    query: (text, params = []) => run(db, text, params),
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
}
