import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openPglite, type Queryable } from './database.js';
import { StoreError } from './errors.js';
import { openPgliteInWorker, workerExecArgv } from './worker-database.js';

const SCHEMA = [
  'CREATE TABLE parents (id text PRIMARY KEY)',
  'CREATE TABLE children (id text PRIMARY KEY, parent text NOT NULL REFERENCES parents (id), data jsonb)',
];

async function withSchema(db: Database): Promise<Database> {
  for (const statement of SCHEMA) await db.query(statement);
  return db;
}

async function failure(promise: Promise<unknown>): Promise<StoreError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(StoreError);
  return error as StoreError;
}

/** What a caller (and the HTTP error mapping) can see of a store error. */
function visible(error: StoreError): object {
  const cause = error.cause as { code?: unknown; constraint?: unknown; table?: unknown } | undefined;
  return {
    code: error.code,
    message: error.message,
    retryable: error.retryable,
    sqlstate: cause?.code,
    constraint: cause?.constraint,
    table: cause?.table,
  };
}

/** The handles that a worker thread and its message port hold open. */
const workerHandles = (): string[] =>
  process.getActiveResourcesInfo().filter((name) => name === 'MessagePort' || name === 'Worker');

/** Opens a worker database and keeps hold of its thread, so a test can watch it exit or kill it. */
async function openHeld(): Promise<{ db: Database; worker: Worker }> {
  let worker: Worker | undefined;
  const db = await openPgliteInWorker(undefined, (url, options) => {
    worker = new Worker(url, options);
    return worker;
  });
  return { db, worker: worker! };
}

