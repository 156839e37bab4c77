/**
 * The worker thread that owns the embedded PGlite database (see `worker-database.ts` for the main side).
 *
 * PGlite runs every statement synchronously on the thread that owns it, so on the main thread each write
 * stalls every open stream. Here it stalls only this thread. The database is used through PGlite's public
 * API only (`query`, `transaction`, `close`).
 *
 * Node runs this file directly from source under the tests (type stripping) and as `dist/pglite-worker.js`
 * from the build, so it may use only erasable TypeScript and no imports of our own modules except types:
 * a `./x.js` specifier does not resolve to `x.ts` without a bundler.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite, type Transaction } from '@electric-sql/pglite';

/** One statement and its values. */
export interface Statement {
  text: string;
  params: readonly unknown[];
}

/** What the main thread asks for. A batch runs its statements in order, as one transaction. */
export type WorkerCommand =
  | ({ op: 'query' } & Statement)
  | { op: 'batch'; statements: readonly Statement[] }
  | { op: 'close' };

/** A command as sent, one a message. The reply carries the same `id`; requests are answered in order. */
export type WorkerRequest = WorkerCommand & { id: number };

/**
 * A failure, flattened to plain fields because structured cloning keeps only an Error's message and
 * stack. `code` holds the SQLSTATE, which is what `toStoreError` maps on; PGlite's other fields
 * (`severity`, `detail`, `constraint`, `table`, …) ride along for whoever logs the cause.
 */
export interface WorkerError {
  name: string;
  message: string;
  stack?: string | undefined;
  code?: string | undefined;
  [field: string]: string | number | boolean | undefined;
}

/** What one statement returned. */
export interface StatementResult {
  rows: object[];
  rowCount: number;
}

/**
 * The answer to one request: a query's result, or a batch's results in order. The open itself is
 * answered as request `0`, before any other.
 */
export type WorkerReply =
  | ({ id: number; ok: true } & StatementResult)
  | { id: number; ok: true; results: StatementResult[] }
  | { id: number; ok: false; error: WorkerError };

/** What the main thread passes as `workerData`. */
export interface WorkerSetup {
  /** The data directory (already created); in memory when absent. */
  dataDir?: string | undefined;
  /** Arguments for PostgreSQL after PGlite's own (`-c name=value`): `PGLITE_START_PARAMS` in database.ts. */
  startParams?: string[] | undefined;
}

/** The request id that the result of opening PGlite is reported under (the same in worker-database.ts). */
const OPEN_REQUEST_ID = 0;

function flatten(error: unknown): WorkerError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const flat: WorkerError = { name: error.name, message: error.message, stack: error.stack };
  // Own fields only, and only primitives: PGlite also attaches the statement's `params`, which hold user
  // data and need not cross the thread boundary.
  for (const [key, value] of Object.entries(error)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      flat[key] = value;
    }
  }
  return flat;
}

const port = parentPort;
if (port === null) throw new Error('pglite-worker runs only as a worker thread (see worker-database.ts).');
const setup = (workerData ?? {}) as WorkerSetup;

function reply(message: WorkerReply): void {
  try {
    port?.postMessage(message);
  } catch (error) {
    // A row the structured clone cannot carry must still answer its request, or the caller waits forever.
    port?.postMessage({ id: message.id, ok: false, error: flatten(error) } satisfies WorkerReply);
  }
}

let db: PGlite | undefined;

async function open(): Promise<void> {
  try {
    db = await PGlite.create({
      ...(setup.dataDir === undefined ? {} : { dataDir: setup.dataDir }),
      ...(setup.startParams === undefined
        ? {}
        : { startParams: [...PGlite.defaultStartParams, ...setup.startParams] }),
    });
    reply({ id: OPEN_REQUEST_ID, ok: true, rows: [], rowCount: 0 });
  } catch (error) {
    reply({ id: OPEN_REQUEST_ID, ok: false, error: flatten(error) });
  }
}

/** Runs one statement; counts as the in-thread `openPglite` does, so both backends answer alike. */
async function run(target: PGlite | Transaction, { text, params }: Statement): Promise<StatementResult> {
  const result = await target.query<object>(text, [...params]);
  return { rows: result.rows, rowCount: result.rowCount ?? result.affectedRows ?? 0 };
}

async function answer(request: WorkerRequest): Promise<WorkerReply> {
  try {
    if (db === undefined) throw new Error('The database did not open.');
    const opened = db;
    switch (request.op) {
      case 'query':
        return { id: request.id, ok: true, ...(await run(opened, request)) };
      case 'batch': {
        const results = await opened.transaction(async (tx) => {
          const done: StatementResult[] = [];
          for (const statement of request.statements) done.push(await run(tx, statement));
          return done;
        });
        return { id: request.id, ok: true, results };
      }
      case 'close':
        await opened.close();
        return { id: request.id, ok: true, rows: [], rowCount: 0 };
    }
  } catch (error) {
    return { id: request.id, ok: false, error: flatten(error) };
  }
}

// One request at a time, in the order sent: the main thread relies on it (a statement sent before BEGIN
// must not land inside the transaction).
let queue = open();
port.on('message', (request: WorkerRequest) => {
  queue = queue.then(async () => {
    reply(await answer(request));
    // Node delivers what this thread already posted before the main thread sees it exit.
    if (request.op === 'close') process.exit(0);
  });
});
