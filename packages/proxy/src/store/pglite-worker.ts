/**
 * The worker thread that owns the embedded PGlite database (see `worker-database.ts` for the main side).
 *
 * PGlite runs every statement synchronously on the thread that owns it, so on the main thread each write
 * stalls every open stream for a millisecond or so. Here it stalls only this thread.
 *
 * Node runs this file directly from source under the tests (type stripping) and as `dist/pglite-worker.js`
 * from the build, so it may use only erasable TypeScript and no imports of our own modules except types:
 * a `./x.js` specifier does not resolve to `x.ts` without a bundler.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';

/** What the main thread asks for. */
export type WorkerCommand = { op: 'query'; text: string; params: readonly unknown[] } | { op: 'close' };

/** A command as sent. Replies carry the same `id`; the worker answers requests in the order they came. */
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

/** The answer to one request. The open itself is answered as request `0`, before any other. */
export type WorkerReply =
  | { id: number; ok: true; rows: object[]; rowCount: number }
  | { id: number; ok: false; error: WorkerError };

/** What the main thread passes as `workerData`. */
export interface WorkerSetup {
  /** The data directory (already created); in memory when absent. */
  dataDir?: string | undefined;
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
    db = await PGlite.create(setup.dataDir === undefined ? {} : { dataDir: setup.dataDir });
    reply({ id: OPEN_REQUEST_ID, ok: true, rows: [], rowCount: 0 });
  } catch (error) {
    reply({ id: OPEN_REQUEST_ID, ok: false, error: flatten(error) });
  }
}

async function handle(request: WorkerRequest): Promise<void> {
  if (request.op === 'close') {
    try {
      await db?.close();
      reply({ id: request.id, ok: true, rows: [], rowCount: 0 });
    } catch (error) {
      reply({ id: request.id, ok: false, error: flatten(error) });
    }
    // Node delivers what this thread already posted before the main thread sees it exit.
    process.exit(0);
  }
  try {
    if (db === undefined) throw new Error('The database did not open.');
    const result = await db.query<object>(request.text, [...request.params]);
    reply({
      id: request.id,
      ok: true,
      rows: result.rows,
      rowCount: result.rowCount ?? result.affectedRows ?? 0,
    });
  } catch (error) {
    reply({ id: request.id, ok: false, error: flatten(error) });
  }
}

// An explicit chain rather than PGlite's internal queue: the main thread relies on statements running in
// the order it sent them (a statement sent before BEGIN must not land inside the transaction).
let queue = open();
port.on('message', (request: WorkerRequest) => {
  queue = queue.then(() => handle(request));
});
