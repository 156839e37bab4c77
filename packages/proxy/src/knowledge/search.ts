import { nowSeconds } from '../ids.js';
import { GAME_OWNER } from '../policy/policy.js';
import type { Queryable } from '../store/database.js';
import type { Owner } from '../store/types.js';
import type { Embedder } from './embed.js';
import type { Attributes, SearchResult } from './types.js';
import type { VectorIndex } from './vectors.js';

/** OpenAI's comparison filter on a file's attributes. */
export interface ComparisonFilter {
  type: 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte' | 'in' | 'nin';
  key: string;
  value: string | number | boolean | Array<string | number>;
}

/** OpenAI's `and`/`or` of filters. */
export interface CompoundFilter {
  type: 'and' | 'or';
  filters: Filter[];
}

export type Filter = ComparisonFilter | CompoundFilter;

/** How many passages and how good, for {@link searchKnowledge}. */
export interface SearchOptions {
  /** 1..50; OpenAI's default is 10 for the search endpoint (20 for the file_search tool). */
  maxResults?: number | undefined;
  /** Passages scoring below this (0..1) are left out. */
  scoreThreshold?: number | undefined;
  /** Only files whose attributes pass. */
  filters?: Filter | undefined;
  /**
   * An embedding model and the index of its vectors ({@link Knowledge.semantic}): the ranking becomes
   * hybrid, half full-text score and half cosine similarity. Without it, or when embedding the query
   * fails, full-text search alone ranks.
   */
  semantic?: Semantic | undefined;
}

/** What hybrid ranking needs: the model that embedded the chunks, and their vectors. */
export interface Semantic {
  embedder: Embedder;
  vectors: VectorIndex;
}

/** The text search configuration of the chunks' generated tsvector (migration 4): queries must match it. */
const TEXT_SEARCH_CONFIG = 'english';

/*
 * websearch_to_tsquery reads a question as "every word must occur", which a natural question rarely
 * meets in one passage; its `&`s become `|`s so that any word counts and ts_rank_cd ranks passages with
 * more of them, closer together, higher. Quoted phrases and `-word` keep their meaning. Normalisation 32
 * maps the rank to rank/(rank+1), a score between 0 and 1 as OpenAI's.
 */
const SEARCH = `SELECT c.vector_store_id, c.file_id, c.position, f.filename, a.attributes::text AS attributes, c.text,
    ts_rank_cd(c.tsv, q, 32) AS score
  FROM parley_chunks AS c
    JOIN parley_vector_store_files AS a ON a.vector_store_id = c.vector_store_id AND a.file_id = c.file_id
    JOIN parley_files AS f ON f.id = c.file_id,
    CAST(replace(CAST(websearch_to_tsquery('${TEXT_SEARCH_CONFIG}', $1) AS text), ' & ', ' | ') AS tsquery) AS q
  WHERE c.vector_store_id = ANY($2::text[]) AND a.status = 'completed' AND c.tsv @@ q
    AND ($4::text[] IS NULL OR c.vector_store_id || '/' || c.file_id = ANY($4::text[]))
    AND ts_rank_cd(c.tsv, q, 32) >= $5
  ORDER BY score DESC, c.file_id, c.position
  LIMIT $3`;

interface Hit {
  vector_store_id: string;
  position: number;
  file_id: string;
  filename: string;
  attributes: string | null;
  text: string;
  score: number | string;
}

/**
 * Searches the caller's vector stores (and the game's) for passages about `query`, ranked by PostgreSQL
 * full-text search: one result per matching chunk, best first. Stores the caller may not see are skipped
 * as if they did not exist; files not yet indexed are not searched. The searched stores count as used
 * (their `expires_after` restarts).
 *
 * This is what the run engine calls for the `file_search` tool; `POST /v1/vector_stores/{id}/search`
 * answers with the same results.
 *
 * @example
 * ```ts
 * const passages = await searchKnowledge(store.database(), player, ['vs_abc'], 'Who founded Varn?', { maxResults: 5 });
 * // [{ file_id: 'file-…', filename: 'chronicle.md', score: 0.41, attributes: null, content: [{ type: 'text', text: '…' }] }]
 * ```
 */
