import { describe, expect, it } from 'vitest';
import { Pager, pageText, paginate, wrapLines } from './pager.js';

// One character is one pixel wide.
const chars = (text: string) => text.length;
const show = (text: string, width: number) =>
  wrapLines(text, width, chars).map((r) => text.slice(r.start, r.end));

describe('wrapLines', () => {
  it('wraps greedily at spaces, keeping each line’s place in the text', () => {
    expect(show('Halt! Who goes there?', 6)).toEqual(['Halt! ', 'Who ', 'goes ', 'there?']);
    const text = 'The gate is closed';
    const lines = wrapLines(text, 10, chars);
    expect(lines.map((l) => text.slice(l.start, l.end))).toEqual(['The gate ', 'is closed']);
    expect(lines.at(-1)?.end).toBe(text.length);
  });

  it('breaks at newlines, keeps blank lines, and cuts words wider than the box', () => {
    expect(show('One.\n\nTwo.', 20)).toEqual(['One.', '', 'Two.']);
    expect(show('Aaaaaaaaaa bb', 4)).toEqual(['Aaaa', 'aaaa', 'aa ', 'bb']);
  });

  it('measures with the given font measure (wide letters wrap sooner)', () => {
    const wideW = (text: string) => [...text].reduce((w, c) => w + (c === 'W' ? 3 : 1), 0);
    expect(wrapLines('WW ab cd', 8, wideW).length).toBe(2);
    expect(wrapLines('aa ab cd', 8, chars).length).toBe(1);
  });
});

describe('paginate and pageText', () => {
  const text = 'one two three four five six seven';
  const pages = paginate(text, wrapLines(text, 9, chars), 2);

  it('cuts lines into pages that cover the whole text, in order', () => {
    expect(pages.map((p) => pageText(text, p, text.length))).toEqual([
      'one two\nthree',
      'four five\nsix seven',
    ]);
    expect(pages[0]!.end).toBe(pages[1]!.start);
    expect(pages.at(-1)!.end).toBe(text.length);
  });

  it('shows a page only as far as it is revealed', () => {
    expect(pageText(text, pages[0]!, 5)).toBe('one t');
    expect(pageText(text, pages[0]!, 9)).toBe('one two\nt');
    expect(pageText(text, pages[1]!, pages[1]!.start)).toBe('');
  });

  it('never starts a page with the blank line of a paragraph break', () => {
    const story = 'aaa bbb\n\nccc';
    const split = paginate(story, wrapLines(story, 3, chars), 2);
    expect(split.map((p) => pageText(story, p, story.length))).toEqual(['aaa\nbbb', 'ccc']);
  });
});

describe('Pager', () => {
  it('limits the typewriter to the page on screen while more follows, then turns', () => {
    const pager = new Pager(chars, 9, 2);
    pager.update('one two three');
    expect(pager.hasNext).toBe(false);
    expect(pager.limit).toBe(Number.POSITIVE_INFINITY);
    pager.update('one two three four five');
    expect(pager.hasNext).toBe(true);
    expect(pager.limit).toBe(14);
    expect(pager.full(13)).toBe(false);
    expect(pager.full(14)).toBe(true);
    expect(pager.text(14)).toBe('one two\nthree');
    expect(pager.next()).toBe(true);
    expect(pager.text(23)).toBe('four five');
    expect(pager.next()).toBe(false);
  });

  it('re-wraps on resize and stays on the page being read', () => {
    const pager = new Pager(chars, 9, 2);
    const text = 'one two three four five six seven';
    pager.update(text);
    pager.next();
    pager.resize(chars, 20, 1, 20); // 'one two three four ' | 'five six seven'; character 20 is on the second
    expect(pager.text(text.length)).toBe('five six seven');
    pager.reset();
    expect(pager.index).toBe(0);
    expect(pager.text(0)).toBe('');
  });
});
