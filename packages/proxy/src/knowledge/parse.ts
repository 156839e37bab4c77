import { DEFAULT_PDF_LIMITS, type PdfLimits, pdfText } from './pdf.js';
import type { FileKind } from './sniff.js';

const utf8 = new TextDecoder('utf-8');

/**
 * The text of a file, as the index reads it: Markdown and plain text as written, JSON pretty-printed (so
 * keys and values are words), HTML without scripts, styles, comments or tags and with entities decoded,
 * PDF page by page within `pdfLimits` (see {@link pdfText}). Line endings become `\n`.
 *
 * @example
 * ```ts
 * await extractText('html', new TextEncoder().encode('<p>Odo &amp; the <b>library</b></p>')); // 'Odo & the library'
 * ```
 */
export async function extractText(
  kind: FileKind,
  bytes: Uint8Array,
  pdfLimits: PdfLimits = DEFAULT_PDF_LIMITS,
): Promise<string> {
  if (kind === 'pdf') return pdfText(bytes, pdfLimits);
  const text = utf8.decode(bytes).replace(/\r\n?/g, '\n');
  switch (kind) {
    case 'json':
      return JSON.stringify(JSON.parse(text), null, 2);
    case 'html':
      return htmlText(text);
    default:
      return text.replace(/^\uFEFF/, '');
  }
}

const BLOCK =
  /<\/?(?:p|div|br|hr|h[1-6]|li|ul|ol|tr|td|th|table|section|article|header|footer|blockquote|pre|dt|dd)\b[^>]*>/gi;

const ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
};

/** HTML to text: what a reader sees, paragraphs kept apart. */
function htmlText(html: string): string {
  return html
    .replace(/<!--[\s\S]*?(?:-->|$)/g, ' ')
    .replace(/<(script|style|noscript|template)\b[\s\S]*?(?:<\/\1\s*>|$)/gi, ' ')
    .replace(BLOCK, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, name: string) => decodeEntity(name) ?? whole)
    .replace(/[ \t\f\v]+/g, ' ')
    .replace(/ *\n[\n ]*/g, (breaks: string) => (breaks.split('\n').length > 2 ? '\n\n' : '\n'))
    .trim();
}

function decodeEntity(name: string): string | undefined {
  if (name[0] !== '#') return ENTITIES[name.toLowerCase()];
  const code =
    name[1] === 'x' || name[1] === 'X' ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1));
  // NUL and surrogates cannot be stored as text (and mean nothing to a reader).
  if (!Number.isInteger(code) || code <= 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
    return '';
  return String.fromCodePoint(code);
}