export async function searchKnowledge(
  db: Queryable,
  owner: Owner,
  vectorStoreIds: readonly string[],
  query: string | readonly string[],
  options: SearchOptions = {},
): Promise<SearchResult[]> {
  const text = typeof query === 'string' ? query : query.join(' ');
  const maxResults = Math.min(Math.max(Math.trunc(options.maxResults ?? 10), 1), 50);
  if (vectorStoreIds.length === 0 || text.trim() === '') return [];
  const { rows: visible } = await db.query<{ id: string }>(
    'SELECT id FROM parley_vector_stores WHERE id = ANY($1::text[]) AND owner = ANY($2::text[])',
    [[...new Set(vectorStoreIds)], [owner, GAME_OWNER]],
  );
  const ids = visible.map((row) => row.id);
  if (ids.length === 0) return [];
  const allowed = options.filters ? await filtered(db, ids, options.filters) : null;
  if (allowed !== null && allowed.length === 0) return [];
  const threshold = options.scoreThreshold ?? 0;
  const hybrid =
    options.semantic &&
    (await hybridSearch(db, ids, text, maxResults, threshold, allowed, options.semantic, owner));
  const rows = hybrid ?? (await db.query<Hit>(SEARCH, [text, ids, maxResults, allowed, threshold])).rows;
  await db.query('UPDATE parley_vector_stores SET last_active_at = $2 WHERE id = ANY($1::text[])', [
    ids,
    nowSeconds(),
  ]);
  return rows.map((row) => ({
    file_id: row.file_id,
    filename: row.filename,
    score: Number(row.score),
    attributes: row.attributes === null ? null : (JSON.parse(row.attributes) as Attributes),
    content: [{ type: 'text', text: row.text }],
  }));
}

/** Candidates each ranking brings before they are merged. */
const CANDIDATES = 50;

/** The chunks named by key, with their file's name and attributes (for hits full-text search did not bring). */
const CHUNKS = `SELECT c.vector_store_id, c.file_id, c.position, f.filename, a.attributes::text AS attributes, c.text,
    0 AS score
  FROM unnest($1::text[], $2::text[], $3::int[]) AS k (vector_store_id, file_id, position)
    JOIN parley_chunks AS c
      ON c.vector_store_id = k.vector_store_id AND c.file_id = k.file_id AND c.position = k.position
    JOIN parley_vector_store_files AS a ON a.vector_store_id = c.vector_store_id AND a.file_id = c.file_id
    JOIN parley_files AS f ON f.id = c.file_id`;

/**
 * Full-text and vector candidates merged: each chunk scores half its full-text score and half its cosine
 * (below zero counts as zero), both in 0..1. Undefined when the query cannot be embedded (the caller falls
 * back on full text).
 */
async function hybridSearch(
  db: Queryable,
  ids: readonly string[],
  text: string,
  maxResults: number,
  threshold: number,
  allowed: string[] | null,
  semantic: Semantic,
  player: Owner,
): Promise<Hit[] | undefined> {
  let query: Float32Array | undefined;
  try {
    [query] = await semantic.embedder.embed([text], { player });
  } catch {
    return undefined;
  }
  if (!query) return undefined;
  const limit = Math.max(CANDIDATES, maxResults);
  const { rows: lexical } = await db.query<Hit>(SEARCH, [text, ids, limit, allowed, 0]);
  const scored = await semantic.vectors.scores(db, ids, semantic.embedder.model, query);
  const merged = new Map<string, { hit: Omit<Hit, 'text' | 'filename' | 'attributes'>; row?: Hit }>();
  const key = (storeId: string, fileId: string, position: number) => `${storeId}/${fileId}/${position}`;
  const blend = (lexicalScore: number, cosine: number) => 0.5 * lexicalScore + 0.5 * Math.max(0, cosine);
  for (const row of lexical) {
    const position = Number(row.position);
    const cosine = scored.cosine(row.vector_store_id, row.file_id, position);
    merged.set(key(row.vector_store_id, row.file_id, position), {
      hit: { ...row, position, score: blend(Number(row.score), cosine) },
      row,
    });
  }
  for (const near of scored.top(limit, allowed && new Set(allowed))) {
    const id = key(near.vectorStoreId, near.fileId, near.position);
    if (merged.has(id)) continue;
    const hit = { vector_store_id: near.vectorStoreId, file_id: near.fileId, position: near.position };
    merged.set(id, { hit: { ...hit, score: blend(0, near.cosine) } });
  }
  const best = [...merged.values()]
    .filter(({ hit }) => Number(hit.score) >= threshold && Number(hit.score) > 0)
    .sort((a, b) => Number(b.hit.score) - Number(a.hit.score))
    .slice(0, maxResults);
  const missing = best.filter((entry) => !entry.row).map((entry) => entry.hit);
  const { rows: fetched } =
    missing.length === 0
      ? { rows: [] as Hit[] }
      : await db.query<Hit>(CHUNKS, [
          missing.map((hit) => hit.vector_store_id),
          missing.map((hit) => hit.file_id),
          missing.map((hit) => hit.position),
        ]);
  const texts = new Map(
    fetched.map((row) => [key(row.vector_store_id, row.file_id, Number(row.position)), row]),
  );
  return best.flatMap(({ hit, row }) => {
    const found = row ?? texts.get(key(hit.vector_store_id, hit.file_id, hit.position));
    return found ? [{ ...found, score: hit.score }] : [];
  });
}

