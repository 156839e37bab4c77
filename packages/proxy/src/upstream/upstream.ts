import { ErrorCode, OFFLINE_MODEL } from '@parley/protocol';
import OpenAI, { APIError, APIUserAbortError, AzureOpenAI } from 'openai';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionCreateParamsStreaming,
} from 'openai/resources/chat/completions';
import { Agent, fetch as undiciFetch } from 'undici';
import type { UpstreamConfig, UpstreamKind } from '../config.js';
import { ProxyError } from '../errors.js';
import { createOfflineFetch } from '../offline/index.js';
import { isRetryable, mapUpstreamError, retryAfterMs } from './errors.js';
import { readChunks } from './events.js';
import { type RelayOptions, relayEvents } from './relay.js';

/** A chat-completions request as the proxy builds it (the `stream` flag is the upstream's business). */
export type ChatRequest = Omit<ChatCompletionCreateParamsNonStreaming, 'stream' | 'stream_options'>;

/** Raised when the caller's signal aborted the upstream request; never shown to a client as an error. */
export class AbortedError extends Error {
  override readonly name = 'AbortedError';
}

/**
 * One chat-completions upstream. Every kind, the offline model included, is an `openai` SDK client: the
 * offline model is served through an in-process `fetch`, so streaming, parsing and error handling above
 * this line are the same code for all of them.
 */
export interface Upstream {
  readonly kind: UpstreamKind;
  readonly defaultModel: string;
  /** The model a request for `requested` really runs on. */
  resolveModel(requested: string | null | undefined): string;
  /** Opens a stream (retrying retryable failures until the first byte); throws ProxyError or AbortedError. */
  stream(request: ChatRequest, signal: AbortSignal): Promise<AsyncIterable<ChatCompletionChunk>>;
  complete(request: ChatRequest, signal: AbortSignal): Promise<ChatCompletion>;
  /**
   * Opens a stream and hands back the upstream's SSE events as text: token chunks untouched (chat
   * pass-through: nothing to parse or re-serialise per token), error objects made safe. Retries and
   * error mapping before the first byte are the same as {@link stream}.
   */
  relay(request: ChatRequest, signal: AbortSignal, options?: RelayOptions): Promise<AsyncIterable<string>>;
  /** OpenAI's moderation endpoint, when the upstream is OpenAI itself. */
  readonly moderationClient: Pick<OpenAI, 'moderations'> | undefined;
  /** The SDK client itself, for endpoints passed through as they are (audio; see `audio/upstream.ts`). */
  readonly client: OpenAI;
  /** A failure of a call made with {@link client}, mapped as every upstream failure is (key redacted). */
  mapError(error: unknown): ProxyError;
}

/**
 * Builds the upstream `config` names. `options.fetch` replaces the HTTP client (tests); otherwise a network
 * upstream is reached through undici's `fetch` on a keep-alive {@link upstreamAgent}, and the offline model
 * through its in-process `fetch`.
 */
