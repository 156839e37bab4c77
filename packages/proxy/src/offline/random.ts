/**
 * Seeded randomness for the offline model. Everything it "chooses" comes from here, so a fixed seed and
 * a fixed request give the same reply byte for byte (ids included), which is what tests and replays need.
 */

/** A source of floats in [0, 1). */
export type Rng = () => number;

/**
 * 32-bit FNV-1a over the UTF-16 code units of every part, with a separator between parts so that
 * `['ab', 'c']` and `['a', 'bc']` differ.
 *
 * @example
 * hash32('seed', 7, 'hello'); // a stable unsigned 32-bit integer
 */
export function hash32(...parts: ReadonlyArray<string | number>): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    const text = `${String(part)}\u241e`;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
  }
  // One avalanche round (murmur3 finalizer) so that nearby inputs spread over the whole range.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * mulberry32: tiny, fast and good enough for phrasing choices; not for anything security-related.
 *
 * @example
 * const rng = mulberry32(hash32('seed'));
 * rng(); // 0.…
 */
export function mulberry32(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `length` alphanumeric characters drawn from `rng`, for ids shaped like OpenAI's. */
export function randomToken(rng: Rng, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET.charAt(Math.floor(rng() * ALPHABET.length));
  return out;
}

/**
 * One element of a non-empty list. At temperature 0 the model is greedy and always takes the first
 * (its "most likely") phrasing; above that every phrasing is equally likely, still seed-determined.
 */
export function pick<T>(rng: Rng, options: readonly [T, ...T[]], temperature = 1): T {
  if (temperature <= 0) return options[0];
  return options[Math.floor(rng() * options.length)] ?? options[0];
}
