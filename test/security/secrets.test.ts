/**
 * The upstream key (a distinctive canary, not `sk-` shaped so only the proxy's own redaction can hide
 * it) never appears in a response body, a response header or a log line, even when the upstream echoes
 * it back in every kind of failure: 401, 400 (message and param), 404, 429, 500, a non-JSON error body,
 * an error object mid-stream. Checked in-process (the logger passed to createProxy) and through the CLI
 * (its stdout and stderr). Every response and log line of every file of the suite is searched too
 * (see tally.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Script } from '../support/fake-upstream.ts';
import {
  ADMIN_TOKEN,
  as,
  bearer,
  CANARY_FRAGMENTS,
  CANARY_KEY,
  type Client,
  call,
  devPlayer,
  eventually,
  expectNoLeak,
  FAKE_MODEL,
  type FakeUpstream,
  type Reply,
  type Started,
  startFakeUpstream,
  startProxy,
} from './support.ts';
import { attack, attackEach, reportFile, tally } from './tally.ts';

reportFile(import.meta.url);

const CLI = resolve(fileURLToPath(import.meta.url), '../../../packages/proxy/dist/cli.js');

/** Upstream failures that quote the key back, the way real upstreams (and proxies in front of them) do. */
const ECHOES: Array<[string, Script]> = [
  [
    '401 invalid key, quoted in full',
    {
      kind: 'status',
      status: 401,
      body: {
        error: {
          message: `Incorrect API key provided: ${CANARY_KEY}.`,
          type: 'invalid_request_error',
          param: null,
          code: 'invalid_api_key',
        },
      },
    },
  ],
  [
    '400 with the key in message and param',
    {
      kind: 'status',
      status: 400,
      body: {
        error: {
          message: `Bad request for key ${CANARY_KEY}`,
          type: 'invalid_request_error',
          param: CANARY_KEY,
          code: null,
        },
      },
    },
  ],
  [
    '404 model not found, key in message',
    {
      kind: 'status',
      status: 404,
      body: { error: { message: `No model for ${CANARY_KEY}`, type: 'x', param: 'model', code: null } },
    },
  ],
  [
    '429 rate limited, key in message',
    {
      kind: 'status',
      status: 429,
      headers: { 'retry-after': '1' },
      body: { error: { message: `Slow down ${CANARY_KEY}`, type: 'requests', param: null, code: null } },
    },
  ],
  [
    '500 with the key in message and code',
    {
      kind: 'status',
      status: 500,
      body: {
        error: { message: `Internal: ${CANARY_KEY}`, type: 'server_error', param: null, code: CANARY_KEY },
      },
    },
  ],
  [
    '502 with a non-JSON body quoting the key',
    { kind: 'status', status: 502, body: `upstream said key=${CANARY_KEY}` },
  ],
  [
    '200 then an error object mid-stream quoting the key',
    {
      kind: 'midstream-error',
      text: 'Well met, traveller, what brings you',
      error: { message: `Invalid key ${CANARY_KEY}`, type: 'invalid_request_error', code: CANARY_KEY },
    },
  ],
  ['connection dropped mid-stream', { kind: 'abrupt', text: 'Well met, traveller, what brings you here' }],
];

async function drive(
  client: Client,
  fake: FakeUpstream,
  script: Script,
  assistant: string,
): Promise<Reply[]> {
  const replies: Reply[] = [];
  const chat = { model: FAKE_MODEL, messages: [{ role: 'user', content: 'Hello' }] };
  fake.enqueue(script);
  replies.push(await client('POST', '/v1/chat/completions', chat));
  fake.enqueue(script);
  replies.push(await client('POST', '/v1/chat/completions', { ...chat, stream: true }));
  fake.enqueue(script);
  const streamed = await client('POST', '/v1/threads/runs', {
    assistant_id: assistant,
    stream: true,
    thread: { messages: [{ role: 'user', content: 'Hello' }] },
  });
  replies.push(streamed);
  fake.enqueue(script);
  const polled = await client('POST', '/v1/threads/runs', {
    assistant_id: assistant,
    thread: { messages: [{ role: 'user', content: 'Hello' }] },
  });
  replies.push(polled);
  if (polled.status === 200) {
    const path = `/v1/threads/${polled.json.thread_id}/runs/${polled.json.id}`;
    await eventually(async () => {
      const run = await client('GET', path);
      replies.push(run);
      return !['queued', 'in_progress'].includes(run.json.status);
    }, 10_000);
    replies.push(await client('GET', `${path}/steps`));
    replies.push(await client('GET', `${path}/events`));
    replies.push(await client('GET', `/v1/threads/${polled.json.thread_id}/messages`));
  }
  return replies;
}

