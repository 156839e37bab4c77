import { nowSeconds } from '../ids.js';
import type { Database, Queryable } from '../store/database.js';
import type { Owner, Page, PageQuery } from '../store/types.js';
import type {
  Attributes,
  ExpiresAfter,
  FileBatch,
  FileCounts,
  FileError,
  FileObject,
  StaticChunking,
  VectorStore,
  VectorStoreFile,
  VectorStoreFileStatus,
} from './types.js';

/** A stored file's description, without its bytes. */
export interface StoredFile extends FileObject {
  owner: Owner;
  mime: string;
}

/** What a vector store keeps beside its counts (the fields a client sets). */
export interface VectorStoreFields {
  name: string;
  description: string | null;
  metadata: Record<string, string>;
  expires_after: ExpiresAfter | null;
}

/** A vector store row before its counts are added. */
interface StoreRow {
  id: string;
  owner: string;
  created_at: number | string;
  last_active_at: number | string;
  data: string;
}

interface FileRow {
  id: string;
  owner: string;
  created_at: number | string;
  expires_at: number | string | null;
  filename: string;
  purpose: string;
  mime: string;
  bytes: number | string;
}

interface AttachedRow {
  vector_store_id: string;
  file_id: string;
  created_at: number | string;
  status: string;
  usage_bytes: number | string;
  last_error: string | null;
  chunking: string;
  attributes: string | null;
}

interface CountRow {
  key: string;
  status: string;
  n: number | string;
  bytes: number | string | null;
}

const FILE_COLUMNS = 'id, owner, created_at, expires_at, filename, purpose, mime, bytes';
const ATTACHED_COLUMNS = `vector_store_id, file_id, created_at, status, usage_bytes, last_error::text AS last_error,
  chunking::text AS chunking, attributes::text AS attributes`;
const STORE_COLUMNS = 'id, owner, created_at, last_active_at, data::text AS data';
/** A file past its `expires_at` is gone for every read, whether or not it was deleted yet. */
const live = (now: string) => `(expires_at IS NULL OR expires_at > ${now})`;

const num = (value: number | string | null | undefined): number => Number(value ?? 0);

function fileObject(row: FileRow): StoredFile {
  return {
    id: row.id,
    object: 'file',
    bytes: num(row.bytes),
    created_at: num(row.created_at),
    expires_at: row.expires_at === null ? null : num(row.expires_at),
    filename: row.filename,
    purpose: 'assistants',
    status: 'processed',
    status_details: null,
    owner: row.owner,
    mime: row.mime,
  };
}

/** The wire object of a stored file (the owner and MIME type stay inside). */
export function publicFile(file: StoredFile): FileObject {
  const { owner: _owner, mime: _mime, ...wire } = file;
  return wire;
}

function attachedObject(row: AttachedRow): VectorStoreFile {
  return {
    id: row.file_id,
    object: 'vector_store.file',
    usage_bytes: num(row.usage_bytes),
    created_at: num(row.created_at),
    vector_store_id: row.vector_store_id,
    status: row.status as VectorStoreFileStatus,
    last_error: row.last_error === null ? null : (JSON.parse(row.last_error) as FileError),
    chunking_strategy: JSON.parse(row.chunking) as StaticChunking,
    attributes: row.attributes === null ? null : (JSON.parse(row.attributes) as Attributes),
  };
}

const emptyCounts = (): FileCounts => ({ in_progress: 0, completed: 0, failed: 0, cancelled: 0, total: 0 });

/**
 * Where files, vector stores, their attached files, file batches and chunks are kept: plain SQL over the
 * proxy's own database (PGlite or PostgreSQL), every value bound. Owner checks happen here, in the `WHERE`
 * of each statement: a row of another owner is never read or written.
 */
export class KnowledgeStore {
  constructor(readonly db: Database) {}

  // ── files ────────────────────────────────────────────────────────────────────────────────────────────

  /** How many live files an owner keeps, and their bytes in all. */
  async usage(owner: Owner): Promise<{ files: number; bytes: number }> {
    const { rows } = await this.db.query<{ files: number | string; bytes: number | string | null }>(
      `SELECT count(*) AS files, sum(bytes) AS bytes FROM parley_files WHERE owner = $1 AND ${live('$2')}`,
      [owner, nowSeconds()],
    );
    return { files: num(rows[0]?.files), bytes: num(rows[0]?.bytes) };
  }

  /** Deletes an owner's files whose time is up (their attachments and chunks go with them). */
  async dropExpired(owner: Owner): Promise<void> {
    await this.db.query('DELETE FROM parley_files WHERE owner = $1 AND expires_at <= $2', [
      owner,
      nowSeconds(),
    ]);
  }

