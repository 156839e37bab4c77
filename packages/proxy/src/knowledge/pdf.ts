import { constants, inflateSync } from 'node:zlib';
import { ErrorCode } from '@parley/protocol';
import { ProxyError } from '../errors.js';

/** What one PDF may cost to read: a file within them is read, one beyond them fails with a reason. */
export interface PdfLimits {
  /** Pages read at most (`PARLEY_PDF_MAX_PAGES`, default 2000). */
  maxPages: number;
  /**
   * Bytes the file's compressed streams (but images, which are never read for text) may inflate to in all
   * (`PARLEY_PDF_MAX_INFLATED_BYTES`, default 256 MB): a few kilobytes of deflate can stand for gigabytes.
   */
  maxInflatedBytes: number;
  /** Time reading one file may take (`PARLEY_PDF_TIMEOUT_MS`, default 30 s). */
  timeoutMs: number;
}

/** The limits a server has unless its environment says otherwise. */
export const DEFAULT_PDF_LIMITS: PdfLimits = {
  maxPages: 2000,
  maxInflatedBytes: 256 * 1024 * 1024,
  timeoutMs: 30_000,
};

/** Text beyond this is more than any file may hold for file_search (2M tokens), so reading stops there. */
const MAX_TEXT_CHARS = 16_000_000;

const invalid = (message: string) => new ProxyError(ErrorCode.InvalidFile, message, { param: 'file' });
const unsupported = (message: string) =>
  new ProxyError(ErrorCode.UnsupportedFile, message, { param: 'file' });

/**
 * What the bytes of an uploaded PDF show at once, without parsing it: a PDF holds objects. Whatever needs
 * the parser (a password, a broken structure, a bomb) is found while indexing, where it fails the file.
 */
export function checkPdfBytes(bytes: Uint8Array): void {
  if (!Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes(' obj'))
    throw invalid('The file starts as a PDF but holds no PDF objects; it is not a whole PDF.');
}

/**
 * The text of a PDF, page after page (pages apart by a blank line), read with `unpdf` (PDF.js) in this
 * process. Before the parser sees the file, its compressed streams are inflated once with a cap, so a
 * decompression bomb is refused before anything large is allocated; pages beyond `maxPages` and reading
 * beyond `timeoutMs` fail the file too. An encrypted PDF that needs a password fails as unsupported; a
 * broken one as invalid.
 *
 * The time limit is checked between pages: one page's content is parsed in one go, which the inflation
 * cap keeps bounded.
 *
 * @example
 * ```ts
 * await pdfText(bytes, DEFAULT_PDF_LIMITS); // 'The Chronicle of Varn\nThe city was founded…'
 * ```
 */
export async function pdfText(bytes: Uint8Array, limits: PdfLimits = DEFAULT_PDF_LIMITS): Promise<string> {
  checkPdfBytes(bytes);
  checkInflation(bytes, limits.maxInflatedBytes);
  const deadline = performance.now() + limits.timeoutMs;
  const tooSlow = () =>
    unsupported(`Reading the PDF took longer than ${limits.timeoutMs} ms; it is too complex to index here.`);
  const { getDocumentProxy } = await import('unpdf');
  // PDF.js takes ownership of the buffer it reads: give it a copy, the stored bytes stay intact.
  const loading = getDocumentProxy(new Uint8Array(bytes), {
    verbosity: 0,
    stopAtErrors: false,
  }).catch((error: unknown) => {
    throw readError(error);
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(tooSlow()), limits.timeoutMs);
  });
  const document = await Promise.race([loading, timeout])
    .catch((error: unknown) => {
      // Late, the document still opens: it must not stay in memory.
      void loading.then((late) => late.loadingTask.destroy()).catch(() => {});
      throw error;
    })
    .finally(() => clearTimeout(timer));
  try {
    if (document.numPages > limits.maxPages) {
      throw unsupported(
        `The PDF has ${document.numPages} pages; this server reads at most ${limits.maxPages} pages of a file.`,
      );
    }
    const pages: string[] = [];
    let length = 0;
    for (let number = 1; number <= document.numPages; number++) {
      if (performance.now() > deadline) throw tooSlow();
      const page = await document.getPage(number);
      const content = await page.getTextContent();
      const text = content.items
        .map((item) => ('str' in item ? item.str + (item.hasEOL ? '\n' : '') : ''))
        .join('')
        .trim();
      page.cleanup();
      pages.push(text);
      length += text.length;
      if (length > MAX_TEXT_CHARS) throw invalid('The PDF holds more text than a file may hold for search.');
    }
    return pages.filter(Boolean).join('\n\n');
  } catch (error) {
    throw readError(error);
  } finally {
    await document.loadingTask.destroy();
  }
}

/** A PDF.js failure as the reason a player can act on. */
function readError(error: unknown): ProxyError {
  if (error instanceof ProxyError) return error;
  const name = error instanceof Error ? error.name : '';
  if (name === 'PasswordException')
    return unsupported('The PDF is encrypted with a password; upload it without the password.');
  return invalid(
    `The PDF could not be read (${name === 'InvalidPDFException' ? 'its structure is broken' : 'it is malformed'}).`,
  );
}

/**
 * Inflates every Flate-compressed stream but images (as often as its filters say), each capped by what is
 * left of `maxBytes`, and refuses the file once the total passes it. A stream that does not inflate is
 * left to the parser, which may repair it or fail.
 */
function checkInflation(bytes: Uint8Array, maxBytes: number): void {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = buffer.toString('latin1');
  let left = maxBytes;
  for (const match of text.matchAll(/(?<!end)stream\r?\n/g)) {
    const start = match.index + match[0].length;
    const end = text.indexOf('endstream', start);
    if (end < 0) break;
    const dictionary = text.slice(Math.max(0, text.lastIndexOf(' obj', match.index)), match.index);
    const layers = dictionary.match(/\/FlateDecode|\/Fl\b/g)?.length ?? 0;
    if (layers === 0 || /\/Subtype\s*\/Image/.test(dictionary)) continue;
    let data: Buffer = buffer.subarray(start, end);
    for (let layer = 0; layer < layers; layer++) {
      try {
        data = inflateSync(data, { maxOutputLength: left + 1, finishFlush: constants.Z_SYNC_FLUSH });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw bomb(maxBytes);
        break;
      }
      if (data.length > left) throw bomb(maxBytes);
    }
    left -= data.length;
  }
}

const bomb = (maxBytes: number) =>
  unsupported(
    `The PDF's compressed content inflates to more than ${maxBytes} bytes; this server does not read it (a decompression bomb, or a file too large to index).`,
  );
