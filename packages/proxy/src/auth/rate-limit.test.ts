import { describe, expect, it } from 'vitest';
import { clientKey, FixedWindowLimiter } from './rate-limit.js';

describe('FixedWindowLimiter', () => {
  it('allows `limit` requests per window, then says when to come back', () => {
    const limiter = new FixedWindowLimiter({ limit: 2, windowMs: 60_000 });
    expect(limiter.take('a', 0)).toEqual({ allowed: true });
    expect(limiter.take('a', 1_000)).toEqual({ allowed: true });
    expect(limiter.take('a', 20_000)).toEqual({ allowed: false, retryAfterSeconds: 40 });
    expect(limiter.take('a', 59_999)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect(limiter.take('a', 60_000)).toEqual({ allowed: true });
  });

  it('counts each key on its own', () => {
    const limiter = new FixedWindowLimiter({ limit: 1, windowMs: 60_000 });
    expect(limiter.take('a', 0).allowed).toBe(true);
    expect(limiter.take('a', 0).allowed).toBe(false);
    expect(limiter.take('b', 0).allowed).toBe(true);
  });

  it('never holds more than maxKeys, dropping finished windows first and then the oldest', () => {
    const limiter = new FixedWindowLimiter({ limit: 1, windowMs: 1_000, maxKeys: 3 });
    for (let i = 0; i < 100; i++) limiter.take(`ip${i}`, i);
    expect(limiter.size).toBe(3);
    // ip99 is among the newest, so it is still counted; ip0 was evicted and starts over.
    expect(limiter.take('ip99', 200).allowed).toBe(false);
    expect(limiter.take('ip0', 200).allowed).toBe(true);
    // Once every window is over, stale entries go instead of fresh ones.
    limiter.take('late', 5_000);
    expect(limiter.size).toBe(1);
  });
});

describe('clientKey', () => {
  it('keys IPv4 by address, unwrapping IPv4-mapped IPv6', () => {
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
  });

  it('keys IPv6 by /64, so rotating addresses within one subscriber does not help', () => {
    expect(clientKey('2001:db8:1:2::1')).toBe('2001:0db8:0001:0002::/64');
    expect(clientKey('2001:db8:1:2:ffff:1:2:3')).toBe(clientKey('2001:db8:1:2::1'));
    expect(clientKey('2001:db8:1:3::1')).not.toBe(clientKey('2001:db8:1:2::1'));
  });

  it('puts unknown peers in one shared bucket', () => {
    expect(clientKey(undefined)).toBe('unknown');
  });
});