describe('PGlite on a worker thread', () => {
  let inThread: Database;
  let inWorker: Database;
  beforeAll(async () => {
    [inThread, inWorker] = await Promise.all([
      openPglite().then(withSchema),
      openPgliteInWorker().then(withSchema),
    ]);
    for (const db of [inThread, inWorker]) await db.query("INSERT INTO parents (id) VALUES ('p1')");
  });
  afterAll(async () => {
    await Promise.all([inThread?.close(), inWorker?.close()]);
  });

  it('maps errors exactly as the in-thread PGlite does', async () => {
    const cases: Array<[statement: string, params: unknown[], expected: string]> = [
      ['INSERT INTO children (id, parent) VALUES ($1, $2)', ['c1', 'nobody'], 'missing_parent'],
      [
        'INSERT INTO children (id, parent, data) VALUES ($1, $2, $3::jsonb)',
        ['c2', 'p1', '"a\\u0000"'],
        'invalid_text',
      ],
      ['INSERT INTO parents (id) VALUES ($1)', ['p1'], 'database'],
      ['SELECT nothing FROM parents', [], 'database'],
    ];
    for (const [statement, params, expected] of cases) {
      const [here, there] = await Promise.all([
        failure(inThread.query(statement, params)),
        failure(inWorker.query(statement, params)),
      ]);
      expect(here.code).toBe(expected);
      expect(visible(there)).toEqual(visible(here));
    }
  });

  it('returns the same rows and counts as the in-thread PGlite', async () => {
    const statements: Array<[string, unknown[]]> = [
      [
        'INSERT INTO children (id, parent, data) VALUES ($1, $2, $3::jsonb), ($4, $2, $3::jsonb)',
        ['k1', 'p1', '{"n":1}', 'k2'],
      ],
      ['UPDATE children SET data = $1::jsonb WHERE parent = $2', ['{"n":[1,2]}', 'p1']],
      [
        `SELECT id, data, data::text AS text, 42::bigint AS big, now() > $1::timestamptz AS later
          FROM children ORDER BY id`,
        ['2020-01-01'],
      ],
      ['DELETE FROM children WHERE id = $1', ['nobody']],
      // A statement whose result columns changed type since it last ran.
      ['SELECT id, data FROM children WHERE parent = $1 ORDER BY id', ['p1']],
      ['ALTER TABLE children ALTER COLUMN data TYPE json USING data::json', []],
      ['SELECT id, data FROM children WHERE parent = $1 ORDER BY id', ['p1']],
      ['INSERT INTO children (id, parent, data) VALUES ($1, $2, $3)', ['k3', 'p1', null]],
      ['SELECT id, data FROM children WHERE parent = $1 ORDER BY id', ['p1']],
    ];
    for (const [statement, params] of statements) {
      const [here, there] = await Promise.all([
        inThread.query(statement, params),
        inWorker.query(statement, params),
      ]);
      expect(there).toEqual(here);
    }
  });

  it('starts PostgreSQL with the store’s settings on either thread', async () => {
    for (const db of [inThread, inWorker]) {
      expect((await db.query('SHOW shared_buffers')).rows).toEqual([{ shared_buffers: '16MB' }]);
    }
  });

  it('answers many concurrent statements, each with its own result', async () => {
    const numbers = Array.from({ length: 200 }, (_, index) => index);
    const results = await Promise.all(
      numbers.map((n) => inWorker.query<{ n: number }>('SELECT $1::int AS n', [n])),
    );
    expect(results.map((result) => result.rows[0]?.n)).toEqual(numbers);
  });

  it('answers and commits each of many requests made at once on its own, in order', async () => {
    const db = await openPgliteInWorker().then(withSchema);
    try {
      await db.query("INSERT INTO parents (id) VALUES ('p1')");
      // Issued at once: a write, a read of it, a failing write, a batch whose second part fails, and more
      // writes after them. Each succeeds or fails alone, and each sees the ones before it.
      const insert = (id: string, parent = 'p1') =>
        db.query('INSERT INTO children (id, parent) VALUES ($1, $2)', [id, parent]);
      const outcomes = await Promise.allSettled([
        insert('a'),
        db.query<{ n: number }>('SELECT count(*)::int AS n FROM children WHERE id = $1', ['a']),
        insert('b', 'nobody'),
        db.query('SELEC $1::int', [1]), // cannot even be parsed: fails alone
        db.batch([
          { text: 'INSERT INTO children (id, parent) VALUES ($1, $2)', params: ['c', 'p1'] },
          { text: 'INSERT INTO children (id, parent) VALUES ($1, $2)', params: ['d', 'nobody'] },
        ]),
        ...Array.from({ length: 20 }, (_, i) => insert(`e${i}`)),
        db.query<{ id: string }>('SELECT id FROM children WHERE parent = $1 ORDER BY id', ['p1']),
      ]);
      expect(outcomes.map((outcome) => outcome.status)).toEqual([
        'fulfilled',
        'fulfilled',
        'rejected',
        'rejected',
        'rejected',
        ...Array.from({ length: 20 }, () => 'fulfilled'),
        'fulfilled',
      ]);
      expect(outcomes[1]).toMatchObject({ value: { rows: [{ n: 1 }] } });
      // Errors read as they do alone: the foreign key, named.
      expect(outcomes[2]).toMatchObject({ reason: { code: 'missing_parent' } });
      expect(outcomes[3]).toMatchObject({ reason: { code: 'database' } });
      expect(outcomes[4]).toMatchObject({ reason: { code: 'missing_parent' } });
      const listed = outcomes.at(-1) as PromiseFulfilledResult<{ rows: Array<{ id: string }> }>;
      expect(listed.value.rows.map((row) => row.id)).toEqual(
        ['a', ...Array.from({ length: 20 }, (_, i) => `e${i}`)].sort(),
      ); // 'c' went with the batch that failed
    } finally {
      await db.close();
    }
  });

  it('holds other callers’ statements until a transaction commits', async () => {
    await inWorker.query('CREATE TABLE notes (body text)');
    let resume!: () => void;
    const paused = new Promise<void>((resolve) => {
      resume = resolve;
    });
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const committed = inWorker.transaction(async (tx) => {
      await tx.query("INSERT INTO notes (body) VALUES ('first')");
      entered();
      await paused;
      await tx.query("INSERT INTO notes (body) VALUES ('second')");
      return 'done';
    });
    await inside;

    let answered = false;
    // On one connection this would run inside the open transaction and see one row, if it ran now.
    const outside = inWorker.query<{ n: number }>('SELECT count(*)::int AS n FROM notes').then((result) => {
      answered = true;
      return result;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(answered).toBe(false);

    resume();
    expect(await committed).toBe('done');
    expect((await outside).rows).toEqual([{ n: 2 }]);
  });

  it('rolls a failed transaction back and lets waiting statements through', async () => {
    await inWorker.query('CREATE TABLE drafts (body text)');
    let escaped: Queryable | undefined;
    const failed = inWorker.transaction(async (tx) => {
      await tx.query("INSERT INTO drafts (body) VALUES ('lost')");
      escaped = tx;
      throw new Error('the caller changed its mind');
    });
    const outside = inWorker.query<{ n: number }>('SELECT count(*)::int AS n FROM drafts');
    const error = await failure(failed);
    expect(error.message).toBe('Database error: the caller changed its mind');
    expect((await outside).rows).toEqual([{ n: 0 }]);
    // A handle kept past the end of its transaction must not run statements outside it.
    expect((await failure(escaped!.query("INSERT INTO drafts (body) VALUES ('stray')"))).code).toBe(
      'database',
    );
    expect((await inWorker.query<{ n: number }>('SELECT count(*)::int AS n FROM drafts')).rows).toEqual([
      { n: 0 },
    ]);
  });
});

describe('the worker thread’s life', () => {
  it('fails waiting and later statements with retryable unavailable errors when the worker dies', async () => {
    const { db, worker } = await openHeld();
    await db.query('SELECT 1');
    const waiting = db.query('SELECT pg_sleep(0.2)');
    await worker.terminate();

    for (const error of [
      await failure(waiting),
      await failure(db.query('SELECT 1')),
      await failure(db.transaction((tx) => tx.query('SELECT 1'))),
    ]) {
      expect(error.code).toBe('unavailable');
      expect(error.retryable).toBe(true);
    }
    await db.close();
    expect(workerHandles()).toEqual([]);
  });

  it('holds the process open only while a statement is waiting, and not at all once closed', async () => {
    expect(workerHandles()).toEqual([]);
    const { db, worker } = await openHeld();
    const exited = new Promise((resolve) => worker.once('exit', resolve));

    // Idle, an open database does not keep the proxy alive (neither does an in-thread PGlite).
    expect(workerHandles()).toEqual([]);
    const pending = db.query('SELECT 1');
    expect(workerHandles()).not.toEqual([]);
    await pending;
    expect(workerHandles()).toEqual([]);

    await db.close();
    expect(await exited).toBe(0);
    expect(workerHandles()).toEqual([]);
    await db.close(); // closing twice is harmless

    const late = await failure(db.query('SELECT 1'));
    expect(late.code).toBe('database');
    expect(late.retryable).toBe(false);
  });

  it('keeps the process alive from close() until the worker has exited', async () => {
    const { db, worker } = await openHeld();
    await db.query('SELECT 1');
    // Listeners run in order: this one sees each reply just after the database has settled it.
    const heldAfterReply: boolean[] = [];
    worker.on('message', () => heldAfterReply.push(workerHandles().length > 0));
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    await db.close();
    // The close reply came before the exit; a program whose last await is close() must still hear the exit.
    expect(heldAfterReply).toEqual([true]);
    expect(await exited).toBe(0);
    expect(workerHandles()).toEqual([]);
  });

  it('lets an open transaction commit before closing', async () => {
    const { db } = await openHeld();
    await db.query('CREATE TABLE notes (body text)');
    let resume!: () => void;
    const paused = new Promise<void>((resolve) => {
      resume = resolve;
    });
    const committed = db.transaction(async (tx) => {
      await paused;
      await tx.query("INSERT INTO notes (body) VALUES ('kept')");
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    const closed = db.close();
    resume();
    await committed;
    await closed;
  });
});

describe('workerExecArgv', () => {
  it('keeps the host’s Node options but none about its entry point (V8’s are left out when opening)', () => {
    expect(
      workerExecArgv([
        '--enable-source-maps',
        '--input-type=module',
        '--max-old-space-size=512',
        '-e',
        'await main()',
        '--input-type',
        'commonjs',
        '--print=1',
        '--conditions=development',
      ]),
    ).toEqual(['--enable-source-maps', '--max-old-space-size=512', '--conditions=development']);
  });
});
