// `@parley/dialogue/voice`: speech and transcription through the proxy's OpenAI audio routes. A subpath of
// its own, so a game without voice bundles none of it: the core only ever streams text.
import type { ErrorBody } from '@parley/protocol';
import { fromErrorObject, interrupted, isDialogueError, toDialogueError } from './errors.js';
import type { HttpOptions } from './http.js';
import type { Turn } from './turn.js';

/** The audio containers `POST /v1/audio/speech` answers with. */
export type SpeechFormat = 'mp3' | 'opus' | 'aac' | 'flac' | 'wav' | 'pcm';

/** Options of {@link createVoice}: where the proxy is (as for `createParley`) and what to ask it for. */
export interface VoiceOptions extends HttpOptions {
  /** Speech model. Default `'gpt-4o-mini-tts'` (the offline proxy speaks with eSpeak NG whatever it is). */
  speechModel?: string;
  /** Transcription model. Default `'gpt-4o-mini-transcribe'`. */
  transcriptionModel?: string;
  /**
   * Container of the audio. Default `'wav'`: every browser decodes it, and the offline proxy makes it
   * without an encoder (`mp3`, `opus`… need `ffmpeg` beside it).
   */
  format?: SpeechFormat;
}

/** Options of {@link Voice.speak}. */
export interface SpeakOptions {
  /** An OpenAI voice name (`alloy`, `ash`, `onyx`…). Default `'alloy'`. */
  voice?: string | undefined;
  /** 0.25 to 4. */
  speed?: number | undefined;
  /** How to speak (tone, accent); ignored offline. */
  instructions?: string | undefined;
  format?: SpeechFormat | undefined;
  signal?: AbortSignal | undefined;
}

/** Options of {@link Voice.speakTurn}. */
export interface SpeakTurnOptions extends Omit<SpeakOptions, 'signal'> {
  /** Stops every request of the turn's speech (the turn's own interrupt does too). */
  signal?: AbortSignal | undefined;
  /**
   * What of a sentence is spoken: return it changed, or `''` to say nothing (e.g. the `> reply` lines a
   * dialogue box shows as chips). Default: the sentence.
   */
  prepare?: ((sentence: string) => string) | undefined;
}

/** One sentence of a turn's reply, its speech already requested. */
export interface SpokenClip {
  /** 0-based position in the reply. */
  index: number;
  /** What is said. */
  text: string;
  /**
   * Where the sentence is in the reply's text (UTF-16 offsets, `end` exclusive), so a game can pace its
   * subtitles to the audio.
   */
  start: number;
  end: number;
  /** When the request went out (`performance.now()`): as soon as the sentence was complete. */
  requestedAt: number;
  /**
   * When the first audio byte arrived (`performance.now()`): `firstAudioAt - requestedAt` is the clip's
   * time to first audio. Rejects as `audio` does.
   */
  firstAudioAt: Promise<number>;
  /** The audio; rejects with a DialogueError (`interrupted` once the turn or `signal` stopped). */
  audio: Promise<ArrayBuffer>;
}

/** Options of {@link Voice.listen}. */
export interface ListenOptions {
  /** ISO-639-1 language of the speech (`'en'`), which helps the model. */
  language?: string | undefined;
  /** A hint: names and words the player is likely to say. */
  prompt?: string | undefined;
  /** The file name sent with the clip; its extension tells the server the container. Default from the type. */
  filename?: string | undefined;
  signal?: AbortSignal | undefined;
}

/** Speech and transcription through a Parley proxy. Made by {@link createVoice}. */
export interface Voice {
  /**
   * Speaks `text`: the whole clip, as bytes (decode with `AudioContext.decodeAudioData`). Rejects with a
   * DialogueError: `invalid_request` for empty text, `upstream` (503) when the offline proxy has no eSpeak.
   *
   * @example
   * ```ts
   * const audio = await voice.speak('Halt! Who goes there?', { voice: 'onyx' });
   * const buffer = await audioContext.decodeAudioData(audio);
   * ```
   */
  speak(text: string, options?: SpeakOptions): Promise<ArrayBuffer>;
  /**
   * Speaks a turn's reply sentence by sentence as it streams: each sentence's request goes out as soon as
   * the sentence is complete, while the rest still streams. Yields the clips in order; ends with the turn.
   * An interrupted turn (or `signal`) aborts every request still open and ends the iteration.
   *
   * @example
   * ```ts
   * for await (const clip of voice.speakTurn(turn, { voice: 'fable' })) play(await clip.audio);
   * ```
   */
  speakTurn(turn: Turn, options?: SpeakTurnOptions): AsyncIterable<SpokenClip>;
  /**
   * Sends a recorded clip (a `MediaRecorder` blob) for transcription and returns the text. Offline the
   * proxy has no transcription model and this rejects with `invalid_request` (status 400): fall back on
   * the browser's `SpeechRecognition` then (see {@link isNoTranscription}).
   *
   * @example
   * ```ts
   * const text = await voice.listen(recording, { language: 'en' }).catch(() => recognizeInBrowser());
   * ```
   */
  listen(clip: Blob, options?: ListenOptions): Promise<string>;
  /**
   * Whether the proxy can transcribe, asked with an empty form (no audio, nothing billed): false offline
   * or where the proxy has no audio route, so a game knows before the player speaks whether to record
   * for {@link Voice.listen} or to use the browser's `SpeechRecognition`.
   *
   * @example
   * ```ts
   * const useProxy = await voice.transcribes();
   * ```
   */
  transcribes(options?: { signal?: AbortSignal | undefined }): Promise<boolean>;
}

