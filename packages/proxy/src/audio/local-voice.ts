/**
 * The offline voice: eSpeak NG (Debian's `espeak-ng`, GPL) run as a separate program, never linked or
 * bundled, so the proxy stays MIT. Its 22.05 kHz output is resampled here to OpenAI's 24 kHz 16-bit mono;
 * `mp3`, `opus`, `aac` and `flac` are encoded by `ffmpeg`, also a separate program.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { ErrorCode } from '@parley/protocol';
import { ProxyError } from '../errors.js';
import type { SpeechFormat } from '../schemas/audio.js';
import { findProgram } from './programs.js';
import { Slots } from './slots.js';
import { parseWavHeader, Resampler, SPEECH_SAMPLE_RATE, wavHeader } from './wav.js';

/** How an OpenAI voice sounds offline: an eSpeak voice with a variant, its pitch (0–99) and words a minute. */
export interface EspeakVoice {
  voice: string;
  pitch: number;
  wordsPerMinute: number;
}

/**
 * OpenAI's voices as eSpeak NG voices: different accents, variants (`+f3` is a female variant, `+m6` a
 * male one), pitches and paces, so that every villager is told apart by ear. A voice the policy adds
 * beyond these speaks as one of them, chosen by its name (the same name always sounds the same).
 */
export const ESPEAK_VOICES: Readonly<Record<string, EspeakVoice>> = {
  alloy: { voice: 'en-us+f3', pitch: 50, wordsPerMinute: 170 },
  ash: { voice: 'en-us+m3', pitch: 40, wordsPerMinute: 165 },
  ballad: { voice: 'en-gb-x-rp+m7', pitch: 45, wordsPerMinute: 150 },
  coral: { voice: 'en-us+f2', pitch: 62, wordsPerMinute: 175 },
  echo: { voice: 'en-us+m1', pitch: 35, wordsPerMinute: 168 },
  fable: { voice: 'en-gb+m4', pitch: 55, wordsPerMinute: 160 },
  onyx: { voice: 'en-us+m6', pitch: 22, wordsPerMinute: 150 },
  nova: { voice: 'en-us+f4', pitch: 70, wordsPerMinute: 180 },
  sage: { voice: 'en-gb-scotland+f1', pitch: 55, wordsPerMinute: 158 },
  shimmer: { voice: 'en-us+f5', pitch: 75, wordsPerMinute: 172 },
  verse: { voice: 'en-029+m2', pitch: 48, wordsPerMinute: 185 },
};

/** The eSpeak voice that speaks for `name`. */
export function espeakVoice(name: string): EspeakVoice {
  const own = Object.hasOwn(ESPEAK_VOICES, name) ? ESPEAK_VOICES[name] : undefined;
  if (own) return own;
  const voices = Object.values(ESPEAK_VOICES);
  let hash = 0;
  for (const char of name) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
  return voices[hash % voices.length]!;
}

/** Content types of each format, as OpenAI answers them. */
export const SPEECH_CONTENT_TYPES: Readonly<Record<SpeechFormat, string>> = {
  mp3: 'audio/mpeg',
  opus: 'audio/opus',
  aac: 'audio/aac',
  flac: 'audio/flac',
  wav: 'audio/wav',
  pcm: 'audio/pcm',
};

/** ffmpeg's output options per encoded format: streamable containers only (no seeking back on a pipe). */
const ENCODERS: Readonly<Partial<Record<SpeechFormat, readonly string[]>>> = {
  mp3: ['-c:a', 'libmp3lame', '-b:a', '64k', '-f', 'mp3'],
  // Ogg Opus, as OpenAI's `opus` is.
  opus: ['-c:a', 'libopus', '-b:a', '32k', '-f', 'ogg'],
  aac: ['-c:a', 'aac', '-b:a', '64k', '-f', 'adts'],
  flac: ['-c:a', 'flac', '-f', 'flac'],
};

/** One clip to say. */
export interface LocalSpeech {
  input: string;
  voice: string;
  /** OpenAI's speed, 0.25–4 (1 is the voice's own pace). */
  speed: number;
  format: SpeechFormat;
}

