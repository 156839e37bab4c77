import { ErrorCode } from '@parley/protocol';
import { createParser, type EventSourceMessage, type EventSourceParser } from 'eventsource-parser';
import { APIError } from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { ProxyError } from '../errors.js';

/** What an upstream body holds between blank lines: an event, or a comment (such as a keep-alive), as text. */
export type SseItem = EventSourceMessage | string;

/** The `data` that ends a chat-completions stream; what follows it is read, and ignored. */
export const DONE_DATA = '[DONE]';

/**
 * Reads a server-sent-events body with `eventsource-parser`, one read of the body at a time. It is the
 * one layer between the upstream's bytes and the proxy's events: {@link readChunks} (runs) and the chat
 * relay both take their events from it, so line breaks, multi-line `data`, comments and a last event no
 * blank line ended are handled once.
 *
 * A plain reader and parser callbacks rather than `TextDecoderStream` → `EventSourceParserStream`: each
 * piped stage costs a promise and a queue per token, and a streamed turn reads one token per read.
 *
 * Whatever the body fails with (a reset socket, an abort) is thrown from {@link read} as `fail` maps it;
 * the reader is then released. Stopping early ({@link cancel}) cancels the body, which closes the
 * upstream connection.
 */
export class EventReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #fail: (error: unknown) => unknown;
  readonly #decoder = new TextDecoder();
  readonly #parser: EventSourceParser;
  #items: SseItem[] = [];
  #ended = false;

  constructor(body: ReadableStream<Uint8Array>, fail: (error: unknown) => unknown) {
    this.#reader = body.getReader();
    this.#fail = fail;
    this.#parser = createParser({
      onEvent: (event) => this.#items.push(event),
      onComment: (comment) => this.#items.push(comment),
    });
  }

  /** The items the next read(s) of the body complete, in order; an empty array once the body has ended. */
  async read(): Promise<SseItem[]> {
    while (!this.#ended) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await this.#reader.read();
      } catch (error) {
        this.#ended = true;
        this.#reader.releaseLock();
        throw this.#fail(error);
      }
      if (result.done) {
        this.#ended = true;
        // A last event that no blank line ended still counts, as the `openai` SDK reads it.
        this.#parser.feed(`${this.#decoder.decode()}\n\n`);
      } else {
        this.#parser.feed(this.#decoder.decode(result.value, { stream: true }));
      }
      if (this.#items.length > 0) {
        const items = this.#items;
        this.#items = [];
        return items;
      }
    }
    return [];
  }

  /** Stops reading: the body is cancelled (its connection closed) unless it had ended already. */
  async cancel(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    await this.#reader.cancel().catch(() => {});
  }
}

/**
 * Reads a chat-completions stream body into its chunks, as the `openai` SDK's `Stream` does: comments
 * are skipped, events after `[DONE]` are ignored (the body is still read to its end, so its connection
 * can be kept alive), an error object or an `error` event is an `APIError` carrying the response's
 * headers, and data that is not JSON is a `ProxyError`. Everything thrown while reading goes through
 * `fail`, so the caller decides what a failure means (an abort, a premature end, an upstream error).
 *
 * One iterator rather than a generator over {@link EventReader}: a token costs one promise here.
 *
 * @example
 * const response = await client.chat.completions.create({ ...params, stream: true }).asResponse();
 * for await (const chunk of readChunks(response.body!, response.headers, (error) => error))
 *   process.stdout.write(chunk.choices[0]?.delta.content ?? '');
 */
export function readChunks(
  body: ReadableStream<Uint8Array>,
  headers: Headers,
  fail: (error: unknown) => unknown,
): AsyncIterableIterator<ChatCompletionChunk> {
  const events = new EventReader(body, fail);
  let items: SseItem[] = [];
  let next = 0;
  let done = false;
  const finish = async (): Promise<IteratorResult<ChatCompletionChunk>> => {
    await events.cancel();
    return { value: undefined, done: true };
  };
  const iterator: AsyncIterableIterator<ChatCompletionChunk> = {
    async next() {
      for (;;) {
        while (next < items.length) {
          const item = items[next++]!;
          if (done || typeof item === 'string') continue;
          let chunk: ChatCompletionChunk | undefined;
          try {
            chunk = chunkOf(item, headers);
          } catch (error) {
            await events.cancel();
            throw fail(error);
          }
          if (chunk) return { value: chunk, done: false };
          done = true;
        }
        next = 0;
        items = await events.read();
        if (items.length === 0) return finish();
      }
    },
    return: finish,
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/** One event's chunk, or undefined for `[DONE]`. Throws what the SDK throws for an error in the stream. */
function chunkOf(event: EventSourceMessage, headers: Headers): ChatCompletionChunk | undefined {
  if (event.data === DONE_DATA) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(event.data);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null)
    throw new ProxyError(ErrorCode.Upstream, 'The model upstream sent a malformed stream event.');
  const error = 'error' in parsed ? (parsed.error as object | null) : undefined;
  if (event.event === 'error') throw new APIError(undefined, error ?? parsed, undefined, headers);
  if (error) throw new APIError(undefined, error, undefined, headers);
  return parsed as ChatCompletionChunk;
}
