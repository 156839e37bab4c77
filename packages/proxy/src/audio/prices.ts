import type { ModelPrice } from '@parley/protocol';

/**
 * Default prices of OpenAI's audio models, in the budget's units (see `audio/budget.ts`): for speech, USD
 * per million characters of `input`; for transcription, USD per million seconds of audio. They sit in the
 * same table as the chat models (`PARLEY_PRICES` overrides any entry), so one daily cost budget covers
 * talking and voice alike.
 *
 * - `tts-1` $15 and `tts-1-hd` $30 per million characters: OpenAI's list prices.
 * - `gpt-4o-mini-tts` is billed by tokens ($0.60/M text in, $12/M audio out); OpenAI estimates $0.015 a
 *   minute of speech, about 900 characters, which is close to $15 per million characters.
 * - `whisper-1` and `gpt-4o-transcribe` $0.006 a minute ($100 per million seconds),
 *   `gpt-4o-mini-transcribe` $0.003 a minute.
 */
export const AUDIO_PRICES = {
  'tts-1': { input: 15, output: 0 },
  'tts-1-hd': { input: 30, output: 0 },
  'gpt-4o-mini-tts': { input: 15, output: 0 },
  'whisper-1': { input: 100, output: 0 },
  'gpt-4o-transcribe': { input: 100, output: 0 },
  'gpt-4o-mini-transcribe': { input: 50, output: 0 },
} as const satisfies Readonly<Record<string, Readonly<ModelPrice>>>;
