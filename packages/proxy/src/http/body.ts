import type { IncomingMessage } from 'node:http';
import { ErrorCode } from '@parley/protocol';
import { ProxyError } from '../errors.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a whole request body, refusing it with `tooLarge()` before reading when Content-Length already says
 * more than `maxBytes`, and while reading when it grows past (chunked, or a declared length that lied). A
 * body that breaks off before its end is a 400, not a failure of the server.
 */
export async function readCapped(
  req: IncomingMessage,
  maxBytes: number,
  tooLarge: () => ProxyError,
): Promise<Buffer<ArrayBuffer>> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) {
        req.resume();
        throw tooLarge();
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof ProxyError) throw error;
    throw new ProxyError(ErrorCode.InvalidValue, 'The request body ended before it was complete.', {
      cause: error,
    });
  }
  return Buffer.concat(chunks, size);
}

/**
 * Reads a JSON request body with a hard size cap (413 before reading when Content-Length already says
 * too much, and while reading otherwise), strict UTF-8 and a JSON object at the top.
 * An empty body reads as `{}` (OpenAI accepted empty bodies for create-thread and friends).
 */
export async function readJson(req: IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  const body = await readCapped(req, maxBytes, () => tooLarge(maxBytes));
  if (body.length === 0) return {};
  let text: string;
  try {
    text = decoder.decode(body);
  } catch {
    throw new ProxyError(ErrorCode.InvalidJson, 'The request body is not valid UTF-8.');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProxyError(
      ErrorCode.InvalidJson,
      "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProxyError(ErrorCode.InvalidJson, 'The request body must be a JSON object.');
  }
  return value as Record<string, unknown>;
}

function tooLarge(maxBytes: number): ProxyError {
  // The rest of the body is never read: close the connection after the answer instead of holding it
  // open (or draining a body of any declared size) for the client's next request.
  return new ProxyError(
    ErrorCode.BodyTooLarge,
    `The request body is larger than the limit of ${maxBytes} bytes.`,
    { headers: { Connection: 'close' } },
  );
}
