import {
  type Conversation,
  type DialogueError,
  type DialogueEvent,
  stripCitations,
  type ToolCall,
  type Turn,
} from '@parley/dialogue';
import { sourceLine, storedOffset } from './citations.js';
import { inWorldErrorText } from './error-text.js';
import { type AdvanceAction, advanceAction, FastForward } from './fast-forward.js';
import { GlyphMeter } from './glyph-meter.js';
import { type NpcSignal, NpcState, nextNpcState } from './npc-state.js';
import { type Measure, Pager } from './pager.js';
import { parseSuggestReplies, SUGGEST_REPLIES_TOOL, splitSuggestions } from './suggestions.js';
import { Typewriter, type TypewriterOptions } from './typewriter.js';

/** A line of the DOM mirror, as {@link LiveRegion} makes them. */
export interface MirrorLine {
  update(text: string): void;
  finish(state?: 'done' | 'error' | 'interrupted', text?: string): void;
}

/** Where a session mirrors its lines (the ARIA live region). */
export interface Mirror {
  /** `kind: 'source'` is the line naming the files a reply cited, after the reply. */
  add(speaker: string, text: string, state?: 'streaming' | 'done', kind?: 'source'): MirrorLine;
}

/** What the dialogue box should show for this NPC right now. */
export interface SessionView {
  /** The page on screen, as typed so far (lines joined by `\n`). */
  text: string;
  tone: 'normal' | 'dim' | 'error';
  /** The page is fully shown and another follows: show the continue arrow. */
  more: boolean;
  /** Index of the page on screen, and how many pages the reply has so far. */
  page: number;
  pages: number;
  /** Replies to offer as chips (only once the reply is typed out). */
  suggestions: readonly string[];
  /**
   * The files the reply cited (`— from chronicle.md`), to show under it once it is typed out; empty or
   * absent otherwise.
   */
  source?: string;
}

/** How the dialogue box lays out text: the measure of its font, the line width and lines per page. */
export interface PageLayout {
  measure: Measure;
  width: number;
  lines: number;
}

/** Callbacks of a {@link TalkSession}; the Phaser layer renders them and re-emits them as events. */
export interface SessionHandlers {
  state?(state: NpcState, previous: NpcState): void;
  view?(view: SessionView): void;
  /** A line went out: `turn` can be followed by others (the debug console). */
  turn?(line: string, turn: Turn): void;
  reply?(event: Extract<DialogueEvent, { type: 'turn.end' }>): void;
  error?(error: DialogueError, message: string): void;
  toolCall?(calls: ToolCall[]): void;
  toolResult?(result: Extract<DialogueEvent, { type: 'tool.result' }>): void;
  /** The NPC offered replies (shown once its reply is typed out). */
  suggestions?(replies: readonly string[]): void;
}

/** Options of {@link TalkSession}. */
export interface TalkSessionOptions {
  /** The NPC's display name. */
  name: string;
  conversation: Pick<Conversation, 'say'>;
  mirror?: Mirror | undefined;
  typewriter?: TypewriterOptions | undefined;
  /** Pagination; default one endless page. */
  layout?: PageLayout | undefined;
  /** The press-and-hold state of the advance control, shared with the box. */
  fastForward?: Pick<FastForward, 'speed' | 'shouldTurn'> | undefined;
  handlers?: SessionHandlers;
  /** Monotonic clock in ms. Default `performance.now()`. */
  now?: () => number;
  /**
   * How much of a turn's reply has been said aloud (see `NpcVoice.spokenUpTo`): the typing goes no
   * further, so it follows the voice. Undefined: no limit.
   */
  spoken?: ((turn: Turn) => number | undefined) | undefined;
}

const ONE_PAGE: PageLayout = {
  measure: (text) => text.length,
  width: Number.POSITIVE_INFINITY,
  lines: Number.POSITIVE_INFINITY,
};

/**
 * One NPC's side of the dialogue, free of Phaser: it sends the player's lines, follows each turn's
 * events, paces the reply through a {@link Typewriter} page by page, mirrors both lines into the live
 * region, collects suggested replies and drives the NPC state machine. The plugin calls `tick()` every
 * frame and renders what the handlers say.
 *
 * @example
 * ```ts
 * const session = new TalkSession({ name: 'Brom', conversation, handlers: { view: (v) => box.show(v) } });
 * session.open();
 * session.send('Is the gate open?');
 * // every frame: session.tick(delta);
 * ```
 */
