import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTransport, lazyWebBody } from './transport.js';

/** A real local server; each test sets what it answers. */
let server: Server;
let base: string;
let handle: (req: IncomingMessage, res: ServerResponse, body: string) => void;
const closed: string[] = [];

beforeEach(async () => {
  closed.length = 0;
  server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    res.on('close', () => {
      if (!res.writableFinished) closed.push(req.url ?? '');
    });
    handle(req, res, body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(condition()).toBe(true);
}

/** An SSE body written a frame at a time, `gapMs` apart; ends after `frames`. */
function streamFrames(res: ServerResponse, frames: number, gapMs: number): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  let sent = 0;
  const timer = setInterval(() => {
    if (res.destroyed) return clearInterval(timer);
    if (sent === frames) {
      clearInterval(timer);
      return res.end('data: [DONE]\n\n');
    }
    res.write(`data: {"n":${sent++}}\n\n`);
    return undefined;
  }, gapMs);
}

describe('transport fetch', () => {
  it('sends method, headers and body, and answers with status, headers and the body', async () => {
    handle = (req, res, body) => {
      res.writeHead(201, { 'content-type': 'application/json', 'x-request-id': 'req_1' });
      res.end(JSON.stringify({ method: req.method, auth: req.headers.authorization, body }));
    };
    const { fetch } = createTransport();
    const response = await fetch(`${base}/v1/echo`, {
      method: 'post',
      headers: { authorization: 'Bearer sk-x', 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-request-id')).toBe('req_1');
    expect(response.url).toBe(`${base}/v1/echo`);
    expect(await response.json()).toEqual({ method: 'POST', auth: 'Bearer sk-x', body: '{"a":1}' });
  });

  it('reuses the connection for the next request', async () => {
    const ports = new Set<number>();
    handle = (req, res) => {
      ports.add(req.socket.remotePort ?? 0);
      res.end('ok');
    };
    const { fetch } = createTransport();
    for (let i = 0; i < 3; i++) await (await fetch(`${base}/`)).text();
    expect(ports.size).toBe(1);
  });

  it('rejects with an AbortError before the answer, and the server sees the request go', async () => {
    let arrived = false;
    handle = () => {
      arrived = true; // and never answers
    };
    const { fetch } = createTransport();
    const controller = new AbortController();
    const pending = fetch(`${base}/hang`, { signal: controller.signal });
    await until(() => arrived);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    await until(() => closed.includes('/hang'));
  });

  it('errors the body with an AbortError when aborted mid-stream, and closes the connection', async () => {
    handle = (_req, res) => streamFrames(res, 1000, 5);
    const { fetch } = createTransport();
    const controller = new AbortController();
    const response = await fetch(`${base}/stream`, { signal: controller.signal });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await expect(
      (async () => {
        for (;;) if ((await reader.read()).done) return 'ended';
      })(),
    ).rejects.toMatchObject({ name: 'AbortError' });
    await until(() => closed.includes('/stream'));
  });

  it('reports a refused connection as a TypeError with the cause, as fetch does', async () => {
    const { fetch } = createTransport();
    const port = (server.address() as AddressInfo).port;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    const failure = await fetch(`http://127.0.0.1:${port}/`).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TypeError);
    expect((failure as TypeError).cause).toMatchObject({ code: 'ECONNREFUSED' });
    server = createServer().listen(0); // for afterEach
  });

  it('refuses bodies it cannot send rather than sending something else', async () => {
    const { fetch } = createTransport();
    await expect(
      fetch(`${base}/`, { method: 'POST', body: new URLSearchParams({ a: '1' }) }),
    ).rejects.toBeInstanceOf(TypeError);
  });
});

describe('transport rawBody', () => {
  it('hands over the Node stream of an unread response, with every byte', async () => {
    handle = (_req, res) => streamFrames(res, 50, 1);
    const transport = createTransport();
    const response = await transport.fetch(`${base}/stream`);
    const raw = transport.rawBody(response);
    expect(raw).toBeDefined();
    let text = '';
    for await (const chunk of raw!) text += chunk;
    expect(text.match(/"n":\d+/g)).toHaveLength(50);
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(transport.rawBody(response)).toBeUndefined(); // once only
  });

  it('is not available once the web body was read, nor for responses from elsewhere', async () => {
    handle = (_req, res) => res.end('body');
    const transport = createTransport();
    const response = await transport.fetch(`${base}/`);
    expect(await response.text()).toBe('body');
    expect(transport.rawBody(response)).toBeUndefined();
    expect(transport.rawBody(new Response('x'))).toBeUndefined();
  });

  it('stops reading the socket while the web body is not being read', async () => {
    let written = 0;
    handle = (_req, res) => {
      res.writeHead(200);
      const chunk = 'x'.repeat(64 * 1024);
      const pump = () => {
        while (!res.destroyed && written < 64 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    };
    const { fetch } = createTransport();
    const response = await fetch(`${base}/big`);
    const reader = response.body!.getReader();
    await reader.read();
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The server could write 64 MB; with nobody reading, what left it is bounded by socket buffers and
    // the few chunks the web body holds.
    expect(written).toBeLessThan(16 * 1024 * 1024);
    await reader.cancel();
  });
});

describe('the openai SDK over the transport', () => {
  const client = (transport = createTransport()) =>
    new OpenAI({ apiKey: 'sk-test', baseURL: `${base}/v1`, maxRetries: 0, fetch: transport.fetch });

  it('streams a chat completion', async () => {
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const word of ['Hello', ' there']) {
        res.write(
          `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: { content: word }, finish_reason: null }] })}\n\n`,
        );
      }
      res.end('data: [DONE]\n\n');
    };
    const stream = await client().chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Hello there');
  });

  it('turns an error status into the SDK’s APIError with the status and body', async () => {
    handle = (_req, res) => {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '2' });
      res.end(
        JSON.stringify({ error: { message: 'Slow down', type: 'requests', code: 'rate_limit_exceeded' } }),
      );
    };
    const failure = await client()
      .chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(APIError);
    expect(failure).toMatchObject({ status: 429, code: 'rate_limit_exceeded' });
    expect((failure as APIError).headers?.get('retry-after')).toBe('2');
  });

  it('maps an abort to APIUserAbortError and a dead server to APIConnectionError', async () => {
    handle = () => {};
    const controller = new AbortController();
    const pending = client().chat.completions.create(
      { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toBeInstanceOf(APIUserAbortError);

    const dead = new OpenAI({
      apiKey: 'sk-test',
      baseURL: 'http://127.0.0.1:1/v1',
      maxRetries: 0,
      fetch: createTransport().fetch,
    });
    await expect(
      dead.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toBeInstanceOf(APIConnectionError);
  });

  it('honours the SDK’s own timeout', async () => {
    handle = () => {};
    const slow = new OpenAI({
      apiKey: 'sk-test',
      baseURL: `${base}/v1`,
      maxRetries: 0,
      timeout: 100,
      fetch: createTransport().fetch,
    });
    const started = performance.now();
    await expect(
      slow.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toBeInstanceOf(APIConnectionTimeoutError);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('lazyWebBody', () => {
  it('ignores a Node stream that ends or fails after the reader cancelled', async () => {
    const source = new PassThrough();
    const reader = lazyWebBody(source).getReader();
    const first = reader.read();
    source.write('data: 1\n\n');
    expect((await first).done).toBe(false);
    await reader.cancel();
    // What a socket whose end was already scheduled does after the cancel: neither may throw.
    expect(() => source.emit('end')).not.toThrow();
    expect(() => source.emit('error', new Error('late'))).not.toThrow();
    expect(() => source.emit('data', Buffer.from('late'))).not.toThrow();
  });

  it('ignores an end after an error, and reports the error as given', async () => {
    const source = new PassThrough();
    const reader = lazyWebBody(source, { failure: () => new Error('mapped') }).getReader();
    const pending = reader.read();
    await new Promise((resolve) => setImmediate(resolve)); // the first read has started reading the source
    source.emit('error', new Error('socket hang up'));
    await expect(pending).rejects.toThrow('mapped');
    expect(() => source.emit('end')).not.toThrow();
  });
});
