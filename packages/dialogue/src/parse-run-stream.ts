import { type AssistantStreamEvent, DONE_DATA } from '@parley/protocol';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { DialogueError, toDialogueError } from './errors.js';

// Every name of `StreamEvent` but `done` (a regular expression is a fraction of the object's size).
const KNOWN =
  /^(error|thread\.(created|run\.((step\.)?(created|in_progress|completed|failed|cancelled|expired)|queued|requires_action|incomplete|cancelling|step\.delta)|message\.(created|in_progress|delta|completed|incomplete)))$/;

/** One event of a run stream: the Assistants event plus its SSE `id:` (a sequence number on Parley). */
export type RunStreamEvent = AssistantStreamEvent & { id: string | undefined };

/**
 * Parses an Assistants v2 run stream (`text/event-stream`) into typed events. Follows the OpenAI SDK's
 * decoder: comments and unknown event names are skipped, multi-line `data:` is joined, and the stream
 * ends after `done` (or `data: [DONE]`), which is yielded once the body has ended (the server closes it
 * right after; cancelling the body instead would show every finished stream as aborted). Throws a {@link DialogueError}: `protocol`
 * for data that is not JSON, `interrupted` when `signal` aborts, `network` when the body fails.
 *
 * @example
 * ```ts
 * const response = await fetch(`${url}/v1/threads/${threadId}/runs`, { method: 'POST', headers, body });
 * for await (const { event, data, id } of parseRunStream(response.body!)) {
 *   if (event === 'thread.message.delta') console.log(id, data.delta.content);
 * }
 * ```
 */
export async function* parseRunStream(
  body: ReadableStream<Uint8Array>,
  signal?: AbortSignal,
): AsyncGenerator<RunStreamEvent, void, undefined> {
  const reader = body.pipeThrough(new TextDecoderStream() as TransformStream<Uint8Array, string>).getReader();
  // The parser itself rather than its TransformStream wrapper: the same events, in fewer shipped bytes.
  const queue: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (message) => void queue.push(message) });
  // A pending read() resolves as done once cancelled, so aborting never leaves the loop hanging.
  const onAbort = () => void reader.cancel().catch(() => {});
  signal?.addEventListener('abort', onAbort);
  let ended = false;
  try {
    for (;;) {
      signal?.throwIfAborted();
      const message = queue.shift();
      if (!message) {
        const { done, value } = await reader.read();
        signal?.throwIfAborted();
        if (done) {
          ended = true;
          return;
        }
        parser.feed(value);
        continue;
      }
      const { event, data, id } = message;
      if (data === DONE_DATA || event === 'done') {
        // Nothing follows `[DONE]` but the end of the body: wait for it, so the request completes rather
        // than being cancelled; a server that keeps the connection open is cancelled after 2 s.
        const timer = setTimeout(onAbort, 2000);
        while (!(await reader.read()).done);
        clearTimeout(timer);
        ended = true;
        signal?.throwIfAborted();
        yield { event: 'done', data: DONE_DATA, id };
        return;
      }
      if (!event || !KNOWN.test(event)) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(data);
      } catch {}
      if (typeof parsed !== 'object' || !parsed) {
        throw new DialogueError('protocol', `Bad '${event}' data`);
      }
      yield { event, data: parsed, id } as RunStreamEvent;
    }
  } catch (error) {
    throw toDialogueError(error, signal);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (!ended) reader.cancel().catch(() => {});
  }
}
