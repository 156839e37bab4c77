import { estimateTokens } from '../tokens.js';

/** How to cut text: OpenAI's `static` strategy (its `auto` is 800 tokens with 400 overlapping). */
export interface ChunkSizes {
  maxTokens: number;
  overlapTokens: number;
}

/** OpenAI's `auto` chunking strategy. */
export const AUTO_CHUNKING: ChunkSizes = { maxTokens: 800, overlapTokens: 400 };

/** A piece of text that is never split: a word with the whitespace after it. */
interface Piece {
  text: string;
  tokens: number;
}

/**
 * Cuts text into chunks of at most `maxTokens` estimated tokens (as `tokens.ts` counts them), each next
 * chunk starting `overlapTokens` before the previous one ended, as OpenAI's static strategy does. Cuts fall
 * between words; a single word longer than a chunk is cut by characters. Whitespace-only text has no
 * chunks.
 *
 * @example
 * ```ts
 * chunkText(lore, { maxTokens: 800, overlapTokens: 400 }); // ['…', '…']
 * ```
 */
export function chunkText(text: string, sizes: ChunkSizes): string[] {
  const { maxTokens } = sizes;
  const overlap = Math.min(sizes.overlapTokens, Math.floor(maxTokens / 2));
  const source = pieces(text, maxTokens);
  const chunks: string[] = [];
  // Only the pieces of the chunk being built are held, so a long file never sits in memory as words.
  let window: Piece[] = [];
  let tokens = 0;
  let next = source.next();
  for (;;) {
    while (!next.done && (window.length === 0 || tokens + next.value.tokens <= maxTokens)) {
      window.push(next.value);
      tokens += next.value.tokens;
      next = source.next();
    }
    const chunk = window
      .map((piece) => piece.text)
      .join('')
      .trim();
    if (chunk) chunks.push(chunk);
    if (next.done) break;
    // The next chunk starts about `overlap` tokens before this one ended, with room for the next word,
    // so every chunk takes at least one word no chunk had before.
    const room = Math.min(overlap, maxTokens - next.value.tokens);
    let keep = window.length;
    let back = 0;
    while (keep - 1 > 0 && back + window[keep - 1]!.tokens <= room) {
      keep--;
      back += window[keep]!.tokens;
    }
    window = window.slice(keep);
    tokens = back;
  }
  return chunks;
}

function* pieces(text: string, maxTokens: number): Generator<Piece> {
  for (const match of text.matchAll(/\s*\S+\s*/g)) {
    const word = match[0];
    const tokens = estimateTokens(word);
    if (tokens <= maxTokens) {
      yield { text: word, tokens };
      continue;
    }
    // A run without whitespace longer than a chunk (a dense script, a hash): cut by code points.
    const characters = [...word];
    for (let i = 0; i < characters.length; i += maxTokens) {
      const part = characters.slice(i, i + maxTokens).join('');
      yield { text: part, tokens: estimateTokens(part) };
    }
  }
}