/** The `store/file` keys of the indexed files whose attributes pass `filter`. */
async function filtered(db: Queryable, ids: readonly string[], filter: Filter): Promise<string[]> {
  const { rows } = await db.query<{ vector_store_id: string; file_id: string; attributes: string | null }>(
    `SELECT vector_store_id, file_id, attributes::text AS attributes FROM parley_vector_store_files
      WHERE vector_store_id = ANY($1::text[]) AND status = 'completed'`,
    [[...ids]],
  );
  return rows
    .filter((row) =>
      matches(filter, row.attributes === null ? {} : (JSON.parse(row.attributes) as Attributes)),
    )
    .map((row) => `${row.vector_store_id}/${row.file_id}`);
}

/**
 * Whether attributes pass a filter, as OpenAI's: `eq`/`ne` compare values of any type, `gt`…`lte` numbers
 * with numbers and strings with strings, `in`/`nin` test membership. A missing key fails every comparison
 * but `ne` and `nin`.
 *
 * @example
 * ```ts
 * matches({ type: 'and', filters: [{ type: 'eq', key: 'region', value: 'north' }, { type: 'gte', key: 'act', value: 2 }] },
 *   { region: 'north', act: 3 }); // true
 * ```
 */
export function matches(filter: Filter, attributes: Attributes): boolean {
  switch (filter.type) {
    case 'and':
      return filter.filters.every((inner) => matches(inner, attributes));
    case 'or':
      return filter.filters.some((inner) => matches(inner, attributes));
    default:
      return compare(filter, Object.hasOwn(attributes, filter.key) ? attributes[filter.key] : undefined);
  }
}

function compare(filter: ComparisonFilter, actual: string | number | boolean | undefined): boolean {
  const { value } = filter;
  switch (filter.type) {
    case 'eq':
      return actual === value;
    case 'ne':
      return actual !== value;
    case 'in':
      return Array.isArray(value) && actual !== undefined && value.some((entry) => entry === actual);
    case 'nin':
      return !Array.isArray(value) || actual === undefined || !value.some((entry) => entry === actual);
    default: {
      const comparable =
        (typeof actual === 'number' && typeof value === 'number') ||
        (typeof actual === 'string' && typeof value === 'string');
      if (!comparable) return false;
      const a = actual as number | string;
      const b = value as number | string;
      if (filter.type === 'gt') return a > b;
      if (filter.type === 'gte') return a >= b;
      if (filter.type === 'lt') return a < b;
      return a <= b;
    }
  }
}

const INDEXING_POLL_MS = 50;

/** A file of these stores still being indexed. */
const INDEXING = `SELECT 1 FROM parley_vector_store_files
  WHERE vector_store_id = ANY($1::text[]) AND status = 'in_progress' LIMIT 1`;

/** Waits until no file of `storeIds` is being indexed, or `waitMs` has passed, or `signal` aborts. */
export async function indexed(
  db: Queryable,
  storeIds: readonly string[],
  waitMs: number,
  signal?: AbortSignal,
): Promise<void> {
  if (storeIds.length === 0) return;
  const until = Date.now() + waitMs;
  while (!signal?.aborted && Date.now() < until) {
    const { rows } = await db.query(INDEXING, [[...storeIds]]);
    if (rows.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, INDEXING_POLL_MS));
  }
}