/** Audio on its way: what to label it, and its bytes as they are made. */
export interface AudioStream {
  contentType: string;
  chunks: AsyncIterable<Uint8Array>;
}

export interface LocalVoiceOptions {
  /** eSpeak processes at once (each with its encoder); more wait in line. Default: the machine's cores. */
  maxProcesses?: number;
  /** Requests that may wait for a process before more are told to come back (429). Default 32. */
  maxQueued?: number;
  /** A clip taking longer than this is given up (its processes killed). Default 60 s. */
  timeoutMs?: number;
  /** Where to look for the programs (default: `PATH`). */
  path?: string;
}

const INSTALL_ESPEAK =
  'The offline voice needs eSpeak NG, which is not installed on this server. Install it as a separate ' +
  'program (Debian/Ubuntu: apt-get install espeak-ng; macOS: brew install espeak-ng; Fedora: dnf install ' +
  'espeak-ng), or set OPENAI_API_KEY to speak through OpenAI.';

/**
 * The offline voice, with a cap on the eSpeak and ffmpeg processes running at once.
 *
 * @example
 * ```ts
 * const voice = new LocalVoice();
 * const { contentType, chunks } = await voice.speak({ input: 'Welcome!', voice: 'onyx', speed: 1, format: 'mp3' });
 * for await (const chunk of chunks) res.write(chunk);
 * ```
 */
export class LocalVoice {
  readonly slots: Slots;
  readonly #timeoutMs: number;
  readonly #path: string | undefined;

  constructor(options: LocalVoiceOptions = {}) {
    this.slots = new Slots(
      options.maxProcesses ?? Math.max(2, availableParallelism()),
      options.maxQueued ?? 32,
      'The offline voice is busy; try again shortly.',
    );
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#path = options.path;
  }

  /**
   * Starts saying `speech`. Everything that can be refused is refused before this resolves (a missing
   * program, a missing encoder, a full queue), so a caller can still answer with an error; what fails
   * later ends the stream with an error.
   */
  async speak(speech: LocalSpeech, signal?: AbortSignal): Promise<AudioStream> {
    const espeak = await findProgram('espeak-ng', this.#path);
    if (!espeak) throw new ProxyError(ErrorCode.Unavailable, INSTALL_ESPEAK);
    const encoder = ENCODERS[speech.format];
    const ffmpeg = encoder ? await findProgram('ffmpeg', this.#path) : undefined;
    if (encoder && !ffmpeg) {
      throw new ProxyError(
        ErrorCode.InvalidValue,
        `The offline voice cannot answer in ${speech.format}: its encoder, ffmpeg, is not installed on this ` +
          'server (Debian/Ubuntu: apt-get install ffmpeg). wav and pcm need no encoder.',
        { param: 'response_format' },
      );
    }
    const release = await this.slots.acquire(signal);
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(new Error('timed out')), this.#timeoutMs);
    const onAbort = () => stop.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const finish = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      release();
    };
    const pcm = synthesize(espeak, speech, stop.signal);
    const chunks =
      speech.format === 'pcm'
        ? pcm
        : speech.format === 'wav'
          ? wholeWav(pcm)
          : encode(ffmpeg!, encoder!, pcm, stop.signal);
    return {
      contentType: SPEECH_CONTENT_TYPES[speech.format],
      chunks: guarded(chunks, () => {
        stop.abort(new Error('finished'));
        finish();
      }),
    };
  }
}

/** Runs `cleanup` once however the consumer leaves: the end, an error, or stopping early. */
async function* guarded(chunks: AsyncIterable<Uint8Array>, cleanup: () => void): AsyncGenerator<Uint8Array> {
  try {
    yield* chunks;
  } finally {
    cleanup();
  }
}

/**
 * A WAV file with exact sizes in its header, which needs the whole clip first. eSpeak makes a minute of
 * speech in a fraction of a second, so waiting costs little, and every decoder (browsers' included) reads
 * the result; a streamed header with placeholder sizes is not read by all of them.
 */
async function* wholeWav(pcm: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const part of pcm) {
    parts.push(part);
    size += part.length;
  }
  yield wavHeader(SPEECH_SAMPLE_RATE, size);
  yield* parts;
}

