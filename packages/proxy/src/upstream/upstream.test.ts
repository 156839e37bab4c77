import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { ProxyError } from '../errors.js';
import { AbortedError, createUpstream, readTurn, type TurnEvent } from './upstream.js';

const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk' as const, created: 1, model: 'm' };
function chunk(delta: Record<string, unknown>, finish: string | null = null): ChatCompletionChunk {
  return {
    ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  } as ChatCompletionChunk;
}
async function* from(chunks: ChatCompletionChunk[]) {
  yield* chunks;
}
async function collect(chunks: ChatCompletionChunk[]): Promise<TurnEvent[]> {
  const out: TurnEvent[] = [];
  for await (const event of readTurn(from(chunks))) out.push(event);
  return out;
}

describe('readTurn', () => {
  it('skips empty choices (Azure filter chunks) and reads the usage chunk', async () => {
    const events = await collect([
      { ...base, choices: [] } as ChatCompletionChunk,
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: 'Well met' }),
      chunk({}, 'stop'),
      {
        ...base,
        choices: [],
        usage: { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 },
      } as ChatCompletionChunk,
    ]);
    expect(events).toEqual([
      { type: 'text', delta: 'Well met' },
      { type: 'finish', reason: 'stop' },
      { type: 'usage', usage: { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 } },
    ]);
  });

  it('passes tool-call fragments through keyed by index', async () => {
    const events = await collect([
      chunk({
        tool_calls: [
          { index: 0, id: 'call_1', type: 'function', function: { name: 'open_gate', arguments: '' } },
        ],
      }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"a":' } }] }),
      chunk({
        tool_calls: [
          { index: 1, id: 'call_2', type: 'function', function: { name: 'wave', arguments: '{}' } },
        ],
      }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }),
      chunk({}, 'tool_calls'),
    ]);
    expect(events).toEqual([
      { type: 'tool_call', index: 0, id: 'call_1', name: 'open_gate' },
      { type: 'tool_call', index: 0, arguments: '{"a":' },
      { type: 'tool_call', index: 1, id: 'call_2', name: 'wave', arguments: '{}' },
      { type: 'tool_call', index: 0, arguments: '1}' },
      { type: 'finish', reason: 'tool_calls' },
    ]);
  });

  it('treats a stream that ends without finish_reason as a failure', async () => {
    await expect(collect([chunk({ content: 'half an ans' })])).rejects.toBeInstanceOf(ProxyError);
  });
});

