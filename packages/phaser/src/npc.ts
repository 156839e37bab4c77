import type { GameTool, Npc, NpcDefinition } from '@parley/dialogue';
import * as Phaser from 'phaser';
import { type AmbientBarkOptions, AmbientBarks, barkDuration } from './barks.js';
import type { ParleyEventName, ParleyEvents } from './events.js';
import { NpcState } from './npc-state.js';
import { isWithin, type Point, RangeTracker } from './range.js';
import type { TalkSession } from './talk-session.js';

/**
 * What can stand for an NPC: any game object with a position and a display height (sprites, images,
 * shapes, physics sprites).
 */
export type NpcSprite = Phaser.GameObjects.GameObject & {
  x: number;
  y: number;
  displayHeight: number;
  originY?: number;
};

/** Options of `this.parley.addNpc()`. */
export interface NpcOptions {
  /** How close the player must be to talk, in world pixels. Default 72. */
  radius?: number;
  /** The key that starts the conversation (a `Phaser.Input.Keyboard.KeyCodes` name or code). Default `'E'`. */
  talkKey?: string | number;
  /** Prompt text; default `[E] Talk` with the talk key's name. */
  prompt?: string;
  /** Whether clicking or tapping the NPC (in range) starts the conversation. Default true. */
  clickToTalk?: boolean;
  /** Which conversation with this NPC (a save slot, a player id). Default `'default'`. */
  conversationKey?: string;
  /** The player for this NPC's range checks; default the plugin's `setPlayer()`. */
  player?: Point;
  /**
   * How the NPC offers replies as chips: `'text'` (default) reads `> reply` lines that end its answer
   * (see `SUGGESTIONS_INSTRUCTIONS`); `'tool'` also gives it a `suggest_replies` tool; `false` shows none.
   */
  suggestReplies?: 'text' | 'tool' | false;
  /** Lines the NPC mutters now and then in a bubble while the player is near and not talking. */
  ambientBarks?: AmbientBarkOptions;
  /**
   * The NPC's voice when the plugin speaks (`connect({ voice })`): an OpenAI voice name (`onyx`, `fable`…).
   * Default: the definition's `metadata.voice`, else the voice options' `defaultVoice`.
   */
  voice?: string;
}

/** Options of {@link ParleyNpc.bark}. */
export interface BarkOptions {
  /** How long the bubble stays, in ms. Default from the text's length (1.5 to 7 s). */
  duration?: number;
}

/** What the NPC component needs from the plugin; keeps the component unaware of the plugin class. */
export interface NpcHost {
  readonly scene: Phaser.Scene;
  readonly player: Point | undefined;
  createSession(npc: ParleyNpc): TalkSession;
  talkTo(npc: ParleyNpc): void;
  rangeChanged(npc: ParleyNpc, inRange: boolean): void;
  barked(npc: ParleyNpc, text: string, duration: number): void;
  /** Whether any dialogue is open (ambient barks wait). */
  readonly talking: boolean;
  on<K extends ParleyEventName>(
    name: K,
    handler: (event: ParleyEvents[K]) => void,
    context?: unknown,
  ): () => void;
  removeNpc(npc: ParleyNpc): void;
}

const PROMPT_STYLE: Phaser.Types.GameObjects.Text.TextStyle = {
  fontFamily: '"Trebuchet MS", "DejaVu Sans", Verdana, sans-serif',
  fontSize: '14px',
  fontStyle: 'bold',
  color: '#fff6e0',
  backgroundColor: 'rgba(27,20,16,0.85)',
  padding: { x: 6, y: 3 },
};

/**
 * A talking NPC attached to a sprite: its talk range, the "[E] Talk" prompt, the talk key and click, and
 * a small bubble above the sprite showing its state. Made by `this.parley.addNpc()`.
 */
