import type { Assistant, Message, Run, RunStep, Thread } from '@parley/protocol';
import type { Database, Queryable } from './database.js';
import { StoreError } from './errors.js';
import { migrate, UNFINISHED_RUN_PREDICATE } from './migrations.js';
import type { Owner, Page, PageQuery, Store } from './types.js';

type Table = 'parley_assistants' | 'parley_threads' | 'parley_messages' | 'parley_runs' | 'parley_steps';
type Column = 'owner' | 'thread_id' | 'run_id';

/** Every read selects just this: the object as JSON text, decoded here into a fresh copy. */
interface DataRow {
  data: unknown;
}

/*
 * Upserts keep the row (and so its `seq`, its place in every list) and replace the rest. The `WHERE` on
 * the update refuses to overwrite another owner's object: such a write touches no row and is reported as
 * `id_taken` instead of silently moving the object between owners.
 */
const PUT_ASSISTANT = `INSERT INTO parley_assistants AS t (id, owner, created_at, data)
  VALUES ($1, $2, $3, $4::json)
  ON CONFLICT (id) DO UPDATE SET created_at = EXCLUDED.created_at, data = EXCLUDED.data
  WHERE t.owner = EXCLUDED.owner`;
const PUT_THREAD = `INSERT INTO parley_threads AS t (id, owner, created_at, data)
  VALUES ($1, $2, $3, $4::json)
  ON CONFLICT (id) DO UPDATE SET created_at = EXCLUDED.created_at, data = EXCLUDED.data
  WHERE t.owner = EXCLUDED.owner`;
const PUT_MESSAGE = `INSERT INTO parley_messages AS t (id, owner, thread_id, run_id, created_at, data)
  VALUES ($1, $2, $3, $4, $5, $6::json)
  ON CONFLICT (id) DO UPDATE SET thread_id = EXCLUDED.thread_id, run_id = EXCLUDED.run_id,
    created_at = EXCLUDED.created_at, data = EXCLUDED.data
  WHERE t.owner = EXCLUDED.owner`;
const PUT_RUN = `INSERT INTO parley_runs AS t (id, owner, thread_id, status, created_at, data)
  VALUES ($1, $2, $3, $4, $5, $6::json)
  ON CONFLICT (id) DO UPDATE SET thread_id = EXCLUDED.thread_id, status = EXCLUDED.status,
    created_at = EXCLUDED.created_at, data = EXCLUDED.data
  WHERE t.owner = EXCLUDED.owner`;
const PUT_STEP = `INSERT INTO parley_steps AS t (id, owner, thread_id, run_id, created_at, data)
  VALUES ($1, $2, $3, $4, $5, $6::json)
  ON CONFLICT (id) DO UPDATE SET thread_id = EXCLUDED.thread_id, run_id = EXCLUDED.run_id,
    created_at = EXCLUDED.created_at, data = EXCLUDED.data
  WHERE t.owner = EXCLUDED.owner`;

// `data::text` rather than `data`: pg and PGlite decode json with different type parsers (and a user of
// pg may have replaced the global one); text comes back the same from both.
const GET_ASSISTANT = 'SELECT data::text AS data FROM parley_assistants WHERE id = $1 AND owner = $2';
const GET_THREAD = 'SELECT data::text AS data FROM parley_threads WHERE id = $1 AND owner = $2';
const GET_MESSAGE =
  'SELECT data::text AS data FROM parley_messages WHERE id = $1 AND owner = $2 AND thread_id = $3';
const END_RUN = `UPDATE parley_runs SET status = $4, data = $5::json
  WHERE id = $1 AND owner = $2 AND thread_id = $3 AND ${UNFINISHED_RUN_PREDICATE}`;
const GET_RUN = 'SELECT data::text AS data FROM parley_runs WHERE id = $1 AND owner = $2 AND thread_id = $3';
const GET_STEP =
  'SELECT data::text AS data FROM parley_steps WHERE id = $1 AND owner = $2 AND thread_id = $3 AND run_id = $4';
const ALL_MESSAGES = `SELECT data::text AS data FROM parley_messages WHERE owner = $1 AND thread_id = $2
  ORDER BY created_at ASC, seq ASC`;
const UNFINISHED_RUNS = `SELECT owner, data::text AS data FROM parley_runs WHERE ${UNFINISHED_RUN_PREDICATE}
  ORDER BY created_at ASC, seq ASC`;

const DELETE_ASSISTANT = 'DELETE FROM parley_assistants WHERE id = $1 AND owner = $2';
// Messages and runs go by ON DELETE CASCADE, steps by cascading from their runs: one atomic statement.
const DELETE_THREAD = 'DELETE FROM parley_threads WHERE id = $1 AND owner = $2';
const DELETE_MESSAGE = 'DELETE FROM parley_messages WHERE id = $1 AND owner = $2 AND thread_id = $3';

