import { isNoTranscription, type Voice } from '@parley/dialogue/voice';
import type { DialogueBox } from './dialogue-box.js';

/** Options of push-to-talk (`connect({ voice: { pushToTalk } })`). */
export interface PushToTalkOptions {
  /**
   * The key held to talk, as a `KeyboardEvent.code` (`'KeyV'`, `'KeyT'`), or `false` for none. Default
   * `'KeyV'`. It is never taken from a text field that has focus: there it types as usual.
   */
  key?: string | false;
  /** Whether to show the hold-to-talk 🎤 button beside the dialogue. Default: on touch screens. */
  button?: boolean;
  /** The player's language, ISO-639-1 (`'en'`); helps both recognisers. Default the page's `lang`. */
  language?: string;
  /** Names and words the player is likely to say (the NPCs' names, places), as a hint to the model. */
  prompt?: string;
  /** Told of every change of state, and of what went wrong (also shown in the dialogue's input). */
  onChange?: (state: PushToTalkState, problem?: string) => void;
}

/** Where push-to-talk is: idle, recording while held, or turning the recording into text. */
export type PushToTalkState = 'idle' | 'recording' | 'transcribing';

/** What push-to-talk needs of the plugin. */
export interface PushToTalkHost {
  /** Opens the dialogue with the NPC in reach if none is open; false when there is no one to talk to. */
  begin(): boolean;
  /** The dialogue's text input while the dialogue is open. */
  input(): HTMLInputElement | undefined;
  /** Where the button goes (viewport pixels of the dialogue's top-right corner), while the dialogue is open. */
  anchor(): { right: number; top: number } | undefined;
  /** Told of every change of state (recording, transcribing, idle) and of what went wrong. */
  changed?(state: PushToTalkState, problem?: string): void;
}

/** The parts of the Web Speech API used here (Chromium still names it `webkitSpeechRecognition`). */
interface Recognition {
  lang: string;
  continuous: boolean;
  interimResults: boolean;
  onresult:
    | ((event: { results: ArrayLike<ArrayLike<{ transcript: string }> & { isFinal: boolean }> }) => void)
    | null;
  onerror: ((event: { error: string }) => void) | null;
  onend: (() => void) | null;
  start(): void;
  stop(): void;
  abort(): void;
}
type RecognitionConstructor = new () => Recognition;

// Shorter holds are taps, not speech (a model hears noise in them, and the player likely mis-pressed).
const MIN_HOLD_MS = 250;
const BUTTON_SIZE = 44;

/**
 * Push-to-talk: while the player holds the key (default `V`) or the 🎤 button, the microphone is recorded
 * with `MediaRecorder`; on release the clip is transcribed through the proxy (`voice.listen`) and the text
 * put in the dialogue's input, for the player to send or edit. Where the proxy has no transcription model
 * (offline), the browser's own `SpeechRecognition` listens instead, while the key is held. Made by the
 * plugin when `connect({ voice })` is on; reach it as `this.parley.pushToTalk`.
 */
export class PushToTalk {
  /** The 🎤 button (hold to talk), shown beside the dialogue on touch screens. */
  readonly button: HTMLButtonElement;
  readonly #doc: Document;
  readonly #voice: Voice;
  readonly #host: PushToTalkHost;
  readonly #key: string | false;
  readonly #showButton: boolean;
  readonly #language: string | undefined;
  readonly #prompt: string | undefined;
  #state: PushToTalkState = 'idle';
  // Whether the proxy transcribes, asked once (see Voice.transcribes).
  #proxyListens: Promise<boolean> | undefined;
  #hold: { by: 'key' | 'button'; since: number; stop(cancel: boolean): void } | undefined;
  #generation = 0;