export class ParleyNpc {
  readonly sprite: NpcSprite;
  readonly definition: NpcDefinition;
  readonly talkKey: number;
  readonly conversationKey: string;
  /** The voice it speaks in, when the plugin speaks. */
  readonly voice: string | undefined;
  readonly #host: NpcHost;
  readonly #npc: () => Npc;
  readonly #range: RangeTracker;
  readonly #player: Point | undefined;
  readonly #prompt: Phaser.GameObjects.Text;
  readonly #bubble: Phaser.GameObjects.Container;
  readonly #bubbleText: Phaser.GameObjects.Text;
  readonly #barkBubble: Phaser.GameObjects.Container;
  readonly #barkBack: Phaser.GameObjects.Graphics;
  readonly #barkText: Phaser.GameObjects.Text;
  readonly #ambient: { options: AmbientBarkOptions; clock: AmbientBarks } | undefined;
  readonly #clickToTalk: boolean;
  readonly #madeInteractive: boolean;
  /** How this NPC offers replies. */
  readonly suggestReplies: 'text' | 'tool' | false;
  #barkLeft = 0;
  #barkTotal = 0;
  #fetchingBark = false;
  readonly #onPointerDown = (): void => this.#clicked();
  readonly #onSpriteDestroy = (): void => this.destroy();
  #session: TalkSession | undefined;
  #destroyed = false;

  /** @internal Use `this.parley.addNpc()`. */
  constructor(
    host: NpcHost,
    sprite: NpcSprite,
    definition: NpcDefinition,
    npc: () => Npc,
    options: NpcOptions,
  ) {
    this.#host = host;
    this.sprite = sprite;
    this.definition = definition;
    this.#npc = npc;
    this.#range = new RangeTracker(options.radius ?? 72, 12);
    this.#player = options.player;
    this.talkKey = toKeyCode(options.talkKey ?? 'E');
    this.conversationKey = options.conversationKey ?? 'default';
    this.voice = options.voice ?? definition.metadata?.['voice'];
    this.#clickToTalk = options.clickToTalk ?? true;
    this.suggestReplies = options.suggestReplies ?? 'text';
    this.#ambient = options.ambientBarks && {
      options: options.ambientBarks,
      clock: new AmbientBarks(options.ambientBarks),
    };

    const scene = host.scene;
    const prompt = options.prompt ?? `[${keyName(this.talkKey)}] Talk`;
    this.#prompt = scene.add
      .text(0, 0, prompt, PROMPT_STYLE)
      .setOrigin(0.5, 1)
      .setDepth(9_000)
      .setVisible(false);

