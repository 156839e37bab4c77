import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import {
  type Database,
  PGLITE_START_PARAMS,
  type Queryable,
  type QueryResult,
  type Statement,
} from './database.js';
import { StoreError, toStoreError } from './errors.js';
import type { WorkerCommand, WorkerError, WorkerReply, WorkerRequest, WorkerSetup } from './pglite-worker.js';

/**
 * The request id that the worker reports its open under. Defined on both sides: importing a value from
 * the worker entry would run it here.
 */
const OPEN_REQUEST_ID = 0;

/**
 * The young generation of the worker's JavaScript heap, in MB. Left to V8 it grows as large as the main
 * thread's while PGlite turns rows into objects, and what survives a scavenge piles up in the old
 * generation until a full collection that an idle worker may never reach. Collections of this heap pause
 * only the worker, never a stream. Measured in docs/decisions/0006.
 */
const WORKER_YOUNG_GENERATION_MB = 8;

/**
 * The worker's entry: `pglite-worker.js` beside the bundled chunk in `dist/`, else the TypeScript source
 * beside this file, which Node runs by stripping its types (tests run from source).
 */
function workerUrl(): URL {
  const built = new URL('./pglite-worker.js', import.meta.url);
  return existsSync(fileURLToPath(built)) ? built : new URL('./pglite-worker.ts', import.meta.url);
}

/** Rebuilds a worker-side failure as an Error with the same fields, so `toStoreError` maps it as before. */
function revive(flat: WorkerError): Error {
  const { name, message, stack, ...fields } = flat;
  const error = Object.assign(new Error(message), fields);
  error.name = name;
  if (stack !== undefined) error.stack = stack;
  return error;
}

/**
 * A FIFO lock. Transactions hold it from BEGIN to COMMIT; plain statements only pass through it, so they
 * keep their order relative to transactions without waiting for one another.
 */
class Gate {
  #held = false;
  readonly #waiters: Array<() => void> = [];

  get held(): boolean {
    return this.#held;
  }

  acquire(): Promise<void> {
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  release(): void {
    const next = this.#waiters.shift();
    if (next === undefined) this.#held = false;
    else next();
  }
}

/** Statements issued after `close()`; a deliberate close is not an outage, so not retryable. */
const closed = (): StoreError => new StoreError('database', 'The database is closed.');

interface Pending {
  resolve(reply: Extract<WorkerReply, { ok: true }>): void;
  reject(error: StoreError): void;
}

/** The main-thread side of a PGlite database hosted on a worker thread. */
class WorkerDatabase implements Database {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  readonly #gate = new Gate();
  /** Settles when the worker thread has ended, for whatever reason. */
  readonly #exited: Promise<void>;
  /** Resolves once PGlite is open in the worker; rejects if it could not be opened. */
  readonly opened: Promise<void>;
  #nextId = OPEN_REQUEST_ID + 1;
  /** Set once the worker is gone: every later statement fails with it. */
  #gone: StoreError | undefined;
  #closing: Promise<void> | undefined;

