// Proxy instances as separate processes (the built CLI, as an operator runs them), for the multi-instance
// suite and the scale bench: started on a fixed port so that a restart comes back where a load balancer
// expects it, stopped (SIGTERM) or killed (SIGKILL), their log kept across restarts. Plain Node, no
// vitest: the bench imports it too.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './servers.ts';

/** The proxy's CLI as `pnpm run build` leaves it. */
export const CLI = resolve(fileURLToPath(import.meta.url), '../../../packages/proxy/dist/cli.js');

/** Options of {@link Instance.start}. */
export interface InstanceOptions {
  /** Shown in failures and logs (`A`, `B`, …). */
  name: string;
  /** The proxy's environment (nothing is inherited but PATH and HOME). */
  env: Record<string, string>;
  /** Listen here instead of on a free port. */
  port?: number;
  /** How long to wait for "listening on" (default 30 s). */
  startTimeoutMs?: number;
}

/** One `parley-proxy` process; {@link Instance.restart} starts a new one on the same port and env. */
export class Instance {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly #env: Record<string, string>;
  readonly #startTimeoutMs: number;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #log = '';
  #cwd: string | undefined;

  private constructor(options: InstanceOptions & { port: number }) {
    this.name = options.name;
    this.port = options.port;
    this.url = `http://127.0.0.1:${options.port}`;
    this.#env = options.env;
    this.#startTimeoutMs = options.startTimeoutMs ?? 30_000;
  }

  /** Starts the CLI and resolves once it says it listens. */
  static async start(options: InstanceOptions): Promise<Instance> {
    const instance = new Instance({ ...options, port: options.port ?? (await freePort()) });
    await instance.#spawn();
    return instance;
  }

  /** Everything every process of this instance wrote (stdout and stderr), in order. */
  get log(): string {
    return this.#log;
  }

  /** The running process's id, if one runs. */
  get pid(): number | undefined {
    return this.alive ? this.#child?.pid : undefined;
  }

  get alive(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** A clean shutdown (SIGTERM), SIGKILL after `forceMs`. Resolves once the process has exited. */
  async stop(forceMs = 10_000): Promise<void> {
    const child = this.#child;
    if (!child || !this.alive) return;
    const force = setTimeout(() => child.kill('SIGKILL'), forceMs);
    child.kill('SIGTERM');
    await this.#exited;
    clearTimeout(force);
  }

  /** `kill -9`: nothing in the process runs again, no lease is given back. */
  async kill(): Promise<void> {
    if (!this.#child || !this.alive) return;
    this.#child.kill('SIGKILL');
    await this.#exited;
  }

  /** Starts a new process with the same port and environment (stop or kill the old one first). */
  async restart(): Promise<void> {
    if (this.alive) throw new Error(`instance ${this.name} is still running`);
    await this.#spawn();
  }

  /** Kills the process if it runs and deletes its working directory. */
  async dispose(): Promise<void> {
    await this.kill();
    if (this.#cwd) await rm(this.#cwd, { recursive: true, force: true });
  }

  async #spawn(): Promise<void> {
    // Its own working directory: the CLI reads `.env` from there, and the repository's must not count.
    this.#cwd ??= await mkdtemp(join(tmpdir(), `parley-instance-${this.name}-`));
    const child = spawn(process.execPath, [CLI], {
      cwd: this.#cwd,
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: process.env['HOME'] ?? this.#cwd,
        HOST: '127.0.0.1',
        ...this.#env,
        PORT: String(this.port),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    this.#exited = new Promise((done) => child.once('exit', () => done()));
    let stdout = '';
    const listening = new Promise<void>((ready, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`${this.name} did not start within ${this.#startTimeoutMs} ms`)),
        this.#startTimeoutMs,
      );
      child.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
        if (stdout.includes('listening on')) {
          clearTimeout(timer);
          ready();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        fail(new Error(`${this.name} exited (${code ?? signal}) before listening`));
      });
    });
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.on('data', (chunk: Buffer) => {
        this.#log += chunk.toString('utf8');
      });
    }
    try {
      await listening;
    } catch (error) {
      child.kill('SIGKILL');
      throw new Error(`${(error as Error).message}\n--- ${this.name}'s log ---\n${this.#log.slice(-3000)}`);
    }
  }
}

/** One answer of the proxy, its body parsed. */
export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: parsed JSON of any shape
  json: any;
}

/**
 * A dev-mode player calling one instance (`X-Parley-Player`), JSON in and out.
 *
 * @example
 * const reply = await call(a.url, 'p1', 'POST', '/v1/threads', {});
 */
