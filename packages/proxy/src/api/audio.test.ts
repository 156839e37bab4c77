import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProxy } from '../app.js';
import {
  type FakeAudioUpstream,
  FORMAT_MAGIC,
  fakeSpeech,
  startFakeAudioUpstream,
} from '../audio/test-fake-upstream.js';
import { parseWavHeader, wavHeader } from '../audio/wav.js';
import { loadConfig } from '../config.js';
import { OPENAI_VOICES } from '../policy/policy.js';
import { SPEECH_FORMATS } from '../schemas/audio.js';

/** Runs real programs: on a loaded two-core machine that takes more than vitest's default. */
const SLOW_MS = 60_000;

const SECRET = 'sk-test-audio-secret-98765';
type Proxy = Awaited<ReturnType<typeof createProxy>>;

/** `seconds` of a 440 Hz tone as 24 kHz 16-bit mono WAV. */
function toneWav(seconds: number): Buffer {
  const count = Math.round(seconds * 24_000);
  const pcm = Buffer.alloc(count * 2);
  for (let i = 0; i < count; i++)
    pcm.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 24_000)), i * 2);
  return Buffer.concat([wavHeader(24_000, pcm.length), pcm]);
}

/** A Blob of some bytes (copied: a Buffer may sit on a shared pool). */
const blob = (bytes: Uint8Array | string) =>
  new Blob([typeof bytes === 'string' ? bytes : new Uint8Array(bytes)]);

function policyFile(content: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'parley-audio-policy-')), 'parley.json');
  writeFileSync(path, JSON.stringify(content));
  return path;
}

async function start(env: Record<string, string>): Promise<{ proxy: Proxy; url: string }> {
  const proxy = await createProxy(
    loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      PARLEY_LOG: 'silent',
      PARLEY_PLAYER_REQUESTS_PER_MINUTE: 'off',
      ...env,
    }),
  );
  return { proxy, url: await proxy.listen() };
}

const sdk = (url: string, player = 'audio-player') =>
  new OpenAI({
    baseURL: `${url}/v1`,
    apiKey: 'anything',
    maxRetries: 0,
    defaultHeaders: { 'x-parley-player': player },
  });

const post = (url: string, path: string, body: unknown, player = 'audio-player') =>
  fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-parley-player': player },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

async function errorOf(
  response: Response,
): Promise<{ status: number; code: string; param: string | null; message: string }> {
  const body = (await response.json()) as { error: { code: string; param: string | null; message: string } };
  return { status: response.status, ...body.error };
}

function upload(
  url: string,
  path: string,
  file: Blob,
  fields: Record<string, string>,
  player = 'audio-player',
) {
  const form = new FormData();
  form.set('file', file, 'clip.wav');
  for (const [name, value] of Object.entries(fields)) form.set(name, value);
  return fetch(`${url}${path}`, { method: 'POST', headers: { 'x-parley-player': player }, body: form });
}

/** Sends raw bytes on a socket and reads the first response's status line. */
function rawExchange(url: string, head: string, body: Buffer, endAfter = true): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    let answer = '';
    socket.on('data', (data) => {
      answer += data.toString('latin1');
    });
    socket.on('error', () => resolve(answer));
    socket.on('close', () => resolve(answer));
    socket.write(head);
    socket.write(body);
    if (endAfter) socket.end();
    setTimeout(() => socket.destroy(), 3000);
  });
}

