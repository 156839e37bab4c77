import { ErrorCode } from '@parley/protocol';
import type { z } from 'zod';
import { ProxyError } from '../errors.js';

/**
 * Why a custom check refused a value. The wording lives in {@link issueToError}, so every message a
 * client can see is written in one place; a check only says which rule it broke.
 */
export type Refusal =
  | { reason: 'unstorable' }
  | { reason: 'integer' }
  | { reason: 'too_deep' }
  | { reason: 'too_many_keys'; max: number }
  | { reason: 'forbidden_key'; key: string }
  | { reason: 'long_key'; key: string; max: number }
  | { reason: 'reserved_tool_name'; name: string };

type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

/** A leaf issue with its path from the request body's root (union branches and key lists flattened). */
interface Located {
  issue: Issue;
  path: Path;
}

/**
 * Parses untrusted input against a schema and returns the schema's output (a fresh object built from
 * known keys only, so `__proto__` and friends never reach the store). On failure throws the
 * {@link ProxyError} OpenAI would have answered for the first problem in the body's order.
 *
 * @example
 * ```ts
 * const fields = parse(createThread, await ctx.body()); // typed from the schema
 * ```
 */
export function parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  throw issuesToError(result.error.issues, input);
}

/**
 * The one translation from zod's issues to OpenAI's error bodies. Zod reports every problem; OpenAI (and
 * Parley before zod) reported one, the first met reading the body in order, with a missing field after
 * every present one. So the issues are flattened, ordered by where they sit in `input`, and the first
 * becomes the error.
 */
export function issuesToError(issues: readonly Issue[], input: unknown): ProxyError {
  const leaves = issues.flatMap((issue) => flatten(issue, []));
  const ranked = leaves.map((leaf) => ({ leaf, rank: position(input, leaf.path) }));
  // Array.prototype.sort is stable: issues at one place keep zod's order (type, then checks in order).
  ranked.sort((a, b) => compareRanks(a.rank, b.rank));
  const first = ranked[0]?.leaf;
  if (!first) return new ProxyError(ErrorCode.InvalidValue, 'Invalid request.');
  return issueToError(first.issue, first.path);
}

function flatten(issue: Issue, prefix: Path): Located[] {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ issue, path: [...path, key] }));
  }
  if (issue.code === 'invalid_union' && issue.discriminator === undefined && issue.errors.length > 0) {
    const inner = unionBranch(issue.errors).flatMap((branchIssue) => flatten(branchIssue, path));
    return inner.length > 0 ? inner : [{ issue, path }];
  }
  return [{ issue, path }];
}

/**
 * The branch of a failed union that explains it best: the one that got furthest into the value (its
 * first issue has the longest path), the last on a tie. `string | array` given a number then says
 * "expected an array", as the hand-written checks did; given `[{ type: 'audio' }]` it names `[0].type`.
 */
function unionBranch(branches: readonly (readonly Issue[])[]): readonly Issue[] {
  let best: readonly Issue[] = [];
  let depth = -1;
  for (const issues of branches) {
    if (issues.length === 0) continue;
    const reach = Math.min(...issues.map((issue) => issue.path.length));
    if (reach >= depth) {
      best = issues;
      depth = reach;
    }
  }
  return best;
}

/**
 * Where a path sits in the input: the index of each key among its object's keys, or of each array
 * element. A key the input lacks ranks after every key it has.
 */
function position(input: unknown, path: Path): number[] {
  const rank: number[] = [];
  let current = input;
  for (const key of path) {
    if (Array.isArray(current) && typeof key === 'number') {
      rank.push(key);
      current = current[key];
    } else if (typeof current === 'object' && current !== null && typeof key === 'string') {
      const index = Object.keys(current).indexOf(key);
      rank.push(index === -1 ? Number.POSITIVE_INFINITY : index);
      current = index === -1 ? undefined : (current as Record<string, unknown>)[key];
    } else {
      rank.push(Number.POSITIVE_INFINITY);
      current = undefined;
    }
  }
  return rank;
}

/** Lexicographic; a path that is a prefix of another comes first (the container before its contents). */
function compareRanks(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  }
  return a.length - b.length;
}

