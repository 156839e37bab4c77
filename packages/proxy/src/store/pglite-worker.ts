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
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite, protocol, types } from '@electric-sql/pglite';

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

/**
 * A command as sent, always in an array of those sent together. Replies carry the same `id` and come in
 * arrays too; the worker answers requests in the order they came.
 */
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
  /** How many nice levels below the main thread to run (see `STORE_NICE_BELOW` in worker-database.ts). */
  niceBelow?: number | undefined;
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

/** Posts replies as one message (the open's alone). */
function reply(replies: WorkerReply[]): void {
  try {
    port?.postMessage(replies);
  } catch {
    // A row the structured clone cannot carry must still answer its request, or the caller waits forever:
    // the others go through, each on its own, and that one as its failure.
    for (const message of replies) {
      try {
        port?.postMessage([message]);
      } catch (error) {
        port?.postMessage([{ id: message.id, ok: false, error: flatten(error) }] satisfies WorkerReply[]);
      }
    }
  }
}

let db: PGlite | undefined;

/** A statement parsed and planned once, by the name its later executions bind to. */
interface Prepared {
  name: string;
  /** Turns each parameter into its text form, chosen by the parameter's type as PGlite's `query` does. */
  serializers: Array<((value: unknown) => string) | undefined>;
  /** Each result column's name and the type it is parsed as. */
  fields: Array<{ name: string; type: number }>;
}

const prepared = new Map<string, Prepared>();
/** How many statements have been named, so that a name is never reused, even for a text parsed again. */
let named = 0;

/**
 * Sends extended-protocol messages in one call and returns the backend's replies; an error reply is
 * thrown (as `DatabaseError`, the same as `query` throws). Every batch ends with Sync, so an error leaves
 * the session ready for the next statement.
 */
async function exchange(pg: PGlite, parts: Uint8Array[]): Promise<Array<{ name: string }>> {
  const { messages } = await pg.execProtocol(Buffer.concat([...parts, protocol.serialize.sync()]));
  return messages;
}

/**
 * Parses `text` into a named statement once, and learns its parameter and column types. PGlite's
 * `query` parses and plans every statement anew, in six calls into the database; binding a prepared
 * statement is one call (measured here, in-thread: an upsert 0.28 → 0.11 ms of CPU, a read by key
 * 0.26 → 0.05 ms). `connectPostgres` prepares statements on a server the same way.
 */
async function prepare(pg: PGlite, text: string): Promise<Prepared> {
  const known = prepared.get(text);
  if (known !== undefined) return known;
  const name = `parley_${++named}`;
  const messages = await exchange(pg, [
    protocol.serialize.parse({ name, text, types: [] }),
    protocol.serialize.describe({ type: 'S', name }),
  ]);
  const { ParameterDescriptionMessage, RowDescriptionMessage } = protocol.messages;
  const params = messages.find((m) => m instanceof ParameterDescriptionMessage);
  const columns = messages.find((m) => m instanceof RowDescriptionMessage);
  const statement: Prepared = {
    name,
    serializers: (params?.dataTypeIDs ?? []).map((type) => pg.serializers[type]),
    fields: (columns?.fields ?? []).map((field) => ({ name: field.name, type: field.dataTypeID })),
  };
  prepared.set(text, statement);
  return statement;
}

/** SQLSTATE of "cached plan must not change result type": a column's type changed since the parse. */
const PLAN_RESULT_CHANGED = '0A000';

/**
 * Runs one request's statements as prepared ones: only their values are bound, all of them in one call
 * ending in one Sync, which PostgreSQL runs as one implicit transaction (an error rolls back every
 * statement of the request). If a schema change altered the columns a statement returns, PostgreSQL
 * refuses the old plan; the statements are then parsed again, once (a text statement would simply have
 * been parsed again).
 */
async function execute(pg: PGlite, statements: readonly Statement[]): Promise<StatementResult[]> {
  const [outcome] = await executeEach(pg, [statements]);
  if (!(outcome instanceof Error)) return outcome ?? [];
  if ((outcome as { code?: unknown }).code !== PLAN_RESULT_CHANGED) throw outcome;
  for (const { text } of statements) {
    const stale = prepared.get(text);
    if (stale === undefined) continue;
    prepared.delete(text);
    await exchange(pg, [protocol.serialize.close({ type: 'S', name: stale.name })]);
  }
  const [again] = await executeEach(pg, [statements]);
  if (again instanceof Error) throw again;
  return again ?? [];
}

