import { connectPostgres } from './database.js';
import { SqlStore } from './sql-store.js';
import type { Store } from './types.js';
import { openPgliteInWorker } from './worker-database.js';

export type { StoreErrorCode } from './errors.js';
export { StoreError } from './errors.js';
export type { Owner, Page, PageQuery, Store } from './types.js';

/** Where the proxy keeps its objects. */
export interface StoreOptions {
  /** A `postgres://` URL. When set (and not empty), the store uses that PostgreSQL server. */
  databaseUrl?: string | undefined;
  /** Otherwise, a directory for an embedded PGlite database (created if missing). */
  dataDir?: string | undefined;
}

/**
 * Opens the store and brings its schema up to date. With neither option the database lives in memory
 * and is lost on exit, which suits tests and a first try of the proxy.
 *
 * @example
 * ```ts
 * const store = await createStore({ databaseUrl: process.env.DATABASE_URL, dataDir: '.parley/data' });
 * await store.putThread('', { id: 'thread_abc', object: 'thread', created_at: 1767225600, metadata: {}, tool_resources: null });
 * await store.close();
 * ```
 */
export async function createStore(options: StoreOptions = {}): Promise<Store> {
  const { databaseUrl, dataDir } = options;
  // An empty DATABASE_URL in a deployment's environment means "not configured", not "connect to ''".
  // PGlite runs on a worker thread: in-thread, its synchronous WebAssembly would stall every stream.
  const db =
    databaseUrl !== undefined && databaseUrl !== ''
      ? connectPostgres(databaseUrl)
      : await openPgliteInWorker(dataDir === '' ? undefined : dataDir);
  const store = new SqlStore(db);
  try {
    await store.migrate();
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
  return store;
}
