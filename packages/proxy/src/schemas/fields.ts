import { z } from 'zod';
import type { Refusal } from './issues.js';

/** NUL and unpaired surrogates: valid in a JS string, but neither PostgreSQL text nor jsonb can hold them. */
const UNPAIRED_SURROGATE = /\p{Cs}/u;

/** Whether PostgreSQL can store a string as text or inside jsonb. */
export function storable(value: string): boolean {
  return !value.includes('\u0000') && !UNPAIRED_SURROGATE.test(value);
}

const refusal = (params: Refusal) => ({ params });

/**
 * A string the store can hold, with optional length bounds and pattern. Every string a client sends
 * goes through this, so none can fail later in PostgreSQL.
 */
export function text(options: { min?: number; max?: number; pattern?: RegExp } = {}) {
  let schema = z.string().refine(storable, refusal({ reason: 'unstorable' }));
  if (options.min !== undefined) schema = schema.min(options.min);
  if (options.max !== undefined) schema = schema.max(options.max);
  if (options.pattern) schema = schema.regex(options.pattern);
  return schema;
}

/**
 * A whole number. Not `z.int()`: that also refuses integers beyond 2^53, which OpenAI accepted (a seed)
 * and Parley always passed on.
 */
export function integer(options: { min?: number; max?: number } = {}) {
  let schema = z.number().refine(Number.isInteger, refusal({ reason: 'integer' }));
  if (options.min !== undefined) schema = schema.min(options.min);
  if (options.max !== undefined) schema = schema.max(options.max);
  return schema;
}

export const temperature = z.number().min(0).max(2);
export const topP = z.number().min(0).max(1);
export const reasoningEffort = z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh']);

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_DEPTH = 32;

type Context = z.core.$RefinementCtx<unknown>;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function notAnObject(ctx: Context, value: unknown): never {
  ctx.addIssue({ code: 'invalid_type', expected: 'object', input: value });
  return z.NEVER;
}

/** Thrown inside {@link copyJson} to stop at the first value the store cannot hold. */
class Refused {
  constructor(readonly refusal: Refusal) {}
}

/** A deep copy of parsed JSON without prototype keys, refusing deep nesting and unstorable strings. */
function copyJson(value: unknown, depth: number): unknown {
  if (depth > MAX_DEPTH) throw new Refused({ reason: 'too_deep' });
  if (Array.isArray(value)) return value.map((entry) => copyJson(entry, depth + 1));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, entry] of Object.entries(value)) {
      if (FORBIDDEN_KEYS.has(key)) continue;
      if (!storable(key)) throw new Refused({ reason: 'unstorable' });
      out[key] = copyJson(entry, depth + 1);
    }
    return out;
  }
  if (typeof value === 'string' && !storable(value)) throw new Refused({ reason: 'unstorable' });
  return value;
}

/**
 * Any JSON object (a JSON Schema, `tool_resources`, a chat message), copied without prototype keys and
 * at most 32 levels deep. Problems inside are reported at the object itself, as OpenAI did.
 */
export const jsonObject = z.unknown().transform((value, ctx): Record<string, unknown> => {
  if (!isPlainObject(value)) return notAnObject(ctx, value);
  try {
    return copyJson(value, 0) as Record<string, unknown>;
  } catch (error) {
    if (!(error instanceof Refused)) throw error;
    ctx.addIssue({ code: 'custom', params: error.refusal, input: value });
    return z.NEVER;
  }
});

/** OpenAI's metadata rules: at most 16 string pairs, keys ≤ 64 characters, values ≤ 512. */
export const metadata = z.unknown().transform((value, ctx): Record<string, string> => {
  if (!isPlainObject(value)) return notAnObject(ctx, value);
  const entries = Object.entries(value);
  const refuse = (params: Refusal, path: PropertyKey[] = []) => {
    ctx.addIssue({ code: 'custom', params, input: value, path });
    return z.NEVER;
  };
  if (entries.length > 16) return refuse({ reason: 'too_many_keys', max: 16 });
  const out: Record<string, string> = {};
  for (const [key, entry] of entries) {
    if (FORBIDDEN_KEYS.has(key)) return refuse({ reason: 'forbidden_key', key });
    if (key.length > 64) return refuse({ reason: 'long_key', key, max: 64 });
    if (typeof entry !== 'string') {
      ctx.addIssue({ code: 'invalid_type', expected: 'string', input: entry, path: [key] });
      return z.NEVER;
    }
    if (entry.length > 512) {
      ctx.addIssue({ code: 'too_big', origin: 'string', maximum: 512, input: entry, path: [key] });
      return z.NEVER;
    }
    if (!storable(key)) return refuse({ reason: 'unstorable' });
    if (!storable(entry)) return refuse({ reason: 'unstorable' }, [key]);
    out[key] = entry;
  }
  return out;
});