export class TalkSession {
  readonly name: string;
  /** Token → glyph timings of this session's replies. */
  readonly glyphs = new GlyphMeter();
  readonly #conversation: Pick<Conversation, 'say'>;
  readonly #mirror: Mirror | undefined;
  readonly #handlers: SessionHandlers;
  readonly #typewriter: Typewriter;
  readonly #pager: Pager;
  readonly #fast: Pick<FastForward, 'speed' | 'shouldTurn'>;
  readonly #now: () => number;
  readonly #spoken: TalkSessionOptions['spoken'];
  #state: NpcState = NpcState.Idle;
  #turn: Turn | undefined;
  // The turn whose reply is on screen (streaming or still typing), with its mirror line.
  #last: { turn: Turn; mirrored: MirrorLine | undefined; generation: number; stored?: string } | undefined;
  // The generation whose reply the player cut off while it typed: its later events leave the view alone.
  #cutGeneration = -1;
  #following: Promise<void> | undefined;
  #generation = 0;
  #tone: SessionView['tone'] = 'dim';
  #suggestions: readonly string[] = [];
  #source = '';
  #fullSince: number | undefined;
  #view: SessionView = { text: '', tone: 'dim', more: false, page: 0, pages: 1, suggestions: [] };

  constructor(options: TalkSessionOptions) {
    this.name = options.name;
    this.#conversation = options.conversation;
    this.#mirror = options.mirror;
    this.#handlers = options.handlers ?? {};
    this.#typewriter = new Typewriter(options.typewriter);
    const layout = options.layout ?? ONE_PAGE;
    this.#pager = new Pager(layout.measure, layout.width, layout.lines);
    this.#fast = options.fastForward ?? new FastForward();
    this.#now = options.now ?? (() => performance.now());
    this.#spoken = options.spoken;
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

  /** The turn still streaming, if any. */
  get turn(): Turn | undefined {
    return this.#turn;
  }

  /** Settles when the current turn's events have all been handled (for tests and orderly shutdown). */
  settled(): Promise<void> {
    return this.#following ?? Promise.resolve();
  }

  /** The box changed size or font: re-wrap the reply, staying on the page being read. */
  setLayout(layout: PageLayout): void {
    this.#pager.resize(layout.measure, layout.width, layout.lines, this.#typewriter.shown);
    if (this.#tone === 'normal') this.#render();
  }

  /** The dialogue box opened on this NPC. */
  open(): void {
    if (this.#state !== NpcState.Idle) return;
    this.#signal('open');
    this.#showMessage(`(${this.name} is listening.)`, 'dim');
  }

  /**
   * Sends the player's line. A turn still streaming is interrupted first: the player has moved on, and
   * the conversation runs turns one after another anyway.
   */
  send(text: string): Turn | undefined {
    const line = text.trim();
    if (!line || this.#state === NpcState.Idle) return undefined;
    this.#stopTyping();
    const generation = ++this.#generation;
    this.#typewriter.reset();
    this.#pager.reset();
    this.glyphs.clear();
    this.#suggestions = [];
    this.#source = '';
    this.#mirror?.add('player', line, 'done');
    const mirrored = this.#mirror?.add(this.name, '');
    const turn = this.#conversation.say(line);
    this.#turn = turn;
    this.#last = { turn, mirrored, generation };
    this.#signal('sent');
    this.#showMessage('…', 'dim');
    this.#handlers.turn?.(line, turn);
    this.#following = this.#follow(turn, generation, mirrored);
    return turn;
  }

  /**
   * The advance control was pressed (Enter on an empty line, a click or tap on the box): completes the
   * page being typed, or turns to the next one.
   */
  advance(): AdvanceAction {
    if (this.#state !== NpcState.Speaking) return 'none';
    const shown = this.#typewriter.shown;
    const limit = Math.min(this.#pager.limit, this.#typewriter.target.length);
    const action = advanceAction({ typing: shown < limit, hasNext: this.#pager.hasNext });
    if (action === 'complete') this.#typewriter.skip(this.#pager.limit);
    else if (action === 'next') this.#turnPage();
    if (action === 'complete') this.glyphs.placed(this.#typewriter.shown, this.#now());
    this.tick(0);
    return action;
  }

  /**
   * Stops the reply that is streaming or still typing out: the line stops where it is on screen, the NPC
   * trails off there, and the turn is told how much the player saw (`turn.interrupt({ shown })`), so the
   * proxy stores the line as seen, also when the run had already completed. Returns false when nothing
   * was streaming or typing (a second Escape then leaves).
   */
  interrupt(): boolean {
    const last = this.#last;
    if (!last || last.generation !== this.#generation || !this.#typingOrStreaming()) return false;
    const said = this.#typewriter.visible.trimEnd();
    // Nothing on screen yet: the turn's `interrupted` error says so in-world (see #follow).
    if (!said) {
      this.#turn?.interrupt({ shown: 0 });
      return this.#turn !== undefined;
    }
    this.#stopTyping();
    this.#cutGeneration = last.generation;
    this.#turn = undefined;
    this.glyphs.clear();
    last.mirrored?.finish('interrupted', `${said}—`);
    // The NPC stops where the player cut in.
    this.#typewriter.set(`${said}—`);
    this.#typewriter.end();
    this.#typewriter.skip();
    this.#pager.update(this.#typewriter.target);
    this.#signal('failed');
    this.#render();
    return true;
  }

  // Whether the reply on screen is still arriving or not yet all shown.
  #typingOrStreaming(): boolean {
    if (this.#turn) return true;
    return this.#state === NpcState.Speaking && this.#typewriter.shown < this.#typewriter.target.length;
  }

  // Tells the turn on screen how much of it the player saw, if it is not all shown yet.
  #stopTyping(): void {
    const last = this.#last;
    if (!last || last.generation !== this.#generation || this.#cutGeneration === last.generation) return;
    // The box shows the reply without its citation markers; the proxy counts them.
    const shown = storedOffset(last.stored ?? '', this.#typewriter.shown);
    if (this.#typingOrStreaming()) last.turn.interrupt({ shown });
  }

  /** Advances the typewriter; call once per frame with the frame's delta in ms. */
  tick(dtMs: number): void {
    if (this.#state !== NpcState.Speaking) return;
    const now = this.#now();
    const last = this.#last;
    const spoken = last && last.generation !== this.#cutGeneration ? this.#spoken?.(last.turn) : undefined;
    if (
      this.#typewriter.tick(dtMs * this.#fast.speed(now), Math.min(this.#pager.limit, spoken ?? Infinity))
    ) {
      this.glyphs.placed(this.#typewriter.shown, now);
    }
    const full = this.#pager.full(this.#typewriter.shown);
    if (!full) this.#fullSince = undefined;
    else {
      this.#fullSince ??= now;
      if (this.#fast.shouldTurn(now, this.#fullSince)) this.#turnPage();
    }
    this.#render();
    if (this.#typewriter.done && !this.#pager.hasNext) {
      this.#signal('typed');
      this.#render();
    }
  }

  /** The box closed: interrupts a streaming turn and returns to idle. */
  close(): void {
    this.#stopTyping();
    this.#generation++;
    this.#turn = undefined;
    this.#typewriter.reset();
    this.#pager.reset();
    this.glyphs.clear();
    this.#suggestions = [];
    this.#signal('close');
  }

  async #follow(turn: Turn, generation: number, mirrored: MirrorLine | undefined): Promise<void> {
    // A reply cut while it typed keeps its cut line on screen and in the mirror; the game still hears
    // how the turn ended.
    const live = () => generation === this.#generation;
    const current = () => live() && this.#cutGeneration !== generation;
    const mirror = () => (this.#cutGeneration === generation ? undefined : mirrored);
    let offered: readonly string[] = [];
    for await (const event of turn) {
      switch (event.type) {
        case 'turn.start':
          break;
        case 'text.delta': {
          if (this.#last?.turn === turn) this.#last.stored = event.text;
          const { body } = splitSuggestions(stripCitations(event.text));
          mirror()?.update(body);
          if (!current()) break;
          const before = this.#typewriter.target.length;
          this.#typewriter.set(body);
          this.glyphs.arrived(before, body.length - before, this.#now(), this.#typewriter.shown >= before);
          this.#pager.update(body);
          this.#signal('text');
          break;
        }
        case 'tool.call':
          if (!live()) break;
          for (const call of event.calls) {
            if (call.name === SUGGEST_REPLIES_TOOL) offered = parseSuggestReplies(call.arguments);
          }
          this.#handlers.toolCall?.(event.calls);
          break;
        case 'tool.result':
          if (live()) this.#handlers.toolResult?.(event);
          break;
        case 'turn.end': {
          if (this.#last?.turn === turn) this.#last.stored = event.text;
          const { body, suggestions } = splitSuggestions(stripCitations(event.text));
          mirror()?.finish('done', body);
          const source = sourceLine(event.citations);
          if (source && mirror()) this.#mirror?.add(this.name, source, 'done', 'source');
          if (!live()) break;
          if (!current()) {
            this.#handlers.reply?.(event);
            break;
          }
          this.#turn = undefined;
          this.#typewriter.set(body);
          this.#typewriter.end();
          this.#pager.update(body);
          this.#suggestions = suggestions.length > 0 ? suggestions : offered;
          this.#source = source;
          if (this.#suggestions.length > 0) this.#handlers.suggestions?.(this.#suggestions);
          this.#handlers.reply?.(event);
          // A turn that ends without words (e.g. only tool calls) has nothing to type.
          if (this.#state === NpcState.Thinking) {
            this.#signal(body ? 'text' : 'failed');
            if (!body) this.#showMessage(`(${this.name} says nothing.)`, 'dim');
          }
          break;
        }
        case 'error': {
          const interrupted = event.error.code === 'interrupted';
          const message = inWorldErrorText(this.name, event.error);
          mirror()?.finish(interrupted ? 'interrupted' : 'error', interrupted ? undefined : message);
          if (!live()) break;
          if (!current()) {
            this.#handlers.error?.(event.error, message);
            break;
          }
          this.#turn = undefined;
          this.#handlers.error?.(event.error, message);
          this.glyphs.clear();
          const said = this.#typewriter.visible.trimEnd();
          this.#signal('failed');
          if (interrupted && said) {
            // The NPC stops where the player cut in.
            this.#typewriter.set(`${said}—`);
            this.#typewriter.end();
            this.#typewriter.skip();
            this.#pager.update(this.#typewriter.target);
            this.#tone = 'normal';
            this.#render();
          } else {
            this.#typewriter.reset();
            this.#pager.reset();
            this.#showMessage(message, interrupted ? 'dim' : 'error');
          }
          break;
        }
        default: {
          const unknown: never = event;
          void unknown;
        }
      }
    }
  }

  #turnPage(): void {
    if (this.#pager.next()) this.#fullSince = undefined;
  }

  #signal(signal: NpcSignal): void {
    const previous = this.#state;
    this.#state = nextNpcState(previous, signal);
    if (this.#state !== previous) this.#handlers.state?.(this.#state, previous);
  }

  // A message that is not the reply (listening, thinking, an error): shown whole, on one page.
  #showMessage(text: string, tone: SessionView['tone']): void {
    this.#tone = tone;
    this.#show({ text, tone, more: false, page: 0, pages: 1, suggestions: this.#offered() });
  }

  #render(): void {
    const shown = this.#typewriter.shown;
    this.#tone = 'normal';
    this.#show({
      text: this.#pager.text(shown),
      tone: 'normal',
      more: this.#pager.full(shown),
      page: this.#pager.index,
      pages: this.#pager.pages.length,
      suggestions: this.#offered(),
      // Under the reply once it is typed out, like the chips.
      source: this.#state === NpcState.Listening ? this.#source : '',
    });
  }

  #offered(): readonly string[] {
    return this.#state === NpcState.Listening ? this.#suggestions : [];
  }

  #show(view: SessionView): void {
    const old = this.#view;
    if (
      view.text === old.text &&
      view.tone === old.tone &&
      view.more === old.more &&
      view.page === old.page &&
      view.pages === old.pages &&
      view.suggestions === old.suggestions &&
      view.source === old.source
    )
      return;
    this.#view = view;
    this.#handlers.view?.(view);
  }
}
