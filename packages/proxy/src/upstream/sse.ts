import type { Readable } from 'node:stream';
import { finished } from 'node:stream';
import { ErrorCode } from '@parley/protocol';
import { APIError } from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { ProxyError } from '../errors.js';

/**
 * Splits a server-sent-events body into whole events (each the text between two blank lines, line breaks
 * normalised to `\n`): `push` takes one read of the body and returns the events it completes, `end` the
 * last one if no blank line ended it. A CR that ends a read is held back until the next one, so a CRLF
 * split across reads is still one line break. Plain calls rather than a generator: no promise per read.
 */
export function sseSplitter(): { push(bytes: Uint8Array): string[]; end(): string[] } {
  const decoder = new TextDecoder();
  let buffer = '';
  return {
    push(bytes) {
      buffer += decoder.decode(bytes, { stream: true });
      let held = '';
      if (buffer.endsWith('\r')) {
        held = '\r';
        buffer = buffer.slice(0, -1);
      }
      if (buffer.includes('\r')) buffer = buffer.replace(/\r\n?/g, '\n');
      const events: string[] = [];
      let start = 0;
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        events.push(buffer.slice(start, end));
        start = end + 2;
        end = buffer.indexOf('\n\n', start);
      }
      buffer = buffer.slice(start) + held;
      return events;
    },
    end() {
      const rest = (buffer + decoder.decode()).replace(/\r\n?/g, '\n');
      buffer = '';
      return rest.trim() ? [rest] : [];
    },
  };
}

/** The `event:` name and the joined `data:` lines of one event; `data` is undefined for a comment. */
export function eventFields(event: string): { event: string | undefined; data: string | undefined } {
  // The common case, one `data:` line and nothing else, without splitting into lines.
  if (event.startsWith('data:') && !event.includes('\n'))
    return { event: undefined, data: event.slice(event.startsWith('data: ') ? 6 : 5) };
  let name: string | undefined;
  let data: string | undefined;
  for (const line of event.split('\n')) {
    const colon = line.indexOf(':');
    if (colon === 0) continue; // a comment, such as a keep-alive
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data = data === undefined ? value : `${data}\n${value}`;
    else if (field === 'event') name = value;
  }
  return { event: name, data };
}

/**
 * Reads a chat-completions stream body into its chunks, as the `openai` SDK's `Stream` does (events
 * after `[DONE]` are ignored, an error object or an `error` event is an `APIError` carrying the
 * response's headers) but with no web stream and no nested iterators per token. The body is always read
 * to its end, so the connection can be kept alive. Whatever fails while reading (the body, its events)
 * is thrown as `fail` maps it.
 *
 * A Node stream (what the proxy's transport hands over) is read by {@link nodeChunks}, one iterator over
 * `read()`; any other body by a generator over its async iterator.
 */
export function readChunks(
  body: AsyncIterable<Uint8Array> | Readable,
  headers: Headers,
  fail: (error: unknown) => unknown,
): AsyncIterableIterator<ChatCompletionChunk> {
  return isNodeReadable(body) ? nodeChunks(body, headers, fail) : iterableChunks(body, headers, fail);
}

function isNodeReadable(body: AsyncIterable<Uint8Array> | Readable): body is Readable {
  return typeof (body as Readable).read === 'function' && typeof (body as Readable).on === 'function';
}

async function* iterableChunks(
  body: AsyncIterable<Uint8Array>,
  headers: Headers,
  fail: (error: unknown) => unknown,
): AsyncGenerator<ChatCompletionChunk> {
  const splitter = sseSplitter();
  let done = false;
  try {
    for await (const bytes of body) {
      for (const event of splitter.push(bytes)) {
        const chunk = done ? undefined : chunkOf(event, headers);
        if (chunk === DONE) done = true;
        else if (chunk) yield chunk;
      }
    }
    for (const event of splitter.end()) {
      const chunk = done ? undefined : chunkOf(event, headers);
      if (chunk === DONE) done = true;
      else if (chunk) yield chunk;
    }
  } catch (error) {
    throw fail(error);
  }
}

const NO_EVENTS: readonly string[] = [];

/**
 * {@link readChunks} over a Node stream, calling `read()` as Node's own async iterator does, but as one
 * iterator: a token costs one promise here, where the stream's iterator and a generator over it cost two
 * of each (and ~55 KB of a paced run's ~345 KB of garbage, sampled). The stream ends as with Node's
 * iterator: normally, or with its error (`ERR_STREAM_PREMATURE_CLOSE` if it closed before its end), and
 * is destroyed once read, or when the reader stops early or an event fails.
 */
function nodeChunks(
  stream: Readable,
  headers: Headers,
  fail: (error: unknown) => unknown,
): AsyncIterableIterator<ChatCompletionChunk> {
  const splitter = sseSplitter();
  let events = NO_EVENTS;
  let next = 0;
  let done = false; // `[DONE]` seen: what follows is read, and ignored
  let ended = false; // the stream has ended or failed
  let failure: { error: unknown } | undefined;
  let flushed = false; // the splitter's last event taken
  let wake: (() => void) | undefined;
  const onReadable = () => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  stream.on('readable', onReadable);
  const stopWatching = finished(stream, { writable: false }, (error) => {
    ended = true;
    if (error) failure = { error };
    onReadable();
  });
  const release = () => {
    stream.off('readable', onReadable);
    stopWatching();
  };
  // Destroyed at the end too, as Node's iterator does: a response read to its end keeps its socket.
  const finish = (): IteratorResult<ChatCompletionChunk> => {
    release();
    stream.destroy();
    return { value: undefined, done: true };
  };
  const iterator: AsyncIterableIterator<ChatCompletionChunk> = {
    async next() {
      try {
        for (;;) {
          while (next < events.length) {
            const event = events[next++]!;
            const chunk = done ? undefined : chunkOf(event, headers);
            if (chunk === DONE) done = true;
            else if (chunk) return { value: chunk, done: false };
          }
          events = NO_EVENTS;
          next = 0;
          const bytes: Uint8Array | null = stream.destroyed ? null : stream.read();
          if (bytes !== null) events = splitter.push(bytes);
          else if (failure) throw failure.error;
          else if (!ended) await new Promise<void>((resolve) => (wake = resolve));
          else if (!flushed) {
            flushed = true;
            events = splitter.end();
          } else return finish();
        }
      } catch (error) {
        release();
        stream.destroy();
        throw fail(error);
      }
    },
    async return() {
      return finish();
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

const DONE = Symbol('[DONE]');

/** One event's chunk; `DONE` for the end marker, undefined for a comment. Throws what the SDK throws. */
function chunkOf(text: string, headers: Headers): ChatCompletionChunk | typeof DONE | undefined {
  const { event, data } = eventFields(text);
  if (data === undefined) return undefined;
  if (data === '[DONE]') return DONE;
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    throw new ProxyError(ErrorCode.Upstream, 'The model upstream sent a malformed stream event.');
  }
  const error =
    typeof parsed === 'object' && parsed !== null && 'error' in parsed
      ? (parsed.error as object | null)
      : undefined;
  if (event === 'error') throw new APIError(undefined, error ?? (parsed as object), undefined, headers);
  if (error) throw new APIError(undefined, error, undefined, headers);
  return parsed as ChatCompletionChunk;
}