/**
 * Connects speech and transcription to a Parley proxy. Does no I/O until used.
 *
 * @example
 * ```ts
 * const voice = createVoice({ url: 'http://127.0.0.1:8787' });
 * ```
 */
export function createVoice(options: VoiceOptions): Voice {
  const base = `${options.url.replace(/\/+$/, '')}/v1/audio`;
  const format = options.format ?? 'wav';

  const post = async (path: string, body: string | FormData, signal?: AbortSignal) => {
    const headers: Record<string, string> =
      typeof body === 'string' ? { 'Content-Type': 'application/json' } : {};
    let response: Response;
    try {
      const token = await options.auth?.();
      if (token) headers['Authorization'] = `Bearer ${token}`;
      // Resolved per call and called unbound (window.fetch throws "Illegal invocation" as a method).
      response = await (options.fetch ?? globalThis.fetch)(base + path, {
        method: 'POST',
        headers,
        body,
        signal,
      });
    } catch (error) {
      throw toDialogueError(error, signal);
    }
    if (!response.ok) {
      const parsed = (await response.json().catch(() => undefined)) as Partial<ErrorBody> | undefined;
      throw fromErrorObject(parsed?.error, response.status);
    }
    return response;
  };

  // The response arrives with the first audio: the proxy holds its status line until the first chunk.
  const request = (text: string, { voice, speed, instructions, signal, ...rest }: SpeakOptions = {}) =>
    post(
      '/speech',
      JSON.stringify({
        model: options.speechModel ?? 'gpt-4o-mini-tts',
        input: text,
        voice: voice ?? 'alloy',
        response_format: rest.format ?? format,
        speed,
        instructions,
      }),
      signal,
    );
  const read = (response: Response, signal: AbortSignal | undefined) =>
    response.arrayBuffer().catch((error: unknown) => {
      throw toDialogueError(error, signal);
    });
  const speak = async (text: string, speakOptions: SpeakOptions = {}) =>
    read(await request(text, speakOptions), speakOptions.signal);

  return {
    speak,
    speakTurn: (turn, { signal, prepare = (sentence: string) => sentence, ...speakOptions } = {}) => ({
      async *[Symbol.asyncIterator]() {
        const controller = new AbortController();
        const stop = () => controller.abort(interrupted());
        signal?.addEventListener('abort', stop);
        if (signal?.aborted) stop();
        const splitter = sentenceSplitter();
        let index = 0;
        let cursor = 0;
        const clips = function* (reply: string, sentences: string[]) {
          for (const sentence of sentences) {
            // The splitter hands out trimmed slices of the reply, in order.
            const found = reply.indexOf(sentence, cursor);
            const start = found < 0 ? cursor : found;
            const end = found < 0 ? cursor : found + sentence.length;
            cursor = end;
            const text = prepare(sentence).trim();
            // Punctuation alone ("…") has nothing to say.
            if (!/[\p{L}\p{N}]/u.test(text)) continue;
            const requestedAt = performance.now();
            const response = request(text, { ...speakOptions, signal: controller.signal });
            const firstAudioAt = response.then(() => performance.now());
            const audio = response.then((answer) => read(answer, controller.signal));
            // The consumer may stop before awaiting every clip: its rejection is no unhandled one.
            audio.catch(() => {});
            firstAudioAt.catch(() => {});
            yield { index: index++, text, start, end, requestedAt, firstAudioAt, audio };
          }
        };
        let finished = false;
        try {
          for await (const event of turn) {
            if (controller.signal.aborted) return;
            if (event.type === 'text.delta') yield* clips(event.text, splitter.push(event.text));
            else if (event.type === 'turn.end') yield* clips(event.text, splitter.end(event.text));
            else if (event.type === 'error') {
              // The turn was cut: what it said is on screen, but its voice stops with it.
              stop();
              return;
            }
          }
          finished = true;
        } finally {
          signal?.removeEventListener('abort', stop);
          // A consumer that leaves early (the dialogue closed) wants none of the requests still open; after
          // a whole turn, the clips still loading are the consumer's to play.
          if (!finished) stop();
        }
      },
    }),
    listen: async (clip, { language, prompt, filename, signal } = {}) => {
      const form = new FormData();
      form.append('model', options.transcriptionModel ?? 'gpt-4o-mini-transcribe');
      if (language) form.append('language', language);
      if (prompt) form.append('prompt', prompt);
      form.append('file', clip, filename ?? `speech.${extensionOf(clip.type)}`);
      const response = await post('/transcriptions', form, signal);
      const body = (await response.json().catch((error: unknown) => {
        throw toDialogueError(error, signal);
      })) as { text?: unknown };
      if (typeof body.text !== 'string') throw fromErrorObject({ message: 'No text in the transcription' });
      return body.text;
    },
    transcribes: async ({ signal } = {}) => {
      const form = new FormData();
      form.append('model', options.transcriptionModel ?? 'gpt-4o-mini-transcribe');
      try {
        // A proxy that can transcribe refuses the form for its missing file; one that cannot says so first.
        await (await post('/transcriptions', form, signal)).body?.cancel();
        return true;
      } catch (error) {
        if (isNoTranscription(error)) return false;
        if (isDialogueError(error) && error.status === 400) return true;
        throw error;
      }
    },
  };
}