/**
 * Runs several requests' prepared statements in one call into the database, each request followed by
 * its own Sync: each is still its own implicit transaction, and an error ends only its own (the backend
 * skips to that request's Sync). Returns each request's results, or the error that ended it.
 */
async function executeEach(
  pg: PGlite,
  requests: ReadonlyArray<readonly Statement[]>,
): Promise<Array<StatementResult[] | Error>> {
  // A request whose statements cannot be prepared or bound (a syntax error, a value its type refuses) fails
  // alone and takes no part in the call.
  const outcomes: Array<StatementResult[] | Error | undefined> = [];
  const used: Prepared[][] = [];
  const parts: Uint8Array[] = [];
  for (const statements of requests) {
    try {
      const mine: Prepared[] = [];
      const bound: Uint8Array[] = [];
      for (const { text, params } of statements) {
        const statement = await prepare(pg, text);
        const values = params.map((value, i) => {
          if (value === null || value === undefined) return null;
          const serialize = statement.serializers[i];
          return serialize ? serialize(value) : String(value);
        });
        mine.push(statement);
        bound.push(
          protocol.serialize.bind({ statement: statement.name, values }),
          protocol.serialize.execute({}),
        );
      }
      used.push(mine);
      parts.push(...bound, protocol.serialize.sync());
      outcomes.push(undefined); // filled from the call's replies below
    } catch (error) {
      outcomes.push(error instanceof Error ? error : new Error(String(error)));
    }
  }
  if (parts.length === 0) return outcomes as Array<StatementResult[] | Error>;
  const { messages } = await pg.execProtocol(Buffer.concat(parts), { throwOnError: false });
  // Each Sync answers with ReadyForQuery: what comes before it belongs to the next request that took part.
  const answered: Array<StatementResult[] | Error> = [];
  let results: StatementResult[] = [];
  let failure: Error | undefined;
  let rows: object[] = [];
  for (const message of messages) {
    if (message instanceof protocol.messages.DataRowMessage) {
      const fields = used[answered.length]?.[results.length]?.fields ?? [];
      const row: Record<string, unknown> = {};
      fields.forEach((field, i) => {
        row[field.name] = types.parseType(message.fields[i] ?? null, field.type, pg.parsers);
      });
      rows.push(row);
    } else if (message instanceof protocol.messages.CommandCompleteMessage) {
      // "INSERT 0 1", "UPDATE 3", "DELETE 0", "SELECT 2": the count is the last word.
      const rowCount = Number(message.text.slice(message.text.lastIndexOf(' ') + 1)) || 0;
      results.push({ rows, rowCount });
      rows = [];
    } else if (message instanceof protocol.messages.DatabaseError) {
      failure ??= message;
    } else if (message instanceof protocol.messages.ReadyForQueryMessage) {
      answered.push(failure ?? results);
      results = [];
      rows = [];
      failure = undefined;
    }
  }
  let next = 0;
  return outcomes.map(
    (outcome) => outcome ?? answered[next++] ?? new Error('The database gave no answer to this statement.'),
  );
}

/**
 * Lowers this thread's priority by `levels` where threads have their own (Linux); elsewhere a no-op. Why:
 * `STORE_NICE_BELOW` in worker-database.ts.
 */
function yieldToStreams(levels: number): void {
  if (levels <= 0) return;
  try {
    // Linux: `/proc/thread-self` links to `<pid>/task/<tid>`, and setpriority() takes a thread id.
    const tid = Number(readlinkSync('/proc/thread-self').split('/').at(-1));
    if (!Number.isInteger(tid) || tid <= 0) return;
    setPriority(tid, Math.min(19, getPriority(tid) + levels));
  } catch {
    // No /proc (macOS, Windows) or the system refused: a priority the process chose still applies.
  }
}

