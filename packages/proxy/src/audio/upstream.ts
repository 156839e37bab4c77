/**
 * Audio through the upstream's own SDK client: OpenAI, a compatible server, or Azure (where `model` names
 * the deployment, as Azure's audio paths take it). Failures are mapped as chat's are, the key redacted.
 */
import { ErrorCode } from '@parley/protocol';
import { AzureOpenAI, type OpenAI, toStreamingFile } from 'openai';
import { ProxyError } from '../errors.js';
import type { SpeechFormat } from '../schemas/audio.js';
import type { Upstream } from '../upstream/upstream.js';
import type { AudioStream } from './local-voice.js';
import { SPEECH_CONTENT_TYPES } from './local-voice.js';

/** Retries before the first byte, as the SDK schedules them (0.5 s doubling, or what the server asks). */
const MAX_RETRIES = 2;

const audioClients = new WeakMap<Upstream, OpenAI>();

/**
 * The client audio calls go through. On Azure the chat client carries the chat deployment, which must
 * not take speech: without it, the SDK puts the request's `model` into the path as the deployment.
 */
function audioClient(upstream: Upstream): OpenAI {
  let client = audioClients.get(upstream);
  if (!client) {
    client =
      upstream.client instanceof AzureOpenAI
        ? upstream.client.withOptions({ deployment: undefined })
        : upstream.client;
    audioClients.set(upstream, client);
  }
  return client;
}

/** A speech request as it is sent upstream. */
export interface UpstreamSpeech {
  model: string;
  input: string;
  voice: string | { id: string };
  instructions?: string | undefined;
  format: SpeechFormat;
  speed?: number | undefined;
}

/**
 * Asks the upstream for speech and hands its body on as it arrives. Resolves once the upstream answered
 * (its errors thrown as ProxyError, before anything was sent to the player).
 */
export async function upstreamSpeech(
  upstream: Upstream,
  speech: UpstreamSpeech,
  signal: AbortSignal,
): Promise<AudioStream> {
  let response: Response;
  try {
    response = await audioClient(upstream).audio.speech.create(
      {
        model: speech.model,
        input: speech.input,
        voice: speech.voice,
        response_format: speech.format,
        ...(speech.instructions === undefined ? {} : { instructions: speech.instructions }),
        ...(speech.speed === undefined ? {} : { speed: speech.speed }),
      },
      { signal, maxRetries: MAX_RETRIES },
    );
  } catch (error) {
    throw upstream.mapError(error);
  }
  const body = response.body;
  if (!body) throw new ProxyError(ErrorCode.Upstream, 'The speech upstream sent no audio.');
  return {
    contentType: response.headers.get('content-type') ?? SPEECH_CONTENT_TYPES[speech.format],
    chunks: body,
  };
}

/** A transcription or translation as it is sent upstream. */
export interface UpstreamTranscription {
  kind: 'transcriptions' | 'translations';
  file: { bytes: Uint8Array; name: string; type: string };
  model: string;
  language?: string | undefined;
  prompt?: string | undefined;
  responseFormat: 'json' | 'text' | 'srt' | 'verbose_json' | 'vtt';
  temperature?: number | undefined;
  timestampGranularities?: Array<'word' | 'segment'> | undefined;
}

/** The upstream's answer, whole: transcripts are small, and moderation reads all of one before it goes on. */
export interface TranscriptAnswer {
  contentType: string;
  body: string;
}

/** Sends the file on for transcription (or translation into English) and reads the answer. */
export async function upstreamTranscription(
  upstream: Upstream,
  request: UpstreamTranscription,
  signal: AbortSignal,
): Promise<TranscriptAnswer> {
  const client = audioClient(upstream);
  try {
    // A streamed part, not a `File`: the SDK builds the multipart body itself then. With a `File` it needs
    // the global FormData, which the upstream's own undici `fetch` does not take as a body.
    const bytes = request.file.bytes;
    const file = toStreamingFile(
      (async function* () {
        yield bytes;
      })(),
      request.file.name,
      { type: request.file.type },
    );
    const common = {
      file,
      model: request.model,
      response_format: request.responseFormat,
      ...(request.prompt === undefined ? {} : { prompt: request.prompt }),
      ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    };
    // A streamed body cannot be sent twice: an upload is not retried.
    const options = { signal, maxRetries: 0 };
    const response =
      request.kind === 'translations'
        ? await client.audio.translations.create(common, options).asResponse()
        : await client.audio.transcriptions
            .create(
              {
                ...common,
                ...(request.language === undefined ? {} : { language: request.language }),
                ...(request.timestampGranularities === undefined
                  ? {}
                  : { timestamp_granularities: request.timestampGranularities }),
                stream: false,
              },
              options,
            )
            .asResponse();
    return {
      contentType: response.headers.get('content-type') ?? 'application/json',
      body: await response.text(),
    };
  } catch (error) {
    throw upstream.mapError(error);
  }
}

/**
 * The words of a transcript in any of its formats, for moderation: `text` of the JSON ones, the cue lines
 * of SubRip and WebVTT (numbers, timings and the header dropped), plain text as it is.
 */
export function transcriptText(format: UpstreamTranscription['responseFormat'], body: string): string {
  if (format === 'json' || format === 'verbose_json') {
    try {
      const parsed = JSON.parse(body) as { text?: unknown };
      if (typeof parsed.text === 'string') return parsed.text;
    } catch {
      // Not JSON after all: read it as text below, so nothing escapes moderation.
    }
    return body;
  }
  if (format === 'text') return body;
  return body
    .split(/\r?\n/)
    .filter(
      (line) =>
        line.trim() !== '' && !/^\d+$/.test(line.trim()) && !line.includes('-->') && line.trim() !== 'WEBVTT',
    )
    .join('\n');
}
