import { ErrorCode } from '@parley/protocol';
import type { EventSourceMessage } from 'eventsource-parser';
import { ProxyError, toErrorBody } from '../errors.js';
import { redact } from './errors.js';
import { DONE_DATA, EventReader } from './events.js';

/** What chat pass-through asks of {@link relayEvents}. */
export interface RelayOptions {
  /** Forward the usage chunk (the client asked for `stream_options.include_usage`). */
  keepUsage?: boolean;
  /** Called with the usage chunk's totals, for budgets and metrics. */
  onUsage?: (usage: { prompt_tokens: number; completion_tokens: number }) => void;
}

/**
 * Relays a chat-completions SSE body as SSE text, one string per read of the body, without parsing the
 * token chunks: their `data` goes out as it came (only the framing is rewritten, `\n` line breaks and
 * `data: `), so nothing is re-serialised per token. The exceptions: an error object or `error` event is
 * replaced by the proxy's own error body, because upstreams echo things there — including, for a bad key,
 * the key itself; the usage chunk is reported, and dropped unless `keepUsage`; events after `[DONE]` are
 * dropped (the body is still read to its end). Comments (keep-alives) are passed on.
 *
 * Failures of the body are thrown as `fail` maps them.
 */
export async function* relayEvents(
  body: ReadableStream<Uint8Array>,
  secret: string | undefined,
  options: RelayOptions = {},
  fail: (error: unknown) => unknown = (error) => error,
): AsyncGenerator<string> {
  const events = new EventReader(body, fail);
  let done = false;
  try {
    for (;;) {
      const items = await events.read();
      if (items.length === 0) return;
      if (done) continue;
      let out = '';
      for (const item of items) {
        if (typeof item === 'string') out += `:${item ? ` ${item}` : ''}\n\n`;
        else if (!done) {
          out += safeEvent(item, secret, options);
          done = item.data === DONE_DATA;
        }
      }
      if (out) yield out;
    }
  } finally {
    await events.cancel(); // a no-op once the body has ended; closes the connection when the reader stopped early
  }
}

/** One event as SSE text, made safe (see {@link relayEvents}); '' when it is dropped. */
function safeEvent(event: EventSourceMessage, secret: string | undefined, options: RelayOptions): string {
  const { data } = event;
  // The usage chunk is the one chunk with `"usage":{` (earlier ones carry `"usage":null`).
  if (data.includes('"usage":{')) {
    const usage = readUsage(data);
    if (usage) {
      options.onUsage?.(usage);
      if (!options.keepUsage) return '';
    }
  }
  if (event.event !== 'error' && !data.includes('"error"')) return frame(event);
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    parsed = undefined;
  }
  const error =
    typeof parsed === 'object' && parsed !== null && 'error' in parsed ? { inner: parsed.error } : undefined;
  // Generated text that mentions "error" is not an error event.
  if (event.event !== 'error' && !error) return frame(event);
  const upstream = error ? error.inner : parsed;
  const message =
    typeof upstream === 'object' && upstream !== null && 'message' in upstream
      ? String(upstream.message)
      : 'unknown error';
  const failure = new ProxyError(ErrorCode.Upstream, `The model upstream failed: ${redact(message, secret)}`);
  return `data: ${JSON.stringify(toErrorBody(failure))}\n\n`;
}

/** An event written back as SSE: the name, the id and every line of its data as they were parsed. */
function frame(event: EventSourceMessage): string {
  const data = event.data.includes('\n')
    ? `data: ${event.data.split('\n').join('\ndata: ')}\n\n`
    : `data: ${event.data}\n\n`;
  if (event.event === undefined && event.id === undefined) return data;
  return `${event.event === undefined ? '' : `event: ${event.event}\n`}${event.id === undefined ? '' : `id: ${event.id}\n`}${data}`;
}

function readUsage(data: string): { prompt_tokens: number; completion_tokens: number } | undefined {
  try {
    const chunk = JSON.parse(data) as {
      choices?: unknown[];
      usage?: { prompt_tokens?: number; completion_tokens?: number };
    };
    if (!chunk.usage || (chunk.choices && chunk.choices.length > 0)) return undefined;
    return {
      prompt_tokens: chunk.usage.prompt_tokens ?? 0,
      completion_tokens: chunk.usage.completion_tokens ?? 0,
    };
  } catch {
    return undefined;
  }
}