export function createUpstream(config: UpstreamConfig, options: { fetch?: typeof fetch } = {}): Upstream {
  const client = createClient(
    config,
    options.fetch ?? (config.kind === 'offline' ? undefined : agentFetch(upstreamAgent())),
  );
  const secret = config.apiKey;
  function resolveModel(requested: string | null | undefined): string {
    if (config.kind === 'offline') return OFFLINE_MODEL;
    if (!requested || requested === OFFLINE_MODEL) return config.defaultModel;
    return requested;
  }

  /**
   * Sends a streamed request (retrying until the first byte) and hands back its raw response: the SDK
   * builds, sends and error-maps the request, and the caller decodes the body with `eventsource-parser`
   * (the SDK's `Stream` would parse every chunk for chat pass-through, which relays them as text). Usage
   * is always requested: budgets settle from it.
   */
  async function openStream(
    request: ChatRequest,
    signal: AbortSignal,
  ): Promise<{ body: ReadableStream<Uint8Array>; headers: Headers }> {
    const params: ChatCompletionCreateParamsStreaming = {
      ...request,
      model: resolveModel(request.model),
      stream: true,
      stream_options: { include_usage: true },
    };
    const response = await withRetries(
      () => client.chat.completions.create(params, { signal, maxRetries: 0 }).asResponse(),
      signal,
      config.maxRetries,
      secret,
    );
    const body = response.body;
    if (!body) throw new ProxyError(ErrorCode.Upstream, 'The model upstream sent no stream.');
    return { body, headers: response.headers };
  }

  return {
    kind: config.kind,
    defaultModel: config.defaultModel,
    resolveModel,
    async stream(request, signal) {
      const { body, headers } = await openStream(request, signal);
      return readChunks(body, headers, streamFailure(signal, secret));
    },
    moderationClient: config.kind === 'openai' ? client : undefined,
    client,
    mapError: (error) => mapUpstreamError(error, secret),
    async relay(request, signal, options = {}) {
      // The relay drops the usage chunk unless the client asked for it.
      const { body } = await openStream(request, signal);
      return relayEvents(body, secret, options, streamFailure(signal, secret));
    },
    async complete(request, signal) {
      const params: ChatCompletionCreateParamsNonStreaming = {
        ...request,
        model: resolveModel(request.model),
        stream: false,
      };
      return withRetries(
        () => client.chat.completions.create(params, { signal, maxRetries: 0 }),
        signal,
        config.maxRetries,
        secret,
      );
    },
  };
}

/** What a failure while reading a stream means: an abort, an error the upstream sent, or a stream cut short. */
function streamFailure(signal: AbortSignal, secret: string | undefined) {
  return (error: unknown): Error => {
    if (signal.aborted || error instanceof APIUserAbortError)
      return new AbortedError('aborted', { cause: error });
    if (error instanceof APIError || error instanceof ProxyError) return mapUpstreamError(error, secret);
    return new ProxyError(
      ErrorCode.Upstream,
      'The model upstream ended the stream before the answer was finished.',
      { cause: error },
    );
  };
}

/** Tries until the first byte, `maxRetries` times more at most, on OpenAI's own schedule. */
async function withRetries<T>(
  attempt: () => Promise<T>,
  signal: AbortSignal,
  maxRetries: number,
  secret: string | undefined,
): Promise<T> {
  for (let tries = 0; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (signal.aborted || error instanceof APIUserAbortError)
        throw new AbortedError('aborted', { cause: error });
      if (tries >= maxRetries || !isRetryable(error)) throw mapUpstreamError(error, secret);
      // 0.5 s doubling to 8 s with jitter, or what the server asked for (≤ 60 s).
      const asked = retryAfterMs(error);
      const wait =
        asked !== undefined && asked <= 60_000
          ? asked
          : Math.min(500 * 2 ** tries, 8000) * (0.75 + Math.random() / 4);
      await sleep(wait, signal);
    }
  }
}

function createClient(config: UpstreamConfig, fetchImpl: typeof fetch | undefined): OpenAI {
  const common = { maxRetries: 0, timeout: config.timeoutMs, ...(fetchImpl ? { fetch: fetchImpl } : {}) };
  switch (config.kind) {
    case 'offline':
      return new OpenAI({
        ...common,
        apiKey: 'offline',
        baseURL: 'http://parley-offline.invalid/v1',
        fetch: fetchImpl ?? createOfflineFetch(config.offline),
      });
    case 'azure':
      return new AzureOpenAI({
        ...common,
        endpoint: config.azure!.endpoint,
        apiKey: config.apiKey,
        apiVersion: config.azure!.apiVersion,
        deployment: config.azure!.deployment,
      });
    case 'compatible':
    case 'openai':
      return new OpenAI({
        ...common,
        apiKey: config.apiKey ?? 'unused',
        baseURL: config.baseURL ?? 'https://api.openai.com/v1',
        organization: config.organization ?? null,
        project: config.project ?? null,
      });
  }
}

