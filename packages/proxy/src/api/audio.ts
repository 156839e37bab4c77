import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, OFFLINE_MODEL } from '@parley/protocol';
import { type AudioStream, LocalVoice } from '../audio/local-voice.js';
import { Slots } from '../audio/slots.js';
import { audioSeconds, CONTAINER_TYPES, sniffAudio } from '../audio/sniff.js';
import {
  type TranscriptAnswer,
  transcriptText,
  upstreamSpeech,
  upstreamTranscription,
} from '../audio/upstream.js';
import { ProxyError } from '../errors.js';
import { readCapped } from '../http/body.js';
import { drained } from '../http/sse.js';
import type { Reservation } from '../limits/limiter.js';
import {
  speechRequest,
  type TranscriptionFields,
  transcriptionFields,
  translationFields,
} from '../schemas/audio.js';
import { parse } from '../schemas/issues.js';
import { AbortedError } from '../upstream/upstream.js';
import { abortOnClientClose, type RequestContext, type Routes, type Services, STREAMED } from './context.js';

/**
 * Room for a multipart body's other fields and part headers beside the file: a model name, a prompt of
 * up to 4,096 characters, boundaries.
 */
const MULTIPART_OVERHEAD = 64 * 1024;

/** Uploads read into memory at once (each up to the policy's `maxAudioBytes`); more wait, then get 429. */
const UPLOADS_AT_ONCE = 8;
const UPLOADS_WAITING = 32;

/**
 * The OpenAI audio surface: `POST /v1/audio/speech` (streamed), `/v1/audio/transcriptions` and
 * `/v1/audio/translations` (multipart), under the same policy, budgets, moderation and key hiding as chat.
 *
 * Budgets: a speech request counts its `input` characters as prompt tokens (one character, one token) and
 * no completion tokens, priced by the model's entry in the price table, which for speech models is USD
 * per million characters (`audio/prices.ts`). A transcription counts the seconds of audio it uploads the
 * same way (USD per million seconds). The offline voice is free and is not counted: its cost is the
 * machine's, held by the cap on eSpeak processes.
 */
export function audioRoutes(router: Routes, services: Services): void {
  const voice = new LocalVoice();
  const uploads = new Slots(
    UPLOADS_AT_ONCE,
    UPLOADS_WAITING,
    'Too many audio uploads at once on this server; try again shortly.',
  );
  router.add('POST', '/v1/audio/speech', 'audio.speech', (ctx) => speak(ctx, services, voice));
  router.add('POST', '/v1/audio/transcriptions', 'audio.transcriptions', (ctx) =>
    transcribe(ctx, services, uploads, 'transcriptions'),
  );
  router.add('POST', '/v1/audio/translations', 'audio.translations', (ctx) =>
    transcribe(ctx, services, uploads, 'translations'),
  );
}

