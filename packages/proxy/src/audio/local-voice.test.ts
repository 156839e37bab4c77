import { spawnSync } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProxyError } from '../errors.js';
import { SPEECH_FORMATS } from '../schemas/audio.js';
import { ESPEAK_VOICES, type LocalSpeech, LocalVoice } from './local-voice.js';
import { findProgram } from './programs.js';
import { parseWavHeader, SPEECH_SAMPLE_RATE } from './wav.js';

/** Runs real programs: on a loaded two-core machine that takes more than vitest's default. */
const SLOW_MS = 60_000;

// These tests run the real programs (`PARLEY_NEEDS=espeak` installs them): a missing one fails loudly.
const espeak = await findProgram('espeak-ng');
const ffmpeg = await findProgram('ffmpeg');
if (!espeak || !ffmpeg) throw new Error('apt-get install espeak-ng ffmpeg to run the offline voice tests');

const SHORT = 'Welcome to the village.';
const LONG =
  'Welcome to the village, traveller. The smithy is by the river, the inn is up the hill, and the ' +
  'mill has not turned since the spring flood took its wheel. Mind the geese on your way.';

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<{ bytes: Buffer; parts: number }> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(Buffer.from(chunk));
  return { bytes: Buffer.concat(parts), parts: parts.length };
}

async function say(voice: LocalVoice, speech: Partial<LocalSpeech>): Promise<Buffer> {
  const audio = await voice.speak({ input: SHORT, voice: 'alloy', speed: 1, format: 'pcm', ...speech });
  return (await collect(audio.chunks)).bytes;
}

const samplesOf = (pcm: Buffer) => new Int16Array(pcm.buffer, pcm.byteOffset, Math.floor(pcm.length / 2));

function rms(samples: Int16Array): number {
  let sum = 0;
  for (const sample of samples) sum += sample * sample;
  return Math.sqrt(sum / Math.max(1, samples.length));
}

/** Sign changes per second over the loud parts: higher for a higher, brighter voice. */
function crossingsPerSecond(samples: Int16Array): number {
  let crossings = 0;
  for (let i = 1; i < samples.length; i++) if (samples[i - 1]! < 0 !== samples[i]! < 0) crossings++;
  return crossings / (samples.length / SPEECH_SAMPLE_RATE);
}

/** Decodes any format back to 24 kHz mono samples with ffmpeg, as a player's decoder would. */
function decode(bytes: Buffer): Buffer {
  const result = spawnSync(
    ffmpeg!,
    ['-v', 'error', '-i', 'pipe:0', '-f', 's16le', '-ar', '24000', '-ac', '1', 'pipe:1'],
    { input: bytes, maxBuffer: 64 * 1024 * 1024 },
  );
  if (result.status !== 0) throw new Error(`ffmpeg could not decode: ${result.stderr.toString()}`);
  return result.stdout;
}

