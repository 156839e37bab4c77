/**
 * CR/LF injection: values a player controls (metadata, message text, assistant names and instructions,
 * ids in paths, Last-Event-ID, other headers) carrying CR, LF and whole SSE fields never produce an
 * injected SSE event or field, and never an injected response header.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  as,
  type Client,
  devPlayer,
  FAKE_MODEL,
  parseSse,
  type Reply,
  rawRequest,
  type SseFrame,
  type Started,
  startProxy,
} from './support.ts';
import { attack, attackEach, reportFile } from './tally.ts';

reportFile(import.meta.url);

/** Everything an attacker would try to smuggle into a stream or a header. */
const PAYLOADS = [
  'a\r\n\r\nevent: thread.run.completed\r\ndata: {"hijacked":true}\r\n\r\n',
  'b\n\nid: 9999\nevent: error\ndata: {"injected":1}\n\n',
  'c\rretry: 1\rdata: x\r\r',
  'd\r\nX-Injected: yes\r\nSet-Cookie: session=stolen',
  'e\u2028event: evil\u2029data: x',
  'f\n\ndata: [DONE]\n\n',
];

const ORIGIN = 'https://game.example';
let server: Started;
let P: Client;

beforeAll(async () => {
  server = await startProxy({ fake: true, env: { PARLEY_CORS_ORIGINS: ORIGIN } });
  P = as(server.url, devPlayer('mallory'));
});
afterAll(async () => {
  await server?.close();
});

const EVENT_NAME = /^(thread\.(created|run\.[a-z_.]+|message\.[a-z_.]+|run\.step\.[a-z_.]+)|done|error)$/;
const KNOWN_HEADERS = new Set([
  'content-type',
  'content-length',
  'date',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'cache-control',
  'x-accel-buffering',
  'www-authenticate',
  'retry-after',
  'openai-poll-after-ms',
  'access-control-allow-origin',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-max-age',
  'vary',
]);

/** An Assistants event stream with nothing injected: known events, sequential ids, no other fields. */
function expectCleanRunStream(body: string, whole = true): SseFrame[] {
  expect(body, 'a raw CR in an event stream ends a line').not.toContain('\r');
  // Only CR and LF end SSE lines (U+2028, U+0085 do not), so only they are excluded from data.
  for (const line of body.split('\n'))
    expect(line, 'unexpected SSE line').toMatch(/^(|id: \d+|event: [a-z_.]+|data: [^\r\n]*)$/);
  const frames = parseSse(body);
  expect(frames.length).toBeGreaterThan(0);
  let previous = 0;
  for (const frame of frames) {
    expect(frame.other, 'SSE fields other than id/event/data').toEqual([]);
    expect(frame.event ?? '', 'event name').toMatch(EVENT_NAME);
    if (frame.id !== undefined) {
      expect(Number(frame.id), 'event ids strictly increase').toBeGreaterThan(previous);
      previous = Number(frame.id);
    }
    if (frame.event === 'done') expect(frame.data).toBe('[DONE]');
    else expect(() => JSON.parse(frame.data), `data of ${frame.event}`).not.toThrow();
  }
  expect(frames.filter((f) => f.event === 'done')).toHaveLength(1);
  expect(frames.at(-1)!.event).toBe('done');
  expect(
    frames.filter((f) =>
      /^thread\.run\.(completed|failed|cancelled|incomplete|expired)$/.test(f.event ?? ''),
    ),
  ).toHaveLength(whole ? 1 : Math.min(1, frames.length - 1));
  expect(body).not.toContain('"hijacked"');
  expect(frames.some((f) => f.data.includes('"injected":1') && f.event === 'error')).toBe(false);
  return frames;
}

/** Response headers are the proxy's own: known names, values without CR or LF. */
function expectCleanHeaders(reply: Pick<Reply, 'rawHeaders'>): void {
  for (let i = 0; i < reply.rawHeaders.length; i += 2) {
    const name = reply.rawHeaders[i]!.toLowerCase();
    expect(KNOWN_HEADERS.has(name), `unexpected response header '${name}'`).toBe(true);
    expect(reply.rawHeaders[i + 1]).not.toMatch(/[\r\n]/);
  }
}

/** Splits a raw HTTP response into status, header lines and body. */
function parseRaw(raw: string): { status: number; rawHeaders: string[]; body: string } {
  const end = raw.indexOf('\r\n\r\n');
  const head = end === -1 ? raw : raw.slice(0, end);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const rawHeaders = lines.flatMap((line) => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon), line.slice(colon + 1).trim()];
  });
  return { status: Number(statusLine.split(' ')[1]), rawHeaders, body: end === -1 ? '' : raw.slice(end + 4) };
}