  async insertFile(file: StoredFile, content: Uint8Array): Promise<void> {
    await this.db.query(
      `INSERT INTO parley_files (id, owner, created_at, expires_at, filename, purpose, mime, bytes, content)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        file.id,
        file.owner,
        file.created_at,
        file.expires_at,
        file.filename,
        file.purpose,
        file.mime,
        file.bytes,
        content,
      ],
    );
  }

  async getFile(owners: readonly Owner[], id: string): Promise<StoredFile | undefined> {
    const { rows } = await this.db.query<FileRow>(
      `SELECT ${FILE_COLUMNS} FROM parley_files WHERE id = $1 AND owner = ANY($2::text[]) AND ${live('$3')}`,
      [id, [...owners], nowSeconds()],
    );
    return rows[0] && fileObject(rows[0]);
  }

  /** A file's bytes and MIME type, whoever owns it (callers check ownership first). */
  async fileSource(id: string): Promise<{ mime: string; content: Uint8Array } | undefined> {
    const { rows } = await this.db.query<{ mime: string; content: Uint8Array }>(
      'SELECT mime, content FROM parley_files WHERE id = $1',
      [id],
    );
    return rows[0];
  }

  listFiles(owner: Owner, page: PageQuery): Promise<Page<StoredFile>> {
    return this.#page<FileRow, StoredFile>(
      'parley_files',
      'id',
      FILE_COLUMNS,
      [['owner', owner]],
      page,
      fileObject,
      (bind) => [live(bind(nowSeconds()))],
    );
  }

  async deleteFile(owner: Owner, id: string): Promise<boolean> {
    const { rowCount } = await this.db.query('DELETE FROM parley_files WHERE id = $1 AND owner = $2', [
      id,
      owner,
    ]);
    return rowCount > 0;
  }

  // ── vector stores ────────────────────────────────────────────────────────────────────────────────────

  async insertVectorStore(
    owner: Owner,
    id: string,
    createdAt: number,
    fields: VectorStoreFields,
  ): Promise<void> {
    await this.db.query(
      `INSERT INTO parley_vector_stores (id, owner, created_at, last_active_at, data)
        VALUES ($1, $2, $3, $3, $4::json)`,
      [id, owner, createdAt, JSON.stringify(fields)],
    );
  }

  /** A vector store with its file counts and usage, if `owners` may see it. */
  async getVectorStore(
    owners: readonly Owner[],
    id: string,
  ): Promise<(VectorStore & { owner: Owner }) | undefined> {
    const { rows } = await this.db.query<StoreRow>(
      `SELECT ${STORE_COLUMNS} FROM parley_vector_stores WHERE id = $1 AND owner = ANY($2::text[])`,
      [id, [...owners]],
    );
    const row = rows[0];
    if (!row) return undefined;
    const [store] = await this.#withCounts([row]);
    return { ...store!, owner: row.owner };
  }

  /** The ids of the stores `owner` keeps whose id starts with `prefix` (the game's lore stores). */
  async vectorStoreIdsStartingWith(owner: Owner, prefix: string): Promise<string[]> {
    const { rows } = await this.db.query<{ id: string }>(
      'SELECT id FROM parley_vector_stores WHERE owner = $1 AND starts_with(id, $2) ORDER BY id',
      [owner, prefix],
    );
    return rows.map((row) => row.id);
  }

  /** The fields a client set on a store (for a modify). */
  async vectorStoreFields(owner: Owner, id: string): Promise<VectorStoreFields | undefined> {
    const { rows } = await this.db.query<{ data: string }>(
      'SELECT data::text AS data FROM parley_vector_stores WHERE id = $1 AND owner = $2',
      [id, owner],
    );
    return rows[0] && (JSON.parse(rows[0].data) as VectorStoreFields);
  }

  async listVectorStores(owner: Owner, page: PageQuery): Promise<Page<VectorStore>> {
    const raw = await this.#page<StoreRow, StoreRow>(
      'parley_vector_stores',
      'id',
      STORE_COLUMNS,
      [['owner', owner]],
      page,
      (row) => row,
    );
    return { data: await this.#withCounts(raw.data), has_more: raw.has_more };
  }

  async updateVectorStore(owner: Owner, id: string, fields: VectorStoreFields): Promise<boolean> {
    const { rowCount } = await this.db.query(
      'UPDATE parley_vector_stores SET data = $3::json WHERE id = $1 AND owner = $2',
      [id, owner, JSON.stringify(fields)],
    );
    return rowCount > 0;
  }

  /** Marks a store used now: its `expires_after` counts from here. */
  async touch(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.query('UPDATE parley_vector_stores SET last_active_at = $2 WHERE id = ANY($1::text[])', [
      [...ids],
      nowSeconds(),
    ]);
  }

  async deleteVectorStore(owner: Owner, id: string): Promise<boolean> {
    const { rowCount } = await this.db.query(
      'DELETE FROM parley_vector_stores WHERE id = $1 AND owner = $2',
      [id, owner],
    );
    return rowCount > 0;
  }

  async #withCounts(rows: readonly StoreRow[]): Promise<VectorStore[]> {
    const counts = await this.#counts(
      'vector_store_id',
      rows.map((row) => row.id),
    );
    const now = nowSeconds();
    return rows.map((row) => {
      const fields = JSON.parse(row.data) as VectorStoreFields;
      const tally = counts.get(row.id) ?? { counts: emptyCounts(), bytes: 0 };
      const lastActive = num(row.last_active_at);
      const expiresAt = fields.expires_after ? lastActive + fields.expires_after.days * 86_400 : null;
      return {
        id: row.id,
        object: 'vector_store',
        created_at: num(row.created_at),
        name: fields.name,
        usage_bytes: tally.bytes,
        file_counts: tally.counts,
        status:
          expiresAt !== null && expiresAt <= now
            ? 'expired'
            : tally.counts.in_progress > 0
              ? 'in_progress'
              : 'completed',
        expires_after: fields.expires_after,
        expires_at: expiresAt,
        last_active_at: lastActive,
        metadata: fields.metadata,
      };
    });
  }

  /** File counts (and usage bytes) grouped by a store's or a batch's id. */
  async #counts(
    by: 'vector_store_id' | 'batch_id',
    keys: readonly string[],
  ): Promise<Map<string, { counts: FileCounts; bytes: number }>> {
    const out = new Map<string, { counts: FileCounts; bytes: number }>();
    if (keys.length === 0) return out;
    const { rows } = await this.db.query<CountRow>(
      `SELECT ${by} AS key, status, count(*) AS n, sum(usage_bytes) AS bytes FROM parley_vector_store_files
        WHERE ${by} = ANY($1::text[]) GROUP BY ${by}, status`,
      [[...keys]],
    );
    for (const row of rows) {
      const entry = out.get(row.key) ?? { counts: emptyCounts(), bytes: 0 };
      const n = num(row.n);
      const status = row.status as VectorStoreFileStatus;
      entry.counts[status] += n;
      entry.counts.total += n;
      entry.bytes += num(row.bytes);
      out.set(row.key, entry);
    }
    return out;
  }

  // ── attached files ───────────────────────────────────────────────────────────────────────────────────

  /**
   * Attaches a file to a store, to be indexed (`in_progress`). Attaching a file the store already has
   * keeps its row (and its index) and only moves it into `batchId`'s batch and sets new attributes.
   */
  async attach(
    owner: Owner,
    attached: {
      vectorStoreId: string;
      fileId: string;
      batchId: string | null;
      createdAt: number;
      chunking: StaticChunking;
      attributes: Attributes | null;
    },
  ): Promise<VectorStoreFile> {
    const { rows } = await this.db.query<AttachedRow>(
      `INSERT INTO parley_vector_store_files AS t
          (vector_store_id, file_id, owner, batch_id, created_at, status, chunking, attributes)
        VALUES ($1, $2, $3, $4, $5, 'in_progress', $6::json, $7::json)
        ON CONFLICT (vector_store_id, file_id) DO UPDATE
          SET batch_id = COALESCE(EXCLUDED.batch_id, t.batch_id),
            attributes = COALESCE(EXCLUDED.attributes, t.attributes)
        RETURNING ${ATTACHED_COLUMNS}`,
      [
        attached.vectorStoreId,
        attached.fileId,
        owner,
        attached.batchId,
        attached.createdAt,
        JSON.stringify(attached.chunking),
        attached.attributes === null ? null : JSON.stringify(attached.attributes),
      ],
    );
    return attachedObject(rows[0]!);
  }

  async getAttached(vectorStoreId: string, fileId: string): Promise<VectorStoreFile | undefined> {
    const { rows } = await this.db.query<AttachedRow>(
      `SELECT ${ATTACHED_COLUMNS} FROM parley_vector_store_files WHERE vector_store_id = $1 AND file_id = $2`,
      [vectorStoreId, fileId],
    );
    return rows[0] && attachedObject(rows[0]);
  }

  listAttached(
    vectorStoreId: string,
    page: PageQuery,
    filter: { status?: VectorStoreFileStatus | undefined; batchId?: string | undefined } = {},
  ): Promise<Page<VectorStoreFile>> {
    const scope: Array<[string, string]> = [['vector_store_id', vectorStoreId]];
    if (filter.batchId !== undefined) scope.push(['batch_id', filter.batchId]);
    if (filter.status !== undefined) scope.push(['status', filter.status]);
    return this.#page('parley_vector_store_files', 'file_id', ATTACHED_COLUMNS, scope, page, attachedObject);
  }

  async setAttributes(vectorStoreId: string, fileId: string, attributes: Attributes | null): Promise<void> {
    await this.db.query(
      'UPDATE parley_vector_store_files SET attributes = $3::json WHERE vector_store_id = $1 AND file_id = $2',
      [vectorStoreId, fileId, attributes === null ? null : JSON.stringify(attributes)],
    );
  }

  async detach(vectorStoreId: string, fileId: string): Promise<boolean> {
    const { rowCount } = await this.db.query(
      'DELETE FROM parley_vector_store_files WHERE vector_store_id = $1 AND file_id = $2',
      [vectorStoreId, fileId],
    );
    return rowCount > 0;
  }

  /** What indexing an attached file needs, while it is still waiting to be indexed. */
  async source(
    vectorStoreId: string,
    fileId: string,
  ): Promise<{ mime: string; content: Uint8Array; chunking: StaticChunking; owner: Owner } | undefined> {
    const { rows } = await this.db.query<{
      mime: string;
      content: Uint8Array;
      chunking: string;
      owner: string;
    }>(
      `SELECT f.mime, f.content, a.chunking::text AS chunking, s.owner
        FROM parley_vector_store_files AS a JOIN parley_files AS f ON f.id = a.file_id
          JOIN parley_vector_stores AS s ON s.id = a.vector_store_id
        WHERE a.vector_store_id = $1 AND a.file_id = $2 AND a.status = 'in_progress'`,
      [vectorStoreId, fileId],
    );
    const row = rows[0];
    return (
      row && {
        mime: row.mime,
        content: row.content,
        chunking: JSON.parse(row.chunking) as StaticChunking,
        owner: row.owner,
      }
    );
  }

  /** Every attachment still waiting to be indexed, oldest first (to resume after a restart). */
  async pending(): Promise<Array<{ vectorStoreId: string; fileId: string }>> {
    const { rows } = await this.db.query<{ vector_store_id: string; file_id: string }>(
      `SELECT vector_store_id, file_id FROM parley_vector_store_files WHERE status = 'in_progress'
        ORDER BY created_at, seq`,
    );
    return rows.map((row) => ({ vectorStoreId: row.vector_store_id, fileId: row.file_id }));
  }

  /**
   * Stores a file's chunks and marks it `completed`, in one transaction, if it is still waiting: a file
   * detached, cancelled or deleted meanwhile is left as it is. Indexing twice replaces the chunks.
   */
  async complete(
    vectorStoreId: string,
    fileId: string,
    chunks: readonly string[],
    usageBytes: number,
    embeddings?: { model: string; vectors: readonly Uint8Array[] },
  ): Promise<void> {
    await this.db.transaction(async (tx: Queryable) => {
      const { rowCount } = await tx.query(
        `UPDATE parley_vector_store_files
          SET status = 'completed', usage_bytes = $3, last_error = NULL, embedding_model = $4
          WHERE vector_store_id = $1 AND file_id = $2 AND status = 'in_progress'`,
        [vectorStoreId, fileId, usageBytes, embeddings?.model ?? null],
      );
      if (rowCount === 0) return;
      await tx.query('DELETE FROM parley_chunks WHERE vector_store_id = $1 AND file_id = $2', [
        vectorStoreId,
        fileId,
      ]);
      // In slices, so that no statement carries a whole book of parameters at once.
      for (let from = 0; from < chunks.length; from += 500) {
        const slice = chunks.slice(from, from + 500);
        // Vectors travel as hex text: arrays of bytea bind alike on PGlite and node-postgres that way.
        const vectors = embeddings?.vectors
          .slice(from, from + 500)
          .map((vector) => Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('hex'));
        await tx.query(
          `INSERT INTO parley_chunks (vector_store_id, file_id, position, text, embedding)
            SELECT $1, $2, position, text, decode(embedding, 'hex')
            FROM unnest($3::int[], $4::text[], $5::text[]) AS c (position, text, embedding)`,
          [vectorStoreId, fileId, slice.map((_, i) => from + i), slice, vectors ?? slice.map(() => null)],
        );
      }
    });
  }

  /** Marks a waiting file `failed` with why (nothing else of the store changes). */
  async fail(vectorStoreId: string, fileId: string, error: FileError): Promise<void> {
    await this.db.query(
      `UPDATE parley_vector_store_files SET status = 'failed', last_error = $3::json
        WHERE vector_store_id = $1 AND file_id = $2 AND status = 'in_progress'`,
      [vectorStoreId, fileId, JSON.stringify(error)],
    );
  }

  // ── file batches ─────────────────────────────────────────────────────────────────────────────────────

  async insertBatch(owner: Owner, id: string, vectorStoreId: string, createdAt: number): Promise<void> {
    await this.db.query(
      'INSERT INTO parley_file_batches (id, owner, vector_store_id, created_at) VALUES ($1, $2, $3, $4)',
      [id, owner, vectorStoreId, createdAt],
    );
  }

  async getBatch(owner: Owner, vectorStoreId: string, id: string): Promise<FileBatch | undefined> {
    const { rows } = await this.db.query<{ created_at: number | string; cancelled: boolean }>(
      'SELECT created_at, cancelled FROM parley_file_batches WHERE id = $1 AND vector_store_id = $2 AND owner = $3',
      [id, vectorStoreId, owner],
    );
    const row = rows[0];
    if (!row) return undefined;
    const counts = (await this.#counts('batch_id', [id])).get(id)?.counts ?? emptyCounts();
    return {
      id,
      object: 'vector_store.files_batch',
      created_at: num(row.created_at),
      vector_store_id: vectorStoreId,
      status:
        counts.in_progress > 0
          ? 'in_progress'
          : row.cancelled
            ? 'cancelled'
            : counts.total > 0 && counts.failed === counts.total
              ? 'failed'
              : 'completed',
      file_counts: counts,
    };
  }

  /** Stops a batch: its files not yet indexed become `cancelled` (those done stay searchable). */
  async cancelBatch(id: string): Promise<void> {
    await this.db.transaction(async (tx: Queryable) => {
      await tx.query('UPDATE parley_file_batches SET cancelled = true WHERE id = $1', [id]);
      await tx.query(
        `UPDATE parley_vector_store_files SET status = 'cancelled' WHERE batch_id = $1 AND status = 'in_progress'`,
        [id],
      );
    });
  }

  /**
   * One page of a list, as the Assistants lists page (see `listPage` in store/sql-store.ts): ordered by
   * `(created_at, seq)`, `after`/`before` exclusive cursors located within the same scope. Only names
   * from this file enter the SQL text; every value is bound.
   */
  async #page<Row extends object, T>(
    table: 'parley_files' | 'parley_vector_stores' | 'parley_vector_store_files',
    idColumn: 'id' | 'file_id',
    columns: string,
    scope: ReadonlyArray<readonly [string, string]>,
    page: PageQuery,
    map: (row: Row) => T,
    extra: (bind: (value: unknown) => string) => string[] = () => [],
  ): Promise<Page<T>> {
    const params: unknown[] = [];
    const bind = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const bound = scope.map(([column, value]) => [column, bind(value)] as const);
    const where = [...bound.map(([column, param]) => `o.${column} = ${param}`), ...extra(bind)];
    const cursorScope = bound.map(([column, param]) => ` AND c.${column} = ${param}`).join('');
    const cursor = (id: string, operator: '<' | '>') =>
      `(o.created_at, o.seq) ${operator} (SELECT c.created_at, c.seq FROM ${table} AS c WHERE c.${idColumn} = ${bind(id)}${cursorScope})`;
    const ascending = page.order === 'asc';
    if (page.after !== undefined) where.push(cursor(page.after, ascending ? '>' : '<'));
    if (page.before !== undefined) where.push(cursor(page.before, ascending ? '<' : '>'));
    const backwards = page.after === undefined && page.before !== undefined;
    const direction = ascending !== backwards ? 'ASC' : 'DESC';
    const qualified = columns
      .split(',')
      .map((column) => `o.${column.trim()}`)
      .join(', ');
    const { rows } = await this.db.query<Row>(
      `SELECT ${qualified} FROM ${table} AS o WHERE ${where.join(' AND ')}
        ORDER BY o.created_at ${direction}, o.seq ${direction} LIMIT ${bind(page.limit + 1)}`,
      params,
    );
    const data = rows.slice(0, page.limit).map(map);
    if (backwards) data.reverse();
    return { data, has_more: rows.length > page.limit };
  }
}
