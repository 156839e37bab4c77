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
  /** Stable code; see {@link DialogueErrorCode}. */
  readonly code: DialogueErrorCode;
  /** Whether the same call may succeed if tried again later. */
  readonly retryable: boolean;
  /** HTTP status of the failed request, when there was one. */
  readonly status: number | undefined;

  constructor(code: DialogueErrorCode, message: string, options: DialogueErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
    this.retryable =
      options.retryable ?? (code === 'rate_limited' || code === 'network' || code === 'upstream');
  }
}

/**
 * Whether `value` is a {@link DialogueError} (also across bundle copies, where `instanceof` fails).
 *
 * @example
 * ```ts
 * turn.text.catch((error) => isDialogueError(error) && error.retryable && offerRetry());
 * ```
 */
export function isDialogueError(value: unknown): value is DialogueError {
  return value instanceof DialogueError || (value instanceof Error && value.name === 'DialogueError');
}

// OpenAI / Parley `error.code` → ours. Codes win over the HTTP status because a 429 can mean "wait"
// (rate limit) or "stop" (quota, budget), and only the code tells which.
const byCode: Record<string, [DialogueErrorCode, boolean]> = {
  budget_exceeded: ['budget', false],
  rate_limit_exceeded: ['rate_limited', true],
  insufficient_quota: ['upstream', false],
  credit_balance_exhausted: ['upstream', false],
  upstream_auth_failed: ['upstream', false],
  upstream_error: ['upstream', true],
  upstream_timeout: ['upstream', true],
  server_error: ['upstream', true],
  server_is_overloaded: ['upstream', true],
  slow_down: ['upstream', true],
  moderation_flagged: ['moderation', false],
  unauthorized: ['auth', false],
  invalid_api_key: ['auth', false],
  not_found: ['not_found', false],
  model_not_found: ['invalid_request', false],
  invalid_prompt: ['invalid_request', false],
  // Another run is still active on the thread (e.g. a cancel in progress): waiting helps.
  thread_busy: ['invalid_request', true],
};

/**
 * Converts an OpenAI error object (an HTTP error body's `error`, an `error` stream event, a run's
 * `last_error`) into a DialogueError. `status` is the HTTP status, if any.
 */
export function fromErrorObject(
  error: Partial<ErrorObject> | null | undefined,
  status?: number,
  fallback: DialogueErrorCode = 'upstream',
): DialogueError {
  const message = error?.message || (status ? `Request failed with status ${status}` : 'The run failed');
  const known =
    byCode[error?.code ?? ''] ??
    (error?.type === 'insufficient_quota' ? byCode['insufficient_quota'] : undefined);
  if (known) return new DialogueError(known[0], message, { status, retryable: known[1], cause: error });
  let code: DialogueErrorCode = fallback;
  if (status !== undefined) {
    code =
      status === 401 || status === 403
        ? 'auth'
        : status === 404
          ? 'not_found'
          : status === 429
            ? 'rate_limited'
            : status >= 500 || status === 408 || status === 409
              ? 'upstream'
              : status >= 400
                ? 'invalid_request'
                : 'unknown';
  }
  return new DialogueError(code, message, { status, cause: error });
}

/** Converts anything thrown into a DialogueError; an aborted `signal` makes it `interrupted`. */
export function toDialogueError(error: unknown, signal?: AbortSignal): DialogueError {
  if (isDialogueError(error)) return error;
  if (signal?.aborted || (error instanceof Error && error.name === 'AbortError')) {
    return new DialogueError('interrupted', 'The turn was interrupted', { cause: error });
  }
  // fetch rejects with a TypeError when the network fails (browsers and undici alike).
  if (error instanceof TypeError) {
    return new DialogueError('network', error.message || 'Network error', { cause: error });
  }
  return new DialogueError('unknown', error instanceof Error ? error.message : String(error), {
    cause: error,
  });
}
