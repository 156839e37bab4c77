import { ErrorCode } from '@parley/protocol';
import { ProxyError } from '../errors.js';
import { storable } from '../schemas/fields.js';

/** The kinds of file the knowledge index reads. */
export type FileKind = 'pdf' | 'text' | 'markdown' | 'json' | 'html';

/** What the bytes of an upload turned out to be. */
export interface Sniffed {
  kind: FileKind;
  /** The MIME type `GET /v1/files/{id}/content` answers with. */
  mime: string;
}

/** Extensions accepted, by the kind of content they promise. */
const EXTENSIONS: Record<string, FileKind> = {
  pdf: 'pdf',
  txt: 'text',
  text: 'text',
  csv: 'text',
  md: 'markdown',
  markdown: 'markdown',
  json: 'json',
  html: 'html',
  htm: 'html',
};

const MIME: Record<FileKind, string> = {
  pdf: 'application/pdf',
  text: 'text/plain',
  markdown: 'text/markdown',
  json: 'application/json',
  html: 'text/html',
};

const SUPPORTED = Object.keys(EXTENSIONS)
  .map((extension) => `.${extension}`)
  .join(', ');

const utf8 = new TextDecoder('utf-8', { fatal: true });

const invalidFile = (message: string) => new ProxyError(ErrorCode.InvalidFile, message, { param: 'file' });
const unsupported = (message: string) =>
  new ProxyError(ErrorCode.UnsupportedFile, message, { param: 'file' });

/**
 * Refuses a filename that is not a plain name: a path (either slash), `.`/`..`, control characters, or
 * more than 255 characters. The name is shown back to players and models, so it must be a name only.
 */
export function checkFilename(name: string): void {
  const reason =
    name.trim() === ''
      ? 'is empty'
      : name.length > 255
        ? 'is longer than 255 characters'
        : /[/\\]/.test(name)
          ? 'contains a path separator; send the file name only'
          : /\p{Cc}/u.test(name) || !storable(name)
            ? 'contains control characters'
            : name === '.' || name === '..'
              ? 'is not a file name'
              : undefined;
  if (reason) throw invalidFile(`The filename ${reason}.`);
}

/**
 * Decides what an upload is from its bytes, and refuses what its name or declared type misrepresents:
 * a PDF must start with `%PDF-`; every other kind must be UTF-8 text without NUL bytes, and a `.json` file
 * valid JSON. The extension says which kind is promised; the bytes must keep the promise.
 *
 * @example
 * ```ts
 * sniff(new TextEncoder().encode('# The Chronicle'), 'chronicle.md', ''); // { kind: 'markdown', mime: 'text/markdown' }
 * ```
 */
export function sniff(bytes: Uint8Array, filename: string, declaredType: string): Sniffed {
  if (bytes.length === 0) throw invalidFile('The file is empty.');
  const extension = /\.([A-Za-z0-9]+)$/.exec(filename)?.[1]?.toLowerCase();
  const promised = extension === undefined ? undefined : EXTENSIONS[extension];
  if (promised === undefined) {
    throw unsupported(
      `Files of this type are not supported${extension ? ` (.${extension})` : ''}. Supported: ${SUPPORTED}.`,
    );
  }
  const isPdf = startsWith(bytes, '%PDF-');
  if (promised === 'pdf' || isPdf) {
    if (promised !== 'pdf' || !isPdf) {
      throw unsupported(
        isPdf
          ? `The file's bytes are a PDF, but its name says .${extension}.`
          : "The file is named .pdf, but its bytes are not a PDF (no '%PDF-' header).",
      );
    }
    checkDeclared(declaredType, 'pdf');
    return { kind: 'pdf', mime: MIME.pdf };
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw unsupported(`The file is named .${extension}, but its bytes are not UTF-8 text.`);
  }
  if (text.includes('\u0000'))
    throw unsupported(`The file is named .${extension}, but it holds binary data.`);
  if (promised === 'json') {
    try {
      JSON.parse(text);
    } catch {
      throw invalidFile('The file is named .json, but it is not valid JSON.');
    }
  }
  checkDeclared(declaredType, promised);
  return { kind: promised, mime: MIME[promised] };
}

/** A declared content type that names another kind of content than the bytes hold is a lie. */
function checkDeclared(declared: string, kind: FileKind): void {
  const type = declared.split(';')[0]!.trim().toLowerCase();
  if (type === '' || type === 'application/octet-stream') return;
  const textual = type.startsWith('text/') || type === 'application/json' || type.endsWith('+json');
  if ((kind === 'pdf' && type !== 'application/pdf') || (kind !== 'pdf' && !textual)) {
    throw unsupported(`The file was sent as ${type.slice(0, 64)}, but its bytes are ${MIME[kind]}.`);
  }
}

function startsWith(bytes: Uint8Array, prefix: string): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix.charCodeAt(i)) return false;
  return true;
}

/** The kind a stored MIME type stands for (what {@link sniff} decided at upload). */
export function kindOfMime(mime: string): FileKind | undefined {
  return (Object.keys(MIME) as FileKind[]).find((kind) => MIME[kind] === mime);
}
