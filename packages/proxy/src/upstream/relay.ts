import { ErrorCode } from '@parley/protocol';
import { ProxyError, toErrorBody } from '../errors.js';
import { redact } from './errors.js';

/**
 * Relays a chat-completions SSE body event by event without parsing the token chunks (they go out as
 * they came), but with one exception: an error object inside the stream is replaced by the proxy's own
 * error body, because upstreams echo things there — including, for a bad key, the key itself.
 */
export async function* relayEvents(
  body: AsyncIterable<Uint8Array>,
  secret: string | undefined,
): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const bytes of body) {
    buffer += decoder.decode(bytes, { stream: true });
    if (buffer.includes('\r')) buffer = buffer.replace(/\r\n?/g, '\n');
    let out = '';
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      out += safeEvent(buffer.slice(0, end), secret);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf('\n\n');
    }
    if (out) yield out;
  }
  buffer += decoder.decode();
  if (buffer.trim()) yield safeEvent(buffer, secret);
}

function safeEvent(event: string, secret: string | undefined): string {
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
  const failure = new ProxyError(
    502,
    ErrorCode.Upstream,
    `The model upstream failed: ${redact(message, secret)}`,
  );
  return `data: ${JSON.stringify(toErrorBody(failure))}\n\n`;
}
