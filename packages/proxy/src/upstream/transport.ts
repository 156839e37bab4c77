import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';

/**
 * The upstream transport: a `fetch` for the `openai` SDK on `node:http` keep-alive agents, in place of
 * the global (undici) `fetch`. The SDK takes a `fetch` option for exactly this, and everything above it —
 * building requests, headers, retries, error mapping, stream parsing — stays the SDK's.
 *
 * Why: a streamed turn relays one upstream read per token. Through undici's fetch each read passes a
 * byte-stream controller, a reader promise and an async iterator before the proxy sees it; here it is
 * one `data` event. And a response's Node stream can be taken whole with {@link rawBody}, so chat
 * pass-through reads bytes with no web stream in between (docs/decisions/0008).
 *
 * It implements what the SDK uses and no more: string or URL input, string or byte bodies, headers,
 * `signal` (aborting before the response or during the body), status, headers and a streamed body. It
 * follows no redirects (the API answers none) and asks for no compression (a streaming API gains nothing).
 */
export interface Transport {
  fetch: typeof fetch;
  /**
   * The Node stream behind a response this transport produced, unless its web body has been read
   * already. Taking it leaves the web body empty; a response from another `fetch` gives `undefined`.
   */
  rawBody(response: Response): IncomingMessage | undefined;
}

/** Chunks a web body holds for a slow reader before the socket is paused. */
const QUEUED_CHUNKS = 16;

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error && reason.name !== 'AbortError'
    ? reason
    : new DOMException('This operation was aborted', 'AbortError');
}

export function createTransport(): Transport {
  // Idle keep-alive sockets close after 4 s, as undici's do, so a socket the server has since closed is
  // rarely reused (the agent's `timeout` destroys only free sockets; a slow answer is the SDK's to time).
  const options = { keepAlive: true, maxSockets: 1024, scheduling: 'lifo', timeout: 4000 } as const;
  const agents = { 'http:': new http.Agent(options), 'https:': new https.Agent(options) };
  /** Responses whose Node stream has not been claimed by either side yet. */
  const unclaimed = new WeakMap<Response, IncomingMessage>();

  const fetchImpl = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const signal = init.signal ?? undefined;
    return new Promise<Response>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortError(signal));
        return;
      }
      const agent = agents[url.protocol as keyof typeof agents];
      const body = init.body;
      if (!agent) {
        reject(new TypeError(`fetch failed: unsupported protocol ${url.protocol}`));
        return;
      }
      if (body != null && typeof body !== 'string' && !(body instanceof Uint8Array)) {
        reject(new TypeError('fetch failed: only string and byte request bodies are supported'));
        return;
      }
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((value, name) => {
        headers[name] = value;
      });
      if (body != null) headers['content-length'] = String(Buffer.byteLength(body));
      const request = (url.protocol === 'https:' ? https : http).request(url, {
        method: (init.method ?? 'GET').toUpperCase(),
        headers,
        agent,
      });
      const onAbort = () => request.destroy(abortError(signal!));
      signal?.addEventListener('abort', onAbort, { once: true });
      request.on('error', (error) => {
        signal?.removeEventListener('abort', onAbort);
        reject(signal?.aborted ? abortError(signal) : new TypeError('fetch failed', { cause: error }));
      });
      request.on('response', (incoming) => {
        incoming.on('close', () => signal?.removeEventListener('abort', onAbort));
        const responseHeaders = new Headers();
        for (let i = 0; i + 1 < incoming.rawHeaders.length; i += 2) {
          responseHeaders.append(incoming.rawHeaders[i]!, incoming.rawHeaders[i + 1]!);
        }
        const status = incoming.statusCode ?? 502;
        if (init.method?.toUpperCase() === 'HEAD' || status === 204 || status === 304) {
          incoming.resume();
          resolve(
            new Response(null, {
              status,
              statusText: incoming.statusMessage ?? '',
              headers: responseHeaders,
            }),
          );
          return;
        }
        // The web body starts reading the Node stream only when someone reads it; until then the Node
        // stream may be claimed whole instead (rawBody), and the web body is never read.
        const webBody = lazyWebBody(incoming, {
          onRead: () => unclaimed.delete(response),
          failure: (error) => (signal?.aborted ? abortError(signal) : error),
        });
        const response = new Response(webBody, {
          status,
          statusText: incoming.statusMessage ?? '',
          headers: responseHeaders,
        });
        Object.defineProperty(response, 'url', { value: url.href }); // the SDK logs it
        unclaimed.set(response, incoming);
        resolve(response);
      });
      request.end(body ?? undefined);
    });
  };

  return {
    fetch: fetchImpl as typeof fetch,
    rawBody(response) {
      const incoming = unclaimed.get(response);
      if (incoming) unclaimed.delete(response);
      return incoming;
    },
  };
}

/**
 * A web body over a Node stream that starts reading it only when the body is first read, and stops reading
 * (pauses the socket) while more than a few chunks wait for a slow reader.
 *
 * Once the stream is closed, errored or cancelled, nothing more reaches its controller: a Node stream can
 * still emit `end` after the reader cancelled (its `end` was already scheduled), and a controller closed
 * twice throws from inside that event handler, which would take down the process.
 */
export function lazyWebBody(
  incoming: Readable,
  options: { onRead?: () => void; failure?: (error: unknown) => unknown } = {},
): ReadableStream<Uint8Array> {
  let reading = false;
  let finished = false;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (reading) {
          incoming.resume(); // paused below for back-pressure
          return;
        }
        reading = true;
        options.onRead?.();
        incoming.on('data', (chunk: Buffer) => {
          if (finished) return;
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) < -QUEUED_CHUNKS) incoming.pause();
        });
        incoming.on('end', () => {
          if (finished) return;
          finished = true;
          controller.close();
        });
        incoming.on('error', (error) => {
          if (finished) return;
          finished = true;
          controller.error(options.failure ? options.failure(error) : error);
        });
      },
      cancel() {
        finished = true;
        incoming.destroy();
      },
    },
    // No read ahead: the Node stream is left alone until someone reads the body.
    { highWaterMark: 0 },
  );
}
