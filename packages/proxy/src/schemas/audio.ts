import { z } from 'zod';
import { text } from './fields.js';

/** The formats `POST /v1/audio/speech` answers in, as OpenAI names them. */
export const SPEECH_FORMATS = ['mp3', 'opus', 'aac', 'flac', 'wav', 'pcm'] as const;
export type SpeechFormat = (typeof SPEECH_FORMATS)[number];

/** OpenAI's limit on the text of one speech request. */
export const MAX_SPEECH_INPUT = 4096;

/**
 * `POST /v1/audio/speech`, the fields of the official SDK's `audio.speech.create`. `voice` is a built-in
 * voice's name or a custom voice `{ id }`; either must be in the policy's `voices`. Only raw audio is
 * streamed (`stream_format: 'audio'`): the SSE variant is refused by name.
 */
export const speechRequest = z.strictObject({
  model: text({ min: 1, max: 256 }),
  input: text({ min: 1, max: MAX_SPEECH_INPUT }),
  voice: z.union([text({ min: 1, max: 64 }), z.strictObject({ id: text({ min: 1, max: 64 }) })]),
  instructions: text({ max: 4096 }).optional(),
  response_format: z.enum(SPEECH_FORMATS).optional(),
  speed: z.number().min(0.25).max(4).optional(),
  stream_format: z.enum(['audio']).optional(),
});
export type SpeechRequest = z.output<typeof speechRequest>;

/** What a transcription or translation answers in. */
export const TRANSCRIPT_FORMATS = ['json', 'text', 'srt', 'verbose_json', 'vtt'] as const;
export type TranscriptFormat = (typeof TRANSCRIPT_FORMATS)[number];

/** A number sent as a multipart field (every field is text there). */
const numberField = (min: number, max: number) =>
  text({ min: 1, max: 32 })
    .transform((raw) => Number(raw))
    .pipe(z.number().min(min).max(max));

/**
 * The text fields of `POST /v1/audio/transcriptions` (multipart; the `file` part is read apart). Streaming
 * is refused by name: the transcript is moderated whole before a byte of it is returned.
 */
export const transcriptionFields = z.strictObject({
  model: text({ min: 1, max: 256 }),
  language: text({ min: 2, max: 16, pattern: /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/ }).optional(),
  prompt: text({ max: 4096 }).optional(),
  response_format: z.enum(TRANSCRIPT_FORMATS).optional(),
  temperature: numberField(0, 1).optional(),
  'timestamp_granularities[]': z
    .array(z.enum(['word', 'segment']))
    .max(2)
    .optional(),
  stream: z.enum(['false']).optional(),
});
export type TranscriptionFields = z.output<typeof transcriptionFields>;

/** `POST /v1/audio/translations`: the same, without `language` (the answer is always English). */
export const translationFields = transcriptionFields.omit({
  language: true,
  'timestamp_granularities[]': true,
});
export type TranslationFields = z.output<typeof translationFields>;
