/**
 * Error bodies and stable error codes. The proxy answers every failure with OpenAI's error body
 * `{ "error": { message, type, param, code } }`; `code` is one of {@link ErrorCode} so clients can branch on it.
 */

/** OpenAI's `error.type` values that Parley emits. */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'insufficient_quota'
  | 'server_error'
  | 'upstream_error';

/** Stable error codes. Never renamed; new ones may be added. */
export const ErrorCode = {
  /** The body is not valid JSON (or not valid UTF-8). */
  InvalidJson: 'invalid_json',
  /** A field has the wrong type or an out-of-range value. */
  InvalidValue: 'invalid_value',
  /** A required field is missing. */
  MissingParameter: 'missing_required_parameter',
  /** A field the endpoint does not accept. */
  UnknownParameter: 'unknown_parameter',
  /** The body is larger than the configured limit (HTTP 413). */
  BodyTooLarge: 'body_too_large',
  /** No such route, or no such object visible to the caller (HTTP 404). */
  NotFound: 'not_found',
  /** The route exists but not with this method (HTTP 405). */
  MethodNotAllowed: 'method_not_allowed',
  /** The thread already has an active run (HTTP 400, as OpenAI answered). */
  ThreadBusy: 'thread_busy',
  /** The run is not in a state that allows this operation (HTTP 400). */
  InvalidRunState: 'invalid_run_state',
  /** Missing, malformed or expired credentials (HTTP 401). */
  Unauthorized: 'unauthorized',
  /** Too many requests; retry after `Retry-After` (HTTP 429). */
  RateLimited: 'rate_limit_exceeded',
  /** The upstream's quota or credit is exhausted; retrying will not help (HTTP 429). */
  InsufficientQuota: 'insufficient_quota',
  /** The player's or the game's budget is spent (HTTP 429). */
  BudgetExceeded: 'budget_exceeded',
  /** The model is unknown to the upstream or not allowed (HTTP 404 / 400). */
  ModelNotFound: 'model_not_found',
  /** The proxy's own upstream credentials were refused (HTTP 502; nothing of the key is revealed). */
  UpstreamAuth: 'upstream_auth_failed',
  /** The upstream failed or sent something unusable (HTTP 502). */
  Upstream: 'upstream_error',
  /** The upstream did not answer in time (HTTP 504). */
  UpstreamTimeout: 'upstream_timeout',
  /** The player's input was flagged by moderation. */
  Moderation: 'moderation_flagged',
  /** A bug in the proxy (HTTP 500). The message never carries internals. */
  Server: 'server_error',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The object inside an error body, and the `data` of an `error` stream event. */
export interface ErrorObject {
  message: string;
  type: ErrorType;
  param: string | null;
  code: ErrorCode | (string & {}) | null;
}

/** What every failed request answers. */
export interface ErrorBody {
  error: ErrorObject;
}
