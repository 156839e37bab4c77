/**
 * Shared pieces of the security suite: a proxy started in-process with a capturing logger, a fake
 * upstream, a raw HTTP helper that keeps every byte the proxy answered (for the key search), token
 * forging, and the tally that turns the suite into a report (see report.ts).
 */
import { createHmac, createSign, type KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProxy, type Logger, loadConfig } from '@parley/proxy';
import { expect } from 'vitest';
import { type FakeUpstream, type FakeUpstreamOptions, startFakeUpstream } from '../support/fake-upstream.ts';
import { UNLIMITED } from '../support/limits.ts';

export type Proxy = Awaited<ReturnType<typeof createProxy>>;

/**
 * The upstream key every proxy of the suite holds. Deliberately not `sk-` shaped, so that only the
 * proxy's redaction of *its own* key (not the generic `sk-…` pattern) can keep it out of responses.
 */
export const CANARY_KEY = 'CANARY0f7e3a9c1e5b2d8f4a6c0e1d2b3a4f5e6d';
/** Fragments that would betray a partial leak (a masked echo keeps head and tail). */
export const CANARY_FRAGMENTS = [CANARY_KEY, CANARY_KEY.slice(0, 16), CANARY_KEY.slice(-12)];
export const FAKE_MODEL = 'fake-model';

export const SESSION_SECRET = 'security-suite-session-secret-0123456789abcdef';
export const JWT_SECRET = 'security-suite-jwt-secret-0123456789abcdefghijk';
export const ADMIN_TOKEN = 'securitySuiteAdminToken0123456789abcdef';
export const JWT_ISSUER = 'https://game.example';
export const JWT_AUDIENCE = 'parley-npcs';

/** Session + JWT (HS256) + admin token: what production looks like. */
export const PRODUCTION_AUTH: Record<string, string> = {
  PARLEY_AUTH: 'session,jwt',
  PARLEY_SESSION_SECRET: SESSION_SECRET,
  PARLEY_JWT_SECRET: JWT_SECRET,
  PARLEY_JWT_ISSUER: JWT_ISSUER,
  PARLEY_JWT_AUDIENCE: JWT_AUDIENCE,
  PARLEY_ADMIN_TOKEN: ADMIN_TOKEN,
  PARLEY_SESSION_RATE_PER_MINUTE: '100000',
};

/** Writes a policy file (`PARLEY_CONFIG`) and returns its path. */
export function policyFile(policy: Record<string, unknown>): string {
  const path = join(mkdtempSync(join(tmpdir(), 'parley-security-')), 'parley.config.json');
  writeFileSync(path, JSON.stringify(policy));
  return path;
}

// ───────────────────────────── logs ─────────────────────────────

/** Every log line any proxy of this file wrote (through the logger passed to createProxy). */
export const logLines: string[] = [];

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, entry) => (typeof entry === 'bigint' ? String(entry) : entry));
  } catch {
    return String(value);
  }
}

export function capturingLogger(): Logger {
  const write = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    logLines.push(`${level} ${message}${fields ? ` ${safeJson(fields)}` : ''}`);
  };
  return { info: write('info'), warn: write('warn'), error: write('error'), debug: write('debug') };
}

// ───────────────────────────── proxies ─────────────────────────────

export interface Started {
  url: string;
  proxy: Proxy;
  fake: FakeUpstream | undefined;
  close(): Promise<void>;
}

/**
 * An in-process proxy. `fake: true` starts a fake upstream for it (the proxy then holds
 * {@link CANARY_KEY}); pass a running one to share it. Budgets are off unless `env` sets them.
 */
export async function startProxy(
  options: {
    env?: Record<string, string>;
    fake?: boolean | FakeUpstream;
    fakeOptions?: FakeUpstreamOptions;
  } = {},
): Promise<Started> {
  const own = options.fake === true ? await startFakeUpstream(options.fakeOptions) : undefined;
  const fake = own ?? (typeof options.fake === 'object' ? options.fake : undefined);
  const env: Record<string, string> = {
    PORT: '0',
    HOST: '127.0.0.1',
    PARLEY_LOG: 'debug',
    PARLEY_OFFLINE_DELAY_MS: '0',
    PARLEY_UPSTREAM_RETRIES: '0',
    ...UNLIMITED,
    ...(fake
      ? { OPENAI_BASE_URL: fake.url, PARLEY_MODEL: FAKE_MODEL, OPENAI_API_KEY: CANARY_KEY }
      : { OPENAI_API_KEY: '' }),
    ...options.env,
  };
  const proxy = await createProxy(loadConfig(env), { logger: capturingLogger() });
  const url = await proxy.listen();
  return {
    url,
    proxy,
    fake,
    async close() {
      await proxy.close();
      await own?.close();
    },
  };
}

// ───────────────────────────── HTTP ─────────────────────────────

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  rawHeaders: string[];
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: parsed JSON of any shape
  json: any;
}

/** Every response (status line, headers, body) any request of this file received from a proxy. */
export const transcript: string[] = [];

function record(reply: Omit<Reply, 'json'>): void {
  transcript.push(`${reply.status}\n${reply.rawHeaders.join('\n')}\n\n${reply.text}`);
}

/**
 * One request with node:http (so nothing is normalised away): JSON-encodes `body` unless it is a
 * string or Buffer, which go out as they are.
 */
