import { type AssistantStreamEvent, DONE_DATA } from '@parley/protocol';
import { EventSourceParserStream } from 'eventsource-parser/stream';
import { DialogueError, toDialogueError } from './errors.js';

// Every name of `StreamEvent` but `done` (a regular expression is a fraction of the object's size).
const KNOWN =
  /^(error|thread\.(created|run\.(created|queued|in_progress|requires_action|completed|incomplete|failed|cancelling|cancelled|expired|step\.(created|in_progress|delta|completed|failed|cancelled|expired))|message\.(created|in_progress|delta|completed|incomplete)))$/;

/** One event of a run stream: the Assistants event plus its SSE `id:` (a sequence number on Parley). */
export type RunStreamEvent = AssistantStreamEvent & { id: string | undefined };

/**
 * Parses an Assistants v2 run stream (`text/event-stream`) into typed events. Follows the OpenAI SDK's
 * decoder: comments and unknown event names are skipped, multi-line `data:` is joined, and the stream
 * ends after `done` (or `data: [DONE]`), which is yielded. Throws a {@link DialogueError}: `protocol`
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
  const reader = body
    .pipeThrough(new TextDecoderStream() as TransformStream<Uint8Array, string>)
    .pipeThrough(new EventSourceParserStream())
    .getReader();
  // A pending read() resolves as done once cancelled, so aborting never leaves the loop hanging.
  const onAbort = () => void reader.cancel().catch(() => {});
  signal?.addEventListener('abort', onAbort);
  try {
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      const { done, value } = await reader.read();
      if (signal?.aborted) throw signal.reason;
      if (done) return;
      const { event, data, id } = value;
      if (data === DONE_DATA || event === 'done') {
        yield { event: 'done', data: DONE_DATA, id };
        return;
      }
      if (!event || !KNOWN.test(event)) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(data);
      } catch {}
      if (typeof parsed !== 'object' || !parsed) {
        throw new DialogueError('protocol', `Expected a JSON object in '${event}' event`);
      }
      yield { event, data: parsed, id } as RunStreamEvent;
    }
  } catch (error) {
    throw toDialogueError(error, signal);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    reader.cancel().catch(() => {});
  }
}
