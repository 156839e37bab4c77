/**
 * What an uploaded file really is, from its bytes rather than its name or declared type, and how long it
 * plays: the transcription caps are enforced on what the file holds.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findProgram } from './programs.js';
import { parseWavHeader } from './wav.js';

/** The containers OpenAI's transcription accepts (flac, mp3, mp4/m4a, mpeg/mpga, ogg, wav, webm). */
export type AudioContainer = 'wav' | 'mp3' | 'flac' | 'ogg' | 'webm' | 'mp4';

/** The MIME type each container is sent upstream with, whatever the client called it. */
export const CONTAINER_TYPES: Readonly<Record<AudioContainer, string>> = {
  wav: 'audio/wav',
  mp3: 'audio/mpeg',
  flac: 'audio/flac',
  ogg: 'audio/ogg',
  webm: 'audio/webm',
  mp4: 'audio/mp4',
};

const startsWith = (bytes: Uint8Array, text: string, at = 0) =>
  bytes.length >= at + text.length && [...text].every((char, i) => bytes[at + i] === char.charCodeAt(0));

/**
 * The container `bytes` start with, or undefined when they are not audio OpenAI could read (a text
 * file, an image, a renamed executable).
 *
 * @example
 * ```ts
 * sniffAudio(new TextEncoder().encode('RIFF....WAVEfmt ')); // 'wav'
 * ```
 */
export function sniffAudio(bytes: Uint8Array): AudioContainer | undefined {
  if (startsWith(bytes, 'RIFF') && startsWith(bytes, 'WAVE', 8)) return 'wav';
  if (startsWith(bytes, 'fLaC')) return 'flac';
  if (startsWith(bytes, 'OggS')) return 'ogg';
  if (bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3) return 'webm';
  if (startsWith(bytes, 'ftyp', 4)) return 'mp4';
  if (startsWith(bytes, 'ID3')) return 'mp3';
  // An MPEG audio frame header: 11 sync bits, then a layer that is not "reserved".
  if (bytes[0] === 0xff && bytes[1] !== undefined && (bytes[1] & 0xe0) === 0xe0 && (bytes[1] & 0x06) !== 0)
    return 'mp3';
  return undefined;
}

/**
 * Seconds of audio in a file: read from the header for WAV; for the compressed containers counted by
 * `ffprobe` (from Debian's `ffmpeg`), which reads every packet, since a browser's `MediaRecorder` writes
 * WebM without a duration. `undefined` when it cannot be told (ffprobe is not installed); `null` when
 * the file claims to be audio but cannot be read as such.
 */
export async function audioSeconds(
  bytes: Uint8Array,
  container: AudioContainer,
  options: { path?: string; timeoutMs?: number } = {},
): Promise<number | null | undefined> {
  if (container === 'wav') {
    const format = parseWavHeader(bytes);
    if (!format || format.channels === 0 || format.bitsPerSample === 0 || format.sampleRate === 0)
      return null;
    const bytesPerSecond = format.sampleRate * format.channels * Math.ceil(format.bitsPerSample / 8);
    const dataBytes = Math.min(format.dataBytes, bytes.length - format.dataOffset);
    return Math.max(0, dataBytes) / bytesPerSecond;
  }
  const ffprobe = await findProgram('ffprobe', options.path);
  if (!ffprobe) return undefined;
  // A file, not a pipe: an MP4 keeps its index at the end, which ffprobe can only reach by seeking.
  const directory = await mkdtemp(join(tmpdir(), 'parley-audio-'));
  try {
    const file = join(directory, `upload.${container}`);
    await writeFile(file, bytes);
    const output = await run(
      ffprobe,
      [
        '-v',
        'error',
        '-select_streams',
        'a:0',
        '-show_entries',
        'packet=pts_time,duration_time',
        '-of',
        'csv=p=0',
        file,
      ],
      options.timeoutMs ?? 10_000,
    );
    if (output === undefined) return null;
    let end = 0;
    let packets = 0;
    for (const line of output.split('\n')) {
      const [pts, duration] = line.split(',').map(Number);
      if (pts === undefined || !Number.isFinite(pts)) continue;
      packets++;
      end = Math.max(end, pts + (duration !== undefined && Number.isFinite(duration) ? duration : 0));
    }
    return packets === 0 ? null : end;
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/** A program's stdout, or undefined when it failed or ran out of time. */
function run(program: string, args: readonly string[], timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(program, args, {
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    let output = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      // A packet line is ~20 bytes: 4 MB is hours of audio, far beyond any cap.
      if (output.length < 4_000_000) output += text;
    });
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => resolve(code === 0 ? output : undefined));
  });
}
