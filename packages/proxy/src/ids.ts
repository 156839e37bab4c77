import { randomBytes } from 'node:crypto';
import type { IdPrefix } from '@parley/protocol';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A new id with OpenAI's prefix and 24 random base62 characters, e.g. `asst_3hF…`. */
export function newId(prefix: IdPrefix): string {
  const bytes = randomBytes(24);
  let out = prefix as string;
  for (const byte of bytes) out += ALPHABET[byte % ALPHABET.length];
  return out;
}

/** Unix seconds, the unit of every `*_at` field. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
