import { request } from 'node:http';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  expectErrorBody,
  expectNoLeak,
  type Harness,
  MAX_BODY_BYTES,
  postJson,
  type SharedHarnesses,
} from '../../support/proxy.js';

const MAX_BODY = MAX_BODY_BYTES;

/** Section 13: bad input never 500s (raw HTTP against the offline proxy). */
export function badInputSuite(shared: SharedHarnesses): void {
  let h: Harness;
  let base: string;
  let assistantId: string;
  let threadId: string;
  let messageId: string;
  let runId: string;

  beforeAll(async () => {
    h = shared.h;
    base = `${h.url}/v1`;
    assistantId = (await h.client.beta.assistants.create({ model: 'm', name: 'Brom' })).id;
    const thread = await h.client.beta.threads.create({ messages: [{ role: 'user', content: 'Hi.' }] });
    threadId = thread.id;
    messageId = (await h.client.beta.threads.messages.list(threadId)).data[0]!.id;
    runId = (
      await h.client.beta.threads.runs.createAndPoll(
        threadId,
        { assistant_id: assistantId },
        { pollIntervalMs: 20 },
      )
    ).id;
  });
  const post = (path: string, body: unknown) => postJson(`${base}${path}`, body);
  const raw = (path: string, body: BodyInit, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });

  describe('unknown ids → 404 not_found', () => {
    const cases: Array<[string, string, () => string]> = [
      ['GET', 'assistant', () => '/assistants/asst_doesnotexist'],
      ['POST', 'assistant update', () => '/assistants/asst_doesnotexist'],
      ['DELETE', 'assistant', () => '/assistants/asst_doesnotexist'],
      ['GET', 'thread', () => '/threads/thread_doesnotexist'],
      ['POST', 'thread update', () => '/threads/thread_doesnotexist'],
      ['DELETE', 'thread', () => '/threads/thread_doesnotexist'],
      ['GET', 'messages of unknown thread', () => '/threads/thread_doesnotexist/messages'],
      ['POST', 'message on unknown thread', () => '/threads/thread_doesnotexist/messages'],
      ['GET', 'message', () => `/threads/${threadId}/messages/msg_doesnotexist`],
      ['POST', 'message update', () => `/threads/${threadId}/messages/msg_doesnotexist`],
      ['DELETE', 'message', () => `/threads/${threadId}/messages/msg_doesnotexist`],
      ['GET', 'runs of unknown thread', () => '/threads/thread_doesnotexist/runs'],
      ['GET', 'run', () => `/threads/${threadId}/runs/run_doesnotexist`],
      ['GET', 'run under another thread', () => `/threads/thread_doesnotexist/runs/${runId}`],
      ['POST', 'run update', () => `/threads/${threadId}/runs/run_doesnotexist`],
      ['POST', 'cancel', () => `/threads/${threadId}/runs/run_doesnotexist/cancel`],
      ['GET', 'steps', () => `/threads/${threadId}/runs/run_doesnotexist/steps`],
      ['GET', 'step', () => `/threads/${threadId}/runs/${runId}/steps/step_doesnotexist`],
      ['GET', 'events', () => `/threads/${threadId}/runs/run_doesnotexist/events`],
      ['GET', 'a very long id', () => `/threads/thread_${'x'.repeat(5000)}`],
      ['GET', 'a non-ASCII id', () => `/threads/${encodeURIComponent('thread_ü😀')}`],
    ];
    it.each(cases)('%s %s', async (method, _name, path) => {
      const body =
        method === 'POST'
          ? JSON.stringify(path().endsWith('/messages') ? { role: 'user', content: 'x' } : {})
          : undefined;
      const res = await fetch(`${base}${path()}`, {
        method,
        ...(body ? { body, headers: { 'content-type': 'application/json' } } : {}),
      });
      const error = await expectErrorBody(res, 404, 'not_found');
      expect(error.type).toBe('not_found_error');
    });

    it('a run for an unknown assistant is 404 with param assistant_id', async () => {
      const thread = await h.client.beta.threads.create();
      await expectErrorBody(
        await post(`/threads/${thread.id}/runs`, { assistant_id: 'asst_nope' }),
        404,
        'not_found',
        'assistant_id',
      );
      await expectErrorBody(
        await post('/threads/runs', {
          assistant_id: 'asst_nope',
          thread: { messages: [{ role: 'user', content: 'x' }] },
        }),
        404,
        'not_found',
        'assistant_id',
      );
    });
  });

  describe('wrong types → 400 invalid_value with param', () => {
    const cases: Array<[string, () => string, unknown, string]> = [
      ['assistant name', () => '/assistants', { name: 5 }, 'name'],
      ['assistant tools', () => '/assistants', { tools: {} }, 'tools'],
      ['tool type', () => '/assistants', { tools: [{ type: 'web_browser' }] }, 'tools[0].type'],
      [
        'function name',
        () => '/assistants',
        { tools: [{ type: 'function', function: { name: 'a b' } }] },
        'tools[0].function.name',
      ],
      ['temperature range', () => '/assistants', { temperature: 3 }, 'temperature'],
      ['temperature type', () => '/assistants', { temperature: '1' }, 'temperature'],
      ['metadata value', () => '/assistants', { metadata: { a: 1 } }, 'metadata.a'],
      ['metadata type', () => '/threads', { metadata: [] }, 'metadata'],
      [
        'too many metadata keys',
        () => '/threads',
        { metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])) },
        'metadata',
      ],
      ['message role', () => `/threads/${threadId}/messages`, { role: 'system', content: 'x' }, 'role'],
      ['message content', () => `/threads/${threadId}/messages`, { role: 'user', content: 42 }, 'content'],
      [
        'message content part',
        () => `/threads/${threadId}/messages`,
        { role: 'user', content: [{ type: 'audio' }] },
        'content[0].type',
      ],
      ['thread messages', () => '/threads', { messages: 'hello' }, 'messages'],
      ['run assistant_id', () => `/threads/${threadId}/runs`, { assistant_id: 7 }, 'assistant_id'],
      ['run stream', () => `/threads/${threadId}/runs`, { assistant_id: 'asst_x', stream: 'yes' }, 'stream'],
      [
        'tool outputs',
        () => `/threads/${threadId}/runs/${runId}/submit_tool_outputs`,
        { tool_outputs: 'x' },
        'tool_outputs',
      ],
      ['chat messages', () => '/chat/completions', { model: 'm', messages: [] }, 'messages'],
      [
        'chat n',
        () => '/chat/completions',
        { model: 'm', messages: [{ role: 'user', content: 'x' }], n: 2 },
        'n',
      ],
    ];
    it.each(cases)('%s', async (_name, path, body, param) => {
      await expectErrorBody(await post(path(), body), 400, 'invalid_value', param);
    });
  });

  describe('missing fields → 400 missing_required_parameter', () => {
    const cases: Array<[string, () => string, unknown, string]> = [
      ['message content', () => `/threads/${threadId}/messages`, { role: 'user' }, 'content'],
      ['message role', () => `/threads/${threadId}/messages`, { content: 'x' }, 'role'],
      ['run assistant_id', () => `/threads/${threadId}/runs`, {}, 'assistant_id'],
      ['thread-and-run assistant_id', () => '/threads/runs', { thread: {} }, 'assistant_id'],
      ['tool_outputs', () => `/threads/${threadId}/runs/${runId}/submit_tool_outputs`, {}, 'tool_outputs'],
      ['chat model', () => '/chat/completions', { messages: [{ role: 'user', content: 'x' }] }, 'model'],
      ['chat messages', () => '/chat/completions', { model: 'm' }, 'messages'],
      [
        'function name',
        () => '/assistants',
        { tools: [{ type: 'function', function: {} }] },
        'tools[0].function.name',
      ],
    ];
    it.each(cases)('%s', async (_name, path, body, param) => {
      await expectErrorBody(await post(path(), body), 400, 'missing_required_parameter', param);
    });
  });

  describe('unknown fields → 400 unknown_parameter', () => {
    const cases: Array<[string, () => string, unknown, string]> = [
      ['assistant', () => '/assistants', { model: 'm', colour: 'red' }, 'colour'],
      ['thread', () => '/threads', { title: 'x' }, 'title'],
      [
        'message',
        () => `/threads/${threadId}/messages`,
        { role: 'user', content: 'x', file_ids: [] },
        'file_ids',
      ],
      ['run', () => `/threads/${threadId}/runs`, { assistant_id: assistantId, foo: 1 }, 'foo'],
      [
        'nested',
        () => '/threads',
        { messages: [{ role: 'user', content: 'x', extra: 1 }] },
        'messages[0].extra',
      ],
      [
        'chat',
        () => '/chat/completions',
        { model: 'm', messages: [{ role: 'user', content: 'x' }], logit_bias: {} },
        'logit_bias',
      ],
      ['__proto__', () => '/threads', JSON.parse('{"__proto__": {"polluted": "yes"}}'), '__proto__'],
    ];
    it.each(cases)('%s', async (_name, path, body, param) => {
      await expectErrorBody(await post(path(), body), 400, 'unknown_parameter', param);
    });

    it('did not pollute Object.prototype', () => {
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    });
  });

  describe('malformed bodies → 400 invalid_json', () => {
    const cases: Array<[string, BodyInit]> = [
      ['truncated JSON', '{"model": "m"'],
      ['not JSON', 'hello'],
      ['a JSON array', '[]'],
      ['a JSON string', '"x"'],
      ['JSON null', 'null'],
      [
        'invalid UTF-8 bytes',
        new Uint8Array([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
      ],
      [
        'an overlong UTF-8 sequence',
        new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0x22, 0x7d]),
      ],
      ['a UTF-8 BOM followed by garbage', new Uint8Array([0xef, 0xbb, 0xbf, 0x7b])],
    ];
    it.each(cases)('%s', async (_name, body) => {
      await expectErrorBody(await raw('/assistants', body), 400, 'invalid_json');
    });
  });

  describe('strings Postgres cannot store are refused, not 500', () => {
    const cases: Array<[string, () => string, string]> = [
      [
        'NUL in message content',
        () => `/threads/${threadId}/messages`,
        '{"role":"user","content":"a\\u0000b"}',
      ],
      ['NUL in metadata', () => '/threads', '{"metadata":{"k":"a\\u0000b"}}'],
      [
        'NUL in a tool schema',
        () => '/assistants',
        '{"tools":[{"type":"function","function":{"name":"f","parameters":{"a\\u0000":1}}}]}',
      ],
      ['lone surrogate in content', () => '/threads', '{"messages":[{"role":"user","content":"\\ud800"}]}'],
      ['lone surrogate in a metadata key', () => '/threads', '{"metadata":{"\\udc00":"v"}}'],
      ['NUL in an assistant name', () => '/assistants', '{"name":"Br\\u0000om"}'],
    ];
    it.each(cases)('%s', async (_name, path, body) => {
      const res = await raw(path(), body);
      const text = await res.text();
      expectNoLeak(text);
      expect(res.status, text).toBe(400);
      expect(JSON.parse(text).error.code).toBe('invalid_value');
    });
  });

  it('a NUL in a path id is a 400, not a 500', async () => {
    for (const path of [
      '/assistants/asst_%00x',
      `/threads/${'thread_%00'}`,
      `/threads/${'thread_%00'}/messages`,
    ]) {
      const res = await fetch(`${base}${path}`);
      const text = await res.text();
      expectNoLeak(text);
      expect(res.status, text).toBe(400);
      expect(JSON.parse(text).error.code).toBe('invalid_value');
    }
  });

  describe('body size limit → 413 body_too_large', () => {
    it('with Content-Length', async () => {
      const body = JSON.stringify({ model: 'm', instructions: 'x'.repeat(MAX_BODY) });
      await expectErrorBody(await raw('/assistants', body), 413, 'body_too_large');
    });

    it('chunked, without Content-Length', async () => {
      const chunk = new TextEncoder().encode(`{"model":"m","instructions":"${'y'.repeat(MAX_BODY)}"}`);
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(chunk.slice(0, 1000));
          controller.enqueue(chunk.slice(1000));
          controller.close();
        },
      });
      const res = await fetch(`${base}/assistants`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      await expectErrorBody(res, 413, 'body_too_large');
    });

    it('just under the limit is fine', async () => {
      const body = JSON.stringify({ model: 'm', instructions: 'z'.repeat(MAX_BODY - 100) });
      expect((await raw('/assistants', body)).status).toBe(200);
    });
  });

  describe('routes and methods', () => {
    it('unknown routes are 404', async () => {
      for (const path of [
        '/v1/nope',
        '/v1/threads/x/y/z/w/v/u',
        '/',
        '/v2/assistants',
        '/v1/assistants/a/b',
      ]) {
        const res = await fetch(`${h.url}${path}`);
        await expectErrorBody(res, 404, 'not_found');
      }
    });

    it('wrong methods are 405', async () => {
      const cases: Array<[string, string]> = [
        ['PUT', '/v1/assistants'],
        ['PATCH', `/v1/threads/${threadId}`],
        ['DELETE', '/v1/assistants'],
        ['GET', `/v1/threads/${threadId}/runs/${runId}/cancel`],
        ['DELETE', `/v1/threads/${threadId}/runs/${runId}`],
        ['GET', '/v1/chat/completions'],
      ];
      for (const [method, path] of cases) {
        await expectErrorBody(await fetch(`${h.url}${path}`, { method }), 405, 'method_not_allowed');
      }
    });

    it('a malformed percent-encoding in a path is a 404, not a 500', async () => {
      const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const url = new URL(h.url);
        const req = request(
          { host: url.hostname, port: url.port, path: '/v1/threads/%E0%A4%A', method: 'GET' },
          (response) => {
            let body = '';
            response.on('data', (chunk) => {
              body += chunk;
            });
            response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        req.end();
      });
      expect(res.status).toBe(404);
      expectNoLeak(res.body);
    });
  });

  describe('pagination parameters', () => {
    const bad = [
      'limit=0',
      'limit=101',
      'limit=abc',
      'limit=1.5',
      'limit=-3',
      'order=up',
      'order=',
      'limit=',
    ];
    it.each(bad)('?%s → 400 invalid_value', async (query) => {
      const param = query.split('=')[0];
      await expectErrorBody(
        await fetch(`${base}/threads/${threadId}/messages?${query}`),
        400,
        'invalid_value',
        param,
      );
      await expectErrorBody(await fetch(`${base}/assistants?${query}`), 400, 'invalid_value', param);
      await expectErrorBody(
        await fetch(`${base}/threads/${threadId}/runs?${query}`),
        400,
        'invalid_value',
        param,
      );
      await expectErrorBody(
        await fetch(`${base}/threads/${threadId}/runs/${runId}/steps?${query}`),
        400,
        'invalid_value',
        param,
      );
    });

    it('an unknown cursor gives an empty page', async () => {
      const res = await fetch(`${base}/threads/${threadId}/messages?after=msg_unknown`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        object: 'list',
        data: [],
        first_id: null,
        last_id: null,
        has_more: false,
      });
      const ok = await fetch(`${base}/threads/${threadId}/messages?after=${messageId}&order=asc`);
      expect(ok.status).toBe(200);
    });

    it('bad resume positions are 400', async () => {
      for (const query of ['after=-1', 'after=abc', 'after=1.5']) {
        await expectErrorBody(
          await fetch(`${base}/threads/${threadId}/runs/${runId}/events?${query}`),
          400,
          'invalid_value',
          'after',
        );
      }
      const res = await fetch(`${base}/threads/${threadId}/runs/${runId}/events`, {
        headers: { 'Last-Event-ID': 'x' },
      });
      expect(res.status).toBe(400);
      expectNoLeak(await res.text());
    });
  });

  it('an empty body creates a thread (OpenAI accepted it)', async () => {
    const res = await fetch(`${base}/threads`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { id: string }).id).toMatch(/^thread_/);
  });

  it('the proxy still works after all of that', async () => {
    const run = await h.client.beta.threads.createAndRunPoll(
      { assistant_id: assistantId, thread: { messages: [{ role: 'user', content: 'Still there?' }] } },
      { pollIntervalMs: 20 },
    );
    expect(run.status).toBe('completed');
  });
}
