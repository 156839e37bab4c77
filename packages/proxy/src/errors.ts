import { type ErrorBody, ErrorCode, type ErrorType } from '@parley/protocol';
import { StoreError } from './store/errors.js';

export interface ProxyErrorOptions {
  param?: string | null;
  type?: ErrorType;
  headers?: Record<string, string>;
  cause?: unknown;
}

/**
 * The proxy's one error type. Everything thrown inside a request ends up as one of these and is turned
 * into OpenAI's error body in exactly one place ({@link toErrorBody}); unknown throwables become a 500 whose
 * message says nothing about internals.
 */
export class ProxyError extends Error {
  override readonly name = 'ProxyError';
  readonly param: string | null;
  readonly type: ErrorType;
  readonly headers: Record<string, string>;

  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    options: ProxyErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.param = options.param ?? null;
    this.type = options.type ?? defaultType(status);
    this.headers = options.headers ?? {};
  }
}

function defaultType(status: number): ErrorType {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return status === 500 ? 'server_error' : 'upstream_error';
  return 'invalid_request_error';
}

export function invalidValue(param: string, message: string): ProxyError {
  return new ProxyError(400, ErrorCode.InvalidValue, message, { param });
}

export function notFound(kind: string, id: string, param?: string): ProxyError {
  return new ProxyError(404, ErrorCode.NotFound, `No ${kind} found with id '${id}'.`, {
    param: param ?? null,
  });
}

/** Converts anything thrown into a ProxyError; unknown throwables are bugs and become an opaque 500. */
export function toProxyError(error: unknown): ProxyError {
  if (error instanceof ProxyError) return error;
  if (error instanceof StoreError) {
    switch (error.code) {
      case 'invalid_text':
        return new ProxyError(400, ErrorCode.InvalidValue, 'Text must not contain NUL characters.', {
          cause: error,
        });
      case 'missing_parent':
        return new ProxyError(
          404,
          ErrorCode.NotFound,
          'The thread or run this belongs to no longer exists.',
          { cause: error },
        );
      case 'id_taken':
        return new ProxyError(409, ErrorCode.InvalidValue, 'That id is already in use.', { cause: error });
      case 'unavailable':
        return new ProxyError(
          503,
          ErrorCode.Server,
          'The proxy cannot reach its database; try again shortly.',
          {
            type: 'server_error',
            headers: { 'Retry-After': '1' },
            cause: error,
          },
        );
      case 'database':
        break;
    }
  }
  return new ProxyError(500, ErrorCode.Server, 'The server had an error while processing your request.', {
    cause: error,
  });
}

export function toErrorBody(error: ProxyError): ErrorBody {
  return { error: { message: error.message, type: error.type, param: error.param, code: error.code } };
}
