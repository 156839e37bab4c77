/** A span of the text, `[start, end)` in UTF-16 units. */
export interface TextRange {
  start: number;
  end: number;
}

/** One page of the dialogue box: its lines, and the span of the text they cover. */
export interface Page extends TextRange {
  lines: TextRange[];
}

/** Measures a string's width in the box's font (game pixels). */
export type Measure = (text: string) => number;

/**
 * Greedy word wrap that keeps track of where each line comes from, so a page can be typed out character
 * by character. A line's range includes the spaces after its last word (they are not drawn); a `\n`
 * ends a line and belongs to none. Words wider than the box are broken between characters.
 *
 * @example
 * ```ts
 * wrapLines('Halt! Who goes there?', 6, (s) => s.length); // 'Halt! ' | 'Who ' | 'goes ' | 'there?'
 * ```
 */
export function wrapLines(text: string, maxWidth: number, measure: Measure): TextRange[] {
  const lines: TextRange[] = [];
  const space = measure(' ');
  let paragraphStart = 0;
  for (const paragraph of text.split('\n')) {
    const base = paragraphStart;
    paragraphStart += paragraph.length + 1;
    let lineStart = base;
    let width = 0;
    let empty = true;
    // Words with the spaces that follow them.
    for (const match of paragraph.matchAll(/([^ ]*)( *)/g)) {
      const [all, word = '', gap = ''] = match;
      if (all === '') continue;
      const at = base + match.index;
      let wordWidth = word ? measure(word) : 0;
      if (!empty && width + wordWidth > maxWidth) {
        lines.push({ start: lineStart, end: at });
        lineStart = at;
        width = 0;
        empty = true;
      }
      // A word wider than the whole line is cut where it overflows.
      if (wordWidth > maxWidth) {
        const stop = at + word.length;
        let from = at;
        while (stop - from > 1 && measure(text.slice(from, stop)) > maxWidth) {
          let fit = 1;
          while (from + fit < stop && measure(text.slice(from, from + fit + 1)) <= maxWidth) fit++;
          lines.push({ start: lineStart, end: from + fit });
          from += fit;
          lineStart = from;
        }
        wordWidth = measure(text.slice(from, stop));
      }
      width += wordWidth + gap.length * space;
      empty = false;
    }
    lines.push({ start: lineStart, end: base + paragraph.length });
  }
  return lines;
}

/**
 * Splits wrapped lines into pages of `linesPerPage`. A page never starts with an empty line (a paragraph
 * break falling between pages), and every page but the last runs up to where the next one starts.
 *
 * @example
 * ```ts
 * const pages = paginate(wrapLines(reply, 400, measure), 4);
 * pages.length; // 2 when the reply needs 5 to 8 lines
 * ```
 */
export function paginate(text: string, lines: readonly TextRange[], linesPerPage: number): Page[] {
  const per = Math.max(1, Math.floor(linesPerPage));
  const pages: Page[] = [];
  let current: TextRange[] = [];
  for (const line of lines) {
    if (current.length === 0 && pages.length > 0 && line.end === line.start) continue;
    current.push(line);
    if (current.length === per) {
      pages.push(toPage(current));
      current = [];
    }
  }
  if (current.length > 0 || pages.length === 0) pages.push(toPage(current));
  for (let i = 0; i + 1 < pages.length; i++) pages[i]!.end = pages[i + 1]!.start;
  pages.at(-1)!.end = text.length;
  return pages;
}

function toPage(lines: TextRange[]): Page {
  return { start: lines[0]?.start ?? 0, end: lines.at(-1)?.end ?? 0, lines };
}

/**
 * What a page shows once `shown` characters of the text are revealed: each line cut at `shown`, its
 * trailing spaces dropped, lines joined by `\n`.
 *
 * @example
 * ```ts
 * pageText('Halt! Who goes there?', pages[0], 8); // 'Halt!\nWh'
 * ```
 */
export function pageText(text: string, page: Page, shown: number): string {
  const out: string[] = [];
  for (const line of page.lines) {
    if (line.start >= shown && out.length > 0) break;
    out.push(text.slice(line.start, Math.min(line.end, shown)).trimEnd());
  }
  return out.join('\n');
}

/**
 * The dialogue box's pages over a growing text: re-wraps when the text or the box changes, remembers the
 * page on screen, and says how far the typewriter may go (the end of the page, while more follows).
 *
 * @example
 * ```ts
 * const pager = new Pager((s) => ctx.measureText(s).width, 420, 4);
 * pager.update(reply);
 * typewriter.tick(dt, pager.limit);
 * box.setText(pager.text(typewriter.shown));
 * if (pager.full(typewriter.shown)) showContinueArrow();
 * ```
 */
export class Pager {
  #measure: Measure;
  #width: number;
  #linesPerPage: number;
  #text = '';
  #pages: Page[] = [{ start: 0, end: 0, lines: [] }];
  #index = 0;

  constructor(measure: Measure, width: number, linesPerPage: number) {
    this.#measure = measure;
    this.#width = width;
    this.#linesPerPage = linesPerPage;
  }

  /** The pages of the current text (at least one). */
  get pages(): readonly Page[] {
    return this.#pages;
  }

  /** Index of the page on screen. */
  get index(): number {
    return this.#index;
  }

  /** The page on screen. */
  get page(): Page {
    return this.#pages[this.#index]!;
  }

  /** Whether pages follow the one on screen. */
  get hasNext(): boolean {
    return this.#index + 1 < this.#pages.length;
  }

  /** How many characters may be revealed: the end of this page while more follows, else all. */
  get limit(): number {
    return this.hasNext ? this.page.end : Number.POSITIVE_INFINITY;
  }

  /** Sets the text (the whole reply so far); re-wraps only when it changed. */
  update(text: string): void {
    if (text === this.#text) return;
    this.#text = text;
    this.#layout();
  }

  /** The box changed size or font: re-wrap, keeping the page that holds `shown`. */
  resize(measure: Measure, width: number, linesPerPage: number, shown = 0): void {
    this.#measure = measure;
    this.#width = width;
    this.#linesPerPage = linesPerPage;
    this.#layout();
    this.#index = Math.max(
      0,
      this.#pages.findLastIndex((page) => page.start < Math.max(1, shown)),
    );
  }

  /** Starts over for a new reply. */
  reset(): void {
    this.#text = '';
    this.#index = 0;
    this.#layout();
  }

  /** What the page on screen shows with `shown` characters revealed. */
  text(shown: number): string {
    return pageText(this.#text, this.page, shown);
  }

  /** Whether the page on screen is completely revealed and another follows (the "continue" arrow). */
  full(shown: number): boolean {
    return this.hasNext && shown >= this.page.end;
  }

  /** Turns to the next page; returns false on the last. */
  next(): boolean {
    if (!this.hasNext) return false;
    this.#index++;
    return true;
  }

  #layout(): void {
    this.#pages = paginate(this.#text, wrapLines(this.#text, this.#width, this.#measure), this.#linesPerPage);
    this.#index = Math.min(this.#index, this.#pages.length - 1);
  }
}
