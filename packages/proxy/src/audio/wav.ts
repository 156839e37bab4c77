/**
 * Just enough of RIFF/WAVE for the offline voice: read eSpeak NG's header, resample its 16-bit mono PCM to
 * 24 kHz (OpenAI's `pcm` and `wav` rate), and write a header for the result.
 */

/** The rate of OpenAI's `pcm` (and `wav`) output: 24 kHz, 16-bit signed little-endian, mono. */
export const SPEECH_SAMPLE_RATE = 24_000;

/** What a WAV header says about the samples that follow it. */
export interface WavFormat {
  /** 1 for integer PCM. */
  audioFormat: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  /** Where the samples start. */
  dataOffset: number;
  /**
   * Bytes of samples the header declares. A streaming writer (eSpeak NG on stdout) cannot know it and
   * writes a placeholder near 2^31, so it is only an upper bound.
   */
  dataBytes: number;
}

/**
 * Reads a WAV header: the `fmt ` chunk and where the `data` chunk starts. Undefined when `bytes` is not
 * WAV, or holds too little of the header yet (read more and ask again).
 *
 * @example
 * ```ts
 * parseWavHeader(readFileSync('line.wav'))?.sampleRate; // 22050
 * ```
 */
export function parseWavHeader(bytes: Uint8Array): WavFormat | undefined {
  if (bytes.length < 12) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (ascii(bytes, 0, 4) !== 'RIFF' || ascii(bytes, 8, 4) !== 'WAVE') return undefined;
  let offset = 12;
  let format: Omit<WavFormat, 'dataOffset' | 'dataBytes'> | undefined;
  while (offset + 8 <= bytes.length) {
    const id = ascii(bytes, offset, 4);
    const size = view.getUint32(offset + 4, true);
    if (id === 'data') {
      if (!format) return undefined;
      return { ...format, dataOffset: offset + 8, dataBytes: size };
    }
    if (id === 'fmt ') {
      if (offset + 8 + 16 > bytes.length) return undefined;
      format = {
        audioFormat: view.getUint16(offset + 8, true),
        channels: view.getUint16(offset + 10, true),
        sampleRate: view.getUint32(offset + 12, true),
        bitsPerSample: view.getUint16(offset + 22, true),
      };
    }
    // Chunks are padded to an even size.
    offset += 8 + size + (size % 2);
  }
  return undefined;
}

/**
 * The 44-byte header of a 16-bit mono PCM WAV file holding `dataBytes` bytes of samples.
 *
 * @example
 * ```ts
 * const wav = Buffer.concat([wavHeader(24_000, pcm.length), pcm]);
 * ```
 */
export function wavHeader(sampleRate: number, dataBytes: number): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // integer PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28); // bytes per second
  header.writeUInt16LE(2, 32); // bytes per frame
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(dataBytes, 40);
  return header;
}

/**
 * Converts a stream of 16-bit mono samples from one rate to another as they arrive, by linear
 * interpolation: plenty for a synthetic voice, whose energy sits far below either Nyquist frequency.
 * Chunks may split a sample in two; the odd byte waits for the next chunk.
 */
export class Resampler {
  readonly #step: number;
  /** Output samples written so far; the next one sits at input position `#written * #step`. */
  #written = 0;
  /** Index, in the whole input, of the first sample of the next chunk. */
  #base = 0;
  /** The last input sample seen (index `#base - 1`), for interpolating across chunk boundaries. */
  #last = 0;
  #odd: number | undefined;

  constructor(inputRate: number, outputRate: number) {
    this.#step = inputRate / outputRate;
  }

  /** The output samples that `chunk` completes, as little-endian bytes. */
  push(chunk: Uint8Array): Buffer {
    let bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.#odd !== undefined) {
      bytes = Buffer.concat([Buffer.of(this.#odd), bytes]);
      this.#odd = undefined;
    }
    if (bytes.length % 2 === 1) {
      this.#odd = bytes[bytes.length - 1];
      bytes = bytes.subarray(0, bytes.length - 1);
    }
    const count = bytes.length / 2;
    if (count === 0) return Buffer.alloc(0);
    const base = this.#base;
    const sample = (index: number) => (index < base ? this.#last : bytes.readInt16LE((index - base) * 2));
    const end = base + count - 1;
    const out: number[] = [];
    for (;;) {
      const position = this.#written * this.#step;
      const index = Math.floor(position);
      if (index + 1 > end) break;
      const fraction = position - index;
      out.push(Math.round(sample(index) * (1 - fraction) + sample(index + 1) * fraction));
      this.#written++;
    }
    this.#last = bytes.readInt16LE((count - 1) * 2);
    this.#base += count;
    return toBytes(out);
  }

  /** The samples left at the very end, which have no next sample to interpolate towards. */
  flush(): Buffer {
    const out: number[] = [];
    while (this.#base > 0 && Math.floor(this.#written * this.#step) <= this.#base - 1) {
      out.push(this.#last);
      this.#written++;
    }
    return toBytes(out);
  }
}

function toBytes(samples: readonly number[]): Buffer {
  const out = Buffer.alloc(samples.length * 2);
  samples.forEach((value, i) => {
    out.writeInt16LE(Math.max(-32768, Math.min(32767, value)), i * 2);
  });
  return out;
}

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(offset, offset + length));
}
