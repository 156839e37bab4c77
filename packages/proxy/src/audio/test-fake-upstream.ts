/**
 * A fake OpenAI audio server for tests: a real HTTP server on loopback answering `/audio/speech` in chunks
 * (one at once, the rest when the test lets them go, so a test can see audio arrive before the clip is
 * finished) and `/audio/transcriptions` / `/audio/translations` in every response format, reading the
 * multipart upload as OpenAI would. Azure's deployment paths are answered too.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedAudioRequest {
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The JSON body of a speech request. */
  json?: Record<string, unknown>;
  /** The text fields of a multipart upload (`[]` fields as arrays). */
  fields?: Record<string, string | string[]>;
  file?: { name: string; type: string; bytes: Buffer };
}

export type AudioScript =
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  /** A transcript to answer with (in the requested format). */
  | { kind: 'transcript'; text: string }
  /** Speech sent as these chunks; when `hold` is set, only the first until `release()`. */
  | { kind: 'speech'; chunks: Buffer[]; hold?: boolean };

export interface FakeAudioUpstream {
  /** Base URL including `/v1`. */
  url: string;
  /** Origin only, for Azure's endpoint. */
  origin: string;
  requests: RecordedAudioRequest[];
  enqueue(...scripts: AudioScript[]): void;
  /** Sends the rest of a held speech answer. */
  release(): void;
  close(): Promise<void>;
}

/** What the fake hears in every upload, unless a script says otherwise. */
export const FAKE_TRANSCRIPT = 'Hello from the fake upstream.';

/** What each format's bytes start with, so a test can tell the answer is the one asked for. */
export const FORMAT_MAGIC: Readonly<Record<string, Buffer>> = {
  mp3: Buffer.from('ID3'),
  opus: Buffer.from('OggS'),
  aac: Buffer.from([0xff, 0xf1]),
  flac: Buffer.from('fLaC'),
  wav: Buffer.from('RIFF'),
  pcm: Buffer.alloc(0),
};

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  mp3: 'audio/mpeg',
  opus: 'audio/opus',
  aac: 'audio/aac',
  flac: 'audio/flac',
  wav: 'audio/wav',
  pcm: 'audio/pcm',
};

/** Default speech: the format's magic bytes, then three chunks of recognisable filler. */
export function fakeSpeech(format: string): Buffer[] {
  return [
    Buffer.concat([FORMAT_MAGIC[format] ?? Buffer.alloc(0), Buffer.alloc(1000, 1)]),
    Buffer.alloc(1000, 2),
    Buffer.alloc(1000, 3),
  ];
}

export async function startFakeAudioUpstream(): Promise<FakeAudioUpstream> {
  const queue: AudioScript[] = [];
  const requests: RecordedAudioRequest[] = [];
  let held: Array<() => void> = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const recorded = await readAudioRequest(req, Buffer.concat(chunks));
    requests.push(recorded);
    const script = queue.shift();
    const hold = () => new Promise<void>((resolve) => held.push(resolve));
    await answerAudioRequest(recorded, res, script, hold);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/v1`,
    origin,
    requests,
    enqueue: (...scripts) => queue.push(...scripts),
    release() {
      const waiting = held;
      held = [];
      for (const resolve of waiting) resolve();
    },
    close: () =>
      new Promise((resolve) => {
        for (const resolve of held) resolve();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Reads an audio request as OpenAI would: the JSON of a speech request, or the fields and file of a
 * multipart upload. (Also used by the chat fake upstream in test/support, which serves audio through it.)
 */
export async function readAudioRequest(req: IncomingMessage, raw: Buffer): Promise<RecordedAudioRequest> {
  const url = new URL(req.url ?? '/', 'http://x');
  const recorded: RecordedAudioRequest = {
    path: url.pathname,
    query: url.searchParams,
    headers: req.headers,
  };
  const type = req.headers['content-type'] ?? '';
  if (type.startsWith('multipart/form-data')) {
    const form = await new Request('http://x/', {
      method: 'POST',
      headers: { 'content-type': type },
      body: new Uint8Array(raw),
    }).formData();
    const fields: Record<string, string | string[]> = {};
    for (const [name, value] of form.entries()) {
      if (typeof value === 'string') {
        const list = fields[name];
        fields[name] = name.endsWith('[]') ? [...(Array.isArray(list) ? list : []), value] : value;
      } else {
        recorded.file = {
          name: value.name,
          type: value.type,
          bytes: Buffer.from(await value.arrayBuffer()),
        };
      }
    }
    recorded.fields = fields;
  } else if (raw.length > 0) {
    recorded.json = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  }
  return recorded;
}

/**
 * Answers an audio request in OpenAI's wire format: speech streamed in chunks (the first at once), a
 * transcript in the requested format, a scripted failure, or 404 for any other path. `hold` is awaited
 * after the first chunk of a `hold` script.
 */
export async function answerAudioRequest(
  recorded: RecordedAudioRequest,
  res: ServerResponse,
  script?: AudioScript,
  hold: () => Promise<void> = async () => {},
): Promise<void> {
  if (script?.kind === 'status') {
    res.writeHead(script.status, { 'content-type': 'application/json', ...script.headers });
    res.end(
      JSON.stringify(
        script.body ?? {
          error: {
            message: `Fake failure ${script.status}`,
            type: 'server_error',
            param: null,
            code: null,
          },
        },
      ),
    );
    return;
  }
  const path = recorded.path;
  if (path.endsWith('/audio/speech')) {
    const format = String(recorded.json?.['response_format'] ?? 'mp3');
    const parts = script?.kind === 'speech' ? script.chunks : fakeSpeech(format);
    res.writeHead(200, { 'content-type': CONTENT_TYPES[format] ?? 'application/octet-stream' });
    const [first, ...rest] = parts;
    if (first) res.write(first);
    if (script?.kind === 'speech' && script.hold) await hold();
    for (const part of rest) {
      if (res.destroyed) return;
      res.write(part);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    res.end();
    return;
  }
  if (path.endsWith('/audio/transcriptions') || path.endsWith('/audio/translations')) {
    const text = script?.kind === 'transcript' ? script.text : FAKE_TRANSCRIPT;
    const format = String(recorded.fields?.['response_format'] ?? 'json');
    const [contentType, body] = transcriptBody(format, text);
    res.writeHead(200, { 'content-type': contentType });
    res.end(body);
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      error: { message: 'Not found', type: 'invalid_request_error', param: null, code: null },
    }),
  );
}

function transcriptBody(format: string, text: string): [string, string] {
  switch (format) {
    case 'text':
      return ['text/plain; charset=utf-8', `${text}\n`];
    case 'srt':
      return ['text/plain; charset=utf-8', `1\n00:00:00,000 --> 00:00:02,000\n${text}\n\n`];
    case 'vtt':
      return ['text/vtt; charset=utf-8', `WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n${text}\n\n`];
    case 'verbose_json':
      return [
        'application/json',
        JSON.stringify({ task: 'transcribe', language: 'english', duration: 2, text, segments: [] }),
      ];
    default:
      return ['application/json', JSON.stringify({ text, usage: { type: 'duration', seconds: 2 } })];
  }
}
