import { deflateSync } from 'node:zlib';

/** How {@link makePdf} builds a file: real PDFs for the happy path, and the bad ones the suite needs. */
export interface PdfOptions {
  /** Deflate each page's content stream (as most writers do). */
  compress?: boolean;
  /** A Standard security handler whose user password is not empty: PDF.js asks for a password. */
  encrypted?: boolean;
  /** An extra content stream of this many NUL bytes, deflated: a small file that inflates big. */
  bombBytes?: number;
}

/**
 * Writes a small, valid PDF by hand (catalog, page tree, Helvetica, one text line per entry, a correct
 * xref table), so tests need neither a PDF library nor a network. Each inner array is one page's lines.
 *
 * @example
 * ```ts
 * const bytes = makePdf([['The Chronicle', 'Varn was founded in 412.'], ['Page two.']]);
 * ```
 */
export function makePdf(pages: readonly (readonly string[])[], options: PdfOptions = {}): Uint8Array {
  const objects: Buffer[] = [];
  const add = (body: string | Buffer) => {
    objects.push(typeof body === 'string' ? Buffer.from(body, 'latin1') : body);
    return objects.length;
  };
  const stream = (data: Buffer, deflated: boolean) =>
    Buffer.concat([
      Buffer.from(`<< /Length ${data.length}${deflated ? ' /Filter /FlateDecode' : ''} >>\nstream\n`),
      data,
      Buffer.from('\nendstream'),
    ]);
  add('<< /Type /Catalog /Pages 2 0 R >>');
  add(''); // the page tree, written once the pages' numbers are known
  const font = add('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>');
  const kids: number[] = [];
  for (const lines of pages) {
    const escaped = lines.map((line) => `(${line.replace(/[\\()]/g, (c) => `\\${c}`)}) '`).join(' ');
    const ops = Buffer.from(`BT /F1 12 Tf 72 760 Td 14 TL ${escaped} ET`, 'latin1');
    const contents = [add(stream(options.compress ? deflateSync(ops) : ops, options.compress === true))];
    if (options.bombBytes) contents.push(add(stream(deflateSync(Buffer.alloc(options.bombBytes)), true)));
    kids.push(
      add(
        `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 ${font} 0 R >> >> /Contents [${contents.map((n) => `${n} 0 R`).join(' ')}] >>`,
      ),
    );
  }
  objects[1] = Buffer.from(
    `<< /Type /Pages /Kids [${kids.map((n) => `${n} 0 R`).join(' ')}] /Count ${kids.length} >>`,
  );
  const encrypt = options.encrypted
    ? add(`<< /Filter /Standard /V 1 /R 2 /O <${'ab'.repeat(32)}> /U <${'cd'.repeat(32)}> /P -4 >>`)
    : undefined;
  const parts: Buffer[] = [Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  const offsets: number[] = [];
  let at = parts[0]!.length;
  objects.forEach((body, i) => {
    const object = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`), body, Buffer.from('\nendobj\n')]);
    offsets.push(at);
    at += object.length;
    parts.push(object);
  });
  const id = `<${'0123456789abcdef'.repeat(2)}>`;
  const trailer = `<< /Size ${objects.length + 1} /Root 1 0 R${encrypt ? ` /Encrypt ${encrypt} 0 R /ID [${id} ${id}]` : ''} >>`;
  const xref = offsets.map((offset) => `${String(offset).padStart(10, '0')} 00000 n \n`).join('');
  parts.push(
    Buffer.from(
      `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${xref}trailer\n${trailer}\nstartxref\n${at}\n%%EOF\n`,
    ),
  );
  return new Uint8Array(Buffer.concat(parts));
}
