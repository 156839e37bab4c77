import OpenAI, { toFile } from 'openai';
import { beforeAll, expect, it } from 'vitest';
import { FORMAT_MAGIC, fakeSpeech } from '../../../packages/proxy/src/audio/test-fake-upstream.ts';
import { parseWavHeader, wavHeader } from '../../../packages/proxy/src/audio/wav.ts';
import { FAKE_TRANSCRIPT } from '../../support/fake-upstream.js';
import { expectNoLeak, type Harness, SECRET_KEY, type SharedHarnesses } from '../../support/proxy.js';

const FORMATS = ['mp3', 'opus', 'aac', 'flac', 'wav', 'pcm'] as const;

/** `seconds` of a 440 Hz tone as 24 kHz 16-bit mono WAV: what a game would upload. */
function toneWav(seconds: number): Buffer {
  const count = Math.round(seconds * 24_000);
  const pcm = Buffer.alloc(count * 2);
  for (let i = 0; i < count; i++)
    pcm.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 24_000)), i * 2);
  return Buffer.concat([wavHeader(24_000, pcm.length), pcm]);
}

const startsWith = (bytes: Buffer, magic: Buffer) => bytes.subarray(0, magic.length).equals(magic);

/**
 * The OpenAI audio surface through the official SDK, unchanged: `audio.speech.create` in every
 * `response_format`, read as a stream; `audio.transcriptions.create` / `audio.translations.create`
 * (through the fake upstream; offline the proxy says it has no transcription model).
 */
export function audioSuite(shared: SharedHarnesses): void {
  const { mode } = shared;
  let h: Harness;
  beforeAll(() => {
    h = shared.h;
  });

  it('speaks every response_format through audio.speech.create, streamed', { timeout: 90_000 }, async () => {
    for (const format of FORMATS) {
      if (mode === 'fake') h.fake!.enqueueAudio({ kind: 'speech', chunks: fakeSpeech(format), hold: true });
      const response = await h.client.audio.speech.create({
        model: 'gpt-4o-mini-tts',
        voice: 'coral',
        input: 'The smithy is by the river, and the inn is up the hill.',
        response_format: format,
      });
      expect(response.status, format).toBe(200);
      const reader = response.body!.getReader();
      // Streamed: the first audio is here while the upstream (held after its first chunk) has sent no more.
      const first = await reader.read();
      expect(first.done, format).toBe(false);
      if (mode === 'fake') h.fake!.releaseAudio();
      const reads: Uint8Array[] = [first.value!];
      for (let next = await reader.read(); !next.done; next = await reader.read()) reads.push(next.value);
      const bytes = Buffer.concat(reads);
      if (mode === 'fake') {
        expect(bytes.equals(Buffer.concat(fakeSpeech(format))), format).toBe(true);
        expect(h.fake!.requests.at(-1)).toMatchObject({
          path: '/v1/audio/speech',
          body: { model: 'gpt-4o-mini-tts', voice: 'coral', response_format: format },
        });
      } else {
        // eSpeak NG's real clip: seconds of audio, not a header.
        expect(bytes.length, format).toBeGreaterThan(5_000);
        if (format === 'wav') expect(parseWavHeader(bytes)?.sampleRate).toBe(24_000);
      }
      if (format !== 'pcm') expect(startsWith(bytes, FORMAT_MAGIC[format]!), format).toBe(true);
    }
  });

  it('answers with mp3 when no format is named, as OpenAI does', async () => {
    const response = await h.client.audio.speech.create({ model: 'tts-1', voice: 'onyx', input: 'Hello.' });
    expect(response.headers.get('content-type')).toBe('audio/mpeg');
    expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(100);
  });

  it('transcribes and translates through the SDK, or says offline that it has no transcription model', async () => {
    const clip = toneWav(1);
    const transcribe = async () =>
      h.client.audio.transcriptions.create({
        file: await toFile(clip, 'question.wav'),
        model: 'gpt-4o-mini-transcribe',
        language: 'en',
      });
    if (mode === 'offline') {
      const error = await transcribe().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      const refused = error as InstanceType<typeof OpenAI.BadRequestError>;
      expect(refused.code).toBe('invalid_value');
      expect(refused.param).toBe('model');
      expect(refused.message).toMatch(/No transcription model is configured/);
      return;
    }
    expect((await transcribe()).text).toBe(FAKE_TRANSCRIPT);
    const sent = h.fake!.requests.at(-1)!;
    expect(sent.path).toBe('/v1/audio/transcriptions');
    expect(sent.headers.authorization).toBe(`Bearer ${SECRET_KEY}`);
    expect(sent.body).toMatchObject({ model: 'gpt-4o-mini-transcribe', language: 'en' });
    for (const format of ['text', 'srt', 'vtt'] as const) {
      const answer = await h.client.audio.transcriptions.create({
        file: await toFile(clip, 'q.wav'),
        model: 'whisper-1',
        response_format: format,
      });
      expect(String(answer), format).toContain(FAKE_TRANSCRIPT);
    }
    const verbose = await h.client.audio.transcriptions.create({
      file: await toFile(clip, 'q.wav'),
      model: 'whisper-1',
      response_format: 'verbose_json',
      timestamp_granularities: ['segment'],
    });
    expect(verbose).toMatchObject({ text: FAKE_TRANSCRIPT, language: 'english' });
    const translation = await h.client.audio.translations.create({
      file: await toFile(clip, 'q.wav'),
      model: 'whisper-1',
    });
    expect(translation.text).toBe(FAKE_TRANSCRIPT);
    expect(h.fake!.requests.at(-1)!.path).toBe('/v1/audio/translations');
    for (const body of h.bodies) expectNoLeak(body);
  });
}
