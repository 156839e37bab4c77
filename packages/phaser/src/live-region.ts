/** Where a live-region line stands: still arriving, finished, ended in an error, or cut off. */
export type LiveLineState = 'streaming' | 'done' | 'error' | 'interrupted';

/** One line of the live region, updated as the turn streams. */
export interface LiveLine {
  readonly element: HTMLElement;
  /** Replaces the line's text. */
  update(text: string): void;
  /** Marks the line finished (`data-state="done"`, `"error"` or `"interrupted"`), optionally with its final text. */
  finish(state?: Exclude<LiveLineState, 'streaming'>, text?: string): void;
}

/** Options of {@link LiveRegion}. */
export interface LiveRegionOptions {
  /** Element id; default `parley-live`. */
  id?: string;
  /** Oldest lines are dropped past this count. Default 60. */
  maxLines?: number;
}

// The usual "visually hidden" recipe: present for assistive technology and the DOM, absent on screen.
const VISUALLY_HIDDEN =
  'position:absolute;width:1px;height:1px;margin:-1px;padding:0;border:0;overflow:hidden;' +
  'clip:rect(0 0 0 0);clip-path:inset(50%);white-space:nowrap;';

/**
 * A visually hidden `role="log"` live region that mirrors the dialogue, because canvas text is
 * invisible to screen readers and to browser tests. Each line is a child element with `data-speaker`
 * (the NPC's name or `player`) and `data-state`; a streaming line carries `aria-busy="true"` so screen
 * readers announce it once, when it is complete.
 *
 * @example
 * ```ts
 * const live = new LiveRegion(document);
 * live.add('player', 'Is the gate open?', 'done');
 * const reply = live.add('Brom', '');
 * reply.update('Closed at night.');
 * reply.finish();
 * ```
 */
export class LiveRegion {
  readonly element: HTMLElement;
  readonly #maxLines: number;
  #destroyed = false;

  constructor(document: Document, options: LiveRegionOptions = {}) {
    const id = options.id ?? 'parley-live';
    this.#maxLines = Math.max(1, options.maxLines ?? 60);
    const existing = document.getElementById(id);
    // A page may host several scenes with the plugin: they share one region, counted in a data attribute so
    // the last one out removes it.
    this.element = existing ?? document.createElement('div');
    this.element.dataset['users'] = String(Number(this.element.dataset['users'] ?? 0) + 1);
    if (existing === null) {
      this.element.id = id;
      this.element.setAttribute('role', 'log');
      this.element.setAttribute('aria-live', 'polite');
      this.element.setAttribute('aria-label', 'Dialogue');
      this.element.style.cssText = VISUALLY_HIDDEN;
      document.body.append(this.element);
    }
  }

  /**
   * Appends a line spoken by `speaker` (an NPC name, or `player`). `kind` marks lines that are not part
   * of a conversation (`data-kind="bark"`), or that name the files a reply cited (`data-kind="source"`,
   * right after the reply).
   */
  add(speaker: string, text: string, state: LiveLineState = 'streaming', kind?: 'bark' | 'source'): LiveLine {
    const element = this.element.ownerDocument.createElement('p');
    element.dataset['speaker'] = speaker;
    if (kind) element.dataset['kind'] = kind;
    element.textContent = text;
    setState(element, state);
    this.element.append(element);
    while (this.element.childElementCount > this.#maxLines) this.element.firstElementChild?.remove();
    return {
      element,
      update(next) {
        if (element.textContent !== next) element.textContent = next;
      },
      finish(final = 'done', finalText) {
        if (finalText !== undefined) element.textContent = finalText;
        setState(element, final);
      },
    };
  }

  /** Releases the region; the last user removes it from the page. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    const users = Number(this.element.dataset['users'] ?? 1) - 1;
    this.element.dataset['users'] = String(users);
    if (users <= 0) this.element.remove();
  }
}

function setState(element: HTMLElement, state: LiveLineState): void {
  element.dataset['state'] = state;
  if (state === 'streaming') element.setAttribute('aria-busy', 'true');
  else element.removeAttribute('aria-busy');
}