/** A put's values, in the order of its statement's parameters. */
const messageRow = (owner: Owner, message: Message) => [
  message.id,
  owner,
  message.thread_id,
  message.run_id,
  message.created_at,
  JSON.stringify(message),
];
const runRow = (owner: Owner, run: Run) => [
  run.id,
  owner,
  run.thread_id,
  run.status,
  run.created_at,
  JSON.stringify(run),
];
const stepRow = (owner: Owner, step: RunStep) => [
  step.id,
  owner,
  step.thread_id,
  step.run_id,
  step.created_at,
  JSON.stringify(step),
];

/** How `putAll` stores each kind of object it takes. */
const KINDS = {
  'thread.message': { name: 'message', text: PUT_MESSAGE, row: messageRow },
  'thread.run.step': { name: 'run step', text: PUT_STEP, row: stepRow },
  'thread.run': { name: 'run', text: PUT_RUN, row: runRow },
} as const;

/** A write that touched no row: the id is another owner's (see the upserts above). */
const idTaken = (kind: string) =>
  new StoreError('id_taken', `A ${kind} with this id belongs to another owner.`);

const MAX_LIMIT = 100;
const DEFAULT_LIMIT = 20;

/**
 * Decodes a row's `data` into a new object. Accepts JSON text (what the queries select) and, defensively,
 * an already-decoded value, which is cloned so that no two callers ever share one object.
 */
function decode<T>(data: unknown): T {
  if (typeof data === 'string') return JSON.parse(data) as T;
  return structuredClone(data) as T;
}

/**
 * Builds and runs one page of a list, as OpenAI's list endpoints page: ordered by `(created_at, seq)`,
 * `after`/`before` exclusive, `has_more` looking past the page in the direction of travel.
 *
 * A cursor is located by a subquery within the same scope; an id that is unknown or another owner's makes
 * the row comparison NULL, so the page comes back empty, as OpenAI answered an unknown cursor.
 * Only column and table names from this file and fixed keywords enter the SQL text; every value is bound.
 */
async function listPage<T>(
  db: Queryable,
  table: Table,
  scope: ReadonlyArray<readonly [Column, string]>,
  page: PageQuery,
  filter?: readonly [Column, string],
): Promise<Page<T>> {
  const params: unknown[] = [];
  const bind = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  const scopeParams = scope.map(([column, value]) => [column, bind(value)] as const);
  const where = scopeParams.map(([column, param]) => `o.${column} = ${param}`);
  if (filter !== undefined) where.push(`o.${filter[0]} = ${bind(filter[1])}`);

  const cursorScope = scopeParams.map(([column, param]) => ` AND c.${column} = ${param}`).join('');
  const cursor = (id: string, operator: '<' | '>'): string =>
    `(o.created_at, o.seq) ${operator} (SELECT c.created_at, c.seq FROM ${table} AS c WHERE c.id = ${bind(id)}${cursorScope})`;
  const ascending = page.order === 'asc';
  if (page.after !== undefined) where.push(cursor(page.after, ascending ? '>' : '<'));
  if (page.before !== undefined) where.push(cursor(page.before, ascending ? '<' : '>'));

  // With only `before`, the page is the `limit` items nearest the cursor: walk away from it (against the
  // chosen order), then turn the page back around.
  const backwards = page.after === undefined && page.before !== undefined;
  const direction = ascending !== backwards ? 'ASC' : 'DESC';
  const limit = Math.min(Math.max(Math.trunc(page.limit) || DEFAULT_LIMIT, 1), MAX_LIMIT);
  const text = `SELECT o.data::text AS data FROM ${table} AS o WHERE ${where.join(' AND ')}
    ORDER BY o.created_at ${direction}, o.seq ${direction} LIMIT ${bind(limit + 1)}`;

  const { rows } = await db.query<DataRow>(text, params);
  const has_more = rows.length > limit;
  const data = rows.slice(0, limit).map((row) => decode<T>(row.data));
  if (backwards) data.reverse();
  return { data, has_more };
}

/**
 * The {@link Store} over SQL, shared by both backends. Construct it through `createStore`, which also
 * migrates.
 */
export class SqlStore implements Store {
  readonly #db: Database;
  #closed = false;

  constructor(db: Database) {
    this.#db = db;
  }

  migrate(): Promise<void> {
    return migrate(this.#db);
  }

  database(): Database {
    return this.#db;
  }

  async close(): Promise<void> {
    // Shutdown paths tend to close twice (signal handler plus test teardown); pg's pool throws on that.
    if (this.#closed) return;
    this.#closed = true;
    await this.#db.close();
  }

  async #put(kind: string, text: string, params: readonly unknown[]): Promise<void> {
    const { rowCount } = await this.#db.query(text, params);
    if (rowCount === 0) throw idTaken(kind);
  }

  async #get<T>(text: string, params: readonly unknown[]): Promise<T | undefined> {
    const { rows } = await this.#db.query<DataRow>(text, params);
    const row = rows[0];
    return row === undefined ? undefined : decode<T>(row.data);
  }

