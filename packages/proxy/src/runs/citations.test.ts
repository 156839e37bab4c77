import type { FileSearchToolCall } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { CitationScanner, citationsIn, resolverFor } from './citations.js';

const search = (results: Array<[string, string]>): FileSearchToolCall => ({
  id: 'call_1',
  type: 'file_search',
  file_search: {
    results: results.map(([file_id, file_name]) => ({ file_id, file_name, score: 0.5 })),
  },
});

const searches = [
  search([
    ['file-chron', 'chronicle.md'],
    ['file-notes', 'odo-notes.pdf'],
  ]),
];
const REPLY = 'Queen Ysolde founded Varn in 412.【0†chronicle.md】 Odo keeps the ledger.【1†odo-notes.pdf】';

/** Feeds `text` to a scanner in the given piece sizes, as deltas arrive; returns what each piece completed. */
function stream(text: string, sizes: number[]) {
  const scanner = new CitationScanner(resolverFor(searches));
  const perDelta: number[][] = [];
  let at = 0;
  let i = 0;
  while (at < text.length) {
    const size = sizes[i++ % sizes.length]!;
    perDelta.push(scanner.add(text.slice(at, at + size)).map((note) => note.start_index));
    at = Math.min(text.length, at + size);
  }
  return { scanner, perDelta };
}

describe('citation markers', () => {
  it('become file_citation annotations whose indices slice the marker out of the text', () => {
    const notes = citationsIn(REPLY, resolverFor(searches));
    expect(notes).toEqual([
      {
        type: 'file_citation',
        text: '【0†chronicle.md】',
        start_index: 33,
        end_index: 49,
        file_citation: { file_id: 'file-chron' },
      },
      {
        type: 'file_citation',
        text: '【1†odo-notes.pdf】',
        start_index: REPLY.indexOf('【1'),
        end_index: REPLY.length,
        file_citation: { file_id: 'file-notes' },
      },
    ]);
    for (const note of notes) expect(REPLY.slice(note.start_index, note.end_index)).toBe(note.text);
  });

  it('split across deltas, each is reported once, by the delta that completes it', () => {
    const whole = citationsIn(REPLY, resolverFor(searches));
    for (const sizes of [[1], [2, 7], [5, 1, 3], [34], [40, 2, 1]]) {
      const { scanner, perDelta } = stream(REPLY, sizes);
      expect(scanner.annotations).toEqual(whole);
      expect(perDelta.flat()).toEqual(whole.map((note) => note.start_index));
      // The piece that reported a marker is the one whose end reached the marker's last character.
      let at = 0;
      perDelta.forEach((starts, i) => {
        at = Math.min(REPLY.length, at + sizes[i % sizes.length]!);
        for (const start of starts) {
          const note = whole.find((candidate) => candidate.start_index === start)!;
          expect(at).toBeGreaterThanOrEqual(note.end_index);
          expect(at - sizes[i % sizes.length]!).toBeLessThan(note.end_index);
        }
      });
    }
  });

  it('leaves markers that cite no passage of the run as text', () => {
    const resolve = resolverFor(searches);
    // Index past the results, a file name that is not that passage's, a broken marker, no run searches.
    expect(citationsIn('A.【7†chronicle.md】 B.【1†chronicle.md】 C.【0†chronicle.md', resolve)).toEqual([]);
    expect(citationsIn(REPLY, resolverFor([]))).toEqual([]);
  });

  it('numbers each search from 0: the newest search with that passage wins', () => {
    const newer = search([['file-bestiary', 'bestiary.md']]);
    const resolve = resolverFor([...searches, newer]);
    expect(resolve(0, 'bestiary.md')).toBe('file-bestiary');
    expect(resolve(0, 'chronicle.md')).toBe('file-chron');
    expect(resolve(1, 'odo-notes.pdf')).toBe('file-notes');
  });

  it('counts indices in UTF-16 code units, as JavaScript slices strings', () => {
    const text = 'The 🐉 sleeps.【0†chronicle.md】';
    const [note] = citationsIn(text, resolverFor(searches));
    expect(text.slice(note!.start_index, note!.end_index)).toBe('【0†chronicle.md】');
  });

  it('does not wait forever on an open bracket that never becomes a marker', () => {
    const scanner = new CitationScanner(resolverFor(searches));
    scanner.add('He said 【 and then ');
    scanner.add('x'.repeat(400));
    const [note] = scanner.add(' later.【0†chronicle.md】');
    expect(note?.text).toBe('【0†chronicle.md】');
    expect(note?.start_index).toBe('He said 【 and then '.length + 400 + ' later.'.length);
  });

  it('keeps only a marker’s length of a long reply to scan, however long the reply', () => {
    const scanner = new CitationScanner(resolverFor(searches));
    const word = `${'x'.repeat(2048)} `;
    let length = 0;
    for (let i = 0; i < 2000; i++) {
      scanner.add(word);
      length += word.length;
    }
    const [note] = scanner.add('Done.【0†chronicle.md】');
    expect(note?.start_index).toBe(length + 'Done.'.length);
  });
});
