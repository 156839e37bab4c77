import { randomBytes } from 'node:crypto';
import type { IdPrefix } from '@parley/protocol';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** Random bytes at or above this are skipped, so that each character is equally likely (248 = 4 × 62). */
const UNBIASED_BELOW = 248;
const ID_CHARS = 24;

/**
 * Random bytes drawn from the system 4 KiB at a time: a run makes several ids, and one `randomBytes` call
 * each cost more than the rest of making them (Node's `randomUUID` pools its entropy the same way).
 */
let pool = Buffer.alloc(0);
let taken = 0;

/** A new id with OpenAI's prefix and 24 random base62 characters, e.g. `asst_3hF…`. */
export function newId(prefix: IdPrefix): string {
  let out = prefix as string;
  let chars = 0;
  while (chars < ID_CHARS) {
    if (taken === pool.length) {
      pool = randomBytes(4096);
      taken = 0;
    }
    const byte = pool[taken++]!;
    if (byte >= UNBIASED_BELOW) continue;
    out += ALPHABET[byte % ALPHABET.length];
    chars++;
  }
  return out;
}

/** Unix seconds, the unit of every `*_at` field. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