/** Text to speech: checked, moderated, budgeted, then streamed as the audio is made. */
async function speak(ctx: RequestContext, services: Services, voice: LocalVoice): Promise<typeof STREAMED> {
  const fields = parse(speechRequest, await ctx.body());
  if (fields.input.trim() === '')
    throw new ProxyError(ErrorCode.InvalidValue, "Invalid 'input': there is nothing to say in it.", {
      param: 'input',
    });
  const { guard, upstream } = services;
  guard.speechModel(fields.model);
  const voiceName = typeof fields.voice === 'string' ? fields.voice : fields.voice.id;
  guard.voice(voiceName);
  const format = fields.response_format ?? 'mp3';
  // The offline model's name always means the local voice, online too: a game can keep NPCs off the bill.
  const local = upstream.kind === 'offline' || fields.model === OFFLINE_MODEL;
  const guards = services.engine.guards;
  if (await guards.refuses(fields.input)) {
    throw new ProxyError(ErrorCode.Moderation, 'The input was flagged by moderation and was not spoken.', {
      param: 'input',
    });
  }
  const characters = fields.input.length;
  const admission = local
    ? undefined
    : await guards.admit({
        player: ctx.owner,
        model: fields.model,
        promptTokens: characters,
        maxCompletionTokens: 0,
      });
  const reservation = admission?.line === undefined ? admission?.reservation : undefined;
  let accepted = false;
  const { controller, release } = abortOnClientClose(ctx.res);
  const watchdog = guards.watchdog(() => controller.abort());
  watchdog.arm('first');
  try {
    let audio: AudioStream;
    try {
      audio = local
        ? await voice.speak(
            { input: fields.input, voice: voiceName, speed: fields.speed ?? 1, format },
            controller.signal,
          )
        : await upstreamSpeech(
            upstream,
            {
              model: fields.model,
              input: fields.input,
              voice: fields.voice,
              instructions: fields.instructions,
              format,
              speed: fields.speed,
            },
            controller.signal,
          );
    } catch (error) {
      if (watchdog.fired) throw timeoutError();
      if (controller.signal.aborted) return STREAMED;
      throw error instanceof AbortedError ? timeoutError() : error;
    }
    // The upstream took the request: its characters are billed whatever happens to the stream now.
    accepted = true;
    await relayAudio(ctx.res, audio, {
      chunk: () => watchdog.arm('idle'),
      failure: () => (watchdog.fired ? timeoutError() : undefined),
      aborted: () => controller.signal.aborted && !watchdog.fired,
    });
    return STREAMED;
  } finally {
    watchdog.stop();
    release();
    await settle(services, reservation, accepted ? characters : 0);
  }
}

const timeoutError = () =>
  new ProxyError(ErrorCode.UpstreamTimeout, 'The speech upstream took too long to answer.');

/**
 * Writes audio as it comes. The first chunk is awaited before the status line, so a failure that early is
 * still an error body; later, nothing in an audio stream can say "error", so the connection is cut and
 * the player's decoder sees a clip that ends short rather than one that looks whole.
 */