describe('SSE event streams', () => {
  it('metadata, message text, names and instructions with CR/LF never inject events or fields', async () => {
    await attackEach(
      'CR/LF into SSE (runs)',
      PAYLOADS,
      (payload) => JSON.stringify(payload),
      async (payload) => {
        const assistant = await P('POST', '/v1/assistants', {
          name: `Brom ${payload}`,
          instructions: `Guard. ${payload}`,
          metadata: { note: payload },
        });
        expect(assistant.status, assistant.text).toBe(200);
        const reply = await P('POST', '/v1/threads/runs', {
          assistant_id: assistant.json.id,
          stream: true,
          metadata: { note: payload },
          thread: {
            metadata: { note: payload },
            messages: [{ role: 'user', content: payload, metadata: { k: payload } }],
          },
        });
        expect(reply.status).toBe(200);
        expectCleanHeaders(reply);
        const frames = expectCleanRunStream(reply.text);
        // The values arrive intact, inside JSON: escaped, not interpreted.
        const created = JSON.parse(frames.find((f) => f.event === 'thread.run.created')!.data);
        expect(created.metadata).toEqual({ note: payload });
        const thread = JSON.parse(frames.find((f) => f.event === 'thread.created')!.data);
        expect(thread.metadata).toEqual({ note: payload });
        const text = frames
          .filter((f) => f.event === 'thread.message.delta')
          .map((f) => JSON.parse(f.data).delta.content[0].text.value)
          .join('');
        // The fake upstream drops trailing whitespace when it splits the reply into tokens.
        expect(text).toBe(`Fake reply to: ${payload}`.trimEnd());

        // The same run replayed through the resumable events endpoint.
        const replay = await P('GET', `/v1/threads/${created.thread_id}/runs/${created.id}/events`);
        expectCleanHeaders(replay);
        expectCleanRunStream(replay.text);
      },
    );
  });

  it('chat pass-through streams carry CR/LF only inside JSON', async () => {
    await attackEach(
      'CR/LF into SSE (chat)',
      PAYLOADS,
      (payload) => JSON.stringify(payload),
      async (payload) => {
        const reply = await P('POST', '/v1/chat/completions', {
          model: FAKE_MODEL,
          stream: true,
          messages: [{ role: 'user', content: payload }],
          metadata: { note: payload },
        });
        expect(reply.status, reply.text).toBe(200);
        expectCleanHeaders(reply);
        expect(reply.text).not.toContain('\r');
        for (const line of reply.text.split('\n')) expect(line).toMatch(/^(|: [^\r\n]*|data: [^\r\n]*)$/);
        const frames = parseSse(reply.text);
        expect(frames.every((f) => f.event === undefined && f.other.length === 0)).toBe(true);
        expect(frames.filter((f) => f.data === '[DONE]')).toHaveLength(1);
        expect(frames.at(-1)!.data).toBe('[DONE]');
        const text = frames
          .filter((f) => f.data !== '[DONE]')
          .map((f) => JSON.parse(f.data).choices?.[0]?.delta?.content ?? '')
          .join('');
        // The fake upstream drops trailing whitespace when it splits the reply into tokens.
        expect(text).toBe(`Fake reply to: ${payload}`.trimEnd());
      },
    );
  });
});

