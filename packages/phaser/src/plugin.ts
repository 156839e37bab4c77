import {
  createParley,
  type Npc,
  type NpcDefinition,
  type Parley,
  type ParleyOptions,
} from '@parley/dialogue';
import * as Phaser from 'phaser';
import { DialogueBox, type DialogueBoxTheme } from './dialogue-box.js';
import { type ParleyEventName, ParleyEvents } from './events.js';
import { LiveRegion } from './live-region.js';
import { type NpcHost, type NpcOptions, type NpcSprite, ParleyNpc } from './npc.js';
import { distanceSquared, type Point } from './range.js';
import { TalkSession } from './talk-session.js';

/** Key under which the plugin is installed in the Scene Systems. */
export const PARLEY_PLUGIN_KEY = 'ParleyPlugin';
/** Property of the Scene the plugin is mapped to: `this.parley`. */
export const PARLEY_SCENE_MAPPING = 'parley';

/** Options of {@link ParleyPlugin.connect}: the `@parley/dialogue` client's, plus presentation. */
export interface ParleyPluginOptions extends ParleyOptions {
  /** Typing pace of the dialogue box. Default 45 characters per second. */
  charsPerSecond?: number;
  /** Look of the dialogue box. */
  theme?: DialogueBoxTheme;
  /** Id of the ARIA live region that mirrors the dialogue. Default `parley-live`. */
  liveRegionId?: string;
}

/**
 * The Parley scene plugin: talking NPCs, a dialogue box and an ARIA live region. It renders what
 * `@parley/dialogue` reports and forwards the player's input; it never talks HTTP itself.
 *
 * Install it from the game config with {@link parleyPluginConfig}; each scene then has `this.parley`.
 *
 * @example
 * ```ts
 * class Village extends Phaser.Scene {
 *   create() {
 *     this.parley.connect({ url: '' }).setPlayer(player);
 *     this.parley.addNpc(guard, { id: 'brom', name: 'Brom', instructions: 'A gruff gate guard.' });
 *     this.parley.on(ParleyEvents.Reply, ({ npc, text }) => console.log(npc.name, text));
 *   }
 * }
 * ```
 */