/**
 * Whether `error` says the proxy cannot transcribe (no transcription model: offline, or none configured),
 * so the game should use the browser's `SpeechRecognition` instead.
 *
 * @example
 * ```ts
 * voice.listen(clip).catch((error) => (isNoTranscription(error) ? recognizeInBrowser() : Promise.reject(error)));
 * ```
 */
export function isNoTranscription(error: unknown): boolean {
  const { status, message, cause } = (error ?? {}) as { status?: number; message?: string; cause?: unknown };
  // 404: a proxy (or server) without the route at all.
  if (status === 404) return true;
  // The proxy's answer: `invalid_value` on `model`, saying there is no transcription model. (The code
  // alone would also match a malformed model name.)
  const { code, param } = (cause ?? {}) as { code?: unknown; param?: unknown };
  return (
    status === 400 &&
    code === 'invalid_value' &&
    param === 'model' &&
    /no transcription model/i.test(message ?? '')
  );
}

/** `audio/webm;codecs=opus` → `webm`: the server reads the container from the file name. */
function extensionOf(type: string): string {
  const sub = /^audio\/([\w.+-]+)/.exec(type)?.[1] ?? 'webm';
  return (
    ({ mpeg: 'mp3', 'x-wav': 'wav', wave: 'wav', ogg: 'ogg', mp4: 'm4a' } as Record<string, string>)[sub] ??
    sub
  );
}

/**
 * Cuts a growing reply into sentences: `push` takes the whole text so far and returns the sentences it
 * completed; `end` takes the final text and returns the rest. A sentence ends at `.`, `!`, `?` or `…`
 * (with closing quotes or brackets) followed by a space, or at a line break; a lone initial or a short
 * abbreviation ("Mr.", "St.") does not end one.
 *
 * @example
 * ```ts
 * const split = sentenceSplitter();
 * split.push('Halt! Who goes'); // ['Halt!']
 * split.end('Halt! Who goes there?'); // ['Who goes there?']
 * ```
 */
export function sentenceSplitter(): { push(text: string): string[]; end(text: string): string[] } {
  let done = 0;
  const take = (text: string, final: boolean) => {
    const out: string[] = [];
    const boundary = /[.!?…]+["'”’)\]]*(?=\s)|\n/g;
    boundary.lastIndex = done;
    for (let match = boundary.exec(text); match; match = boundary.exec(text)) {
      const end = match.index + match[0].length;
      const sentence = text.slice(done, end).trim();
      // "Mr." or "J." is no sentence's end.
      if (match[0] === '.' && /(?:^|\s)(?:[A-Z]|Mr|Mrs|Ms|Dr|St|Mt|vs|etc|e\.g|i\.e)\.$/.test(sentence))
        continue;
      if (sentence) out.push(sentence);
      done = end;
    }
    if (final) {
      const rest = text.slice(done).trim();
      done = text.length;
      if (rest) out.push(rest);
    }
    return out;
  };
  return { push: (text) => take(text, false), end: (text) => take(text, true) };
}
