import { describe, expect, it } from 'vitest';
import { parseWavHeader, Resampler, wavHeader } from './wav.js';

const tone = (count: number, rate: number, hz: number) => {
  const out = Buffer.alloc(count * 2);
  for (let i = 0; i < count; i++)
    out.writeInt16LE(Math.round(10_000 * Math.sin((2 * Math.PI * hz * i) / rate)), i * 2);
  return out;
};

describe('WAV', () => {
  it('reads back the header it writes, and waits for more when the header is cut short', () => {
    const wav = Buffer.concat([wavHeader(24_000, 480), Buffer.alloc(480)]);
    expect(parseWavHeader(wav)).toEqual({
      audioFormat: 1,
      channels: 1,
      sampleRate: 24_000,
      bitsPerSample: 16,
      dataOffset: 44,
      dataBytes: 480,
    });
    expect(parseWavHeader(wav.subarray(0, 30))).toBeUndefined();
    expect(parseWavHeader(Buffer.from('not a wav file at all, just text'))).toBeUndefined();
  });

  it('resamples 22.05 kHz to 24 kHz alike however the input is cut into chunks', () => {
    const input = tone(22_050, 22_050, 440);
    const whole = new Resampler(22_050, 24_000);
    const once = Buffer.concat([whole.push(input), whole.flush()]);
    // One second in, one second out.
    expect(once.length / 2).toBeGreaterThanOrEqual(23_999);
    expect(once.length / 2).toBeLessThanOrEqual(24_001);
    const pieces = new Resampler(22_050, 24_000);
    const parts: Buffer[] = [];
    // Odd sizes split samples between chunks.
    for (let at = 0; at < input.length; at += 333) parts.push(pieces.push(input.subarray(at, at + 333)));
    parts.push(pieces.flush());
    expect(Buffer.concat(parts).equals(once)).toBe(true);
    // Still a 440 Hz tone: 880 zero crossings a second.
    const samples = new Int16Array(once.buffer, once.byteOffset, once.length / 2);
    let crossings = 0;
    for (let i = 1; i < samples.length; i++) if (samples[i - 1]! < 0 !== samples[i]! < 0) crossings++;
    expect(Math.abs(crossings - 880)).toBeLessThan(4);
  });
});