type Child = ChildProcessByStdio<Writable, Readable, Readable>;

/** Spawns a program whose failures (not starting, a non-zero exit, being killed) surface as one error. */
function start(
  program: string,
  args: readonly string[],
  signal: AbortSignal,
): {
  child: Child;
  exited: Promise<void>;
} {
  const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'], signal, killSignal: 'SIGKILL' });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    if (stderr.length < 2000) stderr += text;
  });
  // Writing to a program that died is reported by `exited`, not as an unhandled stream error.
  child.stdin.on('error', () => {});
  const exited = new Promise<void>((resolve, reject) => {
    let failure: Error | undefined;
    child.on('error', (error) => {
      failure ??= error;
    });
    child.on('close', (code, killed) => {
      if (code === 0 && !failure) resolve();
      else {
        const why = failure?.message ?? (killed ? `killed by ${killed}` : `exit code ${code}`);
        const detail = stderr.trim().split('\n')[0]?.slice(0, 200);
        reject(
          new ProxyError(
            ErrorCode.Upstream,
            `The offline voice failed (${program.split('/').pop()}: ${why}${detail ? `; ${detail}` : ''}).`,
          ),
        );
      }
    });
  });
  // Read by whoever awaits it; never an unhandled rejection when the consumer left first.
  exited.catch(() => {});
  return { child, exited };
}

/** eSpeak NG's speech as 24 kHz 16-bit mono samples, as they are made. */
async function* synthesize(
  espeak: string,
  speech: LocalSpeech,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  const sound = espeakVoice(speech.voice);
  const wordsPerMinute = Math.round(Math.min(450, Math.max(80, sound.wordsPerMinute * speech.speed)));
  // The text goes in on stdin, never as an argument: a line starting with '-' is words, not an option.
  const { child, exited } = start(
    espeak,
    ['-v', sound.voice, '-p', String(sound.pitch), '-s', String(wordsPerMinute), '--stdout', '--stdin'],
    signal,
  );
  child.stdin.end(speech.input, 'utf8');
  let head = Buffer.alloc(0);
  let resampler: Resampler | undefined;
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    if (!resampler) {
      head = Buffer.concat([head, chunk]);
      const format = parseWavHeader(head);
      if (!format) {
        if (head.length > 4096) throw unreadable('its output is not WAV');
        continue;
      }
      if (format.audioFormat !== 1 || format.channels !== 1 || format.bitsPerSample !== 16)
        throw unreadable('its output is not 16-bit mono PCM');
      resampler = new Resampler(format.sampleRate, SPEECH_SAMPLE_RATE);
      const samples = resampler.push(head.subarray(format.dataOffset));
      if (samples.length > 0) yield samples;
      continue;
    }
    const samples = resampler.push(chunk);
    if (samples.length > 0) yield samples;
  }
  await exited;
  if (!resampler) throw unreadable('it produced no audio');
  const rest = resampler.flush();
  if (rest.length > 0) yield rest;
}

function unreadable(why: string): ProxyError {
  return new ProxyError(ErrorCode.Upstream, `The offline voice failed: ${why}.`);
}

/** `pcm` encoded by ffmpeg, its output handed on as it comes. */
async function* encode(
  ffmpeg: string,
  options: readonly string[],
  pcm: AsyncIterable<Uint8Array>,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  const { child, exited } = start(
    ffmpeg,
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      's16le',
      '-ar',
      String(SPEECH_SAMPLE_RATE),
      '-ac',
      '1',
      '-i',
      'pipe:0',
      ...options,
      'pipe:1',
    ],
    signal,
  );
  // Samples are fed while the encoded bytes are read, with back-pressure both ways.
  const fed = (async () => {
    for await (const samples of pcm) {
      if (!child.stdin.write(samples)) {
        await new Promise<void>((resolve) => {
          child.stdin.once('drain', resolve);
          child.once('close', resolve);
        });
      }
      if (child.stdin.destroyed) break;
    }
    child.stdin.end();
  })();
  fed.catch(() => child.kill('SIGKILL'));
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) yield chunk;
  await fed;
  await exited;
}
