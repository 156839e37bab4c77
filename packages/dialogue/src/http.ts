import { ASSISTANTS_BETA_HEADER, ASSISTANTS_BETA_VALUE, type ErrorBody } from '@parley/protocol';
import { DialogueError, fromErrorObject, toDialogueError, usuallyRetryable } from './errors.js';

/** The part of {@link ParleyOptions} the HTTP layer needs. */
export interface HttpOptions {
  url: string;
  fetch?: typeof fetch | undefined;
  auth?: (() => string | undefined | Promise<string | undefined>) | undefined;
}

export interface RequestOptions {
  body?: unknown;
  signal?: AbortSignal | undefined;
  /** Resolve with the response body (an SSE stream) instead of its JSON. */
  raw?: boolean;
  headers?: Record<string, string>;
  /**
   * Retry network failures, 5xx and rate limits with backoff, honouring `Retry-After`. Default: for every
   * method but POST, which may create something (a message, a run) and so is only retried where the caller
   * knows a duplicate is harmless.
   */
  retry?: boolean;
}

/** Sends one API call; rejects with a DialogueError for network failures and non-2xx answers. */
export type Request = <T>(method: string, path: string, options?: RequestOptions) => Promise<T>;

/** How long to wait before retry `n` (0-based): exponential, jittered so clients do not retry in step. */
export const backoff = (n: number) => 2 ** n * (200 + Math.random() * 200);

/** Resolves after `ms`; rejects with the signal's reason when it aborts first. */
export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    signal?.throwIfAborted();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });

export function createRequest(options: HttpOptions): Request {
  const base = `${options.url.replace(/\/+$/, '')}/v1`;
  const once = async (method: string, path: string, { body, signal, raw, headers }: RequestOptions) => {
    const sent: Record<string, string> = {
      ...headers,
      [ASSISTANTS_BETA_HEADER]: ASSISTANTS_BETA_VALUE,
      ...(body !== undefined && { 'Content-Type': 'application/json' }),
      // This client resumes dropped streams, so it asks the proxy to keep the run going across a drop.
      ...(raw && { Accept: 'text/event-stream', 'Parley-Resume-Grace-Ms': '15000' }),
    };
    let token: string | undefined;
    try {
      token = await options.auth?.();
    } catch (cause) {
      throw new DialogueError('auth', 'auth() failed', { cause });
    }
    if (token) sent['Authorization'] = `Bearer ${token}`;
    let response: Response;
    try {
      // Resolved per call (never at import) and called unbound: window.fetch throws "Illegal invocation"
      // when called as a method of another object.
      // (JSON.stringify(undefined) is undefined: no body.)
      response = await (options.fetch ?? globalThis.fetch)(base + path, {
        method,
        headers: sent,
        body: JSON.stringify(body),
        signal,
      });
    } catch (error) {
      throw toDialogueError(error, signal);
    }
    if (!response.ok) {
      // Not every failure is ours (an HTML 502 from a CDN): without OpenAI's error body, the status decides.
      const parsed = (await response.json().catch(() => undefined)) as Partial<ErrorBody> | undefined;
      // Retry-After is either seconds or an HTTP date.
      const after = response.headers.get('retry-after');
      const wait = after ? (+after >= 0 ? +after * 1000 : Date.parse(after) - Date.now()) : NaN;
      throw fromErrorObject(parsed?.error, response.status, wait >= 0 ? wait : undefined);
    }
    if (raw) {
      if (!response.body) throw new DialogueError('protocol', `No body: ${method} ${path}`);
      return response.body;
    }
    const text = await response.text().catch((error: unknown) => {
      throw toDialogueError(error, signal);
    });
    try {
      return JSON.parse(text);
    } catch (cause) {
      throw new DialogueError('protocol', `No JSON: ${method} ${path}`, {
        status: response.status,
        cause,
      });
    }
  };

  return async <T>(method: string, path: string, request: RequestOptions = {}) => {
    for (let n = 0; ; n++) {
      try {
        return (await once(method, path, request)) as T;
      } catch (error) {
        const { code, retryable, retryAfter = backoff(n) } = error as DialogueError;
        // thread_busy is retryable too, but by the caller, after the active run; 3 retries, ≤ 30 s apart.
        const again =
          (request.retry ?? method !== 'POST') &&
          retryable &&
          usuallyRetryable(code) &&
          n < 3 &&
          retryAfter <= 30_000;
        if (!again) throw error;
        await sleep(retryAfter, request.signal);
      }
    }
  };
}