  constructor(worker: Worker) {
    this.#worker = worker;
    this.opened = new Promise((resolve, reject) => {
      this.#track(OPEN_REQUEST_ID, { resolve: () => resolve(), reject });
    });
    let crash: unknown;
    worker.on('message', (reply: WorkerReply) => this.#settle(reply));
    // An uncaught exception in the worker; 'exit' follows and fails whatever was waiting.
    worker.on('error', (error) => {
      crash = error;
    });
    // A reply that could not be deserialized is lost, and with it the caller's only way to finish: end the
    // worker so that every waiting caller hears about it rather than hanging.
    worker.on('messageerror', (error) => {
      crash = error;
      void worker.terminate();
    });
    this.#exited = new Promise((resolve) => {
      worker.once('exit', (exitCode) => {
        // Only the clean exit that follows a close is expected; anything else is an outage.
        this.#gone ??=
          this.#closing !== undefined && exitCode === 0
            ? closed()
            : new StoreError('unavailable', `The database worker stopped (exit code ${exitCode}).`, {
                cause: crash,
              });
        const waiting = [...this.#pending.values()];
        this.#pending.clear();
        for (const pending of waiting) pending.reject(this.#gone);
        resolve();
      });
    });
  }

  query<Row extends object>(text: string, params: readonly unknown[] = []): Promise<QueryResult<Row>> {
    if (this.#closing !== undefined) return Promise.reject(closed());
    // The common case, with no transaction open, posts at once: no extra turn of the event loop.
    if (!this.#gate.held) return this.#request({ op: 'query', text, params });
    return this.#afterTransactions(() => this.#request({ op: 'query', text, params }));
  }

  batch(statements: ReadonlyArray<Statement>): Promise<Array<QueryResult<object>>> {
    if (this.#closing !== undefined) return Promise.reject(closed());
    // The worker runs the whole batch in one transaction of its own, without a round trip per statement.
    const send = () =>
      this.#send({ op: 'batch', statements }).then((reply) => ('results' in reply ? reply.results : []));
    return this.#gate.held ? this.#afterTransactions(send) : send();
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    if (this.#closing !== undefined) throw closed();
    await this.#gate.acquire();
    // PGlite is one connection: the transaction is simply the statements sent between BEGIN and COMMIT,
    // which the gate keeps free of anyone else's.
    let open = true;
    const tx: Queryable = {
      query: <Row extends object>(text: string, params: readonly unknown[] = []) =>
        open
          ? this.#request<Row>({ op: 'query', text, params })
          : Promise.reject(new StoreError('database', 'The transaction has already ended.')),
    };
    try {
      await this.#request({ op: 'query', text: 'BEGIN', params: [] });
      let result: T;
      try {
        result = await work(tx);
      } catch (error) {
        open = false;
        // A worker that cannot even roll back is gone; the original failure is the one worth reporting.
        await this.#request({ op: 'query', text: 'ROLLBACK', params: [] }).catch(() => {});
        throw toStoreError(error);
      }
      open = false;
      // A COMMIT that fails ends the transaction too (Postgres rolls it back), so nothing is left open.
      await this.#request({ op: 'query', text: 'COMMIT', params: [] });
      return result;
    } finally {
      this.#gate.release();
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    if (this.#gone !== undefined) return this.#exited;
    let failure: unknown;
    try {
      // Through the gate like any statement: an open transaction commits before the database closes.
      await this.#afterTransactions(() => this.#request({ op: 'close' }));
    } catch (error) {
      failure = error;
    }
    // The worker exits by itself after answering; terminate covers one that failed to.
    if (failure !== undefined) await this.#worker.terminate();
    await this.#exited;
    if (failure !== undefined) throw toStoreError(failure);
  }

  /** Runs `send` once no transaction holds the gate, in the order callers arrived. */
  async #afterTransactions<T>(send: () => Promise<T>): Promise<T> {
    await this.#gate.acquire();
    let sent: Promise<T>;
    try {
      sent = send();
    } finally {
      this.#gate.release();
    }
    return sent;
  }

  #request<Row extends object>(request: WorkerCommand): Promise<QueryResult<Row>> {
    return this.#send(request).then((reply) =>
      'rows' in reply ? { rows: reply.rows as Row[], rowCount: reply.rowCount } : { rows: [], rowCount: 0 },
    );
  }

  #send(request: WorkerCommand): Promise<Extract<WorkerReply, { ok: true }>> {
    if (this.#gone !== undefined) return Promise.reject(this.#gone);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#track(id, { resolve, reject });
      try {
        this.#worker.postMessage({ ...request, id } satisfies WorkerRequest);
      } catch (error) {
        // Parameters the structured clone cannot carry (a function, say) never reach the worker.
        this.#pending.delete(id);
        if (this.#pending.size === 0 && this.#closing === undefined) this.#worker.unref();
        reject(toStoreError(error));
      }
    });
  }

  #track(id: number, pending: Pending): void {
    // A worker keeps the process alive only while it owes an answer: an idle database left open must not
    // stop the proxy from exiting, any more than an in-thread PGlite would.
    if (this.#pending.size === 0) this.#worker.ref();
    this.#pending.set(id, pending);
  }

  #settle(reply: WorkerReply): void {
    const pending = this.#pending.get(reply.id);
    if (pending === undefined) return;
    this.#pending.delete(reply.id);
    // Once closing, the worker stays referenced until it has exited: the close reply comes before the exit,
    // and a caller awaiting close() has nothing else keeping the event loop alive to hear it.
    if (this.#pending.size === 0 && this.#closing === undefined) this.#worker.unref();
    if (reply.ok) pending.resolve(reply);
    else pending.reject(toStoreError(revive(reply.error)));
  }
}

/** Node options about the host's own entry point, with whether each takes the next argument as its value. */
const ENTRY_OPTIONS = new Map([
  ['--input-type', true],
  ['-e', true],
  ['--eval', true],
  ['-p', true],
  ['--print', true],
]);

/**
 * The host's Node options, for the worker: all but those about the host's own entry point. A program run
 * as `node --input-type=module -e '…'` would otherwise hand the worker options that Node refuses for a
 * file, and the database would never open.
 */
export function workerExecArgv(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    const name = arg.startsWith('--') && arg.includes('=') ? arg.slice(0, arg.indexOf('=')) : arg;
    const takesNext = ENTRY_OPTIONS.get(name);
    if (takesNext === undefined) kept.push(arg);
    else if (takesNext && name === arg) i++;
  }
  return kept;
}

/** The options a Worker refused, as Node names them ("…invalid execArgv flags: --a=1, --b"). */
function refusedOptions(error: Error): Set<string> {
  const at = error.message.indexOf('flags:');
  if (at < 0) return new Set(); // worded otherwise: the caller then leaves out every host option
  return new Set(
    error.message
      .slice(at + 'flags:'.length)
      .split(',')
      .map((option) => option.trim()),
  );
}

/**
 * Starts an embedded PGlite on its own worker thread: persisted in `dataDir` when given, otherwise in
 * memory and gone on close. Statements travel to the worker as messages, so the main thread never runs
 * PGlite's synchronous WebAssembly and streams keep flowing while the database writes.
 *
 * Errors map exactly as with the in-thread `openPglite`. If the worker dies, every waiting and later
 * statement fails with a retryable `StoreError('unavailable')`.
 *
 * @param dataDir Where the database lives; in memory when absent.
 * @param spawn Starts the thread. Tests pass their own to keep hold of the `Worker` and kill it.
 *
 * @example
 * ```ts
 * const db = await openPgliteInWorker('.parley/data');
 * await db.transaction(async (tx) => {
 *   await tx.query('INSERT INTO notes (body) VALUES ($1)', ['hello']);
 * });
 * await db.close();
 * ```
 */
export async function openPgliteInWorker(
  dataDir?: string,
  spawn: (url: URL, options: WorkerOptions) => Worker = (url, options) => new Worker(url, options),
): Promise<Database> {
  try {
    if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });
  } catch (error) {
    throw toStoreError(error);
  }
  let execArgv = workerExecArgv(process.execArgv);
  let worker: Worker | undefined;
  while (worker === undefined) {
    try {
      worker = spawn(workerUrl(), {
        name: 'parley-pglite',
        resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
        execArgv,
        workerData: { dataDir, startParams: [...PGLITE_START_PARAMS] } satisfies WorkerSetup,
      });
    } catch (error) {
      // V8's options and the process's own (`--max-old-space-size`, `--stack-size`, `--title`) are refused
      // by name in a worker's execArgv; they already apply to every thread, so they are left out.
      if ((error as { code?: unknown }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV' || execArgv.length === 0)
        throw toStoreError(error);
      const refused = refusedOptions(error as Error);
      const kept = execArgv.filter((arg) => !refused.has(arg));
      execArgv = kept.length < execArgv.length ? kept : [];
    }
  }
  const db = new WorkerDatabase(worker);
  try {
    await db.opened;
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
  return db;
}
