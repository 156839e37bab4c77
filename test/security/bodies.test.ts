/**
 * Hostile request bodies: oversize (declared, chunked, lying), malformed JSON, deeply nested values,
 * invalid UTF-8, and prototype-pollution keys (`__proto__`, `constructor.prototype`) in bodies,
 * metadata, tool schemas and chat messages. Every one gets a 4xx in OpenAI's error body (never a 500,
 * never a stack), the proxy keeps serving, and Object.prototype of the proxy's process (this process:
 * the proxy runs in-process) is never touched.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  as,
  type Client,
  devPlayer,
  eventually,
  expectError,
  expectNoLeak,
  FAKE_MODEL,
  type Reply,
  rawRequest,
  type Started,
  startProxy,
} from './support.ts';
import { attack, attackEach, reportFile } from './tally.ts';

reportFile(import.meta.url);

const MAX_BODY = 1024 * 1024;
let server: Started;
let P: Client;
let threadId: string;
let messageId: string;
let runId: string;

beforeAll(async () => {
  server = await startProxy({ fake: true, env: { PARLEY_MAX_BODY_BYTES: String(MAX_BODY) } });
  P = as(server.url, devPlayer('mallory'));
  const thread = await P('POST', '/v1/threads', { messages: [{ role: 'user', content: 'Hi.' }] });
  threadId = thread.json.id;
  messageId = (await P('GET', `/v1/threads/${threadId}/messages`)).json.data[0].id;
  const assistant = await P('POST', '/v1/assistants', { name: 'Brom' });
  const run = await P('POST', `/v1/threads/${threadId}/runs`, { assistant_id: assistant.json.id });
  runId = run.json.id;
  await eventually(
    async () => (await P('GET', `/v1/threads/${threadId}/runs/${runId}`)).json.status === 'completed',
  );
});
afterAll(async () => {
  await server?.close();
});

/** The proxy still answers after the attack. */
async function expectAlive(): Promise<void> {
  const health = await P('GET', '/healthz');
  expect(health.status).toBe(200);
}

