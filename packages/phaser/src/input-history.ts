/**
 * The player's earlier lines, recalled with Up and Down like a shell's history. Browsing keeps the line
 * being typed as a draft, which Down past the newest entry brings back.
 *
 * @example
 * ```ts
 * const history = new InputHistory();
 * history.push('Is the gate open?');
 * history.up('Who are y'); // 'Is the gate open?'
 * history.down('Is the gate open?'); // 'Who are y' (the draft)
 * ```
 */
export class InputHistory {
  readonly #max: number;
  #entries: string[] = [];
  #cursor = 0;
  #draft = '';

  /** Keeps the newest `max` lines (default 50). */
  constructor(max = 50) {
    this.#max = Math.max(1, max);
  }

  /** Oldest → newest. */
  get entries(): readonly string[] {
    return this.#entries;
  }

  /** Whether Up/Down is showing an earlier line rather than the draft. */
  get browsing(): boolean {
    return this.#cursor < this.#entries.length;
  }

  /** Records a sent line (blank lines and a repeat of the newest are not kept) and stops browsing. */
  push(line: string): void {
    const text = line.trim();
    if (text && this.#entries.at(-1) !== text) {
      this.#entries.push(text);
      if (this.#entries.length > this.#max) this.#entries.splice(0, this.#entries.length - this.#max);
    }
    this.reset();
  }

  /** The line before the one shown; `current` is what the input holds now (kept as the draft). */
  up(current: string): string {
    if (this.#entries.length === 0) return current;
    if (!this.browsing) this.#draft = current;
    this.#cursor = Math.max(0, this.#cursor - 1);
    return this.#entries[this.#cursor]!;
  }

  /** The line after the one shown, or the draft after the newest. */
  down(current: string): string {
    if (!this.browsing) return current;
    this.#cursor++;
    return this.browsing ? this.#entries[this.#cursor]! : this.#draft;
  }

  /** Stops browsing (the input was cleared or sent). */
  reset(): void {
    this.#cursor = this.#entries.length;
    this.#draft = '';
  }
}