describe('audio, offline (no key)', () => {
  let proxy: Proxy;
  let url: string;
  beforeAll(async () => {
    ({ proxy, url } = await start({}));
  });
  afterAll(() => proxy.close());

  it(
    'speaks every format through the official SDK, streamed, in the voice asked for',
    async () => {
      const client = sdk(url);
      for (const format of SPEECH_FORMATS) {
        const response = await client.audio.speech.create({
          model: 'gpt-4o-mini-tts',
          voice: 'coral',
          input: 'The smithy is by the river, and the inn is up the hill.',
          response_format: format,
        });
        expect(response.status).toBe(200);
        const reads: Uint8Array[] = [];
        for await (const chunk of response.body!) reads.push(chunk);
        const bytes = Buffer.concat(reads);
        expect(bytes.length, format).toBeGreaterThan(1000);
        if (format === 'pcm') expect(reads.length).toBeGreaterThan(1);
        if (format !== 'pcm')
          expect(bytes.subarray(0, FORMAT_MAGIC[format]!.length).equals(FORMAT_MAGIC[format]!), format).toBe(
            true,
          );
        if (format === 'wav') expect(parseWavHeader(bytes)?.sampleRate).toBe(24_000);
      }
      // mp3 when no format is named, as OpenAI answers.
      const plain = await client.audio.speech.create({ model: 'tts-1', voice: 'onyx', input: 'Hello.' });
      expect(plain.headers.get('content-type')).toBe('audio/mpeg');
    },
    SLOW_MS,
  );

  it('says that no transcription model is configured, so the game can use the browser’s recognition', async () => {
    const error = await sdk(url)
      .audio.transcriptions.create({ file: await toFile(toneWav(1), 'clip.wav'), model: 'whisper-1' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).message).toMatch(
      /No transcription model is configured.*speech recognition/,
    );
    const translation = await upload(url, '/v1/audio/translations', blob(toneWav(1)), {
      model: 'whisper-1',
    });
    expect(translation.status).toBe(400);
    // Asked with no file at all, it says the same before reading anything: the kit's `transcribes()`.
    const form = new FormData();
    form.set('model', 'whisper-1');
    const probe = await fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', body: form });
    expect(await errorOf(probe)).toMatchObject({ status: 400, code: 'invalid_value', param: 'model' });
  });

  it('answers bad speech requests with OpenAI errors, never a 500', async () => {
    const ok = { model: 'tts-1', voice: 'alloy', input: 'Hello.' };
    const cases: Array<[unknown, number, string, string | null]> = [
      [{ ...ok, input: '' }, 400, 'invalid_value', 'input'],
      [{ ...ok, input: ' \n\t ' }, 400, 'invalid_value', 'input'],
      [{ ...ok, input: 'a'.repeat(4097) }, 400, 'invalid_value', 'input'],
      [{ ...ok, voice: 'darth' }, 400, 'invalid_value', 'voice'],
      [{ ...ok, voice: { id: 'voice_1234' } }, 400, 'invalid_value', 'voice'],
      [{ ...ok, response_format: 'ogg' }, 400, 'invalid_value', 'response_format'],
      [{ ...ok, model: 'gpt-4o' }, 400, 'model_not_allowed', 'model'],
      [{ ...ok, speed: 9 }, 400, 'invalid_value', 'speed'],
      [{ ...ok, stream_format: 'sse' }, 400, 'invalid_value', 'stream_format'],
      [{ model: 'tts-1', input: 'Hello.' }, 400, 'missing_required_parameter', 'voice'],
      [{ ...ok, extra: 1 }, 400, 'unknown_parameter', 'extra'],
      ['{"model":', 400, 'invalid_json', null],
    ];
    for (const [body, status, code, param] of cases) {
      const error = await errorOf(await post(url, '/v1/audio/speech', body));
      expect(error, JSON.stringify(body).slice(0, 80)).toMatchObject({ status, code, param });
    }
    expect((await post(url, '/v1/audio/speech', { ...ok, input: 'a'.repeat(4096) })).status).toBe(200);
  });

  it(
    'holds its cap on eSpeak processes under a crowd: every answer is audio or a 429',
    async () => {
      const responses = await Promise.all(
        Array.from({ length: 48 }, (_, i) =>
          post(
            url,
            '/v1/audio/speech',
            {
              model: 'tts-1',
              voice: 'sage',
              input: `Line number ${i} of the crowd.`,
              response_format: 'wav',
            },
            `crowd-${i}`,
          ),
        ),
      );
      const statuses = responses.map((response) => response.status);
      await Promise.all(responses.map((response) => response.arrayBuffer()));
      expect(
        statuses.every((status) => status === 200 || status === 429),
        statuses.join(','),
      ).toBe(true);
      expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(34);
      expect(proxy.metrics.render()).not.toContain('server_error');
    },
    SLOW_MS,
  );
});