export class ParleyPlugin extends Phaser.Plugins.ScenePlugin {
  /** Emits {@link ParleyEvents}; prefer the typed {@link ParleyPlugin.on}. */
  readonly events = new Phaser.Events.EventEmitter();
  #options: ParleyPluginOptions | undefined;
  #client: Parley | undefined;
  #player: Point | undefined;
  #npcs: ParleyNpc[] = [];
  #active: ParleyNpc | undefined;
  #box: DialogueBox | undefined;
  #live: LiveRegion | undefined;
  #keys = new Map<number, Phaser.Input.Keyboard.Key>();
  #running = false;
  #destroyed = false;
  // What NPC components may ask of the plugin, without seeing the rest of it.
  readonly #host: NpcHost = ((plugin) => ({
    get scene() {
      return plugin.scene!;
    },
    get player() {
      return plugin.#player;
    },
    createSession: (npc: ParleyNpc) => plugin.#createSession(npc),
    talkTo: (npc: ParleyNpc) => plugin.talkTo(npc),
    rangeChanged: (npc: ParleyNpc, inRange: boolean) => plugin.#emit(ParleyEvents.Range, { npc, inRange }),
    removeNpc: (npc: ParleyNpc) => plugin.#forget(npc),
  }))(this);

  /** Options given to {@link parleyPluginConfig}; the configured subclass overrides this. */
  protected defaultOptions(): ParleyPluginOptions | undefined {
    return undefined;
  }

  override boot(): void {
    const events = this.systems!.events;
    events.on(Phaser.Scenes.Events.START, this.#start, this);
    events.once(Phaser.Scenes.Events.DESTROY, this.destroy, this);
  }

  /**
   * Creates the `@parley/dialogue` client. Call it in `create()` (or pass options to
   * {@link parleyPluginConfig}). Calling it again replaces the client for NPCs added afterwards.
   */
  connect(options: ParleyPluginOptions): this {
    this.#options = options;
    const { url, fetch, auth, store } = options;
    this.#client = createParley({
      url,
      ...(fetch && { fetch }),
      ...(auth && { auth }),
      ...(store && { store }),
    });
    return this;
  }

  /** The `@parley/dialogue` client; throws before {@link ParleyPlugin.connect}. */
  get client(): Parley {
    if (!this.#client) throw new Error('Parley is not connected: call this.parley.connect({ url }) first');
    return this.#client;
  }

  /** Sets the player whose distance decides which NPC can be talked to. */
  setPlayer(player: Point | undefined): this {
    this.#player = player;
    return this;
  }

  /** The player set with {@link ParleyPlugin.setPlayer}. */
  get player(): Point | undefined {
    return this.#player;
  }

  /**
   * Makes `sprite` a talking NPC: a prompt appears when the player is in range, the talk key (E) or a
   * click opens the dialogue, and the NPC's state shows above it.
   *
   * @example
   * ```ts
   * const brom = this.parley.addNpc(guard, { id: 'brom', name: 'Brom', instructions: '…' }, { radius: 80 });
   * ```
   */
  addNpc(sprite: NpcSprite, definition: NpcDefinition, options: NpcOptions = {}): ParleyNpc {
    if (!this.#running) throw new Error('addNpc() needs a running scene: call it in create()');
    let handle: Npc | undefined;
    const npc = new ParleyNpc(
      this.#host,
      sprite,
      definition,
      () => (handle ??= this.client.npc(definition)),
      options,
    );
    this.#npcs.push(npc);
    if (!this.#keys.has(npc.talkKey)) {
      const key = this.scene!.input.keyboard?.addKey(npc.talkKey, false);
      key?.on(Phaser.Input.Keyboard.Events.DOWN, () => this.#talkKeyDown(npc.talkKey));
      if (key) this.#keys.set(npc.talkKey, key);
    }
    return npc;
  }

  /** The NPCs of this scene. */
  get npcs(): readonly ParleyNpc[] {
    return this.#npcs;
  }

  /** The NPC the dialogue box is open on. */
  get activeNpc(): ParleyNpc | undefined {
    return this.#active;
  }

  /** Whether the dialogue box is open (games usually freeze player movement meanwhile). */
  get isTalking(): boolean {
    return this.#active !== undefined;
  }

  /** The nearest NPC in talk range of the player, if any. */
  nearestNpc(): ParleyNpc | undefined {
    let best: ParleyNpc | undefined;
    let bestDistance = Number.POSITIVE_INFINITY;
    for (const npc of this.#npcs) {
      const player = npc.player;
      if (!npc.inRange || !player) continue;
      const d = distanceSquared(npc.sprite, player);
      if (d < bestDistance) [best, bestDistance] = [npc, d];
    }
    return best;
  }

  /** Opens the dialogue box on `npc` (closing any other conversation). */
  talkTo(npc: ParleyNpc): void {
    if (!this.#running) return;
    if (this.#active === npc) {
      this.#box?.focus();
      return;
    }
    if (this.#active) this.closeDialogue();
    const session = npc.session;
    this.#active = npc;
    this.#box ??= this.#createBox();
    this.#box.open(npc.name);
    // The input swallows key events, so keys held while walking up would otherwise stay down.
    this.scene!.input.keyboard?.resetKeys();
    session.open();
    this.#box.setText(session.view.text, session.view.tone);
    this.#emit(ParleyEvents.TalkStart, { npc });
  }

  /** Sends a line to the NPC the dialogue is open on, as if typed. */
  say(text: string): void {
    if (!this.#active) return;
    this.#box?.setPlayerLine(text.trim());
    this.#active.session.send(text);
  }

  /** Closes the dialogue box, interrupting a reply still streaming. */
  closeDialogue(): void {
    const npc = this.#active;
    if (!npc) return;
    this.#active = undefined;
    npc.existingSession?.close();
    this.#box?.close();
    this.scene?.input.keyboard?.resetKeys();
    this.#emit(ParleyEvents.TalkEnd, { npc });
  }

  /**
   * Subscribes to a plugin event; returns the unsubscribe function. Listeners are removed when the scene
   * shuts down, like everything else the plugin holds.
   */
  on<K extends ParleyEventName>(
    name: K,
    handler: (event: ParleyEvents[K]) => void,
    context?: unknown,
  ): () => void {
    this.events.on(name, handler, context);
    return () => void this.events.off(name, handler, context);
  }

  /** Like {@link ParleyPlugin.on}, for one event only. */
  once<K extends ParleyEventName>(
    name: K,
    handler: (event: ParleyEvents[K]) => void,
    context?: unknown,
  ): () => void {
    this.events.once(name, handler, context);
    return () => void this.events.off(name, handler, context);
  }

  /** Phaser calls this never by itself for scene plugins; the scene's DESTROY event does. */
  override destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#shutdown();
    this.systems?.events.off(Phaser.Scenes.Events.START, this.#start, this);
    this.systems?.events.off(Phaser.Scenes.Events.DESTROY, this.destroy, this);
    this.events.destroy();
    this.#client = undefined;
    super.destroy();
  }

  #start(): void {
    if (this.#running) return;
    this.#running = true;
    const scene = this.scene!;
    const events = this.systems!.events;
    events.on(Phaser.Scenes.Events.UPDATE, this.#update, this);
    events.once(Phaser.Scenes.Events.SHUTDOWN, this.#shutdown, this);
    scene.scale.on(Phaser.Scale.Events.RESIZE, this.#resize, this);
    scene.input.on(Phaser.Input.Events.POINTER_DOWN, this.#pointerDown, this);
    scene.input.keyboard?.on('keydown-ESC', this.closeDialogue, this);
    const defaults = this.defaultOptions();
    if (!this.#client && defaults) this.connect(defaults);
    this.#live = new LiveRegion(scene.game.canvas.ownerDocument, { id: this.#options?.liveRegionId });
  }

  // Scene SHUTDOWN (also run by destroy): interrupt open turns, drop every listener and DOM element.
  #shutdown(): void {
    if (!this.#running) return;
    this.#running = false;
    this.closeDialogue();
    for (const npc of [...this.#npcs]) npc.destroy();
    this.#npcs = [];
    const scene = this.scene;
    for (const key of this.#keys.values()) {
      key.removeAllListeners();
      scene?.input.keyboard?.removeKey(key, true);
    }
    this.#keys.clear();
    this.systems?.events.off(Phaser.Scenes.Events.UPDATE, this.#update, this);
    this.systems?.events.off(Phaser.Scenes.Events.SHUTDOWN, this.#shutdown, this);
    scene?.scale.off(Phaser.Scale.Events.RESIZE, this.#resize, this);
    scene?.input.off(Phaser.Input.Events.POINTER_DOWN, this.#pointerDown, this);
    scene?.input.keyboard?.off('keydown-ESC', this.closeDialogue, this);
    this.#box?.destroy();
    this.#box = undefined;
    this.#live?.destroy();
    this.#live = undefined;
    this.#player = undefined;
    this.events.removeAllListeners();
  }

  #update(time: number, delta: number): void {
    const nearest = this.isTalking ? undefined : this.nearestNpc();
    for (const npc of this.#npcs) {
      npc.existingSession?.tick(delta);
      npc.update(time, npc === nearest);
    }
    // Walking away ends the conversation, as it would in person.
    const active = this.#active;
    if (active?.player && !active.inRange) this.closeDialogue();
    this.#box?.place();
  }

  #talkKeyDown(code: number): void {
    if (this.isTalking) return;
    const npc = this.nearestNpc();
    if (npc && npc.talkKey === code) this.talkTo(npc);
  }

  #pointerDown(): void {
    // Clicking the canvas moves focus away from the input; give it back so typing keeps working.
    if (this.#box?.isOpen) setTimeout(() => this.#box?.focus(), 0);
  }

  #resize(): void {
    this.#box?.layout();
    if (this.#active) {
      const view = this.#active.session.view;
      this.#box?.setText(view.text, view.tone);
    }
  }

  #createBox(): DialogueBox {
    return new DialogueBox(
      this.scene!,
      {
        submit: (text) => this.say(text),
        skip: () => this.#active?.session.skip(),
        close: () => this.closeDialogue(),
      },
      this.#options?.theme,
    );
  }

  #createSession(npc: ParleyNpc): TalkSession {
    const live = this.#live;
    return new TalkSession({
      name: npc.name,
      conversation: npc.npc.conversation({ key: npc.conversationKey }),
      mirror: live && { add: (speaker, text, state) => live.add(speaker, text, state) },
      typewriter: { charsPerSecond: this.#options?.charsPerSecond ?? 45 },
      handlers: {
        state: (state, previous) => this.#emit(ParleyEvents.State, { npc, state, previous }),
        view: (view) => {
          if (this.#active === npc) this.#box?.setText(view.text, view.tone);
        },
        reply: ({ text, status, runId, usage }) =>
          this.#emit(ParleyEvents.Reply, { npc, text, status, runId, usage }),
        error: (error, message) => this.#emit(ParleyEvents.Error, { npc, error, message }),
        toolCall: (calls) => this.#emit(ParleyEvents.ToolCall, { npc, calls }),
      },
    });
  }

  #forget(npc: ParleyNpc): void {
    if (this.#active === npc) this.closeDialogue();
    this.#npcs = this.#npcs.filter((other) => other !== npc);
  }

  #emit<K extends ParleyEventName>(name: K, event: ParleyEvents[K]): void {
    this.events.emit(name, event);
  }
}

/** The scene-plugin entry for the game config, as {@link parleyPluginConfig} returns it. */
export interface ParleyPluginEntry {
  key: typeof PARLEY_PLUGIN_KEY;
  plugin: typeof ParleyPlugin;
  mapping: typeof PARLEY_SCENE_MAPPING;
}

/**
 * The game-config entry that installs {@link ParleyPlugin} in every scene as `this.parley`. With
 * options, each scene connects on start, so `this.parley.connect()` is not needed.
 *
 * @example
 * ```ts
 * new Phaser.Game({ plugins: { scene: [parleyPluginConfig({ url: '' })] }, scene: [Village] });
 * ```
 */
export function parleyPluginConfig(options?: ParleyPluginOptions): ParleyPluginEntry {
  if (!options) return { key: PARLEY_PLUGIN_KEY, plugin: ParleyPlugin, mapping: PARLEY_SCENE_MAPPING };
  class ConfiguredParleyPlugin extends ParleyPlugin {
    protected override defaultOptions(): ParleyPluginOptions {
      return options!;
    }
  }
  return { key: PARLEY_PLUGIN_KEY, plugin: ConfiguredParleyPlugin, mapping: PARLEY_SCENE_MAPPING };
}

declare module 'phaser' {
  interface Scene {
    /** Parley's scene plugin, installed by `parleyPluginConfig()`. */
    parley: ParleyPlugin;
  }
}
