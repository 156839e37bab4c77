import { ERROR_KINDS, type ErrorBody, ErrorCode, type ErrorObject, type ErrorType } from '@parley/protocol';
import { StoreError } from './store/errors.js';

export interface ProxyErrorOptions {
  param?: string | null;
  headers?: Record<string, string>;
  cause?: unknown;
}

/**
 * The proxy's one error type. A throw site names what went wrong (a stable {@link ErrorCode} and a message);
 * the HTTP status, OpenAI's `error.type` and whether a retry may help come from `ERROR_KINDS` in
 * `@parley/protocol`, so the same code always answers the same way. Everything thrown inside a request ends
 * up as one of these and is written in one place ({@link toErrorBody}); unknown throwables become a 500
 * whose message says nothing about internals.
 */
export class ProxyError extends Error {
  override readonly name = 'ProxyError';
  readonly param: string | null;
  readonly headers: Record<string, string>;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: ProxyErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.param = options.param ?? null;
    this.headers = options.headers ?? {};
  }

  get status(): number {
    return ERROR_KINDS[this.code].status;
  }

  get type(): ErrorType {
    return ERROR_KINDS[this.code].type;
  }

  get retryable(): boolean {
    return ERROR_KINDS[this.code].retryable;
  }
}

export function invalidValue(param: string, message: string): ProxyError {
  return new ProxyError(ErrorCode.InvalidValue, message, { param });
}

export function notFound(kind: string, id: string, param?: string): ProxyError {
  return new ProxyError(ErrorCode.NotFound, `No ${kind} found with id '${id}'.`, {
    param: param ?? null,
  });
}

/** Converts anything thrown into a ProxyError; unknown throwables are bugs and become an opaque 500. */
export function toProxyError(error: unknown): ProxyError {
  if (error instanceof ProxyError) return error;
  if (error instanceof StoreError) {
    switch (error.code) {
      case 'invalid_text':
        return new ProxyError(ErrorCode.InvalidValue, 'Text must not contain NUL characters.', {
          cause: error,
        });
      case 'missing_parent':
        return new ProxyError(ErrorCode.NotFound, 'The thread or run this belongs to no longer exists.', {
          cause: error,
        });
      case 'id_taken':
        return new ProxyError(ErrorCode.IdTaken, 'That id is already in use.', { cause: error });
      case 'unavailable':
        return new ProxyError(
          ErrorCode.Unavailable,
          'The proxy cannot reach its database; try again shortly.',
          { headers: { 'Retry-After': '1' }, cause: error },
        );
      case 'database':
        break;
    }
  }
  return new ProxyError(ErrorCode.Server, 'The server had an error while processing your request.', {
    cause: error,
  });
}

/** The error object of a body or an `error` stream event: the only place one is built. */
export function toErrorObject(error: ProxyError): ErrorObject {
  return { message: error.message, type: error.type, param: error.param, code: error.code };
}

export function toErrorBody(error: ProxyError): ErrorBody {
  return { error: toErrorObject(error) };
}