  readonly #onKeyDown = (event: KeyboardEvent): void => {
    if (event.code !== this.#key) return;
    if (this.#hold?.by === 'key') {
      // Our own hold: the key's auto-repeat must not type into the input the dialogue just focused.
      event.preventDefault();
      event.stopPropagation();
      return;
    }
    if (event.repeat || event.ctrlKey || event.metaKey || event.altKey || editable(event.target)) return;
    if (this.#hold || !this.#host.begin()) return;
    event.preventDefault();
    event.stopPropagation();
    this.#press('key');
  };

  readonly #onKeyUp = (event: KeyboardEvent): void => {
    if (event.code === this.#key && this.#hold?.by === 'key') this.#release();
  };

  // A key released while the window had no focus never arrives: the hold ends with the focus.
  readonly #onBlur = (): void => {
    if (this.#hold) this.#release();
  };

  readonly #onButtonDown = (event: PointerEvent): void => {
    event.preventDefault();
    if (this.#hold || !this.#host.begin()) return;
    this.button.setPointerCapture?.(event.pointerId);
    this.#press('button');
  };

  readonly #onButtonUp = (): void => {
    if (this.#hold?.by === 'button') this.#release();
  };

  /** @internal Made by the plugin. */
  constructor(doc: Document, voice: Voice, host: PushToTalkHost, options: PushToTalkOptions = {}) {
    this.#doc = doc;
    this.#voice = voice;
    this.#host = host;
    this.#key = options.key ?? 'KeyV';
    this.#showButton = options.button ?? doc.defaultView?.matchMedia?.('(pointer: coarse)').matches === true;
    this.#language = options.language ?? (doc.documentElement.lang.slice(0, 2) || undefined);
    this.#prompt = options.prompt;
    this.button = doc.createElement('button');
    this.button.type = 'button';
    this.button.textContent = '🎤';
    this.button.dataset['parley'] = 'push-to-talk';
    this.button.setAttribute('aria-label', 'Hold to speak');
    this.button.setAttribute('aria-pressed', 'false');
    this.button.style.cssText =
      `position:fixed;display:none;z-index:11;width:${BUTTON_SIZE}px;height:${BUTTON_SIZE}px;margin:0;` +
      'padding:0;border-radius:50%;border:2px solid #c9b27c;background:#1b1b2b;color:#fff;font-size:20px;' +
      'cursor:pointer;touch-action:none;user-select:none;-webkit-user-select:none;';
    this.button.addEventListener('pointerdown', this.#onButtonDown);
    this.button.addEventListener('pointerup', this.#onButtonUp);
    this.button.addEventListener('pointercancel', this.#onButtonUp);
    this.button.addEventListener('contextmenu', preventDefault);
    doc.body.append(this.button);
    const view = doc.defaultView;
    // Capture: the dialogue's input stops the keys it sees from reaching the game.
    view?.addEventListener('keydown', this.#onKeyDown, true);
    view?.addEventListener('keyup', this.#onKeyUp, true);
    view?.addEventListener('blur', this.#onBlur);
  }

  /** Where push-to-talk is: `'recording'` while held, `'transcribing'` after, else `'idle'`. */
  get state(): PushToTalkState {
    return this.#state;
  }

  /** The key's label for hints (`'V'`), or undefined when no key is set. */
  get keyLabel(): string | undefined {
    if (this.#key === false) return undefined;
    return this.#key.replace(/^Key|^Digit/, '');
  }

  /** Call every frame: keeps the button beside the dialogue while it is open. */
  update(): void {
    const anchor = this.#showButton ? this.#host.anchor() : undefined;
    const style = this.button.style;
    if (!anchor) {
      if (style.display !== 'none') style.display = 'none';
      return;
    }
    style.display = 'block';
    style.left = `${Math.round(anchor.right - BUTTON_SIZE - 8)}px`;
    style.top = `${Math.round(anchor.top - BUTTON_SIZE - 8)}px`;
  }

  /** Drops a recording in progress (the dialogue closed): nothing is transcribed. */
  cancel(): void {
    this.#generation++;
    const hold = this.#hold;
    this.#hold = undefined;
    hold?.stop(true);
    this.#set('idle');
  }

  /** Stops listening and removes the button and every listener. */
  destroy(): void {
    this.cancel();
    const view = this.#doc.defaultView;
    view?.removeEventListener('keydown', this.#onKeyDown, true);
    view?.removeEventListener('keyup', this.#onKeyUp, true);
    view?.removeEventListener('blur', this.#onBlur);
    this.button.removeEventListener('pointerdown', this.#onButtonDown);
    this.button.removeEventListener('pointerup', this.#onButtonUp);
    this.button.removeEventListener('pointercancel', this.#onButtonUp);
    this.button.removeEventListener('contextmenu', preventDefault);
    this.button.remove();
  }

  #press(by: 'key' | 'button'): void {
    const generation = ++this.#generation;
    const since = performance.now();
    // The hold is known at once (so the key's repeats are ours); how to listen is decided as soon as the
    // proxy has said whether it transcribes (asked once, a few milliseconds).
    let stopper: ((cancel: boolean) => void) | undefined;
    let stoppedEarly: boolean | undefined;
    this.#hold = {
      by,
      since,
      stop: (cancel) => {
        if (stopper) stopper(cancel);
        else stoppedEarly = cancel;
      },
    };
    this.#set('recording');
    this.#proxyListens ??= this.#voice.transcribes().catch(() => true);
    void this.#proxyListens.then(async (proxy) => {
      if (generation !== this.#generation) return;
      const listening = proxy ? await this.#record() : this.#recognize();
      if (typeof listening === 'string') {
        // Nothing to stop: the release that follows changes nothing.
        this.#finish(generation, undefined, listening);
        return;
      }
      stopper = (cancel) => void this.#deliver(generation, listening(cancel));
      if (stoppedEarly !== undefined) stopper(stoppedEarly);
    });
  }

  #release(): void {
    const hold = this.#hold;
    if (!hold) return;
    this.#hold = undefined;
    const short = performance.now() - hold.since < MIN_HOLD_MS;
    hold.stop(short);
    if (short) this.#finish(this.#generation, undefined, `Hold ${this.#holdName(hold.by)} while you speak.`);
    else if (this.#state === 'recording') this.#set('transcribing');
  }

  async #deliver(generation: number, text: Promise<string | undefined>): Promise<void> {
    try {
      const said = await text;
      if (said !== undefined) this.#finish(generation, said.trim());
    } catch (error) {
      if (isNoTranscription(error)) this.#proxyListens = Promise.resolve(false);
      this.#finish(generation, undefined, problemText(error));
    }
  }

  #finish(generation: number, text: string | undefined, problem?: string): void {
    if (generation !== this.#generation) return;
    const input = this.#host.input();
    if (input && text) {
      input.value = text.slice(0, input.maxLength > 0 ? input.maxLength : undefined);
      // The box's counter and anything else listening see the new line as if typed.
      input.dispatchEvent(new Event('input', { bubbles: true }));
      input.focus({ preventScroll: true });
      input.setSelectionRange(input.value.length, input.value.length);
    }
    this.#set('idle', problem ?? (text === '' ? 'Nothing was heard.' : undefined));
  }

  /**
   * Records with MediaRecorder; the returned function stops and resolves the transcript (undefined when
   * cancelled). A string is a problem that stopped it before it began.
   */
  async #record(): Promise<((cancel: boolean) => Promise<string | undefined>) | string> {
    const media = this.#doc.defaultView?.navigator.mediaDevices;
    if (!media || typeof MediaRecorder === 'undefined') return 'This browser cannot record the microphone.';
    let stream: MediaStream;
    try {
      stream = await media.getUserMedia({ audio: true });
    } catch {
      return 'The microphone is not available (blocked, or none).';
    }
    const recorder = new MediaRecorder(stream);
    const chunks: Blob[] = [];
    recorder.addEventListener('dataavailable', (event) => {
      if (event.data.size > 0) chunks.push(event.data);
    });
    const stopped = new Promise<void>((resolve) => recorder.addEventListener('stop', () => resolve()));
    recorder.start();
    return async (cancel) => {
      if (recorder.state !== 'inactive') recorder.stop();
      await stopped;
      // The browser's "recording" indicator goes off with the tracks.
      for (const track of stream.getTracks()) track.stop();
      if (cancel || chunks.length === 0) return undefined;
      const clip = new Blob(chunks, { type: recorder.mimeType || chunks[0]?.type || 'audio/webm' });
      return this.#voice.listen(clip, { language: this.#language, prompt: this.#prompt });
    };
  }

  /** Listens with the browser's own recogniser while held; as {@link PushToTalk.#record}. */
  #recognize(): ((cancel: boolean) => Promise<string | undefined>) | string {
    const view = this.#doc.defaultView as
      | (Window & {
          SpeechRecognition?: RecognitionConstructor;
          webkitSpeechRecognition?: RecognitionConstructor;
        })
      | null;
    const Constructor = view?.SpeechRecognition ?? view?.webkitSpeechRecognition;
    if (!Constructor)
      return 'No transcription here: the proxy has no model and this browser no speech recognition.';
    const recognition = new Constructor();
    recognition.lang = this.#doc.documentElement.lang || this.#language || 'en';
    recognition.continuous = true;
    recognition.interimResults = true;
    let heard = '';
    let failure: string | undefined;
    recognition.onresult = (event) => {
      heard = Array.from(event.results, (result) => result[0]?.transcript ?? '').join(' ');
    };
    recognition.onerror = (event) => {
      if (event.error !== 'no-speech' && event.error !== 'aborted') failure = event.error;
    };
    const ended = new Promise<void>((resolve) => {
      recognition.onend = () => resolve();
    });
    try {
      recognition.start();
    } catch {
      return 'Speech recognition could not start.';
    }
    return async (cancel) => {
      if (cancel) recognition.abort();
      else recognition.stop();
      await ended;
      if (cancel) return undefined;
      if (failure && !heard) throw new Error(`Speech recognition failed (${failure}).`);
      return heard;
    };
  }

  #set(state: PushToTalkState, problem?: string): void {
    this.#state = state;
    this.button.setAttribute('aria-pressed', String(state === 'recording'));
    this.button.style.background = state === 'recording' ? '#a33' : '#1b1b2b';
    this.#host.changed?.(state, problem);
  }

  #holdName(by: 'key' | 'button'): string {
    return by === 'key' ? (this.keyLabel ?? 'the key') : 'the button';
  }
}

// Text fields keep their keys: a player typing "very" must not start a recording.
function editable(target: EventTarget | null): boolean {
  const element = target as HTMLElement | null;
  if (!element || typeof element.tagName !== 'string') return false;
  const tag = element.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || element.isContentEditable === true;
}

function problemText(error: unknown): string {
  if (isNoTranscription(error))
    return 'The proxy has no transcription model; hold the key again to use the browser’s.';
  return `Could not transcribe: ${error instanceof Error ? error.message : String(error)}`;
}

const preventDefault = (event: Event): void => event.preventDefault();

/**
 * @internal Push-to-talk for the plugin's dialogue box: `begin` opens the dialogue with the NPC in reach,
 * the transcript goes into the box's input, and the input's placeholder says what is happening.
 */
export function dialoguePushToTalk(
  doc: Document,
  voice: Voice,
  box: () => DialogueBox | undefined,
  begin: () => boolean,
  options: PushToTalkOptions,
): PushToTalk {
  const open = () => {
    const current = box();
    return current?.isOpen ? current : undefined;
  };
  let saved: { input: HTMLInputElement; placeholder: string } | undefined;
  let clear: ReturnType<typeof setTimeout> | undefined;
  const restore = () => {
    if (saved) saved.input.placeholder = saved.placeholder;
    saved = undefined;
  };
  const push: PushToTalk = new PushToTalk(
    doc,
    voice,
    {
      begin,
      input: () => open()?.input,
      anchor: () => {
        const leave = open()?.leaveButton;
        // The leave button sits in the panel's top-right corner (placed even where it is hidden).
        if (!leave?.style.left) return undefined;
        // (40 px wide, 8 px from the panel's edges; see dialogue-box.ts.)
        return {
          right: Number.parseFloat(leave.style.left) + 40 + 8,
          top: Number.parseFloat(leave.style.top) - 8,
        };
      },
      changed: (state, problem) => {
        options.onChange?.(state, problem);
        const input = open()?.input;
        clearTimeout(clear);
        if (!input) return restore();
        if (!saved || saved.input !== input) {
          restore();
          saved = { input, placeholder: input.placeholder };
        }
        if (state === 'recording') input.placeholder = 'Listening… let go when you are done.';
        else if (state === 'transcribing') input.placeholder = 'Writing down what you said…';
        else if (problem) {
          input.placeholder = problem;
          clear = setTimeout(restore, 4000);
        } else restore();
      },
    },
    options,
  );
  return push;
}