export function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const payload =
    body === undefined
      ? undefined
      : typeof body === 'string' || Buffer.isBuffer(body)
        ? body
        : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${base}${path}`,
      {
        method,
        headers: {
          ...(payload !== undefined
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
            : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const reply = {
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            text,
          };
          record(reply);
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ ...reply, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** A client bound to a base URL and credentials. */
export function as(base: string, headers: Record<string, string>) {
  return (method: string, path: string, body?: unknown, extra: Record<string, string> = {}) =>
    call(base, method, path, body, { ...headers, ...extra });
}
export type Client = ReturnType<typeof as>;

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
export const devPlayer = (name: string) => ({ 'x-parley-player': name });

/**
 * Sends bytes over a raw socket (for what node:http refuses to send: CR/LF in headers, invalid
 * framing) and returns everything the server answered until it closed or `waitMs` passed.
 */
export function rawRequest(base: string, bytes: string | Buffer, waitMs = 1500): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('utf8');
      transcript.push(text);
      resolve(text);
    };
    const timer = setTimeout(done, waitMs);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', done);
    socket.on('error', done);
  });
}

/** Asserts OpenAI's error body with `status` and `code`, and nothing that looks like a stack or a key. */
export function expectError(reply: Reply, status: number, code?: string): void {
  expect(reply.status, reply.text).toBe(status);
  expectNoLeak(reply.text);
  expect(reply.json, reply.text).toBeTypeOf('object');
  expect(Object.keys(reply.json)).toEqual(['error']);
  expect(Object.keys(reply.json.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  if (code !== undefined) expect(reply.json.error.code, reply.text).toBe(code);
}

/** No stack trace, no source path, no fragment of the upstream key. */
export function expectNoLeak(text: string): void {
  expect(text).not.toMatch(/\n\s+at /);
  expect(text).not.toMatch(/\bat .*\.(?:ts|js|mjs|cjs):\d+/);
  expect(text).not.toMatch(/(?:\/work\/|node_modules|file:\/\/)/);
  for (const fragment of CANARY_FRAGMENTS) expect(text).not.toContain(fragment);
}

/** An anonymous session from the proxy. */
export async function newSession(base: string): Promise<{ token: string; player: string }> {
  const reply = await call(base, 'POST', '/v1/sessions');
  expect(reply.status, reply.text).toBe(200);
  return { token: reply.json.token, player: reply.json.player };
}

// ───────────────────────────── tokens ─────────────────────────────

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
export const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * A compact JWS built by hand, so that anything can be forged: `alg: none`, a header that lies about
 * its algorithm, a signature made with the wrong key. HS* sign with `key` as an HMAC secret (a string
 * or bytes), RS256 with a private KeyObject; `none` leaves the signature empty.
 */
export function forgeJwt(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key?: string | Buffer | KeyObject,
  signAs: string = String(header['alg']),
): string {
  const input = `${b64(header)}.${b64(payload)}`;
  let signature = '';
  if (signAs.startsWith('HS')) {
    const hash = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[signAs] ?? 'sha256';
    signature = createHmac(hash, key as string | Buffer)
      .update(input)
      .digest('base64url');
  } else if (signAs === 'RS256') {
    signature = createSign('RSA-SHA256')
      .update(input)
      .sign(key as KeyObject, 'base64url');
  }
  return `${input}.${signature}`;
}

/** A valid game JWT for `sub` (HS256 with {@link JWT_SECRET}), with any claim overridden. */
export function gameJwt(sub: string, claims: Record<string, unknown> = {}, secret = JWT_SECRET): string {
  const now = nowSeconds();
  return forgeJwt(
    { alg: 'HS256', typ: 'JWT' },
    { sub, iss: JWT_ISSUER, aud: JWT_AUDIENCE, iat: now, exp: now + 600, ...claims },
    secret,
  );
}

/** A session token signed as the proxy signs them, with any part overridden. */
export function sessionToken(
  claims: Record<string, unknown> = {},
  options: { secret?: string; header?: Record<string, unknown>; signAs?: string } = {},
): string {
  const now = nowSeconds();
  const header = options.header ?? { alg: 'HS256', typ: 'parley-session+jwt' };
  return `sess-${forgeJwt(
    header,
    {
      sub: 'anon_AAAAAAAAAAAAAAAAAAAAAAAA',
      iss: 'parley-proxy',
      aud: 'parley-session',
      iat: now,
      exp: now + 600,
      ...claims,
    },
    options.secret ?? SESSION_SECRET,
    options.signAs ?? String(header['alg']),
  )}`;
}

// ───────────────────────────── SSE ─────────────────────────────

export interface SseFrame {
  id: string | undefined;
  event: string | undefined;
  data: string;
  /** Field names other than id, event, data seen in this frame (retry, anything injected). */
  other: string[];
}

/** Parses a whole SSE body exactly as the EventSource spec does (CR, LF and CRLF end lines). */
export function parseSse(body: string): SseFrame[] {
  const frames: SseFrame[] = [];
  let current: SseFrame = { id: undefined, event: undefined, data: '', other: [] };
  let data: string[] = [];
  for (const line of body.split(/\r\n|\r|\n/)) {
    if (line === '') {
      if (data.length > 0 || current.event !== undefined || current.other.length > 0) {
        frames.push({ ...current, data: data.join('\n') });
      }
      current = { id: undefined, event: undefined, data: '', other: [] };
      data = [];
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'id') current.id = value;
    else if (field === 'event') current.event = value;
    else if (field === 'data') data.push(value);
    else current.other.push(field);
  }
  return frames;
}

// ───────────────────────────── misc ─────────────────────────────

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 5000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

export { type FakeUpstream, startFakeUpstream };
