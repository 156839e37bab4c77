import type * as Phaser from 'phaser';
import { InputHistory } from './input-history.js';
import type { Measure } from './pager.js';
import type { PageLayout, SessionView } from './talk-session.js';

/** Look of the dialogue box; every field has a default. */
export interface DialogueBoxTheme {
  fontFamily?: string;
  /** Body text size in game pixels. Default 18. */
  fontSize?: number;
  /** Panel fill, as 0xRRGGBB. */
  panelColor?: number;
  panelAlpha?: number;
  borderColor?: number;
  textColor?: string;
  nameColor?: string;
  dimColor?: string;
  errorColor?: string;
  /** Render depth of the box; default 10 000 so it sits above the world. */
  depth?: number;
}

/** What the box reports back to the plugin. */
export interface DialogueBoxHandlers {
  /** Enter with a non-empty line, or a suggestion chip. */
  submit(text: string): void;
  /** The advance control went down (Enter on an empty line, a click or tap on the panel). */
  advancePress(): void;
  /** …and came up again. */
  advanceRelease(): void;
  /** Escape. */
  escape(): void;
}

/** Behaviour of the box that is not its look. */
export interface DialogueBoxOptions {
  /** Longest line the input takes, in characters. Default {@link DEFAULT_MAX_LINE}. */
  maxLineLength?: number;
  /** Whether the hints name taps rather than keys. Default: whether the primary pointer is coarse. */
  touch?: boolean;
}

const DEFAULT_THEME: Required<DialogueBoxTheme> = {
  fontFamily: '"Trebuchet MS", "DejaVu Sans", Verdana, sans-serif',
  fontSize: 18,
  panelColor: 0x1b1410,
  panelAlpha: 0.92,
  borderColor: 0xc9a66b,
  textColor: '#f4e9d8',
  nameColor: '#ffd98a',
  dimColor: '#a8998a',
  errorColor: '#ff9f8a',
  depth: 10_000,
};

const MARGIN = 16;
const PAD = 16;
const INPUT_HEIGHT = 34;
const LINE_SPACING = 4;
const HINT_LONG = 'Enter: say / next  ·  ↑↓: earlier lines  ·  Esc: stop / leave';
const HINT_SHORT = 'Enter · ↑↓ · Esc';
// Touch screens have no Enter or Esc: the hint names taps (the leave button is the game's, or the ✕).
const HINT_TOUCH = 'Tap here: next  ·  ✕: stop / leave';
// The leave button's side, in CSS pixels: a fingertip.
const LEAVE_SIZE = 40;
/** Default longest line the player may type (characters). */
export const DEFAULT_MAX_LINE = 400;

interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * The on-screen dialogue: a panel pinned to the bottom of the camera (scroll factor 0) with the NPC's
 * name, the page of the reply typed so far, a continue arrow when more pages follow, the player's last
 * line, a DOM `<input>` laid over the canvas for typing (with Up/Down history), and suggested replies as
 * DOM buttons above the panel. It only renders and forwards input; the plugin decides what it shows.
 */
