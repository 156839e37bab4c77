import { ERROR_KINDS, type ErrorCode } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { type DialogueErrorCode, fromErrorObject } from './errors.js';

describe('fromErrorObject', () => {
  it.each(Object.entries(ERROR_KINDS))(
    'agrees with ERROR_KINDS on %s, from an HTTP answer and from a stream alike',
    (code, { status, type, retryable }) => {
      const answered = fromErrorObject({ code, type, message: 'm' }, status);
      expect(answered.retryable).toBe(retryable);
      expect(answered.status).toBe(status);
      // A stream's `error` event has no status: the same code must mean the same there.
      const streamed = fromErrorObject({ code, type, message: 'm' });
      expect([streamed.code, streamed.retryable]).toEqual([answered.code, retryable]);
    },
  );

  it.each<[ErrorCode, DialogueErrorCode, boolean]>([
    ['unauthorized', 'auth', false],
    // Signing in again will not help: the game asked for what the server refuses.
    ['permission_denied', 'invalid_request', false],
    ['model_not_allowed', 'invalid_request', false],
    ['id_taken', 'invalid_request', false],
    ['thread_busy', 'invalid_request', true],
    ['budget_exceeded', 'budget', false],
    ['rate_limit_exceeded', 'rate_limited', true],
    ['insufficient_quota', 'upstream', false],
    ['tool_call_limit_exceeded', 'upstream', false],
    ['service_unavailable', 'upstream', true],
    ['model_not_found', 'invalid_request', false],
    ['not_found', 'not_found', false],
  ])('maps %s to %s (retryable: %s)', (code, expected, retryable) => {
    const { status, type } = ERROR_KINDS[code];
    expect(fromErrorObject({ code, type, message: 'm' }, status)).toMatchObject({
      code: expected,
      retryable,
    });
  });

  it("maps a run's last_error (a code, no type) and a status-only failure", () => {
    expect(fromErrorObject({ code: 'rate_limit_exceeded', message: 'Slow down.' })).toMatchObject({
      code: 'rate_limited',
      retryable: true,
    });
    expect(fromErrorObject({ code: 'server_error', message: 'Boom.' })).toMatchObject({
      code: 'upstream',
      retryable: true,
    });
    expect(fromErrorObject({ code: 'invalid_prompt', message: 'No.' })).toMatchObject({
      code: 'invalid_request',
      retryable: false,
    });
    // A CDN's HTML 502, or a 403 without OpenAI's body: the status decides.
    expect(fromErrorObject(undefined, 502)).toMatchObject({ code: 'upstream', retryable: true });
    expect(fromErrorObject(undefined, 403)).toMatchObject({ code: 'auth', retryable: false });
    // An upstream's own code this version does not know: its class's usual.
    expect(fromErrorObject({ code: 'overloaded', message: 'Busy.' }, 529)).toMatchObject({
      code: 'upstream',
      retryable: true,
    });
  });
});
