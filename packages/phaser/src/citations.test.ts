import { stripCitations } from '@parley/dialogue';
import { describe, expect, it } from 'vitest';
import { sourceLine, storedOffset } from './citations.js';

const cite = (filename: string) => ({ fileId: `file-${filename}`, filename, quote: 'q' });

describe('sourceLine', () => {
  it('names each cited file once, in order', () => {
    expect(sourceLine([cite('chronicle.md')])).toBe('— from chronicle.md');
    expect(sourceLine([cite('chronicle.md'), cite('notes.pdf'), cite('chronicle.md')])).toBe(
      '— from chronicle.md, notes.pdf',
    );
    expect(sourceLine([])).toBe('');
    expect(sourceLine(undefined)).toBe('');
  });
});

describe('storedOffset', () => {
  const stored = 'The bell was cast in 812 【0†chronicle.md】. It rang 【1†notes.pdf】 twice.';
  const shown = stripCitations(stored);

  it('maps a count of shown characters to the same place in the stored text', () => {
    expect(shown).toBe('The bell was cast in 812. It rang twice.');
    for (let n = 0; n <= shown.length; n++) {
      const at = storedOffset(stored, n);
      // The stored text up to there reads, stripped, as exactly what was shown.
      expect(stripCitations(stored.slice(0, at))).toBe(shown.slice(0, n));
    }
    expect(storedOffset(stored, 3)).toBe(3);
    // Everything shown is everything stored.
    expect(storedOffset(stored, shown.length)).toBe(stored.length);
  });

  it('is the identity for a reply without markers', () => {
    expect(storedOffset('Closed at night.', 6)).toBe(6);
  });
});