export async function call(
  baseUrl: string,
  player: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      'x-parley-player': player,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** One server-sent event; `id` is a number when the proxy numbered it. */
export interface Event {
  id: number | undefined;
  event: string;
  data: string;
}

/**
 * Opens an event stream (a POST with `body`, or a GET without) and yields its events as they arrive.
 * Breaking out of the loop closes the connection. Throws on a status other than 200, with the body.
 */
export async function* events(
  baseUrl: string,
  player: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  init: { headers?: Record<string, string>; signal?: AbortSignal } = {},
): AsyncGenerator<Event> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      'x-parley-player': player,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    ...(init.signal ? { signal: init.signal } : {}),
  });
  if (response.status !== 200 || !response.body) {
    throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  }
  const decoder = new TextDecoder();
  let buffer = '';
  let current: { id?: number; event?: string; data: string[] } = { data: [] };
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      for (let newline = buffer.indexOf('\n'); newline !== -1; newline = buffer.indexOf('\n')) {
        const line = buffer.slice(0, newline).replace(/\r$/, '');
        buffer = buffer.slice(newline + 1);
        if (line === '') {
          if (current.event !== undefined || current.data.length > 0)
            yield { id: current.id, event: current.event ?? 'message', data: current.data.join('\n') };
          current = { data: [] };
        } else if (!line.startsWith(':')) {
          const colon = line.indexOf(':');
          const field = colon === -1 ? line : line.slice(0, colon);
          const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'id') current.id = Number(value);
          else if (field === 'event') current.event = value;
          else if (field === 'data') current.data.push(value);
        }
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** The text of every `thread.message.delta` among `list`, in order. */
export function deltaText(list: readonly Event[]): string {
  return list
    .filter((e) => e.event === 'thread.message.delta')
    .map((e) =>
      (JSON.parse(e.data) as { delta: { content?: Array<{ text?: { value?: string } }> } }).delta.content
        ?.map((part) => part.text?.value ?? '')
        .join(''),
    )
    .join('');
}

export const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Polls `check` until it returns something truthy; throws naming `what` after `timeoutMs`. */
export async function eventually<T>(
  check: () => T | Promise<T>,
  timeoutMs: number,
  what: string,
  everyMs = 50,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: last });
    await sleep(everyMs);
  }
}

/** The `p`-th percentile of `values` (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

/** An event stream read in the background: what arrived so far, and a way to wait for an event. */
export interface Followed {
  /** Every event so far, in order. */
  readonly seen: Event[];
  /** Resolves when the stream ends: with the error that ended it, or undefined. */
  readonly ended: Promise<Error | undefined>;
  readonly done: boolean;
  /** Resolves with the first event matching `match` (waiting for it), or throws after `timeoutMs`. */
  until(match: (event: Event) => boolean, timeoutMs?: number): Promise<Event>;
  /** The run's id, from its `thread.run.created` event. */
  runId(): string;
}

/**
 * Reads `stream` in the background.
 *
 * @example
 * const run = follow(events(a.url, 'p1', 'POST', `/v1/threads/${t}/runs`, { assistant_id, stream: true }));
 * await run.until((e) => e.event === 'thread.message.delta');
 */
export function follow(stream: AsyncGenerator<Event>): Followed {
  const seen: Event[] = [];
  let done = false;
  const ended = (async () => {
    for await (const event of stream) seen.push(event);
  })().then(
    () => undefined,
    (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
  );
  void ended.then(() => {
    done = true;
  });
  return {
    seen,
    ended,
    get done() {
      return done;
    },
    async until(match, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = seen.find(match);
        if (found) return found;
        if (done) throw new Error(`the stream ended without it: ${(await ended)?.message ?? 'no error'}`);
        if (Date.now() > deadline) throw new Error(`no such event within ${timeoutMs} ms`);
        await sleep(5);
      }
    },
    runId() {
      const created = seen.find((event) => event.event === 'thread.run.created');
      if (!created) throw new Error('no thread.run.created yet');
      return (JSON.parse(created.data) as { id: string }).id;
    },
  };
}

/** Every item of an OpenAI list endpoint (`path` without query), oldest first, page after page. */
export async function listAll<T extends { id: string }>(
  baseUrl: string,
  player: string,
  path: string,
): Promise<T[]> {
  const items: T[] = [];
  for (let after: string | undefined; ; ) {
    const page = await call(
      baseUrl,
      player,
      'GET',
      `${path}?order=asc&limit=100${after === undefined ? '' : `&after=${after}`}`,
    );
    if (page.status !== 200) throw new Error(`GET ${path}: ${page.status} ${page.text}`);
    items.push(...(page.json.data as T[]));
    if (!page.json.has_more) return items;
    after = page.json.last_id as string;
  }
}
