import type { Conversation, DialogueError, DialogueEvent, ToolCall, Turn } from '@parley/dialogue';
import { inWorldErrorText } from './error-text.js';
import { type NpcSignal, NpcState, nextNpcState } from './npc-state.js';
import { Typewriter, type TypewriterOptions } from './typewriter.js';

/** A line of the DOM mirror, as {@link LiveRegion} makes them. */
export interface MirrorLine {
  update(text: string): void;
  finish(state?: 'done' | 'error' | 'interrupted', text?: string): void;
}

/** Where a session mirrors its lines (the ARIA live region). */
export interface Mirror {
  add(speaker: string, text: string, state?: 'streaming' | 'done'): MirrorLine;
}

/** What the dialogue box should show for this NPC right now. */
export interface SessionView {
  text: string;
  tone: 'normal' | 'dim' | 'error';
}

/** Callbacks of a {@link TalkSession}; the Phaser layer renders them and re-emits them as events. */
export interface SessionHandlers {
  state?(state: NpcState, previous: NpcState): void;
  view?(view: SessionView): void;
  reply?(event: Extract<DialogueEvent, { type: 'turn.end' }>): void;
  error?(error: DialogueError, message: string): void;
  toolCall?(calls: ToolCall[]): void;
}

/** Options of {@link TalkSession}. */
export interface TalkSessionOptions {
  /** The NPC's display name. */
  name: string;
  conversation: Pick<Conversation, 'say'>;
  mirror?: Mirror | undefined;
  typewriter?: TypewriterOptions | undefined;
  handlers?: SessionHandlers;
}

/**
 * One NPC's side of the dialogue, free of Phaser: it sends the player's lines, follows each turn's
 * events, paces the reply through a {@link Typewriter}, mirrors both lines into the live region and
 * drives the NPC state machine. The plugin calls `tick()` every frame and renders what the handlers say.
 *
 * @example
 * ```ts
 * const session = new TalkSession({ name: 'Brom', conversation, handlers: { view: (v) => box.setText(v.text) } });
 * session.open();
 * session.send('Is the gate open?');
 * // every frame: session.tick(delta);
 * ```
 */
export class TalkSession {
  readonly name: string;
  readonly #conversation: Pick<Conversation, 'say'>;
  readonly #mirror: Mirror | undefined;
  readonly #handlers: SessionHandlers;
  readonly #typewriter: Typewriter;
  #state: NpcState = NpcState.Idle;
  #turn: Turn | undefined;
  #following: Promise<void> | undefined;
  #generation = 0;
  #view: SessionView = { text: '', tone: 'dim' };

  constructor(options: TalkSessionOptions) {
    this.name = options.name;
    this.#conversation = options.conversation;
    this.#mirror = options.mirror;
    this.#handlers = options.handlers ?? {};
    this.#typewriter = new Typewriter(options.typewriter);
  }

  get state(): NpcState {
    return this.#state;
  }

  /** What the box shows now. */
  get view(): SessionView {
    return this.#view;
  }

  /** Whether a turn is still streaming. */
  get busy(): boolean {
    return this.#turn !== undefined;
  }

  /** Settles when the current turn's events have all been handled (for tests and orderly shutdown). */
  settled(): Promise<void> {
    return this.#following ?? Promise.resolve();
  }

  /** The dialogue box opened on this NPC. */
  open(): void {
    if (this.#state !== NpcState.Idle) return;
    this.#signal('open');
    this.#show({ text: `(${this.name} is listening.)`, tone: 'dim' });
  }

  /**
   * Sends the player's line. A turn still streaming is interrupted first: the player has moved on, and
   * the conversation runs turns one after another anyway.
   */
  send(text: string): void {
    const line = text.trim();
    if (!line || this.#state === NpcState.Idle) return;
    this.#turn?.interrupt();
    const generation = ++this.#generation;
    this.#typewriter.reset();
    this.#mirror?.add('player', line, 'done');
    const mirrored = this.#mirror?.add(this.name, '');
    const turn = this.#conversation.say(line);
    this.#turn = turn;
    this.#signal('sent');
    this.#show({ text: '…', tone: 'dim' });
    this.#following = this.#follow(turn, generation, mirrored);
  }

  /** Reveals the rest of the reply at once. */
  skip(): void {
    this.#typewriter.skip();
    this.tick(0);
  }

  /** Advances the typewriter; call once per frame with the frame's delta in ms. */
  tick(dtMs: number): void {
    if (this.#state !== NpcState.Speaking) return;
    if (this.#typewriter.tick(dtMs) || dtMs === 0)
      this.#show({ text: this.#typewriter.visible, tone: 'normal' });
    if (this.#typewriter.done) this.#signal('typed');
  }

  /** The box closed: interrupts a streaming turn and returns to idle. */
  close(): void {
    this.#generation++;
    this.#turn?.interrupt();
    this.#turn = undefined;
    this.#typewriter.reset();
    this.#signal('close');
  }

  async #follow(turn: Turn, generation: number, mirrored: MirrorLine | undefined): Promise<void> {
    const current = () => generation === this.#generation;
    for await (const event of turn) {
      switch (event.type) {
        case 'turn.start':
          break;
        case 'text.delta':
          mirrored?.update(event.text);
          if (!current()) break;
          this.#typewriter.set(event.text);
          this.#signal('text');
          break;
        case 'tool.call':
          if (current()) this.#handlers.toolCall?.(event.calls);
          break;
        case 'turn.end':
          mirrored?.finish('done', event.text);
          if (!current()) break;
          this.#turn = undefined;
          this.#typewriter.set(event.text);
          this.#typewriter.end();
          this.#handlers.reply?.(event);
          // A turn that ends without words (e.g. only tool calls) has nothing to type.
          if (this.#state === NpcState.Thinking) {
            this.#signal('failed');
            this.#show({
              text: event.text || `(${this.name} says nothing.)`,
              tone: event.text ? 'normal' : 'dim',
            });
          }
          break;
        case 'error': {
          const interrupted = event.error.code === 'interrupted';
          const message = inWorldErrorText(this.name, event.error);
          mirrored?.finish(interrupted ? 'interrupted' : 'error', interrupted ? undefined : message);
          if (!current()) break;
          this.#turn = undefined;
          this.#typewriter.reset();
          this.#handlers.error?.(event.error, message);
          this.#signal('failed');
          this.#show({ text: message, tone: 'error' });
          break;
        }
        default: {
          const unknown: never = event;
          void unknown;
        }
      }
    }
  }

  #signal(signal: NpcSignal): void {
    const previous = this.#state;
    this.#state = nextNpcState(previous, signal);
    if (this.#state !== previous) this.#handlers.state?.(this.#state, previous);
  }

  #show(view: SessionView): void {
    if (view.text === this.#view.text && view.tone === this.#view.tone) return;
    this.#view = view;
    this.#handlers.view?.(view);
  }
}
