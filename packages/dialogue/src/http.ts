import { ASSISTANTS_BETA_HEADER, ASSISTANTS_BETA_VALUE, type ErrorBody } from '@parley/protocol';
import { DialogueError, fromErrorObject, toDialogueError } from './errors.js';

/** The part of {@link ParleyOptions} the HTTP layer needs. */
export interface HttpOptions {
  url: string;
  fetch?: typeof fetch | undefined;
  auth?: (() => string | undefined | Promise<string | undefined>) | undefined;
}

export interface RequestOptions {
  body?: unknown;
  signal?: AbortSignal | undefined;
  /** Return the response untouched (for streams) instead of its JSON. */
  raw?: boolean;
}

/** Sends one API call; rejects with a DialogueError for network failures and non-2xx answers. */
export type Request = <T>(method: string, path: string, options?: RequestOptions) => Promise<T>;

export function createRequest(options: HttpOptions): Request {
  const base = `${options.url.replace(/\/+$/, '')}/v1`;
  return async <T>(method: string, path: string, { body, signal, raw }: RequestOptions = {}) => {
    const headers: Record<string, string> = { [ASSISTANTS_BETA_HEADER]: ASSISTANTS_BETA_VALUE };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (raw) headers['Accept'] = 'text/event-stream';
    let token: string | undefined;
    try {
      token = await options.auth?.();
    } catch (cause) {
      throw new DialogueError('auth', 'The auth callback failed', { cause });
    }
    if (token) headers['Authorization'] = `Bearer ${token}`;
    let response: Response;
    try {
      // Resolved per call (never at import) and called unbound: window.fetch throws "Illegal invocation"
      // when called as a method of another object.
      const fetchFn = options.fetch ?? globalThis.fetch;
      response = await fetchFn(base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (error) {
      throw toDialogueError(error, signal);
    }
    if (!response.ok) {
      // Not every failure is ours (an HTML 502 from a CDN): without OpenAI's error body, the status decides.
      const parsed = (await response.json().catch(() => undefined)) as Partial<ErrorBody> | undefined;
      throw fromErrorObject(parsed?.error, response.status);
    }
    if (raw) return response as T;
    const text = await response.text().catch((error: unknown) => {
      throw toDialogueError(error, signal);
    });
    try {
      return JSON.parse(text) as T;
    } catch (cause) {
      throw new DialogueError('protocol', `Expected JSON from ${method} ${path}`, {
        status: response.status,
        cause,
      });
    }
  };
}
