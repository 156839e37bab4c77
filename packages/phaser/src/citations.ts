import type { Citation } from '@parley/dialogue';

// What `stripCitations` takes out of a reply: a marker `【k†name】` with the space before it, or the start of
// one the stream has not finished.
const MARKERS = /\s*【[^】]*(】|$)/g;

/**
 * The line the dialogue box shows under a reply that cites the knowledge files: each file once, in the
 * order the reply cites them. Empty without citations.
 *
 * @example
 * ```ts
 * sourceLine([{ fileId: 'file-1', filename: 'chronicle.md', quote: '…' }]); // '— from chronicle.md'
 * ```
 */
export function sourceLine(citations: readonly Citation[] | undefined): string {
  const files = [...new Set((citations ?? []).map((c) => c.filename).filter(Boolean))];
  return files.length > 0 ? `— from ${files.join(', ')}` : '';
}

/**
 * Where `shown` characters of the reply as displayed (markers stripped) end in the reply as stored (with
 * its markers): how much the player saw, in the stored text's terms, for `turn.interrupt({ shown })`. A
 * marker right where the shown text ends counts as seen (it belongs to the sentence before it).
 */
export function storedOffset(stored: string, shown: number): number {
  let removed = 0;
  for (const marker of stored.matchAll(MARKERS)) {
    if (marker.index - removed > shown) break;
    removed += marker[0].length;
  }
  return Math.min(stored.length, shown + removed);
}
