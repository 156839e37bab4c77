import { ErrorCode } from '@parley/protocol';
import { ProxyError } from './errors.js';

/**
 * A tiny validator combinator set. Request bodies are untrusted JSON: every field is checked for type and
 * range, unknown fields are refused the way OpenAI refused them, and the result is a fresh object built
 * from known keys only (so `__proto__` and friends never reach the store).
 */
export type Check<T> = (value: unknown, path: string) => T;

function fail(path: string, message: string): never {
  throw new ProxyError(ErrorCode.InvalidValue, message, { param: path });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** NUL and unpaired surrogates: valid in a JS string, but neither PostgreSQL text nor jsonb can hold them. */
const UNPAIRED_SURROGATE = /\p{Cs}/u;

function storable(text: string, path: string): string {
  if (text.includes('\u0000') || UNPAIRED_SURROGATE.test(text)) {
    fail(path, `Invalid '${path}': text must not contain NUL characters or unpaired surrogates.`);
  }
  return text;
}

export function string(options: { max?: number; min?: number; pattern?: RegExp } = {}): Check<string> {
  return (value, path) => {
    if (typeof value !== 'string')
      fail(path, `Invalid type for '${path}': expected a string, but got ${describe(value)}.`);
    storable(value, path);
    if (options.min !== undefined && value.length < options.min) {
      fail(
        path,
        `Invalid '${path}': string too short. Expected a string with minimum length ${options.min}.`,
      );
    }
    if (options.max !== undefined && value.length > options.max) {
      fail(
        path,
        `Invalid '${path}': string too long. Expected a string with maximum length ${options.max}, but got a string with length ${value.length} instead.`,
      );
    }
    if (options.pattern && !options.pattern.test(value))
      fail(path, `Invalid '${path}': '${value.slice(0, 64)}' does not match ${options.pattern}.`);
    return value;
  };
}

export function number(options: { min?: number; max?: number; integer?: boolean } = {}): Check<number> {
  return (value, path) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      fail(path, `Invalid type for '${path}': expected a number, but got ${describe(value)}.`);
    }
    if (options.integer && !Number.isInteger(value)) fail(path, `Invalid '${path}': expected an integer.`);
    if (options.min !== undefined && value < options.min)
      fail(path, `Invalid '${path}': ${value} is below the minimum of ${options.min}.`);
    if (options.max !== undefined && value > options.max)
      fail(path, `Invalid '${path}': ${value} is above the maximum of ${options.max}.`);
    return value;
  };
}

export const boolean: Check<boolean> = (value, path) => {
  if (typeof value !== 'boolean')
    fail(path, `Invalid type for '${path}': expected a boolean, but got ${describe(value)}.`);
  return value;
};

export function literal<const T extends string>(...values: T[]): Check<T> {
  return (value, path) => {
    if (typeof value !== 'string' || !values.includes(value as T)) {
      fail(path, `Invalid value for '${path}': expected one of ${values.map((v) => `'${v}'`).join(', ')}.`);
    }
    return value as T;
  };
}

export function array<T>(item: Check<T>, options: { max?: number; min?: number } = {}): Check<T[]> {
  return (value, path) => {
    if (!Array.isArray(value))
      fail(path, `Invalid type for '${path}': expected an array, but got ${describe(value)}.`);
    if (options.max !== undefined && value.length > options.max) {
      fail(
        path,
        `Invalid '${path}': array too long. Expected an array with maximum length ${options.max}, but got an array with length ${value.length} instead.`,
      );
    }
    if (options.min !== undefined && value.length < options.min) {
      fail(path, `Invalid '${path}': expected an array with minimum length ${options.min}.`);
    }
    return value.map((entry, index) => item(entry, `${path}[${index}]`));
  };
}

/** `null` passes through as null. */
export function nullable<T>(check: Check<T>): Check<T | null> {
  return (value, path) => (value === null ? null : check(value, path));
}