function expectNoKey(reply: Reply): void {
  expectNoLeak(reply.text);
  expectNoLeak(reply.rawHeaders.join('\n'));
  expect(reply.status, reply.text).toBeLessThan(600);
}

describe('in-process proxy, logger captured', () => {
  let server: Started;
  let client: Client;
  let assistant: string;
  beforeAll(async () => {
    server = await startProxy({ fake: true, env: { PARLEY_ADMIN_TOKEN: ADMIN_TOKEN } });
    client = as(server.url, devPlayer('snoop'));
    assistant = (await client('POST', '/v1/assistants', { name: 'Brom' })).json.id;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('the proxy really holds the canary key (control)', async () => {
    await client('POST', '/v1/chat/completions', {
      model: FAKE_MODEL,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(server.fake!.requests.at(-1)!.headers.authorization).toBe(`Bearer ${CANARY_KEY}`);
  });

  it('upstream failures quoting the key never carry it to the player', async () => {
    await attackEach(
      'upstream echoes the key back',
      ECHOES,
      ([name]) => name,
      async ([, script]) => {
        for (const reply of await drive(client, server.fake!, script, assistant)) expectNoKey(reply);
      },
    );
  });

  it('nothing an operator or a player can read carries it: health, models, metrics, usage', async () => {
    const admin = as(server.url, bearer(ADMIN_TOKEN));
    const reads = [
      () => call(server.url, 'GET', '/healthz'),
      () => client('GET', '/v1/models'),
      () => client('GET', '/v1/usage'),
      () => admin('GET', '/metrics'),
      () => admin('GET', '/v1/admin/usage'),
    ];
    await attackEach(
      'upstream echoes the key back',
      reads,
      (read) => read.toString().slice(12, 60),
      async (read) => {
        const reply = await read();
        expect(reply.status).toBe(200);
        expectNoKey(reply);
      },
    );
  });
});

describe('the CLI (node packages/proxy/dist/cli.js): stdout and stderr', () => {
  let fake: FakeUpstream;
  let child: ChildProcess | undefined;
  let output = '';
  beforeAll(async () => {
    fake = await startFakeUpstream();
  });
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await fake?.close();
  });

  it('serves, fails upstream in every way, shuts down: the key is never written', async () => {
    child = spawn(process.execPath, [CLI], {
      cwd: mkdtempSync(join(tmpdir(), 'parley-cli-')), // no stray .env
      env: {
        PATH: process.env['PATH'] ?? '',
        PORT: '0',
        HOST: '127.0.0.1',
        PARLEY_LOG: 'debug',
        OPENAI_API_KEY: CANARY_KEY,
        OPENAI_BASE_URL: fake.url,
        PARLEY_MODEL: FAKE_MODEL,
        PARLEY_UPSTREAM_RETRIES: '0',
        PARLEY_ADMIN_TOKEN: ADMIN_TOKEN,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (data: Buffer) => {
      output += data.toString();
    });
    child.stderr!.on('data', (data: Buffer) => {
      output += data.toString();
    });
    const url = await eventually(
      () => /listening on (http:\/\/\S+)/.exec(output)?.[1],
      30_000,
      'the CLI to listen',
    );
    const client = as(url, devPlayer('cli-snoop'));
    const assistant = (await client('POST', '/v1/assistants', { name: 'Brom' })).json.id;
    for (const [, script] of ECHOES)
      for (const reply of await drive(client, fake, script, assistant)) expectNoKey(reply);
    expect(fake.requests.at(-1)!.headers.authorization).toBe(`Bearer ${CANARY_KEY}`);
    const exited = new Promise((done) => child!.once('exit', done));
    child.kill('SIGTERM');
    await exited;

    const lines = output.split('\n').filter(Boolean);
    const leaked = lines.filter((line) => CANARY_FRAGMENTS.some((fragment) => line.includes(fragment)));
    tally('upstream key in a log line', lines.length, leaked.length);
    await attack('upstream key in CLI output', () => {
      expect(lines.some((line) => line.includes('debug request'))).toBe(true); // debug logging was on
      expect(leaked).toEqual([]);
    });
  }, 60_000);
});