describe('audio through an upstream', () => {
  let fake: FakeAudioUpstream;
  let proxy: Proxy;
  let url: string;
  const seen: string[] = [];
  beforeAll(async () => {
    fake = await startFakeAudioUpstream();
    ({ proxy, url } = await start({
      OPENAI_BASE_URL: fake.url,
      OPENAI_API_KEY: SECRET,
      PARLEY_MODEL: 'fake-model',
      PARLEY_MODERATION: 'local',
      PARLEY_PLAYER_TOKENS_PER_MINUTE: '2000',
      PARLEY_CONFIG: policyFile({
        voices: [...OPENAI_VOICES, 'voice_custom1'],
        maxAudioBytes: 300_000,
        maxAudioSeconds: 5,
      }),
    }));
  });
  afterAll(async () => {
    await proxy.close();
    await fake.close();
    for (const body of seen) expect(body).not.toContain(SECRET);
  });

  it('passes speech to the upstream in every format and streams it back as it arrives', async () => {
    const client = sdk(url);
    for (const format of SPEECH_FORMATS) {
      const chunks = fakeSpeech(format);
      fake.enqueue({ kind: 'speech', chunks, hold: true });
      const response = await client.audio.speech.create({
        model: 'gpt-4o-mini-tts',
        voice: 'ballad',
        input: 'Mind the geese.',
        instructions: 'Gruff.',
        speed: 1.25,
        response_format: format,
      });
      const reader = response.body!.getReader();
      // The upstream has sent its first chunk only: the player already has it.
      const first = await reader.read();
      expect(Buffer.from(first.value!).equals(chunks[0]!.subarray(0, first.value!.length)), format).toBe(
        true,
      );
      fake.release();
      const rest: Uint8Array[] = [first.value!];
      for (let next = await reader.read(); !next.done; next = await reader.read()) rest.push(next.value);
      expect(Buffer.concat(rest).equals(Buffer.concat(chunks)), format).toBe(true);
      const sent = fake.requests.at(-1)!;
      expect(sent.path).toBe('/v1/audio/speech');
      expect(sent.headers.authorization).toBe(`Bearer ${SECRET}`);
      expect(sent.json).toEqual({
        model: 'gpt-4o-mini-tts',
        voice: 'ballad',
        input: 'Mind the geese.',
        instructions: 'Gruff.',
        speed: 1.25,
        response_format: format,
      });
    }
    // A custom voice the policy lists goes on as the object it is.
    await (
      await client.audio.speech.create({ model: 'tts-1', voice: { id: 'voice_custom1' }, input: 'Hi.' })
    ).arrayBuffer();
    expect(fake.requests.at(-1)!.json?.['voice']).toEqual({ id: 'voice_custom1' });
  });

  it('maps upstream failures without a byte of the key', async () => {
    fake.enqueue({
      kind: 'status',
      status: 401,
      body: {
        error: {
          message: `Incorrect API key provided: ${SECRET}`,
          type: 'invalid_request_error',
          code: 'invalid_api_key',
        },
      },
    });
    const refused = await post(url, '/v1/audio/speech', { model: 'tts-1', voice: 'alloy', input: 'Hi.' });
    const text = await refused.text();
    seen.push(text);
    expect(refused.status).toBe(502);
    expect(JSON.parse(text).error.code).toBe('upstream_auth_failed');
    fake.enqueue({
      kind: 'status',
      status: 400,
      body: {
        error: {
          message: `Voice not found for key ${SECRET}`,
          type: 'invalid_request_error',
          param: 'voice',
          code: null,
        },
      },
    });
    const bad = await post(url, '/v1/audio/speech', { model: 'tts-1', voice: 'alloy', input: 'Hi.' });
    const badText = await bad.text();
    seen.push(badText);
    expect(bad.status).toBe(400);
    expect(badText).toContain('[redacted]');
  });

  it('counts speech characters against the player’s budget', async () => {
    const player = 'budget-player';
    const speak = (input: string) =>
      post(url, '/v1/audio/speech', { model: 'tts-1', voice: 'echo', input }, player);
    // Larger than the per-minute token limit alone: a 400 saying so, not a 429 forever.
    expect((await errorOf(await speak('a'.repeat(2001)))).status).toBe(400);
    for (const input of ['b'.repeat(800), 'c'.repeat(800)]) {
      const spoken = await speak(input);
      expect(spoken.status).toBe(200);
      await spoken.arrayBuffer();
    }
    const usage = await proxy.limiter.usage({ player: `dev:${player}` });
    expect(usage.minute.tokens).toBe(1600);
    // tts-1 is $15 per million characters.
    expect(usage.day.costUsd).toBeCloseTo(1600 * 15e-6, 9);
    const third = await errorOf(await speak('d'.repeat(800)));
    expect(third).toMatchObject({ status: 429, code: 'rate_limit_exceeded' });
  });

  it('holds the budget when one player asks for many clips at once', async () => {
    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        post(url, '/v1/audio/speech', { model: 'tts-1', voice: 'echo', input: `${i}`.repeat(600) }, 'greedy'),
      ),
    );
    const statuses = responses.map((response) => response.status);
    await Promise.all(responses.map((response) => response.arrayBuffer()));
    expect(
      statuses.every((status) => status === 200 || status === 429),
      statuses.join(','),
    ).toBe(true);
    // 2,000 characters a minute hold three clips of 600, whatever the order they arrive in.
    const spoken = statuses.filter((status) => status === 200).length;
    expect(spoken).toBeGreaterThanOrEqual(1);
    expect(spoken).toBeLessThanOrEqual(3);
    const usage = await proxy.limiter.usage({ player: 'dev:greedy' });
    expect(usage.minute.tokens).toBe(spoken * 600);
  });

  it('moderates what it is asked to say', async () => {
    const error = await errorOf(
      await post(url, '/v1/audio/speech', { model: 'tts-1', voice: 'echo', input: 'You shit.' }),
    );
    expect(error).toMatchObject({ status: 400, code: 'moderation_flagged', param: 'input' });
  });

  it('transcribes and translates through the official SDK, the upload passed on intact', async () => {
    const client = sdk(url);
    const clip = toneWav(1.5);
    const transcript = await client.audio.transcriptions.create({
      file: await toFile(clip, 'question.wav'),
      model: 'whisper-1',
      language: 'en',
      prompt: 'Brom the smith',
      timestamp_granularities: ['segment'],
      response_format: 'verbose_json',
    });
    expect(transcript.text).toBe('Hello from the fake upstream.');
    const sent = fake.requests.at(-1)!;
    expect(sent.path).toBe('/v1/audio/transcriptions');
    expect(sent.file?.bytes.equals(clip)).toBe(true);
    expect(sent.file?.type).toBe('audio/wav');
    expect(sent.fields).toMatchObject({
      model: 'whisper-1',
      language: 'en',
      prompt: 'Brom the smith',
      response_format: 'verbose_json',
      'timestamp_granularities[]': ['segment'],
    });
    fake.enqueue({ kind: 'transcript', text: 'Where is the mill?' });
    const text = await client.audio.transcriptions.create({
      file: await toFile(clip, 'q.wav'),
      model: 'gpt-4o-mini-transcribe',
      response_format: 'text',
    });
    expect(String(text).trim()).toBe('Where is the mill?');
    const translation = await client.audio.translations.create({
      file: await toFile(clip, 'q.wav'),
      model: 'whisper-1',
    });
    expect(translation.text).toBe('Hello from the fake upstream.');
    expect(fake.requests.at(-1)!.path).toBe('/v1/audio/translations');
  });

  it('refuses a transcript that moderation flags, in every format', async () => {
    for (const response_format of ['json', 'text', 'srt', 'vtt', 'verbose_json']) {
      fake.enqueue({ kind: 'transcript', text: 'kill yourself' });
      const error = await errorOf(
        await upload(url, '/v1/audio/transcriptions', blob(toneWav(1)), {
          model: 'whisper-1',
          response_format,
        }),
      );
      expect(error, response_format).toMatchObject({ status: 400, code: 'moderation_flagged' });
    }
  });

  it('answers bad uploads with OpenAI errors, never a 500', async () => {
    const sent = fake.requests.length;
    const cases: Array<[Response, number, string, string | null]> = [
      // Text dressed up as a WAV file.
      [
        await upload(url, '/v1/audio/transcriptions', blob('just words, not sound'), {
          model: 'whisper-1',
        }),
        400,
        'invalid_value',
        'file',
      ],
      // An image.
      [
        await upload(url, '/v1/audio/transcriptions', blob(Buffer.from('\x89PNG\r\n\x1a\n0000')), {
          model: 'whisper-1',
        }),
        400,
        'invalid_value',
        'file',
      ],
      // Longer than the policy's 5 seconds.
      [
        await upload(url, '/v1/audio/transcriptions', blob(toneWav(5.5)), { model: 'whisper-1' }),
        400,
        'invalid_value',
        'file',
      ],
      // Larger than the policy's 300,000 bytes.
      [
        await upload(url, '/v1/audio/transcriptions', blob(toneWav(8)), { model: 'whisper-1' }),
        413,
        'body_too_large',
        'file',
      ],
      [
        await upload(url, '/v1/audio/transcriptions', blob(toneWav(1)), { model: 'gpt-4o' }),
        400,
        'model_not_allowed',
        'model',
      ],
      [
        await upload(url, '/v1/audio/transcriptions', blob(toneWav(1)), {
          model: 'whisper-1',
          stream: 'true',
        }),
        400,
        'invalid_value',
        'stream',
      ],
      [
        await upload(url, '/v1/audio/transcriptions', blob(toneWav(1)), {
          model: 'whisper-1',
          response_format: 'mp3',
        }),
        400,
        'invalid_value',
        'response_format',
      ],
      [
        await upload(url, '/v1/audio/transcriptions', blob(toneWav(1)), {
          model: 'whisper-1',
          ['__proto__' as string]: 'x',
        }),
        400,
        'unknown_parameter',
        '__proto__',
      ],
      [
        await upload(url, '/v1/audio/translations', blob(toneWav(1)), {
          model: 'whisper-1',
          language: 'en',
        }),
        400,
        'unknown_parameter',
        'language',
      ],
      [await post(url, '/v1/audio/transcriptions', { model: 'whisper-1' }), 400, 'invalid_value', 'file'],
    ];
    const form = new FormData();
    form.set('model', 'whisper-1');
    cases.push([
      await fetch(`${url}/v1/audio/transcriptions`, {
        method: 'POST',
        headers: { 'x-parley-player': 'p' },
        body: form,
      }),
      400,
      'missing_required_parameter',
      'file',
    ]);
    for (const [response, status, code, param] of cases) {
      expect(await errorOf(response), `${status} ${code}`).toMatchObject({ status, code, param });
    }
    // None of them reached the upstream.
    expect(fake.requests.length).toBe(sent);
  });

  it('holds the size cap against bodies that lie about their size', async () => {
    const boundary = 'parleyboundary';
    const multipart = (bytes: Buffer) =>
      Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n`),
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n`,
        ),
        bytes,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
    const head = (extra: string) =>
      `POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nX-Parley-Player: liar\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\n${extra}\r\n`;
    // Declares more than the cap: refused before a byte of the body is read.
    expect(await rawExchange(url, head('Content-Length: 50000000\r\n'), Buffer.alloc(0))).toMatch(
      /^HTTP\/1\.1 413/,
    );
    // Declares nothing (chunked) and sends more than the cap: refused while reading.
    const big = multipart(toneWav(8));
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${url}/v1/audio/transcriptions`, {
        method: 'POST',
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'x-parley-player': 'liar' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let at = 0; at < big.length; at += 16_384) req.write(big.subarray(at, at + 16_384));
      req.end();
    });
    expect(chunked).toBe(413);
    // Declares less than it sends: the body is cut where it said, and the cut multipart is a 400.
    const small = multipart(toneWav(1));
    expect(await rawExchange(url, head('Content-Length: 300\r\n'), small, false)).toMatch(/^HTTP\/1\.1 400/);
    // Declares more than it sends, then hangs up: no answer to give, and no 500 either.
    await rawExchange(url, head(`Content-Length: ${small.length + 5000}\r\n`), small);
    const after = await upload(url, '/v1/audio/transcriptions', blob(toneWav(1)), {
      model: 'whisper-1',
    });
    expect(after.status).toBe(200);
    expect(proxy.metrics.render()).not.toContain('server_error');
  });
});

describe('audio through Azure OpenAI', () => {
  it('puts the audio model in the deployment path, not the chat deployment', async () => {
    const fake = await startFakeAudioUpstream();
    const { proxy, url } = await start({
      AZURE_OPENAI_ENDPOINT: fake.origin,
      AZURE_OPENAI_API_KEY: SECRET,
      AZURE_OPENAI_DEPLOYMENT: 'chat-deployment',
    });
    try {
      const client = sdk(url);
      const speech = await client.audio.speech.create({
        model: 'tts-1',
        voice: 'nova',
        input: 'Hi.',
        response_format: 'wav',
      });
      expect(Buffer.from(await speech.arrayBuffer()).equals(Buffer.concat(fakeSpeech('wav')))).toBe(true);
      const spoken = fake.requests.at(-1)!;
      expect(spoken.path).toBe('/openai/deployments/tts-1/audio/speech');
      expect(spoken.query.get('api-version')).toBeTruthy();
      expect(spoken.headers['api-key']).toBe(SECRET);
      const transcript = await client.audio.transcriptions.create({
        file: await toFile(toneWav(1), 'a.wav'),
        model: 'whisper-1',
      });
      expect(transcript.text).toBe('Hello from the fake upstream.');
      expect(fake.requests.at(-1)!.path).toBe('/openai/deployments/whisper-1/audio/transcriptions');
    } finally {
      await proxy.close();
      await fake.close();
    }
  });
});
