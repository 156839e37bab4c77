import { ErrorCode } from '@parley/protocol';
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { ProxyError } from '../errors.js';

/** Whether OpenAI's 429 means "slow down" (retryable) or "no credit left" (never retried). */
export function isQuotaError(error: APIError): boolean {
  const code = String(error.code ?? '');
  return (
    code === 'insufficient_quota' ||
    code === 'credit_balance_exhausted' ||
    code === 'billing_hard_limit_reached'
  );
}

/** Whether an upstream failure may succeed when tried again (rate limits, overload, network). */
export function isRetryable(error: unknown): boolean {
  if (error instanceof APIConnectionError) return true; // includes timeouts
  if (!(error instanceof APIError) || error.status === undefined) return false;
  if (error.headers?.get?.('x-should-retry') === 'false') return false;
  if (error.status === 429) return !isQuotaError(error);
  return error.status === 408 || error.status === 409 || error.status >= 500;
}

/** Milliseconds the upstream asked us to wait (`retry-after-ms` / `retry-after`), when it asked. */
export function retryAfterMs(error: unknown): number | undefined {
  if (!(error instanceof APIError)) return undefined;
  const headers = error.headers;
  const rawMs = headers?.get?.('retry-after-ms');
  const ms = rawMs ? Number(rawMs) : Number.NaN;
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const raw = headers?.get?.('retry-after');
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

/**
 * Removes anything that could be a credential from upstream text before it reaches a client: the
 * configured key itself and anything shaped like an OpenAI key (upstreams echo partial keys in 401s).
 */
export function redact(text: string, secret: string | undefined): string {
  let out = text;
  if (secret && secret.length >= 4) out = out.split(secret).join('[redacted]');
  return out.replace(/\b(sk|sess|key)-[A-Za-z0-9_*.-]{4,}/g, '[redacted]').slice(0, 500);
}

/**
 * Maps an upstream failure to the proxy's error: the status a client should see and a message that says
 * what happened without revealing anything of the proxy's credentials.
 */
export function mapUpstreamError(error: unknown, secret: string | undefined): ProxyError {
  if (error instanceof ProxyError) return error;
  if (error instanceof APIConnectionTimeoutError) {
    return new ProxyError(ErrorCode.UpstreamTimeout, 'The model upstream did not answer in time.', {
      cause: error,
    });
  }
  if (error instanceof APIConnectionError) {
    return new ProxyError(ErrorCode.Upstream, 'The model upstream could not be reached.', {
      cause: error,
    });
  }
  if (error instanceof APIError) {
    const status = error.status;
    const message = redact(
      String(
        error.error && typeof error.error === 'object' && 'message' in error.error
          ? error.error.message
          : error.message,
      ),
      secret,
    );
    if (status === 401 || status === 403) {
      return new ProxyError(ErrorCode.UpstreamAuth, "The model upstream refused the proxy's credentials.", {
        cause: error,
      });
    }
    if (status === 429) {
      if (isQuotaError(error)) {
        return new ProxyError(
          ErrorCode.InsufficientQuota,
          'The model upstream has no quota or credit left.',
          {
            cause: error,
          },
        );
      }
      const wait = retryAfterMs(error);
      return new ProxyError(
        ErrorCode.RateLimited,
        'The model upstream is rate limiting requests; try again shortly.',
        {
          headers: wait === undefined ? {} : { 'Retry-After': String(Math.max(1, Math.ceil(wait / 1000))) },
          cause: error,
        },
      );
    }
    if (status === 404) {
      return new ProxyError(ErrorCode.ModelNotFound, message || 'The model does not exist upstream.', {
        param: 'model',
        cause: error,
      });
    }
    if (status !== undefined && status >= 400 && status < 500) {
      return new ProxyError(ErrorCode.InvalidValue, `The model upstream refused the request: ${message}`, {
        param: typeof error.param === 'string' ? redact(error.param, secret) : null,
        cause: error,
      });
    }
    return new ProxyError(ErrorCode.Upstream, `The model upstream failed: ${message}`, { cause: error });
  }
  return new ProxyError(ErrorCode.Upstream, 'The model upstream failed.', { cause: error });
}
