import {
  createParley,
  type Npc,
  type NpcDefinition,
  type Parley,
  type ParleyOptions,
  type Turn,
} from '@parley/dialogue';
import * as Phaser from 'phaser';
import { ConsoleModel, type PriceTable, type RunRecord } from './console-model.js';
import { loadFileSearches } from './console-searches.js';
import { DebugConsole } from './debug-console.js';
import { DEFAULT_MAX_LINE, DialogueBox, type DialogueBoxTheme } from './dialogue-box.js';
import { type ParleyEventName, ParleyEvents } from './events.js';
import { FastForward, type FastForwardOptions } from './fast-forward.js';
import type { GlyphTiming } from './glyph-meter.js';
import { LiveRegion } from './live-region.js';
import { type NpcHost, type NpcOptions, type NpcSprite, ParleyNpc } from './npc.js';
import { dialoguePushToTalk, type PushToTalk } from './push-to-talk.js';
import { distanceSquared, type Point } from './range.js';
import { SUGGEST_REPLIES_TOOL, suggestRepliesTool } from './suggestions.js';
import { TalkSession } from './talk-session.js';
import { NpcVoice, type NpcVoiceOptions } from './voice.js';

/** Key under which the plugin is installed in the Scene Systems. */
export const PARLEY_PLUGIN_KEY = 'ParleyPlugin';
/** Property of the Scene the plugin is mapped to: `this.parley`. */
export const PARLEY_SCENE_MAPPING = 'parley';

/** A glyph timing with the NPC it belongs to, as `onGlyph` and the devtools hook receive it. */
export type GlyphReport = GlyphTiming & { npcId: string };

/**
 * What tools outside the game (a profiler, the glyph benchmark, browser devtools) may set on
 * `globalThis.__PARLEY_DEVTOOLS__` before the game starts, to measure and drive a build without changes
 * to the game's code, in the manner of React's and Redux's devtools hooks. Nothing is reported unless a
 * tool installed it.
 */
export interface ParleyDevtoolsHook {
  /** Each plugin instance, when its scene starts… */
  attach?(plugin: ParleyPlugin): void;
  /** …and when it shuts down. */
  detach?(plugin: ParleyPlugin): void;
  /** Every glyph timing, as `onGlyph` receives it. */
  glyph?(report: GlyphReport): void;
}

declare global {
  // `var` is how a global property is declared for `globalThis.__PARLEY_DEVTOOLS__`.
  var __PARLEY_DEVTOOLS__: ParleyDevtoolsHook | undefined;
}

/** Options of {@link ParleyPlugin.connect}: the `@parley/dialogue` client's, plus presentation. */
export interface ParleyPluginOptions extends ParleyOptions {
  /** Typing pace of the dialogue box. Default 45 characters per second. */
  charsPerSecond?: number;
  /** Look of the dialogue box. */
  theme?: DialogueBoxTheme;
  /** Id of the ARIA live region that mirrors the dialogue. Default `parley-live`. */
  liveRegionId?: string;
  /** Press-and-hold of the advance control (hold time, speed-up, page turning). */
  fastForward?: FastForwardOptions;
  /**
   * The in-game debug console: `'backtick'` makes it available behind {@link consoleKey} (the backtick
   * key unless set), `true` also opens it at start, `false` (default) leaves it out. Ship it off:
   * `console: import.meta.env.DEV ? 'backtick' : false`.
   */
  console?: boolean | 'backtick';
  /**
   * The key that toggles the console, as a `KeyboardEvent.code` (the physical key: `'Backquote'`, the
   * default, is ², § or 0 on other layouts), or `false` for none (open it with
   * {@link ParleyPlugin.toggleConsole}, from a button on touch screens). While a text field has focus
   * the key types its character there; Ctrl with the key toggles the console from anywhere.
   */
  consoleKey?: string | false;
  /**
   * The longest line the player may send, in characters (the dialogue box's input and the console's
   * raw-line field stop there, and say so). Default 400; keep it at or below the proxy's
   * `maxMessageChars` (4000 by default).
   */
  maxLineLength?: number;
  /**
   * Whether the dialogue box's hints name taps rather than keys. Default: whether the device's primary
   * pointer is coarse (a touch screen).
   */
  touch?: boolean;
  /** Prices (US dollars per million tokens, by model) for the console's cost estimate. */
  prices?: PriceTable;
  /**
   * Called with each streamed token's time to its first drawn glyph (see {@link GlyphTiming}); also
   * emitted as the `npc.glyph` event.
   */
  onGlyph?: (report: GlyphReport) => void;
  /**
   * NPCs speak their replies through the proxy's speech endpoint (`true` or options), each in its
   * `addNpc(…, { voice })`; see {@link NpcVoice}. Default off.
   */
  voice?: boolean | NpcVoiceOptions;
}

