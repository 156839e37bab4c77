import type { ErrorObject } from '@parley/protocol';

/**
 * What went wrong, as a stable code a game can branch on (show "the innkeeper is busy" for
 * `rate_limited`, "out of words for today" for `budget`, a retry button when `retryable`).
 */
export type DialogueErrorCode =
  | 'auth'
  | 'budget'
  | 'rate_limited'
  | 'moderation'
  | 'network'
  | 'upstream'
  | 'invalid_request'
  | 'not_found'
  | 'interrupted'
  | 'protocol'
  | 'unknown';

/** Options of {@link DialogueError}. */
export interface DialogueErrorOptions {
  /** HTTP status of the failed request, when there was one. */
  status?: number | undefined;
  /** Defaults to true for `rate_limited`, `network` and `upstream`. */
  retryable?: boolean | undefined;
  /** Milliseconds the server asked to wait (`Retry-After`), when it did. */
  retryAfter?: number | undefined;
  cause?: unknown;
}

/**
 * The one error `@parley/dialogue` throws, rejects with, or reports in an `error` event. Anything else
 * (fetch failures, aborts, bad JSON, OpenAI error bodies) is converted into one of these.
 *
 * @example
 * ```ts
 * try {
 *   await conversation.say('Hello').text;
 * } catch (error) {
 *   if (isDialogueError(error) && error.code === 'budget') showOutOfWords();
 * }
 * ```
 */
export class DialogueError extends Error {
  override readonly name = 'DialogueError';
  // `declare`d and set with one Object.assign: the same object, in fewer shipped bytes.
  /** Stable code; see {@link DialogueErrorCode}. */
  declare readonly code: DialogueErrorCode;
  /** Whether the same call may succeed if tried again later. */
  declare readonly retryable: boolean;
  /** HTTP status of the failed request, when there was one. */
  declare readonly status: number | undefined;
  /** Milliseconds the server asked to wait before trying again (its `Retry-After`), when it said. */
  declare readonly retryAfter: number | undefined;

  constructor(
    code: DialogueErrorCode,
    message: string,
    { status, retryable = usuallyRetryable(code), retryAfter, cause }: DialogueErrorOptions = {},
  ) {
    super(message, cause === undefined ? undefined : { cause });
    Object.assign(this, { code, status, retryable, retryAfter });
  }
}

/** Whether errors with this code are worth retrying unless the server said otherwise. */
export const usuallyRetryable = (code: DialogueErrorCode) => /^(rate_limited|network|upstream)$/.test(code);

/**
 * Whether `value` is a {@link DialogueError} (also across bundle copies, where `instanceof` fails).
 *
 * @example
 * ```ts
 * turn.text.catch((error) => isDialogueError(error) && error.retryable && offerRetry());
 * ```
 */
export function isDialogueError(value: unknown): value is DialogueError {
  // Every DialogueError has this name, so the name alone decides (and works across copies).
  return value instanceof Error && value.name === 'DialogueError';
}

// Codes whose status (or, in a stream, type) does not tell what a game should do → ours; a trailing `!` flips
// the class's usual `retryable`. A 429 can mean "wait" (rate limit) or "stop" (budget, quota), a 403 a bad
// token or a read-only object, a 404 a lost thread (which say() recovers from) or a misnamed model (which it
// cannot). With the status and type tables below, this is @parley/protocol's ERROR_KINDS in the few bytes
// a browser bundle can afford (the table itself costs 300 B gzipped); errors.test.ts checks every code of
// ERROR_KINDS against it, with and without a status, so the two cannot drift.
const byCode: Record<string, string> = {
  budget_exceeded: 'budget',
  rate_limit_exceeded: 'rate_limited',
  moderation_flagged: 'moderation',
  // The spend or the key is the operator's to fix, not the game's: retrying will not help.
  insufficient_quota: 'upstream!',
  credit_balance_exhausted: 'upstream!',
  upstream_auth_failed: 'upstream!',
  // Like the client's own maxToolRounds: the model went round in circles.
  tool_call_limit_exceeded: 'upstream!',
  // Another run is still active on the thread (e.g. a cancel in progress): waiting helps.
  thread_busy: 'invalid_request!',
  // The token is fine (signing in again will not help): the game asked for what this server refuses.
  permission_denied: 'invalid_request',
  model_not_found: 'invalid_request',
  id_taken: 'invalid_request',
  invalid_prompt: 'invalid_request',
};

// HTTP status → ours, when the code did not say (other 4xx: invalid_request; 5xx: upstream).
const byStatus: Record<number, string> = {
  401: 'auth',
  403: 'auth',
  404: 'not_found',
  408: 'upstream',
  409: 'upstream',
  429: 'rate_limited',
};

// OpenAI's `error.type` → ours, for an error without a status (a stream's `error` event); others: upstream.
const byType: Record<string, string> = {
  invalid_request_error: 'invalid_request',
  authentication_error: 'auth',
  permission_error: 'auth',
  not_found_error: 'not_found',
  rate_limit_error: 'rate_limited',
};

/**
 * Converts an OpenAI error object (an HTTP error body's `error`, an `error` stream event, a run's
 * `last_error`) into a DialogueError. `status` is the HTTP status, if any; `retryAfter` in milliseconds.
 */
export function fromErrorObject(
  error: Partial<ErrorObject> | null | undefined,
  status?: number,
  retryAfter?: number,
): DialogueError {
  const message = error?.message || (status ? `HTTP ${status}` : 'Run failed');
  // The type only matters for `insufficient_quota` (the other keys are no OpenAI error types).
  // (A missing code looks up the key 'undefined', which no table has.)
  const known = byCode[error?.code as string] ?? byCode[error?.type as string];
  const code = (
    known
      ? known.replace('!', '')
      : status === undefined
        ? (byType[error?.type as string] ?? 'upstream')
        : status >= 500
          ? 'upstream'
          : (byStatus[status] ?? (status >= 400 ? 'invalid_request' : 'unknown'))
  ) as DialogueErrorCode;
  const retryable = known?.endsWith('!') ? !usuallyRetryable(code) : undefined;
  return new DialogueError(code, message, { status, retryable, retryAfter, cause: error });
}

/** The message of anything thrown. */
export const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Whether `error` is a DialogueError with code `not_found`. */
export const isNotFound = (error: unknown) => isDialogueError(error) && error.code === 'not_found';

/** A rejection handler that swallows `not_found` (resolving to undefined) and rethrows anything else. */
export const unlessNotFound = (error: unknown): undefined => {
  if (!isNotFound(error)) throw error;
};

/** The error of an interrupted turn. */
export const interrupted = (cause?: unknown) => new DialogueError('interrupted', 'Interrupted', { cause });

/** Converts anything thrown into a DialogueError; an aborted `signal` makes it `interrupted`. */
export function toDialogueError(error: unknown, signal?: AbortSignal): DialogueError {
  if (isDialogueError(error)) return error;
  if (signal?.aborted || (error as Error | undefined)?.name === 'AbortError') return interrupted(error);
  // fetch rejects with a TypeError when the network fails (browsers and undici alike).
  const code = error instanceof TypeError ? 'network' : 'unknown';
  return new DialogueError(code, messageOf(error) || code, { cause: error });
}