/** Any JSON object, copied without prototype keys (for JSON Schemas and other pass-through objects). */
export const jsonObject: Check<Record<string, unknown>> = (value, path) => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(path, `Invalid type for '${path}': expected an object, but got ${describe(value)}.`);
  }
  return sanitize(value, 0, path) as Record<string, unknown>;
};

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function sanitize(value: unknown, depth: number, path: string): unknown {
  if (depth > 32) fail(path, `Invalid '${path}': nested too deeply.`);
  if (Array.isArray(value)) return value.map((entry) => sanitize(entry, depth + 1, path));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, entry] of Object.entries(value)) {
      if (FORBIDDEN_KEYS.has(key)) continue;
      out[storable(key, path)] = sanitize(entry, depth + 1, path);
    }
    return out;
  }
  return typeof value === 'string' ? storable(value, path) : value;
}

type Shape = Record<string, Check<unknown>>;
type Out<S extends Shape> = { [K in keyof S]?: ReturnType<S[K]> };

/**
 * An object with known optional fields; `required` lists those that must be present. Unknown fields are
 * refused with OpenAI's "Unrecognized request argument" unless `allowUnknown` (then they are dropped).
 */
export function object<S extends Shape, R extends keyof S = never>(
  shape: S,
  options: { required?: readonly R[]; allowUnknown?: boolean } = {},
): Check<Out<S> & { [K in R]-?: ReturnType<S[K]> }> {
  return (value, path) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      fail(path, `Invalid type for '${path}': expected an object, but got ${describe(value)}.`);
    }
    const input = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(input)) {
      if (!Object.hasOwn(shape, key)) {
        if (options.allowUnknown) continue;
        const param = path ? `${path}.${key}` : key;
        throw new ProxyError(ErrorCode.UnknownParameter, `Unrecognized request argument supplied: ${param}`, {
          param,
        });
      }
      const check = shape[key]!;
      const fieldPath = path ? `${path}.${key}` : key;
      out[key] = check(input[key], fieldPath);
    }
    for (const key of options.required ?? []) {
      if (input[key as string] === undefined) {
        const param = path ? `${path}.${String(key)}` : String(key);
        throw new ProxyError(ErrorCode.MissingParameter, `Missing required parameter: '${param}'.`, {
          param,
        });
      }
    }
    return out as Out<S> & { [K in R]-?: ReturnType<S[K]> };
  };
}

/** One of several object shapes, chosen by the string in `type`. */
export function tagged<T>(cases: Record<string, Check<T>>): Check<T> {
  return (value, path) => {
    const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
    if (typeof type !== 'string' || !Object.hasOwn(cases, type)) {
      fail(
        `${path}.type`,
        `Invalid value for '${path}.type': expected one of ${Object.keys(cases)
          .map((k) => `'${k}'`)
          .join(', ')}.`,
      );
    }
    return cases[type]!(value, path);
  };
}

/** OpenAI's metadata rules: at most 16 string pairs, keys ≤ 64 chars, values ≤ 512 chars. */
export const metadata: Check<Record<string, string>> = (value, path) => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(path, `Invalid type for '${path}': expected an object, but got ${describe(value)}.`);
  }
  const entries = Object.entries(value);
  if (entries.length > 16) fail(path, `Invalid '${path}': too many keys (maximum 16).`);
  const out: Record<string, string> = {};
  for (const [key, entry] of entries) {
    if (FORBIDDEN_KEYS.has(key)) fail(path, `Invalid '${path}': key '${key}' is not allowed.`);
    if (key.length > 64)
      fail(path, `Invalid '${path}': key '${key.slice(0, 64)}…' is longer than 64 characters.`);
    if (typeof entry !== 'string')
      fail(`${path}.${key}`, `Invalid type for '${path}.${key}': expected a string.`);
    if (entry.length > 512)
      fail(`${path}.${key}`, `Invalid '${path}.${key}': value longer than 512 characters.`);
    out[storable(key, path)] = storable(entry, `${path}.${key}`);
  }
  return out;
};

/** Runs a check over a whole request body (path '' so params read 'model', not '.model'). */
export function parse<T>(check: Check<T>, body: unknown): T {
  return check(body, '');
}
