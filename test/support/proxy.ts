import { mkdtempSync as makeTempDir, writeFileSync } from 'node:fs';
import { tmpdir as osTmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { createProxy, loadConfig } from '@parley/proxy';
import OpenAI from 'openai';
import { afterAll, beforeAll, expect } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from './fake-upstream.js';
import { UNLIMITED } from './limits.ts';

/**
 * Conformance is about the wire format, not policy: lift the caps that would otherwise refuse the
 * suite's oversized-but-legal bodies (the policy has its own tests).
 */
const LOOSE_POLICY_FILE = joinPath(makeTempDir(joinPath(osTmpdir(), 'parley-policy-')), 'parley.config.json');
writeFileSync(
  LOOSE_POLICY_FILE,
  JSON.stringify({ maxInstructionsChars: 1_000_000, maxMessageChars: 1_000_000 }),
);

/** The API key the proxy holds in fake-upstream mode; no client-visible byte may ever contain it. */
export const SECRET_KEY = 'sk-test-secret-123456';
export const FAKE_MODEL = 'fake-model';

export type Mode = 'offline' | 'fake';
export const MODES: Mode[] = ['offline', 'fake'];

type Proxy = Awaited<ReturnType<typeof createProxy>>;

export interface Harness {
  mode: Mode;
  /** Base URL without `/v1`. */
  url: string;
  client: OpenAI;
  proxy: Proxy;
  /** Present in `fake` mode (or when one was asked for). */
  fake: FakeUpstream | undefined;
  /** Every response body the SDK client received, as text (streams included). */
  bodies: string[];
  close(): Promise<void>;
}

export interface StartOptions {
  /** Extra environment for `loadConfig`. */
  env?: Record<string, string>;
  /** Reuse an already running fake upstream (otherwise one is started in `fake` mode). */
  fake?: FakeUpstream;
}

/** Environment for a proxy in the given mode (port 0, silent, no offline delay unless overridden). */
export function proxyEnv(mode: Mode, fake: FakeUpstream | undefined, extra: Record<string, string> = {}) {
  const env: Record<string, string> = {
    PORT: '0',
    PARLEY_LOG: 'silent',
    PARLEY_OFFLINE_DELAY_MS: '0',
    PARLEY_MODELS: 'gpt-4o-mini,m,x,other-model,npc-9000',
    PARLEY_CONFIG: LOOSE_POLICY_FILE,
    ...UNLIMITED,
  };
  if (mode === 'fake') {
    if (!fake) throw new Error('fake mode needs a fake upstream');
    Object.assign(env, { OPENAI_BASE_URL: fake.url, PARLEY_MODEL: FAKE_MODEL, OPENAI_API_KEY: SECRET_KEY });
  }
  return { ...env, ...extra };
}

/** Starts a proxy (and, in fake mode, a fake upstream) and an SDK client pointed at it. */
export async function startHarness(mode: Mode, options: StartOptions = {}): Promise<Harness> {
  const ownFake = mode === 'fake' && !options.fake ? await startFakeUpstream() : undefined;
  const fake = options.fake ?? ownFake;
  const proxy = await createProxy(loadConfig(proxyEnv(mode, fake, options.env)));
  const url = await proxy.listen();
  const bodies: string[] = [];
  const pending: Promise<unknown>[] = [];
  const recordingFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    pending.push(
      response
        .clone()
        .text()
        .then((text) => bodies.push(text))
        .catch(() => {}),
    );
    return response;
  };
  const client = new OpenAI({
    baseURL: `${url}/v1`,
    apiKey: 'anything',
    maxRetries: 0,
    fetch: recordingFetch,
  });
  return {
    mode,
    url,
    client,
    proxy,
    fake,
    bodies,
    async close() {
      await Promise.allSettled(pending);
      await proxy.close();
      await ownFake?.close();
    },
  };
}

