import { describe, expect, it } from 'vitest';
import { makePdf } from '../../../../test/support/pdf.js';
import { extractText } from './parse.js';
import { checkPdfBytes, type PdfLimits, pdfText } from './pdf.js';

const limits: PdfLimits = { maxPages: 5, maxInflatedBytes: 1 << 20, timeoutMs: 10_000 };
const bytes = (text: string) => new TextEncoder().encode(text);

describe('pdfText', () => {
  it('reads every page, compressed or not, lines kept and pages apart', async () => {
    const pages = [['The Chronicle (first part)', 'The lantern burned moonwick oil.'], ['Page two.']];
    const expected = 'The Chronicle (first part)\nThe lantern burned moonwick oil.\n\nPage two.';
    expect(await pdfText(makePdf(pages, { compress: true }), limits)).toBe(expected);
    expect(await extractText('pdf', makePdf(pages), limits)).toBe(expected);
  });

  it('leaves the bytes it was given as they were', async () => {
    const pdf = makePdf([['Varn']], { compress: true });
    const copy = pdf.slice();
    await pdfText(pdf, limits);
    expect(pdf).toEqual(copy);
  });

  it.each<[string, Uint8Array, Partial<PdfLimits>, string, RegExp]>([
    ['encrypted', makePdf([['secret']], { encrypted: true }), {}, 'unsupported_file', /encrypted/],
    ['a bomb', makePdf([['x']], { bombBytes: 4 << 20 }), {}, 'unsupported_file', /inflates to more than/],
    [
      'too many pages',
      makePdf(Array.from({ length: 7 }, (_, i) => [`page ${i}`])),
      {},
      'unsupported_file',
      /7 pages; this server reads at most 5/,
    ],
    ['too slow', makePdf([['x'], ['y']]), { timeoutMs: 1 }, 'unsupported_file', /longer than 1 ms/],
    ['malformed', bytes('%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n'), {}, 'invalid_file', /could not be read/],
    ['cut short', makePdf([['Hello there']]).slice(0, 120), {}, 'invalid_file', /could not be read/],
  ])('fails %s with a reason, never a crash', async (_name, pdf, overrides, code, message) => {
    await expect(pdfText(pdf, { ...limits, ...overrides })).rejects.toMatchObject({
      code,
      message: expect.stringMatching(message),
    });
  });

  it('counts only what is read for text: a big image stream is not a bomb', async () => {
    // The bomb's stream, marked as an image: never decoded for text, so not counted.
    const pdf = Buffer.from(makePdf([['Fine']], { bombBytes: 4 << 20 }))
      .toString('latin1')
      .replace('/Filter /FlateDecode >>\nstream', '/Subtype /Image /Filter /FlateDecode >>\nstream');
    // The first stream is the page text (not deflated): the replaced one is the bomb.
    expect(await pdfText(new Uint8Array(Buffer.from(pdf, 'latin1')), limits)).toBe('Fine');
  });

  it('refuses at once bytes that hold no PDF object', () => {
    expect(() => checkPdfBytes(bytes('%PDF-1.7\nhello'))).toThrow(
      expect.objectContaining({ code: 'invalid_file' }),
    );
    expect(() => checkPdfBytes(makePdf([['ok']]))).not.toThrow();
  });
});