/** A real local upstream; each test sets how it answers. */
describe('createUpstream over HTTP', () => {
  let server: Server;
  let origin: string;
  let answer: (req: IncomingMessage, res: ServerResponse) => void;
  const requests: IncomingMessage[] = [];
  const cut: string[] = []; // requests whose response closed before it was finished

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(req);
      res.on('close', () => {
        if (!res.writableFinished) cut.push(req.url ?? '');
      });
      req.resume();
      req.on('end', () => answer(req, res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    requests.length = 0;
    cut.length = 0;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const sse = (res: ServerResponse) => res.writeHead(200, { 'content-type': 'text/event-stream' });
  const frame = (delta: Record<string, unknown>, finish: string | null = null) =>
    `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const upstream = (env: Record<string, string> = {}) =>
    createUpstream(loadConfig({ OPENAI_BASE_URL: `${origin}/v1`, PARLEY_MODEL: 'm', ...env }).upstream);
  const hi = { model: '', messages: [{ role: 'user' as const, content: 'hi' }] };

  async function turn(up = upstream(), signal = new AbortController().signal): Promise<TurnEvent[]> {
    const events: TurnEvent[] = [];
    for await (const event of readTurn(await up.stream(hi, signal))) events.push(event);
    return events;
  }
  async function until(condition: () => boolean): Promise<void> {
    for (let i = 0; i < 400 && !condition(); i++) await pause(5);
    expect(condition()).toBe(true);
  }

  it('decodes a stream that arrives in uneven pieces: CRLF split across reads, multi-line data, comments', async () => {
    const text =
      `${frame({ content: 'Hail' })}: keep-alive\n\n${frame({ content: ' there' })}${frame({}, 'stop')}`
        .replaceAll('\n', '\r\n')
        .replace('data: {"id"', 'data: {"id"\r\ndata: ');
    answer = async (_req, res) => {
      sse(res);
      // Cut inside a CRLF, inside a field name and inside the JSON, each piece its own read.
      const cuts = [0, text.indexOf('\r\n') + 1, text.indexOf('\r\n') + 4, 60, text.length];
      for (let i = 1; i < cuts.length; i++) {
        res.write(text.slice(cuts[i - 1], cuts[i]));
        await pause(10);
      }
      res.end('data: [DONE]\r\n\r\n');
    };
    const events = await turn();
    expect(events.filter((e) => e.type === 'text').map((e) => (e as { delta: string }).delta)).toEqual([
      'Hail',
      ' there',
    ]);
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'stop' });
  });

  it('retries a 503 before the first byte, and never a refused key', async () => {
    let calls = 0;
    answer = (_req, res) => {
      if (calls++ === 0) {
        res.writeHead(503, { 'content-type': 'application/json', 'retry-after-ms': '0' });
        return void res.end('{"error":{"message":"overloaded"}}');
      }
      sse(res);
      res.end(`${frame({ content: 'ok' })}${frame({}, 'stop')}data: [DONE]\n\n`);
    };
    expect(await turn()).toContainEqual({ type: 'text', delta: 'ok' });
    expect(requests).toHaveLength(2);

    requests.length = 0;
    answer = (_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"Incorrect API key provided: sk-abc****wxyz","code":"invalid_api_key"}}');
    };
    const refused = await turn().catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'upstream_auth_failed' });
    expect((refused as Error).message).not.toContain('sk-');
    expect(requests).toHaveLength(1);
  });

  it('turns an error event inside the stream into a ProxyError with the key removed', async () => {
    answer = (_req, res) => {
      sse(res);
      res.end(`${frame({ content: 'Hail' })}data: {"error":{"message":"boom for sk-secret-key-1234"}}\n\n`);
    };
    const failure = await turn(upstream({ OPENAI_API_KEY: 'sk-secret-key-1234' })).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ProxyError);
    expect(failure).toMatchObject({ code: 'upstream_error' });
    expect((failure as Error).message).toContain('boom for [redacted]');
  });

  it('reports a connection closed mid-stream as a stream ended before the answer was finished', async () => {
    answer = async (_req, res) => {
      sse(res);
      res.write(frame({ content: 'Hail' }));
      await pause(20);
      res.socket?.destroy();
    };
    const failure = await turn().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ProxyError);
    expect(failure).toMatchObject({
      code: 'upstream_error',
      message: 'The model upstream ended the stream before the answer was finished.',
    });
  });

  it('stops at once on an abort, before the answer or during it, and closes the request', async () => {
    answer = () => {}; // never answers
    const early = new AbortController();
    const pending = upstream().stream(hi, early.signal);
    await until(() => requests.length === 1);
    early.abort();
    await expect(pending).rejects.toBeInstanceOf(AbortedError);
    await until(() => cut.length === 1);

    answer = (_req, res) => {
      sse(res);
      const timer = setInterval(() => res.write(frame({ content: 'word' })), 5);
      res.on('close', () => clearInterval(timer));
    };
    const late = new AbortController();
    const reading = turn(upstream(), late.signal);
    await until(() => requests.length === 2);
    await pause(30);
    late.abort();
    await expect(reading).rejects.toBeInstanceOf(AbortedError);
    await until(() => cut.length === 2);
  });

  it('times out an upstream that does not answer, as the SDK’s timeout says', async () => {
    answer = () => {};
    const started = performance.now();
    const failure = await turn(
      upstream({ PARLEY_UPSTREAM_TIMEOUT_MS: '100', PARLEY_UPSTREAM_RETRIES: '0' }),
    ).catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: 'upstream_timeout' });
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('keeps an idle connection alive for the next stream', async () => {
    answer = (_req, res) => {
      sse(res);
      res.end(`${frame({}, 'stop')}data: [DONE]\n\n`);
    };
    const up = upstream();
    const ports = new Set<number | undefined>();
    for (let i = 0; i < 3; i++) {
      await turn(up);
      ports.add(requests.at(-1)?.socket.remotePort);
      await pause(20); // undici frees the connection a moment after the body's end was read
    }
    expect(ports.size).toBe(1);
  });

  it('opens 200 streams at once without queueing any behind another', async () => {
    const waiting: ServerResponse[] = [];
    answer = (_req, res) => {
      sse(res);
      res.write(frame({ content: 'Hail' }));
      waiting.push(res);
      // Nobody gets the rest of an answer until all 200 requests have arrived.
      if (waiting.length === 200)
        for (const held of waiting) held.end(`${frame({}, 'stop')}data: [DONE]\n\n`);
    };
    const up = upstream();
    const turns = await Promise.all(Array.from({ length: 200 }, () => turn(up)));
    expect(turns.every((events) => events.at(-1)?.type === 'finish')).toBe(true);
  });

  it('relays the stream as SSE text for chat pass-through', async () => {
    answer = (_req, res) => {
      sse(res);
      res.write(frame({ content: 'Hail' }));
      res.end(
        `${frame({}, 'stop')}data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1}}\n\ndata: [DONE]\n\n`,
      );
    };
    let usage: unknown;
    let text = '';
    const events = await upstream().relay(hi, new AbortController().signal, {
      onUsage: (reported) => {
        usage = reported;
      },
    });
    for await (const piece of events) text += piece;
    expect(text).toBe(`${frame({ content: 'Hail' })}${frame({}, 'stop')}data: [DONE]\n\n`);
    expect(usage).toEqual({ prompt_tokens: 3, completion_tokens: 1 });
  });
});
