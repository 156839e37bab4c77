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
  /** The model is known but this server's policy does not allow it (HTTP 400). */
  ModelNotAllowed: 'model_not_allowed',
  /** The caller may see the object but not change it, e.g. an assistant the game defines (HTTP 403). */
  PermissionDenied: 'permission_denied',
  /** An id given for a new object is already in use (HTTP 409). */
  IdTaken: 'id_taken',
  /** The model asked for more tool calls in one run than the policy allows (HTTP 400). */
  ToolCallLimit: 'tool_call_limit_exceeded',
  /** A store the proxy depends on (database, Redis, a key server) cannot be reached right now (HTTP 503). */
  Unavailable: 'service_unavailable',
  /** A file of a type the proxy cannot read, or whose bytes are not what its name says (HTTP 400; OpenAI's code). */
  UnsupportedFile: 'unsupported_file',
  /** A file that cannot be used: empty, malformed, encrypted, or a name with a path (HTTP 400; OpenAI's code). */
  InvalidFile: 'invalid_file',
  /** The player's files would exceed their count or byte quota on this server (HTTP 400). */
  StorageQuota: 'storage_quota_exceeded',
  /** A vector store is still indexing files; poll it until its status is `completed` (HTTP 400). */
  VectorStoreNotReady: 'vector_store_not_ready',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** How every error code is answered: its HTTP status, OpenAI's `error.type`, and whether retrying may help. */
export interface ErrorKind {
  status: number;
  type: ErrorType;
  retryable: boolean;
}

/**
 * The one table from error code to HTTP status, type and retryability. The proxy answers with it (no status
 * is chosen where an error is thrown) and `@parley/dialogue` reads it, so both sides agree on every code.
 */
export const ERROR_KINDS: { readonly [code in ErrorCode]: ErrorKind } = {
  invalid_json: { status: 400, type: 'invalid_request_error', retryable: false },
  invalid_value: { status: 400, type: 'invalid_request_error', retryable: false },
  missing_required_parameter: { status: 400, type: 'invalid_request_error', retryable: false },
  unknown_parameter: { status: 400, type: 'invalid_request_error', retryable: false },
  body_too_large: { status: 413, type: 'invalid_request_error', retryable: false },
  not_found: { status: 404, type: 'not_found_error', retryable: false },
  method_not_allowed: { status: 405, type: 'invalid_request_error', retryable: false },
  // OpenAI answered 400 for a thread with an active run; the run ends soon, so waiting helps.
  thread_busy: { status: 400, type: 'invalid_request_error', retryable: true },
  invalid_run_state: { status: 400, type: 'invalid_request_error', retryable: false },
  unauthorized: { status: 401, type: 'authentication_error', retryable: false },
  rate_limit_exceeded: { status: 429, type: 'rate_limit_error', retryable: true },
  insufficient_quota: { status: 429, type: 'insufficient_quota', retryable: false },
  budget_exceeded: { status: 429, type: 'rate_limit_error', retryable: false },
  model_not_found: { status: 404, type: 'not_found_error', retryable: false },
  upstream_auth_failed: { status: 502, type: 'upstream_error', retryable: false },
  upstream_error: { status: 502, type: 'upstream_error', retryable: true },
  upstream_timeout: { status: 504, type: 'upstream_error', retryable: true },
  moderation_flagged: { status: 400, type: 'invalid_request_error', retryable: false },
  server_error: { status: 500, type: 'server_error', retryable: true },
  model_not_allowed: { status: 400, type: 'invalid_request_error', retryable: false },
  permission_denied: { status: 403, type: 'permission_error', retryable: false },
  id_taken: { status: 409, type: 'invalid_request_error', retryable: false },
  tool_call_limit_exceeded: { status: 400, type: 'invalid_request_error', retryable: false },
  service_unavailable: { status: 503, type: 'server_error', retryable: true },
  unsupported_file: { status: 400, type: 'invalid_request_error', retryable: false },
  invalid_file: { status: 400, type: 'invalid_request_error', retryable: false },
  storage_quota_exceeded: { status: 400, type: 'invalid_request_error', retryable: false },
  // Not retryable as such: waiting is not enough when a file fails; the store's status says when to search.
  vector_store_not_ready: { status: 400, type: 'invalid_request_error', retryable: false },
};

/** The kind of a code, or undefined for a code this version does not know (an upstream's own, say). */
export function errorKind(code: string | null | undefined): ErrorKind | undefined {
  return code != null && Object.hasOwn(ERROR_KINDS, code) ? ERROR_KINDS[code as ErrorCode] : undefined;
}

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
