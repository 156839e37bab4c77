import { OFFLINE_MODEL } from '@parley/protocol';
import { estimateMessageTokens } from '../tokens.js';
import { hash32, mulberry32, randomToken } from './random.js';
import { generateReply } from './reply.js';
import {
  completionOf,
  isWireError,
  planOutput,
  type ResponseMeta,
  type StreamEvent,
  streamEventsOf,
  validateRequest,
  type WireError,
  wireError,
} from './wire.js';

/** Base URL to give the `openai` client together with `createOfflineFetch()`; it never hits the network. */
export const OFFLINE_BASE_URL = 'http://parley-offline.invalid/v1';

/** Options of the offline model. */
export interface OfflineFetchOptions {
  /** Varies phrasing and ids; the same seed and request always give the same reply. Default 0. */
  seed?: number;
  /** Pause between streamed words, to feel like a model typing. 0 streams as fast as possible (still async). Default 35. */
  tokenDelayMs?: number;
}

/**
 * The built-in offline model, served as an in-process `fetch` that speaks the OpenAI Chat Completions
 * HTTP API. Handing it to the official SDK makes offline turns take exactly the code path of online
 * ones: request building, SSE parsing, tool-call accumulation, typed errors, aborts.
 *
 * Serves `POST …/chat/completions` (streaming or not, with tools), `GET …/models` and
 * `GET …/models/parley-offline`; anything else is a 404 in OpenAI's error shape. The request's
 * `AbortSignal` stops generation at once and clears its timers.
 *
 * @example
 * const client = new OpenAI({ baseURL: OFFLINE_BASE_URL, apiKey: 'offline', fetch: createOfflineFetch({ seed: 7 }) });
 * const stream = await client.chat.completions.create({ model: 'parley-offline', messages, stream: true });
 * for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta.content ?? '');
 */
export function createOfflineFetch(options: OfflineFetchOptions = {}): typeof fetch {
  const seed = options.seed ?? 0;
  const delay = options.tokenDelayMs ?? 35;
  const tokenDelayMs = Number.isFinite(delay) ? Math.max(0, delay) : 35;
  const offlineFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined) ?? undefined;
    signal?.throwIfAborted();
    const request = new Request(input, init);
    const url = new URL(request.url);
    const method = request.method.toUpperCase();
    const path = url.pathname.replace(/\/+$/, '');

    if (method === 'GET' && path.endsWith('/models')) {
      return json(200, { object: 'list', data: [modelObject()] });
    }
    const modelId = /\/models\/([^/]+)$/.exec(path)?.[1];
    if (method === 'GET' && modelId !== undefined) {
      return decodeURIComponent(modelId) === OFFLINE_MODEL
        ? json(200, modelObject())
        : errorResponse(
            wireError(
              404,
              `The model '${decodeURIComponent(modelId)}' does not exist or you do not have access to it.`,
              'model',
              'model_not_found',
            ),
          );
    }
    if (method === 'POST' && path.endsWith('/chat/completions')) {
      const text = await request.text();
      signal?.throwIfAborted();
      return completions(text, seed, tokenDelayMs, signal);
    }
    return errorResponse(wireError(404, `Invalid URL (${method} ${url.pathname})`, null, 'not_found'));
  };
  return offlineFetch;
}

function modelObject() {
  // A fixed date: the model list is part of what tests compare.
  return { id: OFFLINE_MODEL, object: 'model', created: 1_767_225_600, owned_by: 'parley' };
}

function completions(
  bodyText: string,
  baseSeed: number,
  tokenDelayMs: number,
  signal: AbortSignal | undefined,
): Response {
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    return errorResponse(
      wireError(
        400,
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)",
        null,
        'invalid_json',
      ),
    );
  }
  const request = validateRequest(body);
  if (isWireError(request)) return errorResponse(request);

  // The request's own `seed` varies the reply on top of the model's, as OpenAI's `seed` does.
  const seed = hash32(baseSeed, typeof request.seed === 'number' ? request.seed : 'none');
  const reply = generateReply(request, seed);
  const idRng = mulberry32(hash32(seed, 'ids', JSON.stringify(body)));
  const id = `chatcmpl-${randomToken(idRng, 29)}`;
  const maxTokens = request.max_completion_tokens ?? request.max_tokens ?? undefined;
  const stop =
    request.stop === undefined || request.stop === null
      ? []
      : typeof request.stop === 'string'
        ? [request.stop]
        : request.stop;
  const output = planOutput(reply, { maxTokens, stop }, idRng);
  const meta: ResponseMeta = {
    id,
    created: Math.floor(Date.now() / 1000),
    model: request.model,
    promptTokens: estimateMessageTokens(request.messages),
    includeUsage: request.stream === true && request.stream_options?.include_usage === true,
  };
  const headers = { 'x-request-id': `req_${randomToken(idRng, 24)}`, 'openai-processing-ms': '0' };
  if (request.stream !== true) return json(200, completionOf(meta, output), headers);
  return new Response(eventStream(streamEventsOf(meta, output), tokenDelayMs, signal), {
    status: 200,
    headers: { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' },
  });
}

/**
 * Streams the events with a delay before each delayed one, pulled by the reader (at most one event
 * ahead, like a socket buffer). On abort it errors the body with the signal's reason, as `fetch` does,
 * and clears its timer; on cancel it just stops.
 */
function eventStream(
  events: readonly StreamEvent[],
  delayMs: number,
  signal: AbortSignal | undefined,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let next = 0;
  let done = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let wake: (() => void) | undefined;
  let onAbort: (() => void) | undefined;
  const stop = () => {
    done = true;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    wake?.();
    wake = undefined;
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (!signal) return;
      onAbort = () => {
        stop();
        controller.error(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    },
    async pull(controller) {
      const event = events[next];
      if (done || !event) return;
      if (event.delayed) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(() => {
            timer = undefined;
            wake = undefined;
            resolve();
          }, delayMs);
        });
        if (done) return;
      }
      next++;
      controller.enqueue(encoder.encode(event.data));
      if (next === events.length) {
        stop();
        controller.close();
      }
    },
    cancel() {
      stop();
    },
  });
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...headers, 'content-type': 'application/json' },
  });
}

function errorResponse(error: WireError): Response {
  return json(error.status, error.body);
}