describe('Last-Event-ID, ids in paths and headers', () => {
  let threadId: string;
  let runId: string;
  let total: number;
  beforeAll(async () => {
    const assistant = await P('POST', '/v1/assistants', { name: 'Brom' });
    const started = await P('POST', '/v1/threads/runs', {
      assistant_id: assistant.json.id,
      stream: true,
      thread: { messages: [{ role: 'user', content: 'Hello' }] },
    });
    const frames = parseSse(started.text);
    const created = JSON.parse(frames.find((f) => f.event === 'thread.run.created')!.data);
    threadId = created.thread_id;
    runId = created.id;
    total = frames.filter((f) => f.id !== undefined).length;
  });
  const eventsPath = () => `/v1/threads/${threadId}/runs/${runId}/events`;
  const get = (path: string, headers: string) =>
    `GET ${path} HTTP/1.1\r\nHost: x\r\nX-Parley-Player: mallory\r\n${headers}Connection: close\r\n\r\n`;

  it('a genuine Last-Event-ID resumes after that event (control)', async () => {
    const reply = await P('GET', eventsPath(), undefined, { 'last-event-id': '3' });
    const frames = expectCleanRunStream(reply.text);
    expect(Number(frames[0]!.id)).toBe(4);
    expect(frames.filter((f) => f.id !== undefined)).toHaveLength(total - 3);
  });

  it('CR/LF in Last-Event-ID or ?after= never injects an event', async () => {
    const cases: Array<[string, () => string]> = [
      [
        'CRLF then an event line',
        () => get(eventsPath(), 'Last-Event-ID: 1\r\nevent: thread.run.completed\r\n'),
      ],
      ['bare CR inside the value', () => get(eventsPath(), 'Last-Event-ID: 1\revent: evil\r\n')],
      ['bare LF inside the value', () => get(eventsPath(), 'Last-Event-ID: 1\nevent: evil\r\n')],
      ['obsolete line folding', () => get(eventsPath(), 'Last-Event-ID: 1\r\n event: evil\r\n')],
      ['NUL inside the value', () => get(eventsPath(), 'Last-Event-ID: 1\u0000event: evil\r\n')],
      ['encoded CRLF in ?after=', () => get(`${eventsPath()}?after=1%0D%0Aevent:%20evil%0D%0A`, '')],
      ['encoded CRLF data in ?after=', () => get(`${eventsPath()}?after=%0A%0Adata:%20x%0A%0A`, '')],
      ['Last-Event-ID of 2^64', () => get(eventsPath(), 'Last-Event-ID: 18446744073709551616\r\n')],
    ];
    await attackEach(
      'CR/LF into Last-Event-ID',
      cases,
      ([name]) => name,
      async ([, request]) => {
        const raw = parseRaw(await rawRequest(server.url, request()));
        expect(raw.status).toBeGreaterThan(0);
        expectCleanHeaders(raw);
        expect(raw.body).not.toContain('event: evil');
        if (raw.status === 200) {
          const body = raw.body.includes('\r\n') ? dechunk(raw.body) : raw.body;
          expectCleanRunStream(body, false);
        } else expect(raw.status).toBeLessThan(500);
      },
    );
  });

  it('CR/LF in ids in paths and in header values never reaches a response header or an event', async () => {
    const cases: Array<[string, () => string]> = [
      ['thread id with CRLF + header', () => get('/v1/threads/thread_x%0D%0AX-Injected:%20yes', '')],
      [
        'run id with CRLF + event',
        () => get(`/v1/threads/${threadId}/runs/run_x%0D%0A%0D%0Aevent:%20evil/events`, ''),
      ],
      [
        'message id with LF + header',
        () => get(`/v1/threads/${threadId}/messages/msg_x%0AX-Injected:%20yes`, ''),
      ],
      ['assistant id with CR', () => get('/v1/assistants/asst_x%0DX-Injected:%20yes', '')],
      [
        'step id with CRLF',
        () => get(`/v1/threads/${threadId}/runs/${runId}/steps/step_%0D%0AX-Injected:%201`, ''),
      ],
      [
        'X-Parley-Player with LF',
        () =>
          `GET /v1/usage HTTP/1.1\r\nHost: x\r\nX-Parley-Player: m\nX-Injected: yes\r\nConnection: close\r\n\r\n`,
      ],
      [
        'X-Parley-Player with CR',
        () =>
          `GET /v1/usage HTTP/1.1\r\nHost: x\r\nX-Parley-Player: m\rX-Injected: yes\r\nConnection: close\r\n\r\n`,
      ],
      [
        'CORS preflight headers with LF',
        () =>
          `OPTIONS /v1/threads HTTP/1.1\r\nHost: x\r\nOrigin: ${ORIGIN}\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\nX-Injected: yes\r\nConnection: close\r\n\r\n`,
      ],
      [
        'CORS preflight headers with folding',
        () =>
          `OPTIONS /v1/threads HTTP/1.1\r\nHost: x\r\nOrigin: ${ORIGIN}\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n X-Injected: yes\r\nConnection: close\r\n\r\n`,
      ],
      [
        'Origin with CRLF',
        () =>
          `GET /healthz HTTP/1.1\r\nHost: x\r\nOrigin: ${ORIGIN}\r\nX-Injected: yes\r\nConnection: close\r\n\r\n`,
      ],
    ];
    await attackEach(
      'CR/LF into headers and ids',
      cases,
      ([name]) => name,
      async ([, request]) => {
        const raw = parseRaw(await rawRequest(server.url, request()));
        expect(raw.status).toBeGreaterThanOrEqual(200);
        expect(raw.status).toBeLessThan(500);
        expectCleanHeaders(raw);
        expect(raw.body).not.toMatch(/^event: evil/m);
        if (raw.status !== 200 && raw.status !== 204 && raw.body) {
          expect(raw.rawHeaders.join('\n')).not.toContain('text/event-stream');
        }
      },
    );
  });
});

describe('CORS', () => {
  it('answers only the configured origin, and never echoes an arbitrary one', async () => {
    const origins = [
      'https://evil.example',
      'null',
      `${ORIGIN}.evil.example`,
      'http://game.example',
      `${ORIGIN}/`,
    ];
    await attackEach(
      'CORS origin spoofing',
      origins,
      (origin) => origin,
      async (origin) => {
        const preflight = await P('OPTIONS', '/v1/threads', undefined, {
          origin,
          'access-control-request-method': 'POST',
        });
        expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
        const get = await P('GET', '/v1/usage', undefined, { origin });
        expect(get.headers['access-control-allow-origin']).toBeUndefined();
      },
    );
    await attack('CORS origin spoofing', async () => {
      const ok = await P('GET', '/v1/usage', undefined, { origin: ORIGIN });
      expect(ok.headers['access-control-allow-origin']).toBe(ORIGIN);
      expect(ok.headers.vary).toBe('Origin');
    });
  });
});

/** Decodes an HTTP/1.1 chunked body (raw socket responses). */
function dechunk(body: string): string {
  let out = '';
  let rest = body;
  for (;;) {
    const line = rest.indexOf('\r\n');
    if (line === -1) return out + rest;
    const size = Number.parseInt(rest.slice(0, line), 16);
    if (!Number.isFinite(size) || size === 0) return out;
    out += rest.slice(line + 2, line + 2 + size);
    rest = rest.slice(line + 2 + size + 2);
  }
}
