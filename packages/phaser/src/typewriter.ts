/** Options of {@link Typewriter}. */
export interface TypewriterOptions {
  /** Steady reveal pace. Default 45, a comfortable reading speed. */
  charsPerSecond?: number;
  /**
   * Extra pause after sentence-ending punctuation, in characters' worth of time. Default 6
   * (about an eighth of a second at the default pace), which makes streamed replies read like speech.
   */
  sentencePause?: number;
  /**
   * When more than this many characters are waiting, the pace grows in proportion to the backlog, so
   * the reveal follows the text's arrival: a fast model's line is not held back for seconds, and the
   * reveal never trails the stream by much more than `catchUpAfter / charsPerSecond` seconds (with the
   * defaults, about two thirds of a second). Default 30.
   */
  catchUpAfter?: number;
}

const SENTENCE_END = /[.!?…]/;
const SLICE_MS = 50;

/**
 * Reveals text at a fixed characters-per-second pace, however unevenly it arrives. The stream feeds the
 * buffer (`write`, `end`); the game loop calls `tick(dtMs)` and renders `visible`.
 *
 * @example
 * ```ts
 * const typewriter = new Typewriter({ charsPerSecond: 40 });
 * typewriter.write('Halt! ');
 * typewriter.tick(100); // → true: 4 characters visible
 * typewriter.visible; // 'Halt'
 * ```
 */
export class Typewriter {
  readonly charsPerSecond: number;
  readonly #sentencePause: number;
  readonly #catchUpAfter: number;
  #target = '';
  #shown = 0;
  // One character is always due after a wait: the first glyph of a reply (or of a token the reader was
  // waiting for) shows on the next frame, and the pace applies from there.
  #budget = 1;
  #ended = false;

  constructor(options: TypewriterOptions = {}) {
    this.charsPerSecond = Math.max(1, options.charsPerSecond ?? 45);
    this.#sentencePause = Math.max(0, options.sentencePause ?? 6);
    this.#catchUpAfter = Math.max(1, options.catchUpAfter ?? 30);
  }

  /** The text revealed so far. */
  get visible(): string {
    return this.#target.slice(0, this.#shown);
  }

  /** Everything received so far, revealed or not. */
  get target(): string {
    return this.#target;
  }

  /** Whether characters are waiting to be revealed. */
  get typing(): boolean {
    return this.#shown < this.#target.length;
  }

  /** Whether the source has ended and everything is revealed. */
  get done(): boolean {
    return this.#ended && !this.typing;
  }

  /** Appends streamed text to the buffer. */
  write(delta: string): void {
    this.#target += delta;
  }

  /**
   * Replaces the buffer with the full text so far. If it does not extend what is already shown (the
   * source corrected itself), the reveal restarts at the common prefix.
   */
  set(text: string): void {
    if (!text.startsWith(this.#target.slice(0, this.#shown))) {
      let common = 0;
      while (common < this.#shown && text[common] === this.#target[common]) common++;
      this.#shown = common;
    }
    this.#target = text;
  }

  /** Marks the source as finished; `done` turns true once the rest is revealed. */
  end(): void {
    this.#ended = true;
  }

  /** How many characters (UTF-16 units) of the text are revealed. */
  get shown(): number {
    return this.#shown;
  }

  /**
   * Reveals everything received so far at once (the player pressed a key to skip), or up to `limit`
   * characters (the end of the page on screen).
   */
  skip(limit = Number.POSITIVE_INFINITY): void {
    this.#shown = Math.max(this.#shown, Math.min(limit, this.#target.length));
    this.#budget = 1;
  }

  /** Empties the buffer for a new line. */
  reset(): void {
    this.#target = '';
    this.#shown = 0;
    this.#budget = 1;
    this.#ended = false;
  }

  /**
   * Advances time by `dtMs`; returns whether `visible` changed. `limit` stops the reveal at that many
   * characters (the end of a full page) without banking the time spent waiting there.
   */
  tick(dtMs: number, limit = Number.POSITIVE_INFINITY): boolean {
    const end = Math.min(limit, this.#target.length);
    if (this.#shown >= end) {
      // Time spent waiting for tokens (or for the player to turn the page) must not be banked, or the
      // next chunk would appear in a burst.
      this.#budget = 1;
      return false;
    }
    const before = this.#shown;
    this.#reveal(end);
    // The pace depends on the backlog, which shrinks as the reveal goes: a long frame (a hidden tab
    // coming back) is advanced in short slices so it does not overshoot.
    for (let left = Math.max(0, dtMs); left > 0 && this.#shown < end; left -= SLICE_MS) {
      // (What waits beyond the page on screen is not behind: the player turns the page.)
      const backlog = end - this.#shown;
      const pace = this.charsPerSecond * Math.max(1, backlog / this.#catchUpAfter);
      this.#budget += (Math.min(left, SLICE_MS) * pace) / 1000;
      this.#reveal(end);
    }
    return this.#shown !== before;
  }

  #reveal(end: number): void {
    while (this.#budget >= 1 && this.#shown < end) {
      const char = this.#target[this.#shown] ?? '';
      let step = 1;
      // Never split a surrogate pair: half an emoji renders as a replacement box.
      if (isHighSurrogate(char) && this.#shown + 1 < this.#target.length) step = 2;
      this.#shown += step;
      this.#budget -= 1;
      if (SENTENCE_END.test(char) && this.#isSentenceBoundary()) this.#budget -= this.#sentencePause;
    }
  }

  // A full stop only pauses when followed by a space or the end of the text, so "3.5" or "..." mid-word
  // keeps flowing.
  #isSentenceBoundary(): boolean {
    const next = this.#target[this.#shown];
    return next === undefined ? this.#ended : /\s/.test(next);
  }
}

function isHighSurrogate(char: string): boolean {
  const code = char.charCodeAt(0);
  return code >= 0xd800 && code <= 0xdbff;
}
