import { isIPv4, isIPv6 } from 'node:net';
import { expandIPv6 } from './dev-mode.js';

/** The verdict for one request: allowed, or refused until `retryAfterSeconds` have passed. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * A fixed-window counter per key, in memory, bounded to `maxKeys` entries.
 *
 * Every window has the same length and an entry is re-inserted whenever its window restarts, so the
 * map's insertion order is also expiry order: evicting stale entries only ever looks at the front.
 * When a flood of fresh keys fills the map, the oldest window is dropped (that key starts over); this
 * keeps memory bounded at the price of letting a caller with very many addresses reset others' counts.
 *
 * @example
 * const limiter = new FixedWindowLimiter({ limit: 10, windowMs: 60_000 });
 * if (!limiter.take(clientKey(ip), Date.now()).allowed) throw tooMany();
 */
export class FixedWindowLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #maxKeys: number;
  readonly #windows = new Map<string, { start: number; count: number }>();

  constructor(options: { limit: number; windowMs: number; maxKeys?: number }) {
    this.#limit = options.limit;
    this.#windowMs = options.windowMs;
    this.#maxKeys = options.maxKeys ?? 10_000;
  }

  /** Counts one request for `key` at `now` (milliseconds). */
  take(key: string, now: number): RateDecision {
    let entry = this.#windows.get(key);
    if (entry && now - entry.start >= this.#windowMs) {
      this.#windows.delete(key);
      entry = undefined;
    }
    if (!entry) {
      this.#evict(now);
      entry = { start: now, count: 0 };
      this.#windows.set(key, entry);
    }
    if (entry.count >= this.#limit)
      return {
        allowed: false,
        retryAfterSeconds: Math.max(1, Math.ceil((entry.start + this.#windowMs - now) / 1000)),
      };
    entry.count += 1;
    return { allowed: true };
  }

  /** Number of keys held, for tests and metrics. */
  get size(): number {
    return this.#windows.size;
  }

  #evict(now: number): void {
    for (const [key, entry] of this.#windows) {
      if (now - entry.start < this.#windowMs && this.#windows.size < this.#maxKeys) break;
      this.#windows.delete(key);
    }
  }
}

/**
 * The rate-limit key for a client address: IPv4 as is (IPv4-mapped IPv6 unwrapped), IPv6 by its /64,
 * because one subscriber usually holds a whole /64 and could otherwise rotate through addresses.
 *
 * @example
 * clientKey('::ffff:203.0.113.7'); // '203.0.113.7'
 * clientKey('2001:db8::1'); // '2001:0db8:0000:0000::/64'
 */
export function clientKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const value = address.trim().toLowerCase();
  if (isIPv4(value)) return value;
  if (!isIPv6(value)) return value.slice(0, 64);
  const full = expandIPv6(value);
  if (full.startsWith('0000:0000:0000:0000:0000:ffff:')) {
    const [hi = 0, lo = 0] = full
      .split(':')
      .slice(6)
      .map((group) => Number.parseInt(group, 16));
    return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
  }
  return `${full.split(':').slice(0, 4).join(':')}::/64`;
}