async function relayAudio(
  res: ServerResponse,
  audio: AudioStream,
  hooks: { chunk(): void; failure(): ProxyError | undefined; aborted(): boolean },
): Promise<void> {
  const chunks = audio.chunks[Symbol.asyncIterator]();
  let opened = false;
  try {
    let next = await chunks.next();
    hooks.chunk();
    res.writeHead(200, {
      'Content-Type': audio.contentType,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
    // Headers go now, before the first chunk is complete: a player's decoder can get ready meanwhile.
    res.flushHeaders();
    opened = true;
    while (!next.done) {
      if (next.value.length > 0 && !res.write(next.value)) await drained(res);
      if (res.destroyed) return;
      next = await chunks.next();
      hooks.chunk();
    }
    res.end();
  } catch (error) {
    if (hooks.aborted() || res.destroyed) return;
    if (!opened) {
      throw (
        hooks.failure() ??
        (error instanceof ProxyError
          ? error
          : new ProxyError(ErrorCode.Upstream, 'The speech upstream ended the audio unexpectedly.', {
              cause: error,
            }))
      );
    }
    res.destroy();
  } finally {
    // Stops the upstream body or the local processes when the loop left early.
    await chunks.return?.().catch(() => {});
  }
}

/** Charges what was spent (`units` characters or seconds), or refunds the whole reservation. */
async function settle(
  services: Services,
  reservation: Reservation | undefined,
  units: number,
): Promise<void> {
  await services.engine.guards.settle(
    reservation,
    { usage: units > 0 ? { prompt_tokens: units, completion_tokens: 0 } : undefined, produced: '' },
    0,
  );
}

/** A checked upload: its fields, its bytes and container, and the seconds it is billed for. */
interface Upload {
  parsed: TranscriptionFields;
  bytes: Uint8Array;
  container: NonNullable<ReturnType<typeof sniffAudio>>;
  billed: number;
}

/**
 * Speech to text: the upload read whole under a cap, its bytes checked to be audio and its length to be
 * within the policy, sent on, and the transcript moderated before the player (and so an NPC) sees it.
 */
async function transcribe(
  ctx: RequestContext,
  services: Services,
  uploads: Slots,
  kind: 'transcriptions' | 'translations',
): Promise<typeof STREAMED> {
  const release = await uploads.acquire();
  try {
    const upload = await readUpload(ctx, services, kind);
    const guards = services.engine.guards;
    const admission = await guards.admit({
      player: ctx.owner,
      model: upload.parsed.model,
      promptTokens: upload.billed,
      maxCompletionTokens: 0,
    });
    const reservation = admission.line === undefined ? admission.reservation : undefined;
    let accepted = false;
    try {
      const format = upload.parsed.response_format ?? 'json';
      const answer = await sendUpload(ctx, services, kind, upload);
      if (!answer) return STREAMED;
      // The upstream did the work: billed whatever moderation says next.
      accepted = true;
      if (await guards.refuses(transcriptText(format, answer.body))) {
        throw new ProxyError(
          ErrorCode.Moderation,
          'The transcript was flagged by moderation and is not returned.',
          { param: 'file' },
        );
      }
      ctx.res.writeHead(200, {
        'Content-Type': answer.contentType,
        'Content-Length': Buffer.byteLength(answer.body),
        'Cache-Control': 'no-store',
      });
      ctx.res.end(answer.body);
      return STREAMED;
    } finally {
      await settle(services, reservation, accepted ? upload.billed : 0);
    }
  } finally {
    release();
  }
}

/**
 * Reads and checks an upload: that this server can transcribe at all, then in the order a client can fix
 * things: the form, the file, that it is audio, the model, and the clip's length.
 */
async function readUpload(
  ctx: RequestContext,
  services: Services,
  kind: 'transcriptions' | 'translations',
): Promise<Upload> {
  const { guard, upstream } = services;
  const { maxAudioBytes, maxAudioSeconds } = guard.policy;
  // First, before the body is read: a game can ask with an empty form whether to use the browser's own
  // speech recognition instead (see `transcribes()` in @parley/dialogue/voice).
  if (upstream.kind === 'offline') {
    ctx.req.resume();
    throw noTranscriptionModel();
  }
  const form = await readMultipart(ctx.req, maxAudioBytes);
  const { fields, file } = formParts(form);
  const parsed: TranscriptionFields =
    kind === 'translations' ? parse(translationFields, fields) : parse(transcriptionFields, fields);
  if (!file)
    throw new ProxyError(ErrorCode.MissingParameter, "Missing required parameter: 'file'.", {
      param: 'file',
    });
  if (file.size > maxAudioBytes) throw fileTooLarge(maxAudioBytes);
  const bytes = new Uint8Array(await file.arrayBuffer());
  const container = sniffAudio(bytes);
  if (!container) throw notAudio();
  if (parsed.model === OFFLINE_MODEL) throw noTranscriptionModel();
  guard.transcriptionModel(parsed.model);
  const seconds = await audioSeconds(bytes, container);
  if (seconds === null) throw notAudio();
  if (seconds !== undefined && seconds > maxAudioSeconds) {
    throw new ProxyError(
      ErrorCode.InvalidValue,
      `The audio is ${seconds.toFixed(1)} s long; this server accepts at most ${maxAudioSeconds} s.`,
      { param: 'file' },
    );
  }
  // Unknown length (no ffprobe on this server): the size cap holds, and the budget counts the most allowed.
  const billed = Math.max(1, Math.ceil(seconds ?? maxAudioSeconds));
  return { parsed, bytes, container, billed };
}

/** Sends the upload on; undefined when the player hung up before the answer. */
async function sendUpload(
  ctx: RequestContext,
  services: Services,
  kind: 'transcriptions' | 'translations',
  { parsed, bytes, container }: Upload,
): Promise<TranscriptAnswer | undefined> {
  const { controller, release } = abortOnClientClose(ctx.res);
  try {
    return await upstreamTranscription(
      services.upstream,
      {
        kind,
        file: { bytes, name: `audio.${container}`, type: CONTAINER_TYPES[container] },
        model: parsed.model,
        language: parsed.language,
        prompt: parsed.prompt,
        responseFormat: parsed.response_format ?? 'json',
        temperature: parsed.temperature,
        timestampGranularities: parsed['timestamp_granularities[]'],
      },
      controller.signal,
    );
  } catch (error) {
    if (controller.signal.aborted) return undefined;
    throw error;
  } finally {
    release();
  }
}

/**
 * Reads a multipart body whole, never more than the file cap plus room for the other fields: 413 before
 * reading when Content-Length already says too much, and while reading when the body grows past it
 * (chunked, or sent by a client whose declared length was a lie). A body that ends before its declared
 * length is a 400, not a failure of the server.
 */
async function readMultipart(req: IncomingMessage, maxFileBytes: number): Promise<FormData> {
  const type = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\s*;.*boundary=/i.test(type)) {
    req.resume();
    throw new ProxyError(
      ErrorCode.InvalidValue,
      "The request body must be multipart/form-data with the audio in a 'file' part.",
      { param: 'file' },
    );
  }
  const body = await readCapped(req, maxFileBytes + MULTIPART_OVERHEAD, () => fileTooLarge(maxFileBytes));
  const request = new Request('http://parley.invalid/', {
    method: 'POST',
    headers: { 'content-type': type },
    body,
  });
  try {
    return await request.formData();
  } catch (error) {
    throw new ProxyError(
      ErrorCode.InvalidValue,
      'The multipart body could not be read: its parts or boundary are malformed.',
      { param: 'file', cause: error },
    );
  }
}

/** The form's text fields (repeatable only when the name ends in `[]`) and its one `file` part. */
function formParts(form: FormData): { fields: Record<string, string | string[]>; file: File | undefined } {
  // No prototype: a part named `__proto__` is an unknown field, not a way to reach Object.prototype.
  const fields: Record<string, string | string[]> = Object.create(null);
  let file: File | undefined;
  for (const [name, value] of form.entries()) {
    if (name === 'file') {
      if (typeof value === 'string' || file)
        throw new ProxyError(ErrorCode.InvalidValue, "Invalid 'file': expected one audio file.", {
          param: 'file',
        });
      file = value;
      continue;
    }
    if (typeof value !== 'string')
      throw new ProxyError(
        ErrorCode.InvalidValue,
        `Invalid '${name.slice(0, 64)}': expected text, not a file.`,
        {
          param: name.slice(0, 64),
        },
      );
    if (name.endsWith('[]')) {
      const list = fields[name];
      fields[name] = Array.isArray(list) ? [...list, value] : [value];
    } else if (Object.hasOwn(fields, name)) {
      throw new ProxyError(ErrorCode.InvalidValue, `Invalid '${name.slice(0, 64)}': given more than once.`, {
        param: name.slice(0, 64),
      });
    } else {
      fields[name] = value;
    }
  }
  return { fields, file };
}

function fileTooLarge(maxBytes: number): ProxyError {
  // Whatever is left of the body is never read: close the connection after the answer.
  return new ProxyError(
    ErrorCode.BodyTooLarge,
    `The audio file is larger than this server's limit of ${maxBytes} bytes.`,
    { param: 'file', headers: { Connection: 'close' } },
  );
}

function noTranscriptionModel(): ProxyError {
  return new ProxyError(
    ErrorCode.InvalidValue,
    'No transcription model is configured on this server: the proxy runs offline, without a key. ' +
      "Use the browser's own speech recognition, or start the proxy with OPENAI_API_KEY.",
    { param: 'model' },
  );
}

function notAudio(): ProxyError {
  return new ProxyError(
    ErrorCode.InvalidValue,
    'Invalid file format: the file is not audio this server can read. Supported formats: flac, m4a, mp3, mp4, mpeg, mpga, ogg, wav, webm.',
    { param: 'file' },
  );
}