  async #delete(text: string, params: readonly unknown[]): Promise<boolean> {
    const { rowCount } = await this.#db.query(text, params);
    return rowCount > 0;
  }

  putAssistant(owner: Owner, assistant: Assistant): Promise<void> {
    return this.#put('assistant', PUT_ASSISTANT, [
      assistant.id,
      owner,
      assistant.created_at,
      JSON.stringify(assistant),
    ]);
  }

  getAssistant(owner: Owner, id: string): Promise<Assistant | undefined> {
    return this.#get(GET_ASSISTANT, [id, owner]);
  }

  listAssistants(owner: Owner, page: PageQuery): Promise<Page<Assistant>> {
    return listPage(this.#db, 'parley_assistants', [['owner', owner]], page);
  }

  deleteAssistant(owner: Owner, id: string): Promise<boolean> {
    return this.#delete(DELETE_ASSISTANT, [id, owner]);
  }

  putThread(owner: Owner, thread: Thread): Promise<void> {
    return this.#put('thread', PUT_THREAD, [thread.id, owner, thread.created_at, JSON.stringify(thread)]);
  }

  async createThread(owner: Owner, thread: Thread, messages: readonly Message[]): Promise<void> {
    await this.putThread(owner, thread);
    for (const message of messages) await this.putMessage(owner, message);
  }

  getThread(owner: Owner, id: string): Promise<Thread | undefined> {
    return this.#get(GET_THREAD, [id, owner]);
  }

  deleteThread(owner: Owner, id: string): Promise<boolean> {
    return this.#delete(DELETE_THREAD, [id, owner]);
  }

  putMessage(owner: Owner, message: Message): Promise<void> {
    return this.#put('message', PUT_MESSAGE, messageRow(owner, message));
  }

  getMessage(owner: Owner, threadId: string, id: string): Promise<Message | undefined> {
    return this.#get(GET_MESSAGE, [id, owner, threadId]);
  }

  listMessages(
    owner: Owner,
    threadId: string,
    page: PageQuery,
    filter?: { runId?: string },
  ): Promise<Page<Message>> {
    const scope = [['owner', owner] as const, ['thread_id', threadId] as const];
    const runId = filter?.runId;
    return listPage(
      this.#db,
      'parley_messages',
      scope,
      page,
      runId === undefined ? undefined : ['run_id', runId],
    );
  }

  async allMessages(owner: Owner, threadId: string): Promise<Message[]> {
    const { rows } = await this.#db.query<DataRow>(ALL_MESSAGES, [owner, threadId]);
    return rows.map((row) => decode<Message>(row.data));
  }

  deleteMessage(owner: Owner, threadId: string, id: string): Promise<boolean> {
    return this.#delete(DELETE_MESSAGE, [id, owner, threadId]);
  }

  putRun(owner: Owner, run: Run): Promise<void> {
    return this.#put('run', PUT_RUN, runRow(owner, run));
  }

  async endRun(owner: Owner, run: Run): Promise<boolean> {
    const params = [run.id, owner, run.thread_id, run.status, JSON.stringify(run)];
    const { rowCount } = await this.#db.query(END_RUN, params);
    return rowCount > 0;
  }

  getRun(owner: Owner, threadId: string, id: string): Promise<Run | undefined> {
    return this.#get(GET_RUN, [id, owner, threadId]);
  }

  listRuns(owner: Owner, threadId: string, page: PageQuery): Promise<Page<Run>> {
    return listPage(
      this.#db,
      'parley_runs',
      [
        ['owner', owner],
        ['thread_id', threadId],
      ],
      page,
    );
  }

  async listUnfinishedRuns(): Promise<Array<{ owner: Owner; run: Run }>> {
    const { rows } = await this.#db.query<DataRow & { owner: string }>(UNFINISHED_RUNS);
    return rows.map((row) => ({ owner: row.owner, run: decode<Run>(row.data) }));
  }

  putStep(owner: Owner, step: RunStep): Promise<void> {
    return this.#put('run step', PUT_STEP, stepRow(owner, step));
  }

  async putAll(owner: Owner, objects: ReadonlyArray<Message | RunStep | Run>): Promise<void> {
    const kinds = objects.map((object) => KINDS[object.object]);
    const results = await this.#db.batch(
      objects.map((object, i) => ({ text: kinds[i]!.text, params: kinds[i]!.row(owner, object as never) })),
    );
    const refused = results.findIndex((result) => result.rowCount === 0);
    if (refused >= 0) throw idTaken(kinds[refused]!.name);
  }

  getStep(owner: Owner, threadId: string, runId: string, id: string): Promise<RunStep | undefined> {
    return this.#get(GET_STEP, [id, owner, threadId, runId]);
  }

  listSteps(owner: Owner, threadId: string, runId: string, page: PageQuery): Promise<Page<RunStep>> {
    return listPage(
      this.#db,
      'parley_steps',
      [
        ['owner', owner],
        ['thread_id', threadId],
        ['run_id', runId],
      ],
      page,
    );
  }
}