/**
 * The Parley scene plugin: talking NPCs with barks, a paged dialogue box with typing, skip, history,
 * suggested replies and interrupt, an ARIA live region and a debug console. It renders what
 * `@parley/dialogue` reports and forwards the player's input; it never talks HTTP itself.
 *
 * Install it from the game config with {@link parleyPluginConfig} (or {@link installParley}); each scene
 * then has `this.parley`.
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
  #fastForward = new FastForward();
  #consoleModel: ConsoleModel | undefined;
  #console: DebugConsole | undefined;
  #voice: NpcVoice | undefined;
  #pushToTalk: PushToTalk | undefined;
  #keys = new Map<number, Phaser.Input.Keyboard.Key>();
  #source: RunRecord['source'] = 'player';
  #holdSource: 'key' | 'pointer' = 'key';
  // Whether walking out of range closes the dialogue: only for one that began face to face.
  #closeOnLeave = false;
  #running = false;
  #destroyed = false;
  readonly #onConsoleKey = (event: KeyboardEvent): void => {
    const key = this.#options?.consoleKey ?? 'Backquote';
    if (key === false || event.code !== key || event.metaKey || event.altKey) return;
    // A text field keeps its keys: ` and ~ (or ², §) are characters there. Ctrl with the key types
    // nothing, so it toggles the console from anywhere, the dialogue's input included.
    if (!event.ctrlKey && isTextField(event.target)) return;
    event.preventDefault();
    event.stopPropagation();
    if (!event.repeat) this.toggleConsole();
  };
  // What NPC components may ask of the plugin, without seeing the rest of it.
  readonly #host: NpcHost = ((plugin) => ({
    get scene() {
      return plugin.scene!;
    },
    get player() {
      return plugin.#player;
    },
    get talking() {
      return plugin.isTalking;
    },
    createSession: (npc: ParleyNpc) => plugin.#createSession(npc),
    talkTo: (npc: ParleyNpc) => plugin.talkTo(npc),
    rangeChanged: (npc: ParleyNpc, inRange: boolean) => plugin.#emit(ParleyEvents.Range, { npc, inRange }),
    barked: (npc: ParleyNpc, text: string, duration: number) => {
      plugin.#live?.add(npc.name, text, 'done', 'bark');
      plugin.#emit(ParleyEvents.Bark, { npc, text, duration });
    },
    on: (name, handler, context) => plugin.on(name, handler, context),
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
   * Creates the `@parley/dialogue` client and applies the presentation options. Call it in `create()`
   * (or pass options to {@link parleyPluginConfig}). Calling it again replaces the client for NPCs added
   * afterwards.
   */
  connect(options: ParleyPluginOptions): this {
    this.#options = options;
    const { url, fetch, auth, store, maxToolRounds } = options;
    this.#client = createParley({
      url,
      ...(fetch && { fetch }),
      ...(auth && { auth }),
      ...(store && { store }),
      ...(maxToolRounds !== undefined && { maxToolRounds }),
    });
    this.#fastForward = new FastForward(options.fastForward);
    if (this.#running) this.#setUpConsole();
    if (this.#running) this.#setUpVoice();
    return this;
  }

  /** The NPCs' voice (mute, volume, transcription), when `connect({ voice })` turned it on. */
  get voice(): NpcVoice | undefined {
    return this.#voice;
  }

  /** Push-to-talk (hold `V`, or the 🎤 button on touch), on with the voice unless `pushToTalk: false`. */
  get pushToTalk(): PushToTalk | undefined {
    return this.#pushToTalk;
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
   * click/tap opens the dialogue, the NPC's state shows above it, and it can bark.
   *
   * @example
   * ```ts
   * const brom = this.parley.addNpc(guard, { id: 'brom', name: 'Brom', instructions: '…' }, { radius: 80 });
   * ```
   */
  addNpc(sprite: NpcSprite, definition: NpcDefinition, options: NpcOptions = {}): ParleyNpc {
    if (!this.#running) throw new Error('addNpc() needs a running scene: call it in create()');
    let handle: Npc | undefined;
    const client = () => {
      if (!handle) {
        handle = this.client.npc(definition);
        if (options.suggestReplies === 'tool') handle.tool(SUGGEST_REPLIES_TOOL, suggestRepliesTool);
      }
      return handle;
    };
    const npc = new ParleyNpc(this.#host, sprite, definition, client, options);
    this.#npcs.push(npc);
    this.#consoleModel?.addNpc(definition);
    if (this.#console?.isOpen) this.#loadAssistant(npc);
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

  /** The NPC with this id. */
  npc(id: string): ParleyNpc | undefined {
    return this.#npcs.find((npc) => npc.id === id);
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

  /**
   * Opens the dialogue box on `npc` (closing any other conversation). Walking out of range closes it
   * again, unless it was opened with the player out of range (a cutscene, a call from afar).
   */
  talkTo(npc: ParleyNpc): void {
    if (!this.#running) return;
    if (this.#active === npc) {
      this.#box?.focus();
      return;
    }
    if (this.#active) this.closeDialogue();
    const session = npc.session;
    this.#active = npc;
    this.#closeOnLeave = npc.inRange;
    this.#box ??= this.#createBox();
    this.#box.open(npc.name);
    session.setLayout(this.#box.pageLayout());
    // The input swallows key events, so keys held while walking up would otherwise stay down.
    this.scene!.input.keyboard?.resetKeys();
    session.open();
    this.#box.show(session.view);
    this.#console?.select(npc.id);
    this.#emit(ParleyEvents.TalkStart, { npc });
  }

  /** The longest line {@link ParleyPlugin.say} sends (`connect({ maxLineLength })`). */
  get maxLineLength(): number {
    return Math.max(1, this.#options?.maxLineLength ?? DEFAULT_MAX_LINE);
  }

  /**
   * Sends a line to the NPC the dialogue is open on, as if typed. A line longer than
   * {@link ParleyPlugin.maxLineLength} is not sent: the box says why.
   */
  say(text: string): void {
    const line = text.trim();
    const npc = this.#active;
    if (!npc || !line) return;
    this.#box?.setPlayerLine(line);
    const refusal = this.#tooLong(npc, line);
    if (refusal) {
      this.#box?.show({ text: refusal, tone: 'error', more: false, page: 0, pages: 1, suggestions: [] });
      this.#live?.add(npc.name, refusal, 'error');
      return;
    }
    npc.session.send(line);
  }

  /**
   * Where the dialogue box is, in camera coordinates (game pixels), while it is open: for a game that
   * lays its own things out around it.
   */
  get dialogueRect(): { x: number; y: number; width: number; height: number } | undefined {
    return this.#box?.isOpen ? { ...this.#box.panelRect } : undefined;
  }

  /**
   * Stops the reply streaming or still typing in the open dialogue: the line stops where it is, the box
   * stays open, and the proxy is told how much the player saw (`turn.interrupt({ shown })`), so the NPC
   * remembers only that. Returns false when nothing was streaming or typing. Escape (or the ✕ button)
   * does this, and a second Escape closes.
   */
  interrupt(): boolean {
    const npc = this.#active;
    // The voice stops at once, also after the text has all arrived (it lags behind it).
    const spoke = this.#voice?.stop() ?? false;
    if (!npc?.existingSession?.interrupt()) return spoke;
    this.#emit(ParleyEvents.Interrupt, { npc });
    return true;
  }

  /** Closes the dialogue box, interrupting a reply still streaming. */
  closeDialogue(): void {
    const npc = this.#active;
    if (!npc) return;
    this.#active = undefined;
    this.#voice?.stop();
    this.#pushToTalk?.cancel();
    npc.existingSession?.close();
    this.#box?.close();
    this.#fastForward.release();
    this.scene?.input.keyboard?.resetKeys();
    this.#emit(ParleyEvents.TalkEnd, { npc });
  }

  /** Whether the debug console is showing. */
  get consoleOpen(): boolean {
    return this.#console?.isOpen ?? false;
  }

  /**
   * Shows or hides the debug console (toggles without an argument). Does nothing unless
   * `connect({ console })` enabled it.
   */
  toggleConsole(open?: boolean): void {
    this.#console?.toggle(open);
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
    scene.game.events.on(Phaser.Core.Events.POST_RENDER, this.#postRender, this);
    scene.scale.on(Phaser.Scale.Events.RESIZE, this.#resize, this);
    scene.input.on(Phaser.Input.Events.POINTER_DOWN, this.#pointerDown, this);
    scene.input.on(Phaser.Input.Events.POINTER_UP, this.#pointerUp, this);
    scene.input.on(Phaser.Input.Events.POINTER_UP_OUTSIDE, this.#pointerUp, this);
    scene.input.keyboard?.on('keydown-ESC', this.#escape, this);
    const defaults = this.defaultOptions();
    if (!this.#client && defaults) this.connect(defaults);
    this.#live = new LiveRegion(scene.game.canvas.ownerDocument, { id: this.#options?.liveRegionId });
    this.#setUpConsole();
    this.#setUpVoice();
    globalThis.__PARLEY_DEVTOOLS__?.attach?.(this);
  }

  // Scene SHUTDOWN (also run by destroy): interrupt open turns, drop every listener and DOM element.
  #shutdown(): void {
    if (!this.#running) return;
    this.#running = false;
    globalThis.__PARLEY_DEVTOOLS__?.detach?.(this);
    this.closeDialogue();
    this.#voice?.destroy();
    this.#voice = undefined;
    this.#pushToTalk?.destroy();
    this.#pushToTalk = undefined;
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
    scene?.game.events.off(Phaser.Core.Events.POST_RENDER, this.#postRender, this);
    scene?.scale.off(Phaser.Scale.Events.RESIZE, this.#resize, this);
    scene?.input.off(Phaser.Input.Events.POINTER_DOWN, this.#pointerDown, this);
    scene?.input.off(Phaser.Input.Events.POINTER_UP, this.#pointerUp, this);
    scene?.input.off(Phaser.Input.Events.POINTER_UP_OUTSIDE, this.#pointerUp, this);
    scene?.input.keyboard?.off('keydown-ESC', this.#escape, this);
    this.#tearDownConsole();
    this.#box?.destroy();
    this.#box = undefined;
    this.#live?.destroy();
    this.#live = undefined;
    this.#player = undefined;
    this.events.removeAllListeners();
  }

  #setUpConsole(): void {
    const mode = this.#options?.console ?? false;
    if (!mode) {
      this.#tearDownConsole();
      return;
    }
    if (!this.#console) {
      const doc = this.scene!.game.canvas.ownerDocument;
      this.#consoleModel = new ConsoleModel({ prices: this.#options?.prices });
      for (const npc of this.#npcs) this.#consoleModel.addNpc(npc.definition);
      const key = this.#options?.consoleKey ?? 'Backquote';
      this.#console = new DebugConsole(doc, this.#consoleModel, {
        maxLineLength: this.maxLineLength,
        keyLabel: key === false ? undefined : keyLabel(key),
        send: (npcId, text) => this.#sendFromConsole(npcId, text),
        loadAssistant: (npcId) => {
          const npc = this.npc(npcId);
          if (npc) this.#loadAssistant(npc);
        },
        loadMemory: (npcId) => {
          const npc = this.npc(npcId);
          if (npc) this.#loadMemory(npc);
        },
        toggled: (open) => this.#emit(ParleyEvents.Console, { open }),
      });
      doc.defaultView?.addEventListener('keydown', this.#onConsoleKey, true);
    }
    if (mode === true) this.#console.toggle(true);
  }

  // (Re)made on connect and scene start: its indicator lives in the scene, which a restart empties.
  #setUpVoice(): void {
    this.#voice?.destroy();
    this.#voice = undefined;
    this.#pushToTalk?.destroy();
    this.#pushToTalk = undefined;
    const { voice, url, fetch, auth } = this.#options ?? {};
    if (!voice || !this.scene) return;
    const { pushToTalk = true, ...options } = voice === true ? {} : voice;
    this.#voice = new NpcVoice(this.scene, { url: url ?? '', fetch, auth }, options);
    if (pushToTalk === false) return;
    // Held near an NPC, the key opens the dialogue with it, so the words land in its input.
    const begin = () => {
      const npc = this.#active ?? this.nearestNpc();
      if (npc && !this.#active) this.talkTo(npc);
      return this.#active !== undefined;
    };
    this.#pushToTalk = dialoguePushToTalk(
      this.scene.game.canvas.ownerDocument,
      this.#voice.client,
      () => this.#box,
      begin,
      pushToTalk === true ? {} : pushToTalk,
    );
  }

  #tearDownConsole(): void {
    this.#console?.element.ownerDocument.defaultView?.removeEventListener(
      'keydown',
      this.#onConsoleKey,
      true,
    );
    this.#console?.destroy();
    this.#console = undefined;
    this.#consoleModel = undefined;
  }

  // The assistant as the proxy has it, through @parley/dialogue (which makes the request).
  #loadAssistant(npc: ParleyNpc): void {
    const model = this.#consoleModel;
    if (!model) return;
    npc.npc.ensure().then(
      (assistant) => model.setAssistant(npc.id, assistant),
      (error: unknown) =>
        model.setAssistantError(npc.id, error instanceof Error ? error.message : String(error)),
    );
  }

  // The thread's long-memory note (metadata parley_memory), read through @parley/dialogue. A failed read
  // keeps the note the console has: it is a debugging aid, and the next open or turn reads it again.
  #loadMemory(npc: ParleyNpc): void {
    const model = this.#consoleModel;
    npc.npc
      .conversation({ key: npc.conversationKey })
      .thread()
      .then(
        (thread) => thread && model?.setMemory(npc.id, thread.metadata),
        () => {},
      );
  }

  #tooLong(npc: ParleyNpc, line: string): string | undefined {
    const limit = this.maxLineLength;
    if (line.length <= limit) return undefined;
    return `(That is ${line.length.toLocaleString('en')} characters; ${npc.name} follows at most ${limit.toLocaleString('en')} at once. Say it in shorter lines.)`;
  }

  #sendFromConsole(npcId: string, text: string): string | undefined {
    const npc = this.npc(npcId);
    if (!npc) return undefined;
    const refusal = this.#tooLong(npc, text);
    if (refusal) return refusal;
    this.#source = 'console';
    try {
      if (this.#active === npc) {
        this.say(text);
        return undefined;
      }
      // Not in a dialogue: straight to the conversation; the console shows the answer.
      const turn = npc.npc.conversation({ key: npc.conversationKey }).say(text);
      this.#turnStarted(npc, text, turn);
    } finally {
      this.#source = 'player';
    }
    return undefined;
  }

  #turnStarted(npc: ParleyNpc, line: string, turn: Turn): void {
    this.#voice?.follow(npc, turn);
    this.#emit(ParleyEvents.Say, { npc, text: line, turn });
    const model = this.#consoleModel;
    if (!model) return;
    const run = model.startRun(npc.id, line, this.#source);
    this.#voice?.report(turn, (clip) => model.setClip(run, clip));
    if (!model.npc(npc.id)?.assistant) this.#loadAssistant(npc);
    void (async () => {
      for await (const event of turn) model.record(run, event);
      // The proxy writes the memory note of the turn it just ran; an open console shows the new one.
      if (this.#console?.isOpen) this.#loadMemory(npc);
      // What an NPC with knowledge files looked up: the console reads it from the run's steps.
      if (npc.definition.vectorStoreIds && this.#options) void loadFileSearches(model, run, this.#options);
      // An interrupted run was charged for what the model said before the cancel reached it: the
      // proxy reports that once the run has ended.
      if (run.status === 'cancelled' && !run.usage) {
        const usage = await turn.usage.catch(() => null);
        if (usage) model.setUsage(run, usage);
      }
    })();
  }

  #update(time: number, delta: number): void {
    const nearest = this.isTalking ? undefined : this.nearestNpc();
    for (const npc of this.#npcs) {
      npc.existingSession?.tick(delta);
      npc.update(time, npc === nearest, delta);
    }
    // Walking away ends a conversation begun face to face, as it would in person (one opened from afar,
    // e.g. a cutscene calling talkTo(), stays open).
    const active = this.#active;
    if (active) {
      if (active.inRange) this.#closeOnLeave = true;
      else if (this.#closeOnLeave && active.player) this.closeDialogue();
    }
    this.#box?.update(time);
    this.#pushToTalk?.update();
  }

  // The first frame drawn after the typewriter placed a token's first character: report its latency.
  #postRender(): void {
    const npc = this.#active;
    const glyphs = npc?.existingSession?.glyphs;
    if (!npc || !glyphs?.waiting) return;
    const timings = glyphs.drawn(performance.now());
    if (timings.length === 0) return;
    const hook = globalThis.__PARLEY_DEVTOOLS__;
    for (const timing of timings) {
      const report = { ...timing, npcId: npc.id };
      this.#options?.onGlyph?.(report);
      hook?.glyph?.(report);
      this.#emit(ParleyEvents.Glyph, { ...timing, npc });
    }
  }

  #talkKeyDown(code: number): void {
    if (this.isTalking) return;
    const npc = this.nearestNpc();
    if (npc && npc.talkKey === code) this.talkTo(npc);
  }

  // Escape stops a reply that is streaming or typing; with nothing to stop it closes the dialogue.
  #escape(): void {
    if (!this.#active) return;
    if (!this.interrupt()) this.closeDialogue();
  }

  #advancePress(source: 'key' | 'pointer'): void {
    const session = this.#active?.existingSession;
    if (!session) return;
    this.#holdSource = source;
    this.#fastForward.press(performance.now());
    session.advance();
  }

  #pointerDown(pointer: Phaser.Input.Pointer): void {
    const box = this.#box;
    if (!box?.isOpen) return;
    if (box.contains(pointer.x, pointer.y)) this.#advancePress('pointer');
    // Clicking the canvas moves focus away from the input; give it back so typing keeps working.
    setTimeout(() => this.#box?.focus(), 0);
  }

  #pointerUp(): void {
    this.#fastForward.release();
  }

  #resize(): void {
    const box = this.#box;
    if (!box) return;
    box.layout();
    const session = this.#active?.existingSession;
    if (session) {
      session.setLayout(box.pageLayout());
      box.show(session.view);
    }
    box.place();
  }

  #createBox(): DialogueBox {
    return new DialogueBox(
      this.scene!,
      {
        submit: (text) => this.say(text),
        advancePress: () => this.#advancePress('key'),
        // The input's keyup or blur: ends a hold of the key, not one of the pointer (clicking the canvas
        // may blur the input).
        advanceRelease: () => {
          if (this.#holdSource === 'key') this.#fastForward.release();
        },
        escape: () => this.#escape(),
      },
      this.#options?.theme,
      {
        maxLineLength: this.maxLineLength,
        ...(this.#options?.touch !== undefined && { touch: this.#options.touch }),
      },
    );
  }

  #createSession(npc: ParleyNpc): TalkSession {
    const live = this.#live;
    const suggest = npc.suggestReplies !== false;
    return new TalkSession({
      name: npc.name,
      conversation: npc.npc.conversation({ key: npc.conversationKey }),
      mirror: live && { add: (speaker, text, state, kind) => live.add(speaker, text, state, kind) },
      typewriter: { charsPerSecond: this.#options?.charsPerSecond ?? 45 },
      // With voice on, the typing follows the audio.
      spoken: (turn) => this.#voice?.spokenUpTo(turn),
      // Through the plugin: connect() may replace the control after the session exists.
      fastForward: {
        speed: (now) => this.#fastForward.speed(now),
        shouldTurn: (now, since) => this.#fastForward.shouldTurn(now, since),
      },
      handlers: {
        state: (state, previous) => this.#emit(ParleyEvents.State, { npc, state, previous }),
        view: (view) => {
          if (this.#active === npc) this.#box?.show(suggest ? view : { ...view, suggestions: [] });
        },
        turn: (line, turn) => this.#turnStarted(npc, line, turn),
        reply: ({ text, status, runId, usage, citations = [] }) =>
          this.#emit(ParleyEvents.Reply, { npc, text, status, runId, usage, citations }),
        error: (error, message) => this.#emit(ParleyEvents.Error, { npc, error, message }),
        toolCall: (calls) => this.#emit(ParleyEvents.ToolCall, { npc, calls }),
        toolResult: ({ id, name, output, error }) =>
          this.#emit(ParleyEvents.ToolResult, { npc, id, name, output, error }),
        suggestions: (replies) => {
          if (suggest) this.#emit(ParleyEvents.Suggestions, { npc, replies });
        },
      },
    });
  }

  #forget(npc: ParleyNpc): void {
    if (this.#active === npc) this.closeDialogue();
    this.#npcs = this.#npcs.filter((other) => other !== npc);
    if (this.#running) this.#consoleModel?.removeNpc(npc.id);
  }

  #emit<K extends ParleyEventName>(name: K, event: ParleyEvents[K]): void {
    this.events.emit(name, event);
  }
}

// Where typing goes to text, not to the game.
function isTextField(target: EventTarget | null): boolean {
  const element = target as HTMLElement | null;
  if (!element || typeof element.tagName !== 'string') return false;
  if (element.isContentEditable || element.tagName === 'TEXTAREA' || element.tagName === 'SELECT')
    return true;
  if (element.tagName !== 'INPUT') return false;
  return !/^(button|checkbox|radio|range|submit|reset|color|file|image)$/i.test(
    (element as HTMLInputElement).type,
  );
}

// The label a player sees for a key code: "`" for Backquote, "F2" for F2, "Q" for KeyQ.
function keyLabel(code: string): string {
  if (code === 'Backquote') return '`';
  if (/^Key[A-Z]$/.test(code)) return code.slice(3);
  if (/^Digit\d$/.test(code)) return code.slice(5);
  return code;
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

/**
 * Forgets the plugin class Phaser caches globally under {@link PARLEY_PLUGIN_KEY}. Phaser keeps the
 * first class registered under a key and ignores later ones, so under Vite HMR (where the module runs
 * again with a new class) call this before creating the game again.
 *
 * @example
 * ```ts
 * removeParleyPlugin();
 * const game = new Phaser.Game({ plugins: { scene: [parleyPluginConfig({ url: '' })] }, scene: [Village] });
 * if (import.meta.hot) import.meta.hot.dispose(() => game.destroy(true));
 * ```
 */
export function removeParleyPlugin(): void {
  Phaser.Plugins.PluginCache.remove(PARLEY_PLUGIN_KEY);
}

/**
 * Installs the plugin in a game from code instead of its config, HMR-safe: it drops a stale cached class
 * first ({@link removeParleyPlugin}). Call it right after `new Phaser.Game(…)`, before the scenes
 * start: every scene then has `this.parley`, connected with `options` when given.
 *
 * @example
 * ```ts
 * const game = new Phaser.Game({ scene: [Village] });
 * installParley(game, { url: '', console: import.meta.env.DEV ? 'backtick' : false });
 * ```
 */
export function installParley(game: Phaser.Game, options?: ParleyPluginOptions): void {
  removeParleyPlugin();
  const { plugin, key, mapping } = parleyPluginConfig(options);
  game.plugins.installScenePlugin(key, plugin, mapping);
}

declare module 'phaser' {
  interface Scene {
    /** Parley's scene plugin, installed by `parleyPluginConfig()`. */
    parley: ParleyPlugin;
  }
}
