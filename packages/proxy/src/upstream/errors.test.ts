import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import { isRetryable, mapUpstreamError, redact, retryAfterMs } from './errors.js';

const KEY = 'sk-proj-abcdefghijklmnopqrstuvwxyz123456';

function apiError(
  status: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): APIError {
  return APIError.generate(status, { error: body }, undefined, new Headers(headers));
}

describe('upstream error mapping', () => {
  it('tells rate limits (retryable) from exhausted quota (never retried)', () => {
    const rate = apiError(
      429,
      { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' },
      { 'retry-after': '2' },
    );
    const quota = apiError(429, {
      message: 'You exceeded your quota',
      type: 'insufficient_quota',
      code: 'insufficient_quota',
    });
    expect(isRetryable(rate)).toBe(true);
    expect(isRetryable(quota)).toBe(false);
    expect(retryAfterMs(rate)).toBe(2000);
    expect(mapUpstreamError(rate, KEY)).toMatchObject({
      status: 429,
      code: 'rate_limit_exceeded',
      headers: { 'Retry-After': '2' },
    });
    expect(mapUpstreamError(quota, KEY)).toMatchObject({
      status: 429,
      code: 'insufficient_quota',
      type: 'insufficient_quota',
    });
  });

  it('turns a refused key into a 502 that reveals nothing of it', () => {
    const error = apiError(401, {
      message: `Incorrect API key provided: ${KEY.slice(0, 12)}****3456.`,
      code: 'invalid_api_key',
    });
    const mapped = mapUpstreamError(error, KEY);
    expect(mapped).toMatchObject({ status: 502, code: 'upstream_auth_failed' });
    expect(mapped.message).not.toMatch(/sk-|3456/);
  });

  it('redacts the key and key-shaped strings from upstream messages', () => {
    expect(redact(`bad request for ${KEY} and sk-other-1234abcd`, KEY)).toBe(
      'bad request for [redacted] and [redacted]',
    );
  });

  it('maps model-not-found, 5xx, timeouts and connection errors', () => {
    expect(
      mapUpstreamError(
        apiError(404, { message: 'The model `x` does not exist', code: 'model_not_found' }),
        KEY,
      ),
    ).toMatchObject({
      status: 404,
      code: 'model_not_found',
    });
    expect(mapUpstreamError(apiError(503, { message: 'overloaded' }), KEY)).toMatchObject({
      status: 502,
      code: 'upstream_error',
    });
    expect(isRetryable(apiError(503, { message: 'overloaded' }))).toBe(true);
    expect(isRetryable(apiError(400, { message: 'bad' }))).toBe(false);
    expect(mapUpstreamError(new APIConnectionTimeoutError(), KEY)).toMatchObject({
      status: 504,
      code: 'upstream_timeout',
    });
    expect(mapUpstreamError(new APIConnectionError({ message: 'ECONNREFUSED' }), KEY)).toMatchObject({
      status: 502,
    });
  });
});