/**
 * The connection pool of a network upstream. Keep-alive, as undici's default agent, but with room for many
 * streams at once: every open turn holds a connection for its whole answer, so a pool of 1024 lets 200
 * concurrent streams (and more) go out at once instead of queueing behind each other. undici's own
 * header and body timeouts are off, as they were on the `node:http` transport this replaced: the SDK's
 * `timeout` bounds the wait for an answer, the proxy's watchdogs the stream.
 */
export function upstreamAgent(): Agent {
  return new Agent({
    connections: 1024,
    keepAliveTimeout: 4000,
    headersTimeout: 0,
    bodyTimeout: 0,
  });
}

/**
 * undici's `fetch` bound to `agent`. undici's types describe the same WHATWG `Request`/`Response` as the
 * global ones under different names, hence the one cast; the SDK only calls it with what `fetch` takes.
 */
function agentFetch(agent: Agent): typeof fetch {
  const send = (input: string | URL | Request, init?: RequestInit) =>
    undiciFetch(input as Parameters<typeof undiciFetch>[0], {
      ...(init as Parameters<typeof undiciFetch>[1]),
      dispatcher: agent,
    });
  return send as unknown as typeof fetch;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortedError('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** What a turn's chunks mean, once fragments are put in order. */
export type TurnEvent =
  | { type: 'text'; delta: string }
  | { type: 'tool_call'; index: number; id?: string; name?: string; arguments?: string }
  | { type: 'finish'; reason: 'stop' | 'length' | 'tool_calls' | 'content_filter' }
  | { type: 'usage'; usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } };

/**
 * Decodes a chat-completions stream defensively (see the wire reference, 3a), a chunk at a time as it
 * arrives: chunks with empty `choices` (Azure filter chunks, the usage chunk) are fine, tool-call
 * fragments are keyed by index, unknown fields are ignored, and a stream that ends without a
 * `finish_reason` is a failure, not a short answer (`end` throws).
 */
export class TurnDecoder {
  #finished = false;

  /** The events one chunk holds, in order. */
  push(chunk: ChatCompletionChunk): TurnEvent[] {
    const events: TurnEvent[] = [];
    if (chunk.usage) {
      const { prompt_tokens = 0, completion_tokens = 0 } = chunk.usage;
      events.push({
        type: 'usage',
        usage: { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens },
      });
    }
    const choice = chunk.choices?.find((c) => c.index === 0) ?? chunk.choices?.[0];
    if (!choice) return events;
    const delta = choice.delta ?? {};
    if (typeof delta.content === 'string' && delta.content.length > 0)
      events.push({ type: 'text', delta: delta.content });
    if (typeof delta.refusal === 'string' && delta.refusal.length > 0)
      events.push({ type: 'text', delta: delta.refusal });
    for (const call of delta.tool_calls ?? []) {
      events.push({
        type: 'tool_call',
        index: call.index,
        ...(call.id ? { id: call.id } : {}),
        ...(call.function?.name ? { name: call.function.name } : {}),
        ...(call.function?.arguments ? { arguments: call.function.arguments } : {}),
      });
    }
    if (choice.finish_reason) {
      this.#finished = true;
      const reason = choice.finish_reason === 'function_call' ? 'tool_calls' : choice.finish_reason;
      events.push({ type: 'finish', reason });
    }
    return events;
  }

  /** Called when the stream has ended: throws unless it said how the answer finished. */
  end(): void {
    if (!this.#finished) {
      throw new ProxyError(
        ErrorCode.Upstream,
        'The model upstream ended the stream before the answer was finished.',
      );
    }
  }
}

/** A whole stream's events, through {@link TurnDecoder}. */
export async function* readTurn(chunks: AsyncIterable<ChatCompletionChunk>): AsyncGenerator<TurnEvent> {
  const decoder = new TurnDecoder();
  for await (const chunk of chunks) yield* decoder.push(chunk);
  decoder.end();
}
