/**
 * Why a store operation failed.
 * - `missing_parent`: a message or run was written for a thread that does not exist (or was deleted
 *   meanwhile), or a step for a run that does not exist.
 * - `id_taken`: the id already belongs to another owner; the write was refused rather than letting one
 *   owner overwrite another's object.
 * - `invalid_text`: the object holds text Postgres cannot store (a NUL character, `\u0000`).
 * - `unavailable`: the database could not be reached or the connection broke; retrying may help.
 * - `database`: any other database failure.
 */
export type StoreErrorCode = 'missing_parent' | 'id_taken' | 'invalid_text' | 'unavailable' | 'database';

/**
 * The one error the store throws. Driver errors (pg's `DatabaseError`, PGlite's) are converted here so
 * the rest of the proxy never depends on which backend is configured.
 *
 * @example
 * ```ts
 * try {
 *   await store.putMessage(owner, message);
 * } catch (error) {
 *   if (error instanceof StoreError && error.code === 'missing_parent') return notFound();
 *   throw error;
 * }
 * ```
 */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  readonly code: StoreErrorCode;
  /** True when the same call may succeed if tried again later. */
  readonly retryable: boolean;

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options?.retryable ?? code === 'unavailable';
  }
}

/** SQLSTATE classes and codes that say "try again" rather than "this will never work". */
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01', '57P01', '57P02', '57P03', '53300']);

/** Node socket errors that mean the server is unreachable, not that the query is wrong. */
const CONNECTION_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * Converts anything a driver threw into a {@link StoreError}. Both pg and PGlite put the SQLSTATE in
 * `code`; Node socket errors put the errno name there.
 */
export function toStoreError(error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  if (code === '23503') {
    return new StoreError('missing_parent', 'The parent thread or run does not exist.', { cause: error });
  }
  if (code === '22P05' || code === '22021') {
    return new StoreError('invalid_text', 'The object contains text that cannot be stored.', {
      cause: error,
    });
  }
  if (CONNECTION_ERRNOS.has(code) || code.startsWith('08')) {
    return new StoreError('unavailable', 'The database is unavailable.', { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  // pg reports a server that went away mid-query with this message and no code.
  if (message.includes('Connection terminated')) {
    return new StoreError('unavailable', 'The database connection was lost.', { cause: error });
  }
  return new StoreError('database', `Database error: ${message}`, {
    cause: error,
    retryable: RETRYABLE_SQLSTATES.has(code),
  });
}