describe('the offline voice', () => {
  const voice = new LocalVoice();

  it(
    'speaks real audio whose length follows the text',
    async () => {
      const short = samplesOf(await say(voice, { input: SHORT }));
      const long = samplesOf(await say(voice, { input: LONG }));
      const seconds = short.length / SPEECH_SAMPLE_RATE;
      expect(seconds).toBeGreaterThan(0.8);
      expect(seconds).toBeLessThan(4);
      // Not silence: speech-level loudness, and no stretch of the clip is all zeros.
      expect(rms(short)).toBeGreaterThan(1000);
      // Seven times the words: many times the length (pauses at commas keep it from exact proportion).
      const ratio = long.length / short.length;
      expect(ratio).toBeGreaterThan(4);
      expect(ratio).toBeLessThan(12);
      // Faster speed, shorter clip.
      const fast = samplesOf(await say(voice, { input: LONG, speed: 2 }));
      expect(fast.length).toBeLessThan(long.length * 0.7);
    },
    SLOW_MS,
  );

  it(
    'gives each of OpenAI’s voices a sound of its own',
    async () => {
      const clips = new Map<string, Int16Array>();
      for (const name of Object.keys(ESPEAK_VOICES))
        clips.set(name, samplesOf(await say(voice, { voice: name })));
      const fingerprints = new Set(
        [...clips.values()].map((samples) => `${samples.length}:${Math.round(crossingsPerSecond(samples))}`),
      );
      expect(fingerprints.size).toBe(clips.size);
      // Onyx is the deepest voice and shimmer one of the highest: by ear, and by how often the wave crosses zero.
      expect(crossingsPerSecond(clips.get('shimmer')!)).toBeGreaterThan(
        crossingsPerSecond(clips.get('onyx')!) * 1.2,
      );
      // An unknown name still speaks, always as the same one of them.
      const other = await say(voice, { voice: 'marin' });
      expect(other.equals(await say(voice, { voice: 'marin' }))).toBe(true);
    },
    SLOW_MS,
  );

  it(
    'answers every format as real audio of the same length',
    async () => {
      const reference = samplesOf(await say(voice, { input: LONG, format: 'pcm' }));
      for (const format of SPEECH_FORMATS) {
        const audio = await voice.speak({ input: LONG, voice: 'alloy', speed: 1, format });
        const { bytes, parts } = await collect(audio.chunks);
        const decoded = format === 'pcm' ? bytes : decode(bytes);
        const seconds = decoded.length / 2 / SPEECH_SAMPLE_RATE;
        // Encoders pad a little at either end.
        expect(seconds, format).toBeGreaterThan(reference.length / SPEECH_SAMPLE_RATE - 0.05);
        expect(seconds, format).toBeLessThan(reference.length / SPEECH_SAMPLE_RATE + 0.2);
        expect(rms(samplesOf(decoded)), format).toBeGreaterThan(1000);
        if (format === 'wav') {
          const header = parseWavHeader(bytes)!;
          expect(header).toMatchObject({
            sampleRate: 24_000,
            channels: 1,
            bitsPerSample: 16,
            dataOffset: 44,
          });
          expect(header.dataBytes).toBe(bytes.length - 44);
          expect(audio.contentType).toBe('audio/wav');
        }
        if (format === 'mp3') expect(audio.contentType).toBe('audio/mpeg');
        if (format === 'opus') expect(bytes.subarray(0, 4).toString()).toBe('OggS');
        if (format === 'flac') expect(bytes.subarray(0, 4).toString()).toBe('fLaC');
        if (format === 'aac') expect([bytes[0], bytes[1]! & 0xf6]).toEqual([0xff, 0xf0]);
        // Streamed in pieces as they are made (wav waits for its sizes).
        if (format !== 'wav') expect(parts, format).toBeGreaterThan(1);
      }
    },
    SLOW_MS,
  );

  it('says how to install eSpeak NG when it is missing', async () => {
    const missing = new LocalVoice({ path: mkdtempSync(join(tmpdir(), 'parley-empty-')) });
    const error = await missing
      .speak({ input: SHORT, voice: 'alloy', speed: 1, format: 'wav' })
      .catch((e) => e);
    expect(error).toBeInstanceOf(ProxyError);
    expect(error.status).toBe(503);
    expect(error.message).toContain('apt-get install espeak-ng');
  });

  it('names the missing encoder of a format with a 400, and still speaks wav and pcm', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'parley-espeak-only-'));
    symlinkSync(espeak, join(directory, 'espeak-ng'));
    const bare = new LocalVoice({ path: directory });
    for (const format of ['mp3', 'opus', 'aac', 'flac'] as const) {
      const error = await bare.speak({ input: SHORT, voice: 'alloy', speed: 1, format }).catch((e) => e);
      expect(error, format).toBeInstanceOf(ProxyError);
      expect(error.status).toBe(400);
      expect(error.param).toBe('response_format');
      expect(error.message).toContain(`in ${format}`);
      expect(error.message).toContain('ffmpeg');
    }
    const wav = await collect(
      (await bare.speak({ input: SHORT, voice: 'alloy', speed: 1, format: 'wav' })).chunks,
    );
    expect(parseWavHeader(wav.bytes)?.sampleRate).toBe(24_000);
  });

  it(
    'runs at most its cap of processes at once and turns away what its queue cannot hold',
    async () => {
      const capped = new LocalVoice({ maxProcesses: 2, maxQueued: 2 });
      let most = 0;
      const requests = Array.from({ length: 5 }, async () => {
        const audio = await capped.speak({ input: LONG, voice: 'echo', speed: 1, format: 'mp3' });
        most = Math.max(most, capped.slots.active);
        return collect(audio.chunks);
      });
      const results = await Promise.allSettled(requests);
      const refused = results.filter((result) => result.status === 'rejected');
      expect(refused).toHaveLength(1);
      expect((refused[0] as PromiseRejectedResult).reason).toMatchObject({
        status: 429,
        code: 'rate_limit_exceeded',
      });
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(4);
      expect(most).toBeLessThanOrEqual(2);
      expect(capped.slots.active).toBe(0);
    },
    SLOW_MS,
  );

  it('kills its processes when the listener leaves early', async () => {
    const audio = await voice.speak({ input: LONG.repeat(10), voice: 'nova', speed: 1, format: 'mp3' });
    for await (const _chunk of audio.chunks) break;
    expect(voice.slots.active).toBe(0);
  });
});
