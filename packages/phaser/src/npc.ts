import type { Npc, NpcDefinition } from '@parley/dialogue';
import * as Phaser from 'phaser';
import { NpcState } from './npc-state.js';
import { type Point, RangeTracker } from './range.js';
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
}

/** What the NPC component needs from the plugin; keeps the component unaware of the plugin class. */
export interface NpcHost {
  readonly scene: Phaser.Scene;
  readonly player: Point | undefined;
  createSession(npc: ParleyNpc): TalkSession;
  talkTo(npc: ParleyNpc): void;
  rangeChanged(npc: ParleyNpc, inRange: boolean): void;
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
  readonly #host: NpcHost;
  readonly #npc: () => Npc;
  readonly #range: RangeTracker;
  readonly #player: Point | undefined;
  readonly #prompt: Phaser.GameObjects.Text;
  readonly #bubble: Phaser.GameObjects.Container;
  readonly #bubbleText: Phaser.GameObjects.Text;
  readonly #clickToTalk: boolean;
  readonly #madeInteractive: boolean;
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
    this.#clickToTalk = options.clickToTalk ?? true;

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

  /** @internal Per frame: range, prompt and bubble. */
  update(time: number, showPrompt: boolean): void {
    const player = this.player;
    const was = this.#range.inside;
    const now = player && this.sprite.active ? this.#range.update(this.sprite, player) : false;
    if (!player) this.#range.reset();
    if (now !== was) this.#host.rangeChanged(this, now);
    this.#prompt.setVisible(showPrompt);
    this.#renderState(time);
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

  #follow(): void {
    const top = this.sprite.y - this.sprite.displayHeight * (this.sprite.originY ?? 0.5);
    this.#bubble.setPosition(this.sprite.x, top - 4);
    this.#prompt.setPosition(this.sprite.x, top - (this.#bubble.visible ? 30 : 6));
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
