import type { IncomingMessage } from 'node:http';
import { ErrorCode } from '@parley/protocol';
import { ProxyError } from '../errors.js';
import { readCapped } from '../http/body.js';

/** Room for a multipart body's boundaries, part headers and small fields beside the file itself. */
const FORM_OVERHEAD_BYTES = 64 * 1024;

/** A multipart form as read: its text fields, and its files. */
export interface Form {
  fields: Map<string, string>;
  files: Map<string, File>;
}

const tooLarge = (maxFileBytes: number) =>
  new ProxyError(
    ErrorCode.BodyTooLarge,
    `The file is larger than the ${maxFileBytes} bytes this server accepts.`,
    // The rest of the body is never read: close the connection rather than drain it.
    { param: 'file', headers: { Connection: 'close' } },
  );

/**
 * Reads a `multipart/form-data` body of at most a file's cap (plus room for the form around it), then
 * parses it with the platform's own parser (undici's `Response.formData()`): the body is held in memory
 * whole, which the cap bounds. A body that is not a form, or a malformed one, is a 400.
 *
 * @example
 * ```ts
 * const form = await readForm(ctx.req, 20 * 1024 * 1024);
 * form.files.get('file')?.name; // 'chronicle.md'
 * ```
 */
export async function readForm(req: IncomingMessage, maxFileBytes: number): Promise<Form> {
  const type = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\s*;/i.test(type)) {
    req.resume();
    throw new ProxyError(
      ErrorCode.InvalidValue,
      "Files are uploaded as multipart/form-data with a 'file' part and a 'purpose' field.",
    );
  }
  const body = await readCapped(req, maxFileBytes + FORM_OVERHEAD_BYTES, () => tooLarge(maxFileBytes));
  let data: FormData;
  try {
    data = await new Response(body, { headers: { 'content-type': type } }).formData();
  } catch {
    throw new ProxyError(ErrorCode.InvalidValue, 'The multipart/form-data body could not be parsed.');
  }
  const form: Form = { fields: new Map(), files: new Map() };
  for (const [name, value] of data) {
    if (typeof value === 'string') form.fields.set(name, value);
    else form.files.set(name, value);
  }
  for (const file of form.files.values()) if (file.size > maxFileBytes) throw tooLarge(maxFileBytes);
  return form;
}