/** One server-sent event as read off the wire. */
export interface SseEvent {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

/** Parses server-sent events from a byte stream, yielding each as soon as its blank line arrives. */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let current: { id?: string; event?: string; data: string[] } = { data: [] };
  const flushLine = function* (line: string): Generator<SseEvent> {
    if (line === '') {
      if (current.data.length > 0 || current.event !== undefined) {
        yield { id: current.id, event: current.event, data: current.data.join('\n') };
      }
      current = { data: [] };
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'id') current.id = value;
    else if (field === 'event') current.event = value;
    else if (field === 'data') current.data.push(value);
  };
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let newline = buffer.search(/\r\n|\r|\n/);
      while (newline !== -1) {
        const line = buffer.slice(0, newline);
        const length = buffer.startsWith('\r\n', newline) ? 2 : 1;
        buffer = buffer.slice(newline + length);
        yield* flushLine(line);
        newline = buffer.search(/\r\n|\r|\n/);
      }
    }
    buffer += decoder.decode();
    if (buffer) yield* flushLine(buffer);
    yield* flushLine('');
  } finally {
    reader.releaseLock();
  }
}

/** Reads a whole event stream. */
export async function collectSse(response: Response): Promise<SseEvent[]> {
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: SseEvent[] = [];
  for await (const event of readSse(response.body!)) events.push(event);
  return events;
}

/** `fetch` against the proxy with a JSON body. */
export function postJson(url: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    ...init,
    headers: { 'content-type': 'application/json', ...(init.headers ?? {}) },
    body: JSON.stringify(body),
  });
}

/** The text of every `thread.message.delta` event, in order. */
export function deltaText(events: SseEvent[]): string {
  return events
    .filter((e) => e.event === 'thread.message.delta')
    .map((e) => {
      const data = JSON.parse(e.data) as { delta: { content?: Array<{ text?: { value?: string } }> } };
      return (data.delta.content ?? []).map((part) => part.text?.value ?? '').join('');
    })
    .join('');
}

