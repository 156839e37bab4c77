import type * as Phaser from 'phaser';

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
  /** Enter with a non-empty line. */
  submit(text: string): void;
  /** Enter with an empty line: the player wants the typing to finish at once. */
  skip(): void;
  /** Escape. */
  close(): void;
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

/**
 * The on-screen dialogue: a panel pinned to the bottom of the camera (scroll factor 0) with the NPC's
 * name, the reply as typed so far, the player's last line, and a DOM `<input>` laid over the canvas for
 * typing. It only renders and forwards input; the plugin decides what it shows.
 */
export class DialogueBox {
  readonly input: HTMLInputElement;
  readonly #scene: Phaser.Scene;
  readonly #handlers: DialogueBoxHandlers;
  readonly #theme: Required<DialogueBoxTheme>;
  readonly #container: Phaser.GameObjects.Container;
  readonly #panel: Phaser.GameObjects.Graphics;
  readonly #name: Phaser.GameObjects.Text;
  readonly #hint: Phaser.GameObjects.Text;
  readonly #you: Phaser.GameObjects.Text;
  readonly #body: Phaser.GameObjects.Text;
  #bodyLines = 4;
  #open = false;
  #inputRect = { x: 0, y: 0, width: 0, height: 0 };
  #lastPlacement = '';
  readonly #onKeyDown = (event: KeyboardEvent): void => this.#keyDown(event);
  readonly #stopKey = (event: Event): void => event.stopPropagation();

  constructor(scene: Phaser.Scene, handlers: DialogueBoxHandlers, theme: DialogueBoxTheme = {}) {
    this.#scene = scene;
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
    this.#body = text(t.fontSize, t.textColor, { lineSpacing: 4 });
    this.#hint.setOrigin(1, 0);
    this.#container = scene.add
      .container(0, 0, [this.#panel, this.#name, this.#hint, this.#you, this.#body])
      .setScrollFactor(0)
      .setDepth(t.depth)
      .setVisible(false);

    const doc = scene.game.canvas.ownerDocument;
    this.input = doc.createElement('input');
    this.input.type = 'text';
    this.input.maxLength = 400;
    this.input.autocomplete = 'off';
    this.input.spellcheck = false;
    this.input.dataset['parley'] = 'input';
    this.input.style.cssText =
      'position:fixed;display:none;box-sizing:border-box;z-index:10;margin:0;outline:none;' +
      `border:1px solid #${t.borderColor.toString(16).padStart(6, '0')};border-radius:4px;` +
      `background:rgba(0,0,0,0.35);color:${t.textColor};font-family:${t.fontFamily};padding:0 0.5em;`;
    // Keys typed into the input must not reach Phaser's window listeners: WASD would walk the player and
    // Phaser's key capture would swallow the characters.
    this.input.addEventListener('keydown', this.#onKeyDown);
    this.input.addEventListener('keyup', this.#stopKey);
    this.input.addEventListener('keypress', this.#stopKey);
    doc.body.append(this.input);

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
    this.#hint.setText('Enter: say  ·  Esc: leave');
    this.input.value = '';
    this.input.placeholder = `Say something to ${name}…`;
    this.input.setAttribute('aria-label', `Say something to ${name}`);
    this.setPlayerLine('');
    this.setText('');
    this.#container.setVisible(true);
    this.input.style.display = 'block';
    this.layout();
    this.place();
    // Focus on the next task: the talk key's own keydown is still being dispatched, and focusing now
    // would type its character into the input.
    setTimeout(() => this.focus(), 0);
  }

  /** Hides the box and the input. */
  close(): void {
    this.#open = false;
    this.#container.setVisible(false);
    this.input.style.display = 'none';
    this.input.blur();
  }

  focus(): void {
    if (this.#open) this.input.focus({ preventScroll: true });
  }

  /** Sets the reply text, keeping the last lines that fit when it overflows. */
  setText(text: string, tone: 'normal' | 'dim' | 'error' = 'normal'): void {
    const t = this.#theme;
    this.#body.setColor(tone === 'error' ? t.errorColor : tone === 'dim' ? t.dimColor : t.textColor);
    const lines = this.#body.getWrappedText(text);
    this.#body.setText(lines.length > this.#bodyLines ? lines.slice(-this.#bodyLines).join('\n') : text);
  }

  /** Shows the player's last line above the reply. */
  setPlayerLine(text: string): void {
    this.#you.setText(text ? `You: ${text}` : '');
    // One line only: the reply matters more than a long question.
    const lines = this.#you.getWrappedText(this.#you.text);
    if (lines.length > 1) this.#you.setText(`${lines[0]?.trimEnd() ?? ''}…`);
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

    this.#panel.clear();
    this.#panel.fillStyle(t.panelColor, t.panelAlpha).fillRoundedRect(x, y, width, height, 10);
    this.#panel.lineStyle(2, t.borderColor, 1).strokeRoundedRect(x, y, width, height, 10);

    this.#name.setPosition(x + PAD, y + PAD - 4);
    this.#hint.setPosition(x + width - PAD, y + PAD);
    const youY = y + PAD + t.fontSize + 8;
    this.#you.setPosition(x + PAD, youY).setWordWrapWidth(inner, true);
    const bodyY = youY + Math.round(t.fontSize * 0.8) + 8;
    this.#body.setPosition(x + PAD, bodyY).setWordWrapWidth(inner, true);
    const inputY = y + height - PAD - INPUT_HEIGHT;
    const lineHeight = t.fontSize + 4 + 4;
    this.#bodyLines = Math.max(1, Math.floor((inputY - 6 - bodyY) / lineHeight));
    this.#inputRect = { x: camera.x + x + PAD, y: camera.y + inputY, width: inner, height: INPUT_HEIGHT };
    this.#lastPlacement = '';
  }

  /** Lays the DOM input over its slot in the panel, following the canvas' scale and position. */
  place(): void {
    if (!this.#open) return;
    const canvas = this.#scene.game.canvas;
    const bounds = canvas.getBoundingClientRect();
    const sx = bounds.width / this.#scene.scale.width;
    const sy = bounds.height / this.#scene.scale.height;
    const r = this.#inputRect;
    const placement = [bounds.left + r.x * sx, bounds.top + r.y * sy, r.width * sx, r.height * sy]
      .map((n) => Math.round(n))
      .join(',');
    if (placement === this.#lastPlacement) return;
    this.#lastPlacement = placement;
    const [left, top, width, height] = placement.split(',');
    Object.assign(this.input.style, {
      left: `${left}px`,
      top: `${top}px`,
      width: `${width}px`,
      height: `${height}px`,
      fontSize: `${Math.max(10, Math.round(this.#theme.fontSize * 0.9 * sy))}px`,
    });
  }

  /** Removes the game objects, the input and its listeners. */
  destroy(): void {
    this.input.removeEventListener('keydown', this.#onKeyDown);
    this.input.removeEventListener('keyup', this.#stopKey);
    this.input.removeEventListener('keypress', this.#stopKey);
    this.input.remove();
    this.#container.destroy();
    this.#open = false;
  }

  #keyDown(event: KeyboardEvent): void {
    event.stopPropagation();
    if (event.isComposing) return;
    if (event.key === 'Enter') {
      event.preventDefault();
      const line = this.input.value.trim();
      if (line) {
        this.input.value = '';
        this.#handlers.submit(line);
      } else {
        this.#handlers.skip();
      }
    } else if (event.key === 'Escape') {
      event.preventDefault();
      this.#handlers.close();
    }
  }
}