    const bubbleBack = scene.add.graphics();
    bubbleBack.fillStyle(0xfffaf0, 1).fillRoundedRect(-16, -22, 32, 20, 8);
    bubbleBack.fillTriangle(-5, -3, 5, -3, 0, 3);
    bubbleBack.lineStyle(1.5, 0x3a2a1e, 1).strokeRoundedRect(-16, -22, 32, 20, 8);
    this.#bubbleText = scene.add
      .text(0, -12, '', {
        fontFamily: PROMPT_STYLE.fontFamily,
        fontSize: '15px',
        fontStyle: 'bold',
        color: '#3a2a1e',
      })
      .setOrigin(0.5, 0.5);
    this.#bubble = scene.add
      .container(0, 0, [bubbleBack, this.#bubbleText])
      .setDepth(9_001)
      .setVisible(false);

    this.#barkBack = scene.add.graphics();
    this.#barkText = scene.add
      .text(0, 0, '', {
        fontFamily: PROMPT_STYLE.fontFamily,
        fontSize: '14px',
        color: '#2a1d14',
        align: 'center',
        wordWrap: { width: 190, useAdvancedWrap: true },
      })
      .setOrigin(0.5, 1);
    this.#barkBubble = scene.add
      .container(0, 0, [this.#barkBack, this.#barkText])
      .setDepth(9_002)
      .setVisible(false);

    this.#madeInteractive = this.#clickToTalk && !sprite.input;
    if (this.#madeInteractive) sprite.setInteractive({ useHandCursor: true });
    if (this.#clickToTalk) sprite.on(Phaser.Input.Events.GAMEOBJECT_POINTER_DOWN, this.#onPointerDown);
    sprite.once(Phaser.GameObjects.Events.DESTROY, this.#onSpriteDestroy);
    this.#follow();
  }

  /** The game's NPC id. */
  get id(): string {
    return this.definition.id;
  }

  /** The display name. */
  get name(): string {
    return this.definition.name;
  }

  /** The `@parley/dialogue` NPC behind this component. */
  get npc(): Npc {
    return this.#npc();
  }

  /** Idle, listening, thinking or speaking. */
  get state(): NpcState {
    return this.#session?.state ?? NpcState.Idle;
  }

  /** Whether the player is within talk range (always false without a player). */
  get inRange(): boolean {
    return this.#range.inside;
  }

  /** The player position this NPC measures against. */
  get player(): Point | undefined {
    return this.#player ?? this.#host.player;
  }

  /** @internal The session, created on first talk. */
  get session(): TalkSession {
    this.#session ??= this.#host.createSession(this);
    return this.#session;
  }

  /** @internal The session if one exists. */
  get existingSession(): TalkSession | undefined {
    return this.#session;
  }

  /** Opens the dialogue with this NPC. */
  talk(): void {
    this.#host.talkTo(this);
  }

  /**
   * Shows a short line in a speech bubble above the NPC (and in the live region), outside any dialogue:
   * a greeting, a reaction, a hint. A new bark replaces the one showing.
   *
   * @example
   * ```ts
   * brom.bark('Halt! Who goes there?', { duration: 2500 });
   * ```
   */
  bark(text: string, options: BarkOptions = {}): void {
    const line = text.trim();
    if (this.#destroyed || !line) return;
    const duration = Math.max(200, options.duration ?? barkDuration(line));
    this.#barkText.setText(line);
    const width = Math.max(40, this.#barkText.width + 20);
    const height = this.#barkText.height + 12;
    this.#barkText.setPosition(0, -14);
    this.#barkBack
      .clear()
      .fillStyle(0xfffaf0, 0.97)
      .fillRoundedRect(-width / 2, -height - 8, width, height, 10)
      .fillTriangle(-7, -9, 7, -9, 0, 0)
      .lineStyle(1.5, 0x3a2a1e, 1)
      .strokeRoundedRect(-width / 2, -height - 8, width, height, 10);
    this.#barkLeft = duration;
    this.#barkTotal = duration;
    this.#barkBubble.setVisible(true).setAlpha(1);
    this.#follow();
    this.#host.barked(this, line, duration);
  }

  /** The bark showing, if any. */
  get barking(): string | undefined {
    return this.#barkBubble.visible ? this.#barkText.text : undefined;
  }

  /**
   * Gives the NPC a game function it may call mid-reply (`Npc.tool` of `@parley/dialogue`); its calls and
   * results arrive as `npc.tool.call` and `npc.tool.result` events. Returns the function that removes it.
   *
   * @example
   * ```ts
   * brom.tool('open_gate', { description: 'Open the north gate.', run: () => (gate.open(), 'opened') });
   * ```
   */
  tool<Args = Record<string, unknown>>(name: string, tool: GameTool<Args>): () => void {
    return this.npc.tool(name, tool);
  }

  /**
   * Tells the NPC what happened, without a reply (`Conversation.tell`): it reads it on its next turn.
   *
   * @example
   * ```ts
   * await brom.tell('The player showed the mayor’s seal.');
   * ```
   */
  tell(text: string): Promise<void> {
    return this.npc.conversation({ key: this.conversationKey }).tell(text);
  }

  /**
   * Subscribes to the plugin's events about this NPC only; returns the unsubscribe function.
   *
   * @example
   * ```ts
   * brom.on(ParleyEvents.State, ({ state }) => guard.setTint(state === 'thinking' ? 0xffffaa : 0xffffff));
   * ```
   */
  on<K extends ParleyEventName>(name: K, handler: (event: ParleyEvents[K]) => void): () => void {
    return this.#host.on(name, (event) => {
      if ((event as { npc?: ParleyNpc }).npc === this) handler(event);
    });
  }

  /** @internal Per frame: range, prompt, state bubble and barks. */
  update(time: number, showPrompt: boolean, delta = 0): void {
    const player = this.player;
    const was = this.#range.inside;
    const now = player && this.sprite.active ? this.#range.update(this.sprite, player) : false;
    if (!player) this.#range.reset();
    if (now !== was) this.#host.rangeChanged(this, now);
    this.#prompt.setVisible(showPrompt);
    this.#renderState(time);
    this.#updateBarks(delta, player);
    this.#follow();
  }

  /** Removes the prompt, the bubble and every listener, and forgets the NPC. Called on scene shutdown. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#session?.close();
    this.sprite.off(Phaser.Input.Events.GAMEOBJECT_POINTER_DOWN, this.#onPointerDown);
    this.sprite.off(Phaser.GameObjects.Events.DESTROY, this.#onSpriteDestroy);
    if (this.#madeInteractive && this.sprite.scene) this.sprite.removeInteractive();
    this.#prompt.destroy();
    this.#bubble.destroy();
    this.#barkBubble.destroy();
    this.#host.removeNpc(this);
  }

  #clicked(): void {
    if (!this.player || this.inRange) this.talk();
  }

  #renderState(time: number): void {
    const state = this.state;
    let glyph = '';
    if (state === NpcState.Listening) glyph = '?';
    else if (state === NpcState.Thinking) glyph = '.'.repeat(1 + (Math.floor(time / 280) % 3));
    else if (state === NpcState.Speaking) glyph = Math.floor(time / 160) % 2 ? '~' : '≈';
    this.#bubble.setVisible(glyph !== '');
    this.#bubble.setAlpha(state === NpcState.Listening ? 0.75 : 1);
    if (this.#bubbleText.text !== glyph) this.#bubbleText.setText(glyph);
  }

  #updateBarks(delta: number, player: Point | undefined): void {
    if (this.#barkLeft > 0) {
      this.#barkLeft -= delta;
      // Fade out over the last 300 ms.
      this.#barkBubble.setAlpha(Math.min(1, Math.max(0, this.#barkLeft / Math.min(300, this.#barkTotal))));
      if (this.#barkLeft <= 0) this.#barkBubble.setVisible(false);
    }
    const ambient = this.#ambient;
    if (!ambient || this.#fetchingBark) return;
    const radius = ambient.options.radius ?? this.#range.radius * 3;
    const near = player !== undefined && this.sprite.active && isWithin(this.sprite, player, radius);
    const eligible = near && !this.#host.talking && this.state === NpcState.Idle && this.#barkLeft <= 0;
    if (!ambient.clock.update(delta, eligible)) return;
    const { lines } = ambient.options;
    if (typeof lines !== 'function') {
      const line = ambient.clock.pick(lines);
      if (line) this.bark(line);
      return;
    }
    this.#fetchingBark = true;
    Promise.resolve()
      .then(lines)
      .then(
        (line) => {
          this.#fetchingBark = false;
          if (line && !this.#host.talking) this.bark(line);
        },
        () => {
          this.#fetchingBark = false;
        },
      );
  }

  // Stacks what floats above the sprite: the state bubble, then the prompt, then a bark.
  #follow(): void {
    let top = this.sprite.y - this.sprite.displayHeight * (this.sprite.originY ?? 0.5) - 4;
    this.#bubble.setPosition(this.sprite.x, top);
    if (this.#bubble.visible) top -= 26;
    this.#prompt.setPosition(this.sprite.x, top - 2);
    if (this.#prompt.visible) top -= this.#prompt.height + 4;
    this.#barkBubble.setPosition(this.sprite.x, top);
  }
}

function toKeyCode(key: string | number): number {
  if (typeof key === 'number') return key;
  const code = (Phaser.Input.Keyboard.KeyCodes as Record<string, number>)[key.toUpperCase()];
  if (code === undefined) throw new Error(`Unknown talk key: ${key}`);
  return code;
}

function keyName(code: number): string {
  for (const [name, value] of Object.entries(Phaser.Input.Keyboard.KeyCodes as Record<string, number>)) {
    if (value === code) return name.length === 1 ? name : name.charAt(0) + name.slice(1).toLowerCase();
  }
  return '?';
}