/** Polls a run until `done(status)` or the timeout. */
export async function waitForRun(
  client: OpenAI,
  threadId: string,
  runId: string,
  until: (status: string) => boolean,
  timeoutMs = 10_000,
): Promise<OpenAI.Beta.Threads.Run> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await client.beta.threads.runs.retrieve(runId, { thread_id: threadId });
    if (until(run.status)) return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${run.status} after ${timeoutMs} ms`);
    await sleep(25);
  }
}

export const isTerminal = (status: string) =>
  ['completed', 'failed', 'cancelled', 'expired', 'incomplete'].includes(status);

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `check()` is truthy (polling), or fails after the timeout. */
export async function eventually<T>(
  check: () => T | Promise<T>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Section 3b's field lists: every object the proxy returns must carry all of them. */
export const FIELDS = {
  assistant: [
    'id',
    'object',
    'created_at',
    'name',
    'description',
    'model',
    'instructions',
    'tools',
    'tool_resources',
    'metadata',
    'temperature',
    'top_p',
    'response_format',
  ],
  thread: ['id', 'object', 'created_at', 'metadata', 'tool_resources'],
  message: [
    'id',
    'object',
    'created_at',
    'thread_id',
    'role',
    'content',
    'status',
    'assistant_id',
    'run_id',
    'attachments',
    'completed_at',
    'incomplete_at',
    'incomplete_details',
    'metadata',
  ],
  run: [
    'id',
    'object',
    'created_at',
    'thread_id',
    'assistant_id',
    'status',
    'required_action',
    'last_error',
    'expires_at',
    'started_at',
    'cancelled_at',
    'failed_at',
    'completed_at',
    'incomplete_details',
    'model',
    'instructions',
    'tools',
    'tool_choice',
    'parallel_tool_calls',
    'response_format',
    'truncation_strategy',
    'max_prompt_tokens',
    'max_completion_tokens',
    'usage',
    'metadata',
    'temperature',
    'top_p',
  ],
  step: [
    'id',
    'object',
    'run_id',
    'thread_id',
    'assistant_id',
    'type',
    'status',
    'step_details',
    'last_error',
    'usage',
    'created_at',
    'completed_at',
    'cancelled_at',
    'failed_at',
    'expired_at',
    'metadata',
  ],
} as const;

/** Asserts that `value` has every field of `kind` (section 3b) and the right `object` and id prefix. */
export function expectShape(kind: keyof typeof FIELDS, value: unknown): void {
  const object = value as Record<string, unknown>;
  const missing = FIELDS[kind].filter((field) => !Object.hasOwn(object, field));
  expect(missing, `${kind} is missing fields`).toEqual([]);
  const expected = {
    assistant: ['assistant', 'asst_'],
    thread: ['thread', 'thread_'],
    message: ['thread.message', 'msg_'],
    run: ['thread.run', 'run_'],
    step: ['thread.run.step', 'step_'],
  }[kind];
  expect(object['object']).toBe(expected[0]);
  expect(String(object['id'])).toMatch(new RegExp(`^${expected[1]}[A-Za-z0-9]+$`));
  expect(typeof object['created_at']).toBe('number');
}

/** Asserts OpenAI's error body: `{error:{message,type,param,code}}` and nothing that looks like a stack. */
export async function expectErrorBody(
  response: Response,
  status: number,
  code: string,
  param?: string | null,
): Promise<{ message: string; type: string; param: string | null; code: string }> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expectNoLeak(text);
  const body = JSON.parse(text) as {
    error: { message: string; type: string; param: string | null; code: string };
  };
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(typeof body.error.type).toBe('string');
  expect(body.error.code).toBe(code);
  if (param !== undefined) expect(body.error.param).toBe(param);
  return body.error;
}

/** No stack trace, no source path, no key. */
export function expectNoLeak(text: string): void {
  expect(text).not.toMatch(/\n\s+at /);
  expect(text).not.toMatch(/\bat .*\.(?:ts|js|mjs|cjs):\d+/);
  expect(text).not.toMatch(/(?:\/work\/|node_modules|file:\/\/)/);
  expect(text).not.toContain(SECRET_KEY);
  expect(text).not.toContain('secret-123456');
}

export { type FakeUpstream, startFakeUpstream };

/** Harnesses shared by every suite of one mode (starting a proxy costs seconds: PGlite boots a database). */
export interface SharedHarnesses {
  mode: Mode;
  /** The main proxy: no delays, default timings, `PARLEY_MAX_BODY_BYTES` = {@link MAX_BODY_BYTES}. */
  readonly h: Harness;
  /**
   * A second proxy, started on first use, for what needs other timings ({@link AUX_ENV}): runs expire
   * after 1 s; offline, the model paces tokens (30 ms); fake, the resume grace period is 200 ms and
   * the upstream times out after 500 ms, without retries.
   */
  aux(): Promise<Harness>;
}

export const MAX_BODY_BYTES = 65_536;
/** The aux proxy: offline it paces tokens (and keeps the default grace), fake it has a short grace. */
export const AUX_ENV: Record<Mode, Record<string, string>> = {
  offline: { PARLEY_RUN_EXPIRES_SECONDS: '1', PARLEY_OFFLINE_DELAY_MS: '30' },
  fake: {
    PARLEY_RUN_EXPIRES_SECONDS: '1',
    PARLEY_RESUME_GRACE_MS: '200',
    PARLEY_UPSTREAM_TIMEOUT_MS: '500',
    PARLEY_UPSTREAM_RETRIES: '0',
  },
};

/** Registers beforeAll/afterAll that start and stop the shared harnesses of a mode. */
export function useSharedHarnesses(mode: Mode): SharedHarnesses {
  let main: Harness | undefined;
  let aux: Promise<Harness> | undefined;
  beforeAll(async () => {
    main = await startHarness(mode, { env: { PARLEY_MAX_BODY_BYTES: String(MAX_BODY_BYTES) } });
  });
  afterAll(async () => {
    const all = [main, await aux?.catch(() => undefined)].filter((x): x is Harness => x !== undefined);
    await Promise.all(all.map((harness) => harness.close()));
    // Nothing any SDK call received from the proxy, in the whole run, carries the upstream key.
    for (const harness of all) for (const body of harness.bodies) expectNoLeak(body);
  });
  return {
    mode,
    get h() {
      if (!main) throw new Error('harness not started');
      return main;
    },
    aux() {
      aux ??= startHarness(mode, { env: AUX_ENV[mode] });
      return aux;
    },
  };
}
