import { ErrorCode } from '@parley/protocol';
import { ProxyError, toErrorBody } from '../errors.js';
import { redact } from './errors.js';
import { sseSplitter } from './sse.js';

/**
 * Relays a chat-completions SSE body event by event without parsing the token chunks (they go out as
 * they came), but with one exception: an error object inside the stream is replaced by the proxy's own
 * error body, because upstreams echo things there — including, for a bad key, the key itself.
 */
export interface RelayOptions {
  /** Forward the usage chunk (the client asked for `stream_options.include_usage`). */
  keepUsage?: boolean;
  /** Called with the usage chunk's totals, for budgets and metrics. */
  onUsage?: (usage: { prompt_tokens: number; completion_tokens: number }) => void;
}

export async function* relayEvents(
  body: AsyncIterable<Uint8Array>,
  secret: string | undefined,
  options: RelayOptions = {},
): AsyncGenerator<string> {
  const splitter = sseSplitter();
  for await (const bytes of body) {
    let out = '';
    for (const event of splitter.push(bytes)) out += safeEvent(event, secret, options);
    if (out) yield out;
  }
  const last = splitter.end()[0];
  if (last !== undefined) yield safeEvent(last, secret, options);
}

function safeEvent(event: string, secret: string | undefined, options: RelayOptions): string {
  // The usage chunk is the one chunk with `"usage":{` (earlier ones carry `"usage":null`).
  if (event.includes('"usage":{')) {
    const usage = readUsage(event);
    if (usage) {
      options.onUsage?.(usage);
      if (!options.keepUsage) return '';
    }
  }
  if (!event.includes('"error"')) return `${event}\n\n`;
  const data = event
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5))
    .join('\n');
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return `${event}\n\n`;
  }
  if (typeof parsed !== 'object' || parsed === null || !('error' in parsed)) return `${event}\n\n`;
  const upstream = (parsed as { error: unknown }).error;
  const message =
    typeof upstream === 'object' && upstream !== null && 'message' in upstream
      ? String(upstream.message)
      : 'unknown error';
  const failure = new ProxyError(ErrorCode.Upstream, `The model upstream failed: ${redact(message, secret)}`);
  return `data: ${JSON.stringify(toErrorBody(failure))}\n\n`;
}

function readUsage(event: string): { prompt_tokens: number; completion_tokens: number } | undefined {
  try {
    const chunk = JSON.parse(event.slice(event.indexOf('{'))) as {
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
