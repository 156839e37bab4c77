import { describe, expect, it } from 'vitest';
import { inWorldErrorText } from './error-text.js';

describe('inWorldErrorText', () => {
  it('names the NPC and suggests a retry for connection failures', () => {
    expect(inWorldErrorText('Brom', { code: 'network', retryable: true })).toBe(
      '(Brom seems distracted — the connection failed. Try again.)',
    );
  });

  it('does not suggest a retry when retrying cannot help', () => {
    expect(inWorldErrorText('Brom', { code: 'budget', retryable: false })).not.toMatch(/try again/i);
    expect(inWorldErrorText('Brom', { code: 'unknown', retryable: false })).not.toMatch(/try again/i);
    expect(inWorldErrorText('Brom', { code: 'upstream', retryable: true })).toMatch(/try again/i);
  });

  it('says why a line was refused (too long for the server), instead of "something went wrong"', () => {
    const text = inWorldErrorText('Odo', {
      code: 'invalid_request',
      retryable: false,
      message: 'Messages are limited to 4000 characters on this server.',
    });
    expect(text).toBe('(Odo cannot take that in — Messages are limited to 4000 characters on this server.)');
    expect(text).not.toMatch(/something went wrong/);
  });
});
