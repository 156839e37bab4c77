import type { Queryable } from '../store/database.js';
import { fromBytes } from './embed.js';

/** One store's vectors of one model, as a matrix (row i is chunk i), with what each row is. */
interface StoreVectors {
  /** Changes whenever the store's set of embedded files does (see {@link VectorIndex.scores}). */
  stamp: string;
  dims: number;
  fileIds: string[];
  positions: number[];
  /** `fileId/position` → row. */
  rows: Map<string, number>;
  matrix: Float32Array;
}

/** The cosine similarity of a query with every chunk of some stores. */
export interface Scored {
  /** The best chunks, best first, at most `limit`, only from `allowed` files (`store/file` keys) when given. */
  top(
    limit: number,
    allowed: ReadonlySet<string> | null,
  ): Array<{ vectorStoreId: string; fileId: string; position: number; cosine: number }>;
  /** A chunk's cosine, or 0 when it has no vector. */
  cosine(vectorStoreId: string, fileId: string, position: number): number;
}

/**
 * Exact cosine search in-process over the vectors stored with the chunks (no pgvector on PGlite or on
 * Debian's PostgreSQL here). Each store's vectors are read once into one Float32Array and kept, least
 * recently used first out beyond `maxFloats` (default 32M floats, 128 MB: ~20k chunks of 1536 dimensions);
 * a cheap query per search tells whether a store changed since (by any instance). Cost: one pass over every
 * vector of the searched stores per query (see docs/benchmarks.md for the measured figures).
 */
export class VectorIndex {
  readonly #cache = new Map<string, StoreVectors>();
  #floats = 0;

  constructor(readonly maxFloats = 32 * 1024 * 1024) {}

  async scores(
    db: Queryable,
    vectorStoreIds: readonly string[],
    model: string,
    query: Float32Array,
  ): Promise<Scored> {
    const stores = new Map<string, { vectors: StoreVectors; scores: Float32Array }>();
    for (const id of vectorStoreIds) {
      const vectors = await this.#load(db, id, model);
      if (vectors.dims !== query.length) continue; // another model's size: nothing comparable
      stores.set(id, { vectors, scores: dotAll(vectors.matrix, vectors.dims, query) });
    }
    return {
      top(limit, allowed) {
        const found: Array<{ vectorStoreId: string; fileId: string; position: number; cosine: number }> = [];
        // Unfiltered, only rows at or above the limit-th best score can make it: found with a native sort
        // of the scores rather than an object per row.
        const cutoff = allowed ? Number.NEGATIVE_INFINITY : nthBest([...stores.values()], limit);
        for (const [vectorStoreId, { vectors, scores }] of stores) {
          for (let row = 0; row < scores.length; row++) {
            if (scores[row]! < cutoff) continue;
            const fileId = vectors.fileIds[row]!;
            if (allowed && !allowed.has(`${vectorStoreId}/${fileId}`)) continue;
            found.push({ vectorStoreId, fileId, position: vectors.positions[row]!, cosine: scores[row]! });
          }
        }
        return found.sort((a, b) => b.cosine - a.cosine).slice(0, limit);
      },
      cosine(vectorStoreId, fileId, position) {
        const store = stores.get(vectorStoreId);
        const row = store?.vectors.rows.get(`${fileId}/${position}`);
        return row === undefined ? 0 : store!.scores[row]!;
      },
    };
  }

  async #load(db: Queryable, id: string, model: string): Promise<StoreVectors> {
    // seq is an identity: re-indexed or new files have new, larger ones, so these three change together.
    const { rows: stamps } = await db.query<{ n: string | number; s: string | number; m: string | number }>(
      `SELECT count(*) AS n, coalesce(sum(seq), 0) AS s, coalesce(max(seq), 0) AS m
        FROM parley_vector_store_files WHERE vector_store_id = $1 AND status = 'completed' AND embedding_model = $2`,
      [id, model],
    );
    const stamp = `${model}:${stamps[0]?.n}:${stamps[0]?.s}:${stamps[0]?.m}`;
    const cached = this.#cache.get(id);
    if (cached?.stamp === stamp) {
      this.#cache.delete(id); // most recently used last
      this.#cache.set(id, cached);
      return cached;
    }
    const { rows } = await db.query<{ file_id: string; position: number; embedding: Uint8Array }>(
      `SELECT c.file_id, c.position, c.embedding FROM parley_chunks AS c
        JOIN parley_vector_store_files AS a ON a.vector_store_id = c.vector_store_id AND a.file_id = c.file_id
        WHERE c.vector_store_id = $1 AND a.status = 'completed' AND a.embedding_model = $2
          AND c.embedding IS NOT NULL`,
      [id, model],
    );
    const dims = rows[0] ? rows[0].embedding.byteLength >> 2 : 0;
    const usable = rows.filter((row) => row.embedding.byteLength === dims * 4);
    const matrix = new Float32Array(usable.length * dims);
    for (const [i, row] of usable.entries()) matrix.set(fromBytes(row.embedding), i * dims);
    const vectors: StoreVectors = {
      stamp,
      dims,
      fileIds: usable.map((row) => row.file_id),
      positions: usable.map((row) => Number(row.position)),
      rows: new Map(usable.map((row, i) => [`${row.file_id}/${row.position}`, i])),
      matrix,
    };
    this.#forget(id);
    this.#cache.set(id, vectors);
    this.#floats += matrix.length;
    for (const [oldest] of this.#cache) {
      if (this.#floats <= this.maxFloats || oldest === id) break;
      this.#forget(oldest);
    }
    return vectors;
  }

  #forget(id: string): void {
    const old = this.#cache.get(id);
    if (!old) return;
    this.#floats -= old.matrix.length;
    this.#cache.delete(id);
  }
}

/** The `n`-th best of all scores (or -∞ when there are fewer). */
function nthBest(stores: ReadonlyArray<{ scores: Float32Array }>, n: number): number {
  const total = stores.reduce((sum, store) => sum + store.scores.length, 0);
  if (total <= n) return Number.NEGATIVE_INFINITY;
  const all = new Float32Array(total);
  let at = 0;
  for (const { scores } of stores) {
    all.set(scores, at);
    at += scores.length;
  }
  return all.sort()[total - n]!;
}

/** Every row's dot product with `query` (rows and query are unit vectors: the cosine). */
function dotAll(matrix: Float32Array, dims: number, query: Float32Array): Float32Array {
  const out = new Float32Array(dims === 0 ? 0 : matrix.length / dims);
  for (let row = 0, offset = 0; row < out.length; row++, offset += dims) {
    let sum = 0;
    for (let i = 0; i < dims; i++) sum += matrix[offset + i]! * query[i]!;
    out[row] = sum;
  }
  return out;
}