/** A body sent with `Transfer-Encoding: chunked` (no Content-Length), in 64 KiB pieces. */
function chunked(path: string, total: number): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${server.url}${path}`,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'x-parley-player': 'mallory' },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            text,
            json: JSON.parse(text),
          }),
        );
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      // The proxy may answer 413 and close while we are still sending: that is the point.
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET') return;
      reject(error);
    });
    req.write('{"metadata":{"k":"');
    const piece = 'x'.repeat(65_536);
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        sent += piece.length;
        if (!req.write(piece)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end('"}}');
    };
    pump();
  });
}

describe('oversize bodies', () => {
  it('answers 413 for bodies over PARLEY_MAX_BODY_BYTES however they are framed', async () => {
    const big = JSON.stringify({ metadata: { k: 'x'.repeat(MAX_BODY) } });
    const cases: Array<[string, () => Promise<Reply>]> = [
      ['Content-Length over the limit', () => P('POST', '/v1/threads', big)],
      ['chunked, 4 MiB', () => chunked('/v1/threads', 4 * MAX_BODY)],
      ['chunked to chat completions, 4 MiB', () => chunked('/v1/chat/completions', 4 * MAX_BODY)],
      ['oversize message body', () => P('POST', `/v1/threads/${threadId}/messages`, big)],
      [
        'Content-Length of a terabyte: answered at once, connection closed (not drained)',
        async () => {
          const started = performance.now();
          const raw = await rawRequest(
            server.url,
            'POST /v1/threads HTTP/1.1\r\nHost: x\r\nX-Parley-Player: mallory\r\nContent-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n{"metadata":',
            5000,
          );
          // rawRequest returns when the server closes the socket (or after 5 s if it never does).
          expect(performance.now() - started, 'connection held open after the 413').toBeLessThan(2000);
          const [head = '', body = ''] = raw.split('\r\n\r\n');
          return {
            status: Number(head.split(' ')[1]),
            headers: {},
            rawHeaders: [],
            text: body,
            json: JSON.parse(body),
          };
        },
      ],
    ];
    await attackEach(
      'oversize bodies (413)',
      cases,
      ([name]) => name,
      async ([, send]) => {
        expectError(await send(), 413, 'body_too_large');
        await expectAlive();
      },
    );
  });

  it('answers 400 for fields over the policy caps (message, instructions, metadata, lists)', async () => {
    const many = <T>(n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i));
    const cases: Array<[string, string, unknown]> = [
      [
        'message over 4000 chars',
        `/v1/threads/${threadId}/messages`,
        { role: 'user', content: 'x'.repeat(4001) },
      ],
      ['instructions over 16000 chars', '/v1/assistants', { instructions: 'x'.repeat(16_001) }],
      [
        'metadata with 17 keys',
        '/v1/threads',
        { metadata: Object.fromEntries(many(17, (i) => [`k${i}`, 'v'])) },
      ],
      [
        'metadata with 20000 keys',
        '/v1/threads',
        { metadata: Object.fromEntries(many(20_000, (i) => [`k${i}`, 'v'])) },
      ],
      ['metadata key of 65 chars', '/v1/threads', { metadata: { ['k'.repeat(65)]: 'v' } }],
      ['metadata value of 513 chars', '/v1/threads', { metadata: { k: 'v'.repeat(513) } }],
      [
        'thread with 33 messages',
        '/v1/threads',
        { messages: many(33, () => ({ role: 'user', content: 'x' })) },
      ],
      ['thread with 100000 messages', '/v1/threads', { messages: many(100_000, () => ({})) }],
      [
        '17 tools',
        '/v1/assistants',
        { tools: many(17, (i) => ({ type: 'function', function: { name: `f${i}` } })) },
      ],
      [
        'chat with 1025 messages',
        '/v1/chat/completions',
        { model: FAKE_MODEL, messages: many(1025, () => ({ role: 'user', content: 'x' })) },
      ],
      [
        'chat user line over 4000 chars',
        '/v1/chat/completions',
        { model: FAKE_MODEL, messages: [{ role: 'user', content: 'x'.repeat(4001) }] },
      ],
      [
        'chat asking for n=5 completions',
        '/v1/chat/completions',
        { model: FAKE_MODEL, n: 5, messages: [{ role: 'user', content: 'x' }] },
      ],
      ['page limit of 1000000', `/v1/threads/${threadId}/messages?limit=1000000`, undefined],
    ];
    const upstreamBefore = server.fake!.requests.length;
    await attackEach(
      'policy caps on fields (400)',
      cases,
      ([name]) => name,
      async ([, path, body]) => {
        const reply = await P(body === undefined ? 'GET' : 'POST', path, body);
        expectError(reply, 400);
      },
    );
    expect(server.fake!.requests.length).toBe(upstreamBefore);
  });
});

describe('malformed, deeply nested and invalid UTF-8 bodies', () => {
  const deep = (depth: number, open: string, leaf: string, close: string) =>
    open.repeat(depth) + leaf + close.repeat(depth);
  const bytes = (...parts: Array<string | number[]>) =>
    Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : Buffer.from(part))));

  const cases: Array<
    [name: string, path: () => string, body: string | Buffer, status: number, code: string]
  > = [
    ['truncated JSON', () => '/v1/threads', '{"metadata":', 400, 'invalid_json'],
    ['trailing comma', () => '/v1/threads', '{"metadata":{},}', 400, 'invalid_json'],
    ['single quotes', () => '/v1/threads', "{'metadata':{}}", 400, 'invalid_json'],
    ['NaN literal', () => '/v1/assistants', '{"temperature":NaN}', 400, 'invalid_json'],
    ['top-level array', () => '/v1/threads', '[]', 400, 'invalid_json'],
    ['top-level string', () => '/v1/threads', '"thread"', 400, 'invalid_json'],
    ['top-level null', () => '/v1/threads', 'null', 400, 'invalid_json'],
    ['top-level number', () => '/v1/threads', '42', 400, 'invalid_json'],
    [
      'number that overflows to Infinity',
      () => '/v1/assistants',
      '{"temperature":1e999}',
      400,
      'invalid_value',
    ],
    ['wrong type everywhere', () => '/v1/threads', '{"messages":"hi","metadata":[]}', 400, 'invalid_value'],
    [
      'NUL in message text',
      () => `/v1/threads/${threadId}/messages`,
      '{"role":"user","content":"a\\u0000b"}',
      400,
      'invalid_value',
    ],
    ['NUL in a metadata key', () => '/v1/threads', '{"metadata":{"a\\u0000":"b"}}', 400, 'invalid_value'],
    [
      'lone surrogate (escaped) in message text',
      () => `/v1/threads/${threadId}/messages`,
      '{"role":"user","content":"\\ud800"}',
      400,
      'invalid_value',
    ],
    [
      'lone surrogate (escaped) in chat content',
      () => '/v1/chat/completions',
      `{"model":"${FAKE_MODEL}","messages":[{"role":"user","content":"\\udfff"}]}`,
      400,
      'invalid_value',
    ],
    [
      'array nested 100000 deep (whole body)',
      () => '/v1/threads',
      deep(100_000, '[', '', ']'),
      400,
      'invalid_json',
    ],
    [
      'metadata value nested 100000 deep',
      () => '/v1/threads',
      `{"metadata":{"k":${deep(100_000, '{"a":', '1', '}')}}}`,
      400,
      'invalid_value',
    ],
    [
      'tool parameters nested 50000 deep',
      () => '/v1/assistants',
      `{"tools":[{"type":"function","function":{"name":"f","parameters":${deep(50_000, '{"a":', '1', '}')}}}]}`,
      400,
      'invalid_value',
    ],
    [
      'chat message nested 50000 deep',
      () => '/v1/chat/completions',
      `{"model":"${FAKE_MODEL}","messages":[{"role":"user","content":"x","extra":${deep(50_000, '[', '1', ']')}}]}`,
      400,
      'invalid_value',
    ],
    [
      'tool_resources nested 50000 deep',
      () => '/v1/threads',
      `{"tool_resources":${deep(50_000, '{"a":', '1', '}')}}`,
      400,
      'invalid_value',
    ],
    [
      'JSON schema nested 50000 deep',
      () => '/v1/assistants',
      `{"response_format":{"type":"json_schema","json_schema":{"name":"s","schema":${deep(50_000, '{"a":', '1', '}')}}}}`,
      400,
      'invalid_value',
    ],
    [
      '0xFF byte in a string',
      () => '/v1/threads',
      bytes('{"metadata":{"k":"', [0xff], '"}}'),
      400,
      'invalid_json',
    ],
    [
      'overlong encoding of "/"',
      () => '/v1/threads',
      bytes('{"metadata":{"k":"', [0xc0, 0xaf], '"}}'),
      400,
      'invalid_json',
    ],
    [
      'UTF-8-encoded surrogate',
      () => `/v1/threads/${threadId}/messages`,
      bytes('{"role":"user","content":"', [0xed, 0xa0, 0x80], '"}'),
      400,
      'invalid_json',
    ],
    [
      'truncated multi-byte sequence at the end',
      () => '/v1/threads',
      bytes('{"metadata":{}}', [0xe2, 0x82]),
      400,
      'invalid_json',
    ],
    ['Latin-1 body', () => '/v1/threads', bytes('{"metadata":{"k":"caf', [0xe9], '"}}'), 400, 'invalid_json'],
    ['UTF-16 body', () => '/v1/threads', Buffer.from('{"metadata":{}}', 'utf16le'), 400, 'invalid_json'],
    [
      'code point above U+10FFFF',
      () => '/v1/threads',
      bytes('{"metadata":{"k":"', [0xf4, 0x90, 0x80, 0x80], '"}}'),
      400,
      'invalid_json',
    ],
  ];

  it('answers each with a 4xx error body, never a 500 or a stack, and keeps serving', async () => {
    const upstreamBefore = server.fake!.requests.length;
    await attackEach(
      'malformed/nested/invalid UTF-8 bodies',
      cases,
      ([name]) => name,
      async ([, path, body, status, code]) => {
        expectError(await P('POST', path(), body), status, code);
        await expectAlive();
      },
    );
    expect(server.fake!.requests.length, 'nothing of it reached the upstream').toBe(upstreamBefore);
  });

  it('ids and headers that are not valid UTF-8 or JSON-safe are refused, not crashed on', async () => {
    const paths = [
      `/v1/threads/%FF%FE`,
      `/v1/threads/${threadId}/messages/%C0%AF`,
      `/v1/threads/%00/runs`,
      `/v1/threads/${'a'.repeat(10_000)}`,
      `/v1/threads/${threadId}/runs/${runId}/events?after=-1`,
      `/v1/threads/${threadId}/runs/${runId}/events?after=1e400`,
      `/v1/threads/${threadId}/messages?limit=abc&order=sideways`,
    ];
    await attackEach(
      'malformed/nested/invalid UTF-8 bodies',
      paths,
      (path) => `GET ${path.slice(0, 80)}`,
      async (path) => {
        const reply = await P('GET', path);
        expect(reply.status, reply.text).toBeGreaterThanOrEqual(400);
        expect(reply.status, reply.text).toBeLessThan(500);
        expectNoLeak(reply.text);
      },
    );
    await attack('malformed/nested/invalid UTF-8 bodies', async () => {
      const raw = await rawRequest(
        server.url,
        Buffer.concat([
          Buffer.from('GET /v1/usage HTTP/1.1\r\nHost: x\r\nX-Parley-Player: mal'),
          Buffer.from([0xff, 0xfe]),
          Buffer.from('lory\r\nConnection: close\r\n\r\n'),
        ]),
      );
      expect(raw).toMatch(/^HTTP\/1\.1 4\d\d /);
      expectNoLeak(raw);
    });
  });
});

describe('prototype pollution', () => {
  const prototypes = [Object.prototype, Array.prototype, Function.prototype, String.prototype];
  const snapshot = () => prototypes.map((proto) => Object.getOwnPropertyNames(proto).sort().join(','));
  let before: string[];
  beforeAll(() => {
    before = snapshot();
  });

  /** Nothing in the proxy's process gained a property. */
  function expectUnpolluted(): void {
    const probe = {} as Record<string, unknown>;
    for (const name of ['polluted', 'isAdmin', 'owner', 'player', 'admin'])
      expect(probe[name], `Object.prototype.${name}`).toBeUndefined();
    expect(([] as unknown as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(snapshot()).toEqual(before);
  }

  const proto = (value: string) => `{"polluted":"${value}","isAdmin":true,"owner":"parley:game"}`;
  const tool = (parameters: string) =>
    `{"name":"Brom","tools":[{"type":"function","function":{"name":"f","parameters":${parameters}}}]}`;
  const cases: Array<[name: string, method: string, path: () => string, body: string | undefined]> = [
    ['__proto__ at the top of a body', 'POST', () => '/v1/threads', `{"__proto__":${proto('1')}}`],
    [
      'constructor.prototype at the top',
      'POST',
      () => '/v1/threads',
      `{"constructor":{"prototype":${proto('2')}}}`,
    ],
    ['__proto__ in thread metadata', 'POST', () => '/v1/threads', `{"metadata":{"__proto__":${proto('3')}}}`],
    ['__proto__ string in metadata', 'POST', () => '/v1/threads', '{"metadata":{"__proto__":"x"}}'],
    [
      'constructor.prototype in metadata',
      'POST',
      () => '/v1/threads',
      `{"metadata":{"constructor":{"prototype":${proto('4')}}}}`,
    ],
    ['prototype key in metadata', 'POST', () => '/v1/threads', '{"metadata":{"prototype":"x"}}'],
    [
      '__proto__ in a thread message',
      'POST',
      () => '/v1/threads',
      `{"messages":[{"role":"user","content":"x","__proto__":${proto('5')}}]}`,
    ],
    [
      '__proto__ in message metadata (modify)',
      'POST',
      () => `/v1/threads/${threadId}/messages/${messageId}`,
      `{"metadata":{"__proto__":${proto('6')}}}`,
    ],
    [
      '__proto__ in run metadata (modify)',
      'POST',
      () => `/v1/threads/${threadId}/runs/${runId}`,
      `{"metadata":{"__proto__":${proto('7')}}}`,
    ],
    ['__proto__ in thread (modify)', 'POST', () => `/v1/threads/${threadId}`, `{"__proto__":${proto('8')}}`],
    [
      '__proto__ in a nested thread of createAndRun',
      'POST',
      () => '/v1/threads/runs',
      `{"assistant_id":"asst_x","thread":{"__proto__":${proto('9')}}}`,
    ],
    [
      '__proto__ in tool JSON schema',
      'POST',
      () => '/v1/assistants',
      tool(`{"type":"object","__proto__":${proto('10')}}`),
    ],
    [
      'constructor.prototype in tool JSON schema',
      'POST',
      () => '/v1/assistants',
      tool(`{"type":"object","properties":{"constructor":{"prototype":${proto('11')}}}}`),
    ],
    [
      '__proto__ deep in an array of the schema',
      'POST',
      () => '/v1/assistants',
      tool(`{"type":"object","anyOf":[[{"__proto__":${proto('12')}}]]}`),
    ],
    [
      '__proto__ in tool_resources',
      'POST',
      () => '/v1/threads',
      `{"tool_resources":{"__proto__":${proto('13')}}}`,
    ],
    [
      '__proto__ in a chat message',
      'POST',
      () => '/v1/chat/completions',
      `{"model":"${FAKE_MODEL}","messages":[{"role":"user","content":"hi","__proto__":${proto('14')}}]}`,
    ],
    [
      'constructor.prototype in chat tool_choice',
      'POST',
      () => '/v1/chat/completions',
      `{"model":"${FAKE_MODEL}","messages":[{"role":"user","content":"hi"}],"tool_choice":{"type":"function","function":{"name":"f"},"constructor":{"prototype":${proto('15')}}}}`,
    ],
    [
      '__proto__ in a JSON response schema',
      'POST',
      () => '/v1/assistants',
      `{"response_format":{"type":"json_schema","json_schema":{"name":"s","schema":{"__proto__":${proto('16')}}}}}`,
    ],
    [
      '__proto__ in the query string',
      'GET',
      () => '/v1/assistants?__proto__[polluted]=17&constructor[prototype][polluted]=17',
      undefined,
    ],
    ['__proto__ as a path id', 'GET', () => '/v1/threads/__proto__', undefined],
    [
      'constructor as a path id',
      'POST',
      () => '/v1/threads/constructor/messages',
      '{"role":"user","content":"x"}',
    ],
  ];

  it('refuses or strips every key, and Object.prototype stays clean', async () => {
    await attackEach(
      'prototype pollution keys',
      cases,
      ([name]) => name,
      async ([, method, path, body]) => {
        const reply = await P(method, path(), body);
        expect(reply.status, reply.text).toBeLessThan(500);
        expectNoLeak(reply.text);
        if (reply.status === 200) {
          // Accepted only with the keys stripped: nothing that was sent as a prototype key comes back.
          expect(reply.text).not.toContain('"__proto__"');
          expect(reply.text).not.toContain('"polluted"');
        }
        expectUnpolluted();
      },
    );
  });

  it('stripped keys never reach the upstream either', async () => {
    await attack('prototype pollution keys', async () => {
      const assistant = await P(
        'POST',
        '/v1/assistants',
        tool(`{"type":"object","__proto__":${proto('20')},"properties":{"q":{"type":"string"}}}`),
      );
      expect(assistant.status, assistant.text).toBe(200);
      const thread = await P('POST', '/v1/threads', { messages: [{ role: 'user', content: 'hi' }] });
      const before = server.fake!.requests.length;
      const run = await P('POST', `/v1/threads/${thread.json.id}/runs`, { assistant_id: assistant.json.id });
      expect(run.status, run.text).toBe(200);
      await eventually(() => server.fake!.requests.length > before);
      const sent = server.fake!.requests.at(-1)!.body as {
        tools: Array<{ function: { parameters: object } }>;
      };
      const parameters = sent.tools[0]!.function.parameters;
      expect(Object.hasOwn(parameters, '__proto__')).toBe(false);
      expect(JSON.stringify(parameters)).not.toContain('polluted');
      expectUnpolluted();
    });
  });
});