/** `tools[0].function.name`: OpenAI's way of naming a nested parameter. */
export function paramOf(path: Path): string {
  let param = '';
  for (const key of path) {
    if (typeof key === 'number') param += `[${key}]`;
    else param += param ? `.${String(key)}` : String(key);
  }
  return param;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

const ARTICLE: Record<string, string> = { array: 'an array', object: 'an object', int: 'an integer' };

const quoted = (values: readonly unknown[]) => values.map((value) => `'${String(value)}'`).join(', ');

/** One issue as OpenAI's error: code, message and the dotted `param`. */
export function issueToError(issue: Issue, path: Path): ProxyError {
  const param = paramOf(path);
  const invalid = (message: string) => new ProxyError(ErrorCode.InvalidValue, message, { param });
  // JSON has no `undefined`: a value a type, literal or union check saw as undefined was never sent.
  if (issue.input === undefined && issue.code !== 'unrecognized_keys' && issue.code !== 'custom') {
    return new ProxyError(ErrorCode.MissingParameter, `Missing required parameter: '${param}'.`, { param });
  }
  switch (issue.code) {
    case 'unrecognized_keys':
      return new ProxyError(ErrorCode.UnknownParameter, `Unrecognized request argument supplied: ${param}`, {
        param,
      });
    case 'invalid_type':
      if (issue.expected === 'int') return invalid(`Invalid '${param}': expected an integer.`);
      return invalid(
        `Invalid type for '${param}': expected ${ARTICLE[issue.expected] ?? `a ${issue.expected}`}, but got ${describe(issue.input)}.`,
      );
    case 'too_small':
      return invalid(tooSmall(param, issue));
    case 'too_big':
      return invalid(tooBig(param, issue));
    case 'invalid_format':
      return invalid(
        `Invalid '${param}': '${String(issue.input).slice(0, 64)}' does not match ${'pattern' in issue ? issue.pattern : issue.format}.`,
      );
    case 'invalid_value':
      return invalid(`Invalid value for '${param}': expected one of ${quoted(issue.values)}.`);
    case 'invalid_union':
      return invalid(
        'options' in issue && issue.options
          ? `Invalid value for '${param}': expected one of ${quoted(issue.options)}.`
          : `Invalid '${param}': the value matches none of the accepted forms.`,
      );
    case 'custom':
      return invalid(refusalMessage(param, issue.params as Refusal | undefined));
    default:
      return invalid(`Invalid '${param}'.`);
  }
}

function tooSmall(param: string, issue: z.core.$ZodIssueTooSmall): string {
  const min = Number(issue.minimum);
  if (issue.origin === 'string')
    return `Invalid '${param}': string too short. Expected a string with minimum length ${min}.`;
  if (issue.origin === 'array') return `Invalid '${param}': expected an array with minimum length ${min}.`;
  return `Invalid '${param}': ${String(issue.input)} is below the minimum of ${min}.`;
}

function tooBig(param: string, issue: z.core.$ZodIssueTooBig): string {
  const max = Number(issue.maximum);
  const length = (issue.input as { length?: number } | undefined)?.length;
  if (issue.origin === 'string')
    return `Invalid '${param}': string too long. Expected a string with maximum length ${max}, but got a string with length ${length} instead.`;
  if (issue.origin === 'array')
    return `Invalid '${param}': array too long. Expected an array with maximum length ${max}, but got an array with length ${length} instead.`;
  return `Invalid '${param}': ${String(issue.input)} is above the maximum of ${max}.`;
}

function refusalMessage(param: string, refusal: Refusal | undefined): string {
  switch (refusal?.reason) {
    case 'unstorable':
      return `Invalid '${param}': text must not contain NUL characters or unpaired surrogates.`;
    case 'integer':
      return `Invalid '${param}': expected an integer.`;
    case 'too_deep':
      return `Invalid '${param}': nested too deeply.`;
    case 'too_many_keys':
      return `Invalid '${param}': too many keys (maximum ${refusal.max}).`;
    case 'forbidden_key':
      return `Invalid '${param}': key '${refusal.key}' is not allowed.`;
    case 'long_key':
      return `Invalid '${param}': key '${refusal.key.slice(0, refusal.max)}…' is longer than ${refusal.max} characters.`;
    case 'reserved_tool_name':
      return `Invalid '${param}': a function tool may not be named '${refusal.name}' next to the built-in ${refusal.name} tool.`;
    default:
      return `Invalid '${param}'.`;
  }
}