async function open(): Promise<void> {
  yieldToStreams(setup.niceBelow ?? 0);
  try {
    db = await PGlite.create(setup.dataDir === undefined ? {} : { dataDir: setup.dataDir });
    reply([{ id: OPEN_REQUEST_ID, ok: true, rows: [], rowCount: 0 }]);
  } catch (error) {
    reply([{ id: OPEN_REQUEST_ID, ok: false, error: flatten(error) }]);
  }
}

/** The statements of a request that runs prepared: any but migrations, transaction control and close. */
function preparedStatements(request: WorkerRequest): readonly Statement[] | undefined {
  if (request.op === 'batch') return request.statements;
  if (request.op === 'query' && request.params.length > 0) return [request];
  return undefined;
}

/** The reply to a request that ran prepared, from its results or the error that ended it. */
function preparedReply(request: WorkerRequest, outcome: StatementResult[] | Error | undefined): WorkerReply {
  if (outcome instanceof Error || outcome === undefined)
    return {
      id: request.id,
      ok: false,
      error: flatten(outcome ?? new Error('No answer from the database.')),
    };
  if (request.op === 'batch') return { id: request.id, ok: true, results: outcome };
  return { id: request.id, ok: true, rows: outcome[0]?.rows ?? [], rowCount: outcome[0]?.rowCount ?? 0 };
}

async function answer(request: WorkerRequest): Promise<WorkerReply> {
  try {
    if (db === undefined) throw new Error('The database did not open.');
    const statements = preparedStatements(request);
    if (statements !== undefined) return preparedReply(request, await execute(db, statements));
    if (request.op !== 'query') throw new Error(`Unknown request: ${request.op}`);
    // Parameterless statements are migrations and transaction control: one-off, not worth preparing.
    const result = await db.query<object>(request.text);
    return { id: request.id, ok: true, rows: result.rows, rowCount: result.affectedRows ?? 0 };
  } catch (error) {
    return { id: request.id, ok: false, error: flatten(error) };
  }
}

async function close(request: WorkerRequest, earlier: WorkerReply[]): Promise<never> {
  try {
    await db?.close();
    earlier.push({ id: request.id, ok: true, rows: [], rowCount: 0 });
  } catch (error) {
    earlier.push({ id: request.id, ok: false, error: flatten(error) });
  }
  reply(earlier);
  // Node delivers what this thread already posted before the main thread sees it exit.
  process.exit(0);
}

/**
 * Answers requests that were sent together (the main thread sends what piles up while earlier requests
 * are being answered), in order, with one message. Consecutive prepared requests share one call into
 * the database (see `executeEach`); under load that call, not the rows, was most of a write's cost.
 */
async function handle(requests: readonly WorkerRequest[]): Promise<void> {
  const replies: WorkerReply[] = [];
  for (let i = 0; i < requests.length; ) {
    const request = requests[i]!;
    if (request.op === 'close') await close(request, replies);
    const run: WorkerRequest[] = [];
    for (let j = i; j < requests.length && preparedStatements(requests[j]!) !== undefined; j++)
      run.push(requests[j]!);
    if (run.length < 2 || db === undefined) {
      replies.push(await answer(request));
      i++;
      continue;
    }
    let outcomes: Array<StatementResult[] | Error>;
    try {
      outcomes = await executeEach(
        db,
        run.map((r) => preparedStatements(r)!),
      );
    } catch (error) {
      outcomes = run.map(() => (error instanceof Error ? error : new Error(String(error))));
    }
    // A plan made stale by a schema change is parsed again by answering that request by itself (which
    // then runs after those that followed it in the call; only a schema change made at run time does this).
    for (const [k, r] of run.entries()) {
      const outcome = outcomes[k];
      const stale = outcome instanceof Error && (outcome as { code?: unknown }).code === PLAN_RESULT_CHANGED;
      replies.push(stale ? await answer(r) : preparedReply(r, outcome));
    }
    i += run.length;
  }
  reply(replies);
}

// An explicit chain rather than PGlite's internal queue: the main thread relies on statements running in
// the order it sent them (a statement sent before BEGIN must not land inside the transaction).
let queue = open();
port.on('message', (requests: WorkerRequest[]) => {
  queue = queue.then(() => handle(requests));
});
