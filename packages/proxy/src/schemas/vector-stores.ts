import { z } from 'zod';
import type { Filter } from '../knowledge/search.js';
import type { Attributes } from '../knowledge/types.js';
import { integer, metadata, text } from './fields.js';
import type { Refusal } from './issues.js';

/** `auto` (800 tokens, 400 overlapping) or `static` sizes; the overlap rule is checked where it is used. */
export const chunkingStrategy = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('auto') }),
  z.strictObject({
    type: z.literal('static'),
    static: z.strictObject({
      max_chunk_size_tokens: integer({ min: 100, max: 4096 }),
      chunk_overlap_tokens: integer({ min: 0 }),
    }),
  }),
]);
export type ChunkingStrategyInput = z.output<typeof chunkingStrategy>;

const expiresAfter = z.strictObject({
  anchor: z.literal('last_active_at'),
  days: integer({ min: 1, max: 365 }),
});

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** A file's attributes: at most 16 keys of ≤ 64 characters, each a string (≤ 512), a number or a boolean. */
export const attributes = z.unknown().transform((value, ctx): Attributes => {
  const refuse = (params: Refusal) => {
    ctx.addIssue({ code: 'custom', params, input: value });
    return z.NEVER;
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    ctx.addIssue({ code: 'invalid_type', expected: 'object', input: value });
    return z.NEVER;
  }
  const entries = Object.entries(value);
  if (entries.length > 16) return refuse({ reason: 'too_many_keys', max: 16 });
  const out: Attributes = {};
  for (const [key, entry] of entries) {
    if (FORBIDDEN_KEYS.has(key)) return refuse({ reason: 'forbidden_key', key });
    if (key.length > 64) return refuse({ reason: 'long_key', key, max: 64 });
    const parsed = z
      .union([text({ max: 512 }), z.number(), z.boolean()])
      .safeParse(entry, { reportInput: true });
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: [key, ...issue.path] });
      return z.NEVER;
    }
    out[key] = parsed.data;
  }
  return out;
});

const comparison = z.strictObject({
  type: z.enum(['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'nin']),
  key: text({ min: 1, max: 64 }),
  value: z.union([
    text({ max: 512 }),
    z.number(),
    z.boolean(),
    z.array(z.union([text({ max: 512 }), z.number()])).max(256),
  ]),
});

const filter: z.ZodType<Filter> = z.lazy(() =>
  z.union([
    comparison,
    z.strictObject({ type: z.enum(['and', 'or']), filters: z.array(filter).min(1).max(32) }),
  ]),
);

/** How deep filters nest, counted without recursion (a body of nested `and`s must not exhaust the stack). */
function depthOf(value: unknown): number {
  let depth = 0;
  let level: unknown[] = [value];
  while (level.length > 0 && depth <= 100) {
    depth++;
    level = level.flatMap((node) =>
      typeof node === 'object' && node !== null ? Object.values(node as Record<string, unknown>) : [],
    );
  }
  return depth;
}

/** OpenAI's attribute filters: comparisons, combined with `and`/`or` up to a few levels deep. */
export const filters = z
  .unknown()
  .transform((value, ctx) => {
    if (depthOf(value) > 16) {
      ctx.addIssue({ code: 'custom', params: { reason: 'too_deep' } satisfies Refusal, input: value });
      return z.NEVER;
    }
    return value;
  })
  .pipe(filter);

/** `POST /v1/vector_stores`. */
export const createVectorStore = z.strictObject({
  file_ids: z
    .array(text({ min: 1, max: 256 }))
    .max(500)
    .optional(),
  name: text({ max: 256 }).nullish(),
  description: text({ max: 512 }).nullish(),
  expires_after: expiresAfter.nullish(),
  chunking_strategy: chunkingStrategy.optional(),
  metadata: metadata.nullish(),
});

/** `POST /v1/vector_stores/{id}`. */
export const modifyVectorStore = z.strictObject({
  name: text({ max: 256 }).nullish(),
  expires_after: expiresAfter.nullish(),
  metadata: metadata.nullish(),
});

/** `POST /v1/vector_stores/{id}/files`, and each entry of a batch's `files`. */
export const createVectorStoreFile = z.strictObject({
  file_id: text({ min: 1, max: 256 }),
  chunking_strategy: chunkingStrategy.optional(),
  attributes: attributes.nullish(),
});

/** `POST /v1/vector_stores/{id}/files/{file_id}`: new attributes (null clears them). */
export const updateVectorStoreFile = z.strictObject({ attributes: attributes.nullable() });

/** `POST /v1/vector_stores/{id}/file_batches`: `file_ids` or `files` (each with its own settings). */
export const createFileBatch = z.strictObject({
  file_ids: z
    .array(text({ min: 1, max: 256 }))
    .min(1)
    .max(2000)
    .optional(),
  files: z.array(createVectorStoreFile).min(1).max(2000).optional(),
  chunking_strategy: chunkingStrategy.optional(),
  attributes: attributes.nullish(),
});

/** `POST /v1/vector_stores/{id}/search`. */
export const searchVectorStore = z.strictObject({
  query: z.union([
    text({ min: 1, max: 4096 }),
    z
      .array(text({ min: 1, max: 4096 }))
      .min(1)
      .max(16),
  ]),
  max_num_results: integer({ min: 1, max: 50 }).optional(),
  filters: filters.nullish(),
  ranking_options: z
    .strictObject({
      ranker: z.enum(['none', 'auto', 'default-2024-11-15']).optional(),
      score_threshold: z.number().min(0).max(1).optional(),
    })
    .optional(),
  rewrite_query: z.boolean().optional(),
});

/** The `filter` of a list of a store's (or a batch's) files, from the query string. */
export const attachedFilter = z.object({
  filter: z.enum(['in_progress', 'completed', 'failed', 'cancelled']).optional(),
});
