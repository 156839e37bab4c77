import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { LocalVoice } from './local-voice.js';
import { audioSeconds, sniffAudio } from './sniff.js';
import { wavHeader } from './wav.js';

/** Runs real programs: on a loaded two-core machine that takes more than vitest's default. */
const SLOW_MS = 60_000;

async function speech(format: 'mp3' | 'opus' | 'flac' | 'wav', input: string): Promise<Buffer> {
  const audio = await new LocalVoice().speak({ input, voice: 'fable', speed: 1, format });
  const parts: Buffer[] = [];
  for await (const chunk of audio.chunks) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

describe('sniffAudio', () => {
  it('knows audio by its bytes, not its name', () => {
    expect(sniffAudio(wavHeader(24_000, 0))).toBe('wav');
    expect(sniffAudio(Buffer.from('fLaC\0\0\0"'))).toBe('flac');
    expect(sniffAudio(Buffer.from('OggS\0\x02'))).toBe('ogg');
    expect(sniffAudio(Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x9f]))).toBe('webm');
    expect(sniffAudio(Buffer.from('\0\0\0\x20ftypM4A '))).toBe('mp4');
    expect(sniffAudio(Buffer.from('ID3\x04\0'))).toBe('mp3');
    expect(sniffAudio(Buffer.from([0xff, 0xfb, 0x90, 0x64]))).toBe('mp3');
    for (const other of ['hello, this is text', '%PDF-1.7', '\x89PNG\r\n\x1a\n', '{"text":"json"}', ''])
      expect(sniffAudio(Buffer.from(other)), other).toBeUndefined();
    expect(sniffAudio(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).toBeUndefined(); // a JPEG
  });
});

describe('audioSeconds', () => {
  it(
    'reads WAV from its header and counts compressed audio packet by packet',
    async () => {
      const text = 'The mill has not turned since the spring flood took its wheel.';
      const wav = await speech('wav', text);
      const seconds = await audioSeconds(wav, 'wav');
      expect(seconds).toBeGreaterThan(2);
      for (const format of ['mp3', 'opus', 'flac'] as const) {
        const bytes = await speech(format, text);
        const container = sniffAudio(bytes)!;
        const measured = await audioSeconds(bytes, container);
        expect(Math.abs(measured! - seconds!), format).toBeLessThan(0.2);
      }
      // WebM as a browser's MediaRecorder writes it (no duration in the header).
      const webm = spawnSync(
        'ffmpeg',
        ['-v', 'error', '-i', 'pipe:0', '-c:a', 'libopus', '-f', 'webm', 'pipe:1'],
        {
          input: wav,
        },
      ).stdout;
      expect(sniffAudio(webm)).toBe('webm');
      expect(Math.abs((await audioSeconds(webm, 'webm'))! - seconds!)).toBeLessThan(0.2);
    },
    SLOW_MS,
  );

  it('calls a file that only starts like audio unreadable, and says nothing when ffprobe is missing', async () => {
    const fake = Buffer.concat([Buffer.from('ID3\x04\0\0\0\0\0\0'), Buffer.from('garbage '.repeat(100))]);
    expect(await audioSeconds(fake, 'mp3')).toBeNull();
    expect(await audioSeconds(fake, 'mp3', { path: '/nonexistent' })).toBeUndefined();
  });
});