export class DialogueBox {
  readonly input: HTMLInputElement;
  /** On touch screens, the button that does what Escape does (stop a streaming reply, else leave). */
  readonly leaveButton: HTMLButtonElement;
  /** The input's character counter, which also says when a paste was cut at the limit. */
  readonly counter: HTMLElement;
  /** Longest line the input takes. */
  readonly maxLineLength: number;
  /** The row of suggested-reply buttons. */
  readonly chips: HTMLElement;
  /** Lines the player sent, for Up/Down (shared by every NPC of the scene). */
  readonly history = new InputHistory();
  readonly #scene: Phaser.Scene;
  readonly #handlers: DialogueBoxHandlers;
  readonly #theme: Required<DialogueBoxTheme>;
  readonly #container: Phaser.GameObjects.Container;
  readonly #panel: Phaser.GameObjects.Graphics;
  readonly #name: Phaser.GameObjects.Text;
  readonly #hint: Phaser.GameObjects.Text;
  readonly #you: Phaser.GameObjects.Text;
  readonly #body: Phaser.GameObjects.Text;
  readonly #arrow: Phaser.GameObjects.Text;
  readonly #pageCount: Phaser.GameObjects.Text;
  // The files the reply cited (`— from chronicle.md`), under the reply.
  readonly #source: Phaser.GameObjects.Text;
  readonly #measure: Measure;
  // The "You:" line's font (italic, smaller), for fitting it without re-rendering the text per try.
  readonly #measureYou: Measure;
  #bodyLines = 4;
  #bodyWidth = 400;
  #open = false;
  #panelRect: Rect = { x: 0, y: 0, width: 0, height: 0 };
  #inputRect: Rect = { x: 0, y: 0, width: 0, height: 0 };
  #lastPlacement = '';
  #suggestions: readonly string[] = [];
  #playerLine = '';
  #touch: boolean;
  #cutTimer: ReturnType<typeof setTimeout> | undefined;
  #cutNotice = '';
  readonly #onInput = (): void => this.#updateCounter();
  readonly #onPaste = (event: ClipboardEvent): void => this.#paste(event);
  readonly #onLeave = (event: Event): void => {
    event.preventDefault();
    this.#handlers.escape();
  };
  readonly #onKeyDown = (event: KeyboardEvent): void => this.#keyDown(event);
  readonly #onKeyUp = (event: KeyboardEvent): void => this.#keyUp(event);
  // A key released elsewhere never reaches the input: losing focus ends a hold too.
  readonly #onBlur = (): void => this.#handlers.advanceRelease();
  readonly #stopKey = (event: Event): void => event.stopPropagation();
  readonly #onChipKey = (event: KeyboardEvent): void => this.#chipKey(event);
  readonly #onChipClick = (event: MouseEvent): void => this.#chipClick(event);

  constructor(
    scene: Phaser.Scene,
    handlers: DialogueBoxHandlers,
    theme: DialogueBoxTheme = {},
    options: DialogueBoxOptions = {},
  ) {
    this.#scene = scene;
    this.maxLineLength = Math.max(1, options.maxLineLength ?? DEFAULT_MAX_LINE);
    this.#handlers = handlers;
    this.#theme = { ...DEFAULT_THEME, ...theme };
    const t = this.#theme;
    const text = (size: number, color: string, style: Phaser.Types.GameObjects.Text.TextStyle = {}) =>
      scene.make.text(
        { text: '', style: { fontFamily: t.fontFamily, fontSize: `${size}px`, color, ...style } },
        false,
      );

    this.#panel = scene.make.graphics({}, false);
    this.#name = text(t.fontSize, t.nameColor, { fontStyle: 'bold' });
    this.#hint = text(Math.round(t.fontSize * 0.7), t.dimColor);
    this.#you = text(Math.round(t.fontSize * 0.8), t.dimColor, { fontStyle: 'italic' });
    this.#body = text(t.fontSize, t.textColor, { lineSpacing: LINE_SPACING });
    this.#arrow = text(Math.round(t.fontSize * 0.8), t.nameColor)
      .setText('▼')
      .setOrigin(1, 1);
    this.#pageCount = text(Math.round(t.fontSize * 0.65), t.dimColor).setOrigin(1, 1);
    this.#source = text(Math.round(t.fontSize * 0.7), t.nameColor, { fontStyle: 'italic' }).setAlpha(0.85);
    this.#hint.setOrigin(1, 0);
    this.#container = scene.add
      .container(0, 0, [
        this.#panel,
        this.#name,
        this.#hint,
        this.#you,
        this.#body,
        this.#pageCount,
        this.#arrow,
        this.#source,
      ])
      .setScrollFactor(0)
      .setDepth(t.depth)
      .setVisible(false);

    const doc = scene.game.canvas.ownerDocument;
    this.#touch = options.touch ?? doc.defaultView?.matchMedia?.('(pointer: coarse)').matches === true;
    // Pages are wrapped by the plugin (so the typewriter knows where a page ends), measured in the body's font.
    const context = doc.createElement('canvas').getContext('2d');
    const widths = new Map<string, number>();
    if (context) context.font = `${t.fontSize}px ${t.fontFamily}`;
    this.#measure = (s) => {
      let width = widths.get(s);
      if (width === undefined) {
        width = context ? context.measureText(s).width : s.length * t.fontSize * 0.55;
        if (widths.size > 4000) widths.clear();
        widths.set(s, width);
      }
      return width;
    };

    const youContext = doc.createElement('canvas').getContext('2d');
    const youSize = Math.round(t.fontSize * 0.8);
    if (youContext) youContext.font = `italic ${youSize}px ${t.fontFamily}`;
    this.#measureYou = (s) => (youContext ? youContext.measureText(s).width : s.length * youSize * 0.55);

    const border = `#${t.borderColor.toString(16).padStart(6, '0')}`;
    this.input = doc.createElement('input');
    this.input.type = 'text';
    this.input.maxLength = this.maxLineLength;
    this.input.autocomplete = 'off';
    this.input.spellcheck = false;
    this.input.dataset['parley'] = 'input';
    this.input.style.cssText =
      'position:fixed;display:none;box-sizing:border-box;z-index:10;margin:0;outline:none;' +
      `border:1px solid ${border};border-radius:4px;` +
      `background:rgba(0,0,0,0.35);color:${t.textColor};font-family:${t.fontFamily};padding:0 0.5em;`;
    // Keys typed into the input must not reach Phaser's window listeners: WASD would walk the player and
    // Phaser's key capture would swallow the characters.
    this.input.addEventListener('keydown', this.#onKeyDown);
    this.input.addEventListener('keyup', this.#onKeyUp);
    this.input.addEventListener('keypress', this.#stopKey);
    this.input.addEventListener('blur', this.#onBlur);
    this.input.addEventListener('input', this.#onInput);
    this.input.addEventListener('paste', this.#onPaste);

    this.counter = doc.createElement('div');
    this.counter.dataset['parley'] = 'counter';
    this.counter.setAttribute('aria-live', 'polite');
    this.counter.id = `parley-counter-${Math.random().toString(36).slice(2, 8)}`;
    this.input.setAttribute('aria-describedby', this.counter.id);
    this.counter.style.cssText =
      'position:fixed;display:none;z-index:11;pointer-events:none;white-space:nowrap;' +
      `color:${t.dimColor};font-family:${t.fontFamily};text-align:right;`;

    this.chips = doc.createElement('div');
    this.chips.dataset['parley'] = 'suggestions';
    this.chips.setAttribute('role', 'group');
    this.chips.setAttribute('aria-label', 'Suggested replies');
    this.chips.style.cssText =
      'position:fixed;display:none;z-index:10;flex-wrap:wrap;gap:0.4em;align-items:flex-end;' +
      'pointer-events:none;box-sizing:border-box;';
    this.chips.addEventListener('keydown', this.#onChipKey);
    this.chips.addEventListener('keyup', this.#stopKey);
    this.chips.addEventListener('click', this.#onChipClick);
    this.leaveButton = doc.createElement('button');
    this.leaveButton.type = 'button';
    this.leaveButton.textContent = '✕';
    this.leaveButton.dataset['parley'] = 'leave';
    this.leaveButton.setAttribute('aria-label', 'Stop the reply, or leave the conversation');
    this.leaveButton.style.cssText =
      'position:fixed;display:none;z-index:11;margin:0;padding:0;cursor:pointer;touch-action:manipulation;' +
      `width:${LEAVE_SIZE}px;height:${LEAVE_SIZE}px;border-radius:50%;border:1px solid ${border};` +
      `background:rgba(0,0,0,0.35);color:${t.nameColor};font:bold 18px ${t.fontFamily};line-height:1;`;
    this.leaveButton.addEventListener('click', this.#onLeave);
    doc.body.append(this.input, this.counter, this.chips, this.leaveButton);

    this.layout();
  }

  /** Whether the box is showing. */
  get isOpen(): boolean {
    return this.#open;
  }

  /** Shows the box for a conversation with `name`. */
  open(name: string): void {
    this.#open = true;
    this.#name.setText(name);
    this.input.value = '';
    this.#clearCutNotice();
    this.history.reset();
    this.input.placeholder = `Say something to ${name}…`;
    this.input.setAttribute('aria-label', `Say something to ${name}`);
    this.setPlayerLine('');
    this.show({ text: '', tone: 'dim', more: false, page: 0, pages: 1, suggestions: [] });
    this.#container.setVisible(true);
    this.input.style.display = 'block';
    this.leaveButton.style.display = this.#touch ? 'block' : 'none';
    this.layout();
    this.place();
    // Focus on the next task: the talk key's own keydown is still being dispatched, and focusing now
    // would type its character into the input.
    setTimeout(() => this.focus(), 0);
  }

  /** Hides the box, the input and the chips. */
  close(): void {
    this.#open = false;
    this.#container.setVisible(false);
    this.input.style.display = 'none';
    this.counter.style.display = 'none';
    this.leaveButton.style.display = 'none';
    this.input.blur();
    this.#setChips([]);
  }

  focus(): void {
    if (this.#open) this.input.focus({ preventScroll: true });
  }

  /** Renders a session view: the page text, its tone, the continue arrow and the suggestion chips. */
  show(view: SessionView): void {
    const t = this.#theme;
    this.#body.setColor(
      view.tone === 'error' ? t.errorColor : view.tone === 'dim' ? t.dimColor : t.textColor,
    );
    // Messages (errors, "listening") are not paginated: wrap them here and keep the last lines that fit.
    const text = view.tone === 'normal' ? view.text : this.#wrapMessage(view.text);
    if (this.#body.text !== text) this.#body.setText(text);
    this.#arrow.setVisible(view.more);
    this.#pageCount.setText(view.pages > 1 ? `${view.page + 1}/${view.pages}` : '');
    this.#showSource(view.source ?? '');
    this.#setChips(view.suggestions);
  }

  /** The source line as shown (empty when the reply cited nothing). */
  get sourceShown(): string {
    return this.#source.text;
  }

  // Right under the reply's last line; when the page is full, in the gap above the input.
  #showSource(source: string): void {
    if (this.#source.text !== source) this.#source.setText(source);
    if (!source) return;
    const lines = this.#body.text ? this.#body.text.split('\n').length : 0;
    const below = this.#body.y + lines * this.#lineHeight();
    const bottom = this.#inputRect.y - 3 - this.#source.height;
    this.#source.setPosition(this.#body.x, Math.min(below, bottom));
  }

  /** Shows the player's last line above the reply (on one line, shortened with … when it is long). */
  setPlayerLine(text: string): void {
    this.#playerLine = text;
    this.#fitPlayerLine();
  }

  /** The "You:" line as shown. */
  get playerLineShown(): string {
    return this.#you.text;
  }

  /** How replies are paginated in the box as it is now laid out. */
  pageLayout(): PageLayout {
    return { measure: this.#measure, width: this.#bodyWidth, lines: this.#bodyLines };
  }

  /** Whether a point in game coordinates (a pointer's `x`, `y`) lies on the panel. */
  contains(x: number, y: number): boolean {
    if (!this.#open) return false;
    const camera = this.#scene.cameras.main;
    const r = this.#panelRect;
    const px = x - camera.x;
    const py = y - camera.y;
    return px >= r.x && px <= r.x + r.width && py >= r.y && py <= r.y + r.height;
  }

  /** Per frame: blinks the continue arrow and keeps the DOM elements over the canvas. */
  update(time: number): void {
    if (!this.#open) return;
    if (this.#arrow.visible) this.#arrow.setAlpha(Math.floor(time / 450) % 2 ? 0.35 : 1);
    this.place();
  }

  /** Recomputes the panel for the current camera size. */
  layout(): void {
    const camera = this.#scene.cameras.main;
    const t = this.#theme;
    const width = camera.width - MARGIN * 2;
    const height = Math.min(Math.max(170, Math.round(camera.height * 0.3)), camera.height - MARGIN * 2);
    const x = MARGIN;
    const y = camera.height - MARGIN - height;
    const inner = width - PAD * 2;
    this.#panelRect = { x, y, width, height };

    this.#panel.clear();
    this.#panel.fillStyle(t.panelColor, t.panelAlpha).fillRoundedRect(x, y, width, height, 10);
    this.#panel.lineStyle(2, t.borderColor, 1).strokeRoundedRect(x, y, width, height, 10);

    this.#name.setPosition(x + PAD, y + PAD - 4);
    this.#hint.setText(this.#touch ? HINT_TOUCH : HINT_LONG);
    const room = inner - this.#name.width - 24 - (this.#touch ? LEAVE_SIZE + 8 : 0);
    if (this.#hint.width > room) this.#hint.setText(this.#touch ? '' : HINT_SHORT);
    // On touch the leave button takes the top-right corner: the hint goes left of it.
    this.#hint.setPosition(x + width - PAD - (this.#touch ? LEAVE_SIZE + 8 : 0), y + PAD);
    const youY = y + PAD + t.fontSize + 8;
    this.#you.setPosition(x + PAD, youY);
    const bodyY = youY + Math.round(t.fontSize * 0.8) + 8;
    this.#body.setPosition(x + PAD, bodyY);
    const inputY = y + height - PAD - INPUT_HEIGHT;
    const lineHeight = this.#lineHeight();
    this.#bodyLines = Math.max(1, Math.floor((inputY - 6 - bodyY) / lineHeight));
    // Leave room at the end of the last line for the continue arrow.
    this.#bodyWidth = inner - Math.round(t.fontSize * 1.2);
    this.#arrow.setPosition(x + width - PAD + 2, inputY - 4);
    this.#pageCount.setPosition(x + width - PAD - Math.round(t.fontSize * 1.1), inputY - 5);
    this.#inputRect = { x: x + PAD, y: inputY, width: inner, height: INPUT_HEIGHT };
    this.#lastPlacement = '';
    this.#fitPlayerLine();
    this.#showSource(this.#source.text);
  }

  /** The panel in camera coordinates (game pixels), as last laid out. */
  get panelRect(): Readonly<Rect> {
    return this.#panelRect;
  }

  /**
   * Lays the DOM input and chips over the canvas, following the Scale Manager: the canvas' position
   * (`scale.canvasBounds`) and its displayed size (`scale.displaySize`, e.g. under FIT).
   */
  place(): void {
    if (!this.#open) return;
    const scale = this.#scene.scale;
    const camera = this.#scene.cameras.main;
    const view = scale.canvasBounds;
    const doc = this.input.ownerDocument;
    const win = doc.defaultView;
    // canvasBounds is in page coordinates; the elements are position:fixed.
    const left = view.x - (win?.scrollX ?? 0);
    const top = view.y - (win?.scrollY ?? 0);
    const sx = scale.displaySize.width / scale.width;
    const sy = scale.displaySize.height / scale.height;
    const r = this.#inputRect;
    const p = this.#panelRect;
    const numbers = [
      left + (camera.x + r.x) * sx,
      top + (camera.y + r.y) * sy,
      r.width * sx,
      r.height * sy,
      top + (camera.y + p.y) * sy,
      sy,
    ];
    const placement = numbers.map((n) => Math.round(n * 100) / 100).join(',');
    if (placement === this.#lastPlacement) return;
    this.#lastPlacement = placement;
    const [x = 0, y = 0, w = 0, h = 0, panelTop = 0] = numbers;
    const font = Math.max(10, Math.round(this.#theme.fontSize * 0.9 * sy));
    Object.assign(this.input.style, {
      left: `${Math.round(x)}px`,
      top: `${Math.round(y)}px`,
      width: `${Math.round(w)}px`,
      height: `${Math.round(h)}px`,
      fontSize: `${font}px`,
    });
    Object.assign(this.leaveButton.style, {
      left: `${Math.round(left + (camera.x + p.x + p.width) * sx - LEAVE_SIZE - 8)}px`,
      top: `${Math.round(panelTop + 8)}px`,
    });
    const counterFont = Math.max(10, Math.round(this.#theme.fontSize * 0.65 * sy));
    Object.assign(this.counter.style, {
      right: `${Math.round((win?.innerWidth ?? 0) - (x + w) + 8)}px`,
      top: `${Math.round(y + (h - counterFont * 1.3) / 2)}px`,
      fontSize: `${counterFont}px`,
      lineHeight: '1.3',
    });
    this.input.style.paddingRight = this.counter.textContent
      ? `${Math.round(this.counter.offsetWidth + 16)}px`
      : '';
    Object.assign(this.chips.style, {
      left: `${Math.round(x)}px`,
      width: `${Math.round(w)}px`,
      bottom: `${Math.round((win?.innerHeight ?? 0) - panelTop + 6 * sy)}px`,
      fontSize: `${Math.max(10, Math.round(this.#theme.fontSize * 0.8 * sy))}px`,
    });
  }

  /** Removes the game objects, the DOM elements and their listeners. */
  destroy(): void {
    this.input.removeEventListener('keydown', this.#onKeyDown);
    this.input.removeEventListener('keyup', this.#onKeyUp);
    this.input.removeEventListener('keypress', this.#stopKey);
    this.input.removeEventListener('blur', this.#onBlur);
    this.input.removeEventListener('input', this.#onInput);
    this.input.removeEventListener('paste', this.#onPaste);
    clearTimeout(this.#cutTimer);
    this.chips.removeEventListener('keydown', this.#onChipKey);
    this.chips.removeEventListener('keyup', this.#stopKey);
    this.chips.removeEventListener('click', this.#onChipClick);
    this.leaveButton.removeEventListener('click', this.#onLeave);
    this.leaveButton.remove();
    this.input.remove();
    this.counter.remove();
    this.chips.remove();
    this.#container.destroy();
    this.#open = false;
  }

  // As Phaser lays out multi-line text: the font's measured ascent + descent, plus the line spacing.
  #lineHeight(): number {
    const measured = this.#body.style.getTextMetrics().fontSize;
    return (measured > 0 ? measured : Math.round(this.#theme.fontSize * 1.25)) + LINE_SPACING;
  }

  // One line only: the reply matters more than a long question. A binary search over the prefix length
  // (O(log n) measurements of at most a line's worth of text, in a 2D context: re-rendering the text object
  // per try costs milliseconds each), then one setText: a line of thousands of characters costs a frame.
  #fitPlayerLine(): void {
    const full = this.#playerLine ? `You: ${this.#playerLine}` : '';
    // No glyph is narrower than 2 px: more characters than this never fit on one line.
    const cap = Math.max(8, Math.ceil(this.#bodyWidth / 2));
    const fits = (s: string) => this.#measureYou(s) <= this.#bodyWidth;
    if (full.length <= cap && fits(full)) {
      this.#you.setText(full);
      return;
    }
    const shortened = (n: number) => `${full.slice(0, n).trimEnd()}…`;
    let lo = 8; // always shown, even if it overflows
    let hi = Math.min(full.length, cap);
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (fits(shortened(mid))) lo = mid;
      else hi = mid - 1;
    }
    this.#you.setText(shortened(lo));
  }

  #updateCounter(): void {
    const length = this.input.value.length;
    const limit = this.maxLineLength;
    const text = this.#cutNotice || (length > 0 ? `${length}/${limit}` : '');
    if (this.counter.textContent !== text) this.counter.textContent = text;
    this.counter.dataset['state'] = this.#cutNotice ? 'cut' : length >= limit ? 'full' : 'ok';
    this.counter.style.color =
      this.#cutNotice || length >= limit ? this.#theme.errorColor : this.#theme.dimColor;
    this.counter.style.display = text && this.#open ? 'block' : 'none';
    this.#lastPlacement = '';
    this.place();
  }

  // The browser cuts a paste at maxlength without a word: say so, next to the counter.
  #paste(event: ClipboardEvent): void {
    const pasted = event.clipboardData?.getData('text/plain') ?? '';
    const { value, selectionStart, selectionEnd } = this.input;
    const kept = value.length - ((selectionEnd ?? value.length) - (selectionStart ?? value.length));
    if (kept + pasted.length <= this.maxLineLength) return;
    this.#cutNotice = `Paste cut to ${this.maxLineLength} characters (${kept + pasted.length} pasted)`;
    clearTimeout(this.#cutTimer);
    this.#cutTimer = setTimeout(() => this.#clearCutNotice(), 6000);
    // The value changes after this event: count it then.
    setTimeout(() => this.#updateCounter(), 0);
  }

  #clearCutNotice(): void {
    clearTimeout(this.#cutTimer);
    this.#cutNotice = '';
    this.#updateCounter();
  }

  #wrapMessage(text: string): string {
    const words = text.split(/\s+/);
    const lines: string[] = [];
    let line = '';
    for (const word of words) {
      const next = line ? `${line} ${word}` : word;
      if (line && this.#measure(next) > this.#bodyWidth) {
        lines.push(line);
        line = word;
      } else line = next;
    }
    if (line) lines.push(line);
    return lines.slice(-this.#bodyLines).join('\n');
  }

  #setChips(suggestions: readonly string[]): void {
    if (suggestions === this.#suggestions) return;
    this.#suggestions = suggestions;
    const doc = this.chips.ownerDocument;
    const t = this.#theme;
    const border = `#${t.borderColor.toString(16).padStart(6, '0')}`;
    this.chips.replaceChildren(
      ...suggestions.map((reply, i) => {
        const chip = doc.createElement('button');
        chip.type = 'button';
        chip.textContent = reply;
        chip.dataset['parley'] = 'suggestion';
        chip.dataset['index'] = String(i);
        chip.style.cssText =
          'pointer-events:auto;cursor:pointer;font:inherit;margin:0;padding:0.25em 0.8em;border-radius:999px;' +
          `border:1px solid ${border};background:rgba(27,20,16,0.92);color:${t.nameColor};` +
          `font-family:${t.fontFamily};box-shadow:0 2px 6px rgba(0,0,0,0.35);`;
        return chip;
      }),
    );
    this.chips.style.display = suggestions.length > 0 && this.#open ? 'flex' : 'none';
  }

  #chipClick(event: MouseEvent): void {
    const chip = (event.target as HTMLElement | null)?.closest<HTMLElement>('[data-parley="suggestion"]');
    if (!chip?.textContent) return;
    this.#handlers.submit(chip.textContent);
    this.focus();
  }

  // Keyboard on the chips: Left/Right move, Enter/Space activate (the button's own click), Escape or Up
  // go back to the input.
  #chipKey(event: KeyboardEvent): void {
    event.stopPropagation();
    const chips = [...this.chips.querySelectorAll<HTMLElement>('[data-parley="suggestion"]')];
    const index = chips.indexOf(event.target as HTMLElement);
    if (event.key === 'ArrowRight' || event.key === 'ArrowLeft') {
      event.preventDefault();
      const step = event.key === 'ArrowRight' ? 1 : -1;
      chips[(index + step + chips.length) % chips.length]?.focus();
    } else if (event.key === 'Escape' || event.key === 'ArrowUp') {
      event.preventDefault();
      this.focus();
    }
  }

  #keyDown(event: KeyboardEvent): void {
    event.stopPropagation();
    if (event.isComposing) return;
    switch (event.key) {
      case 'Enter': {
        event.preventDefault();
        const line = this.input.value.trim();
        if (line) {
          if (event.repeat) return;
          this.input.value = '';
          this.#clearCutNotice();
          this.history.push(line);
          this.#handlers.submit(line);
        } else if (!event.repeat) this.#handlers.advancePress();
        break;
      }
      case 'ArrowUp':
      case 'ArrowDown': {
        event.preventDefault();
        const value = this.input.value;
        const next = event.key === 'ArrowUp' ? this.history.up(value) : this.history.down(value);
        if (next !== value) {
          this.input.value = next;
          this.#updateCounter();
          this.input.setSelectionRange(next.length, next.length);
        } else if (event.key === 'ArrowDown' && !this.history.browsing && this.#suggestions.length > 0) {
          // Down from the newest line moves to the suggestions.
          this.chips.querySelector<HTMLElement>('[data-parley="suggestion"]')?.focus();
        }
        break;
      }
      case 'Escape':
        event.preventDefault();
        this.#handlers.escape();
        break;
    }
  }

  #keyUp(event: KeyboardEvent): void {
    event.stopPropagation();
    if (event.key === 'Enter') this.#handlers.advanceRelease();
  }
}
