import { APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import { ProxyError } from '../errors.js';
import { EventReader, readChunks, type SseItem } from './events.js';

const encoder = new TextEncoder();

/** A body that hands out `parts` one read at a time, counting reads and noting a cancel. */
function body(parts: Array<string | Uint8Array>, seen = { reads: 0, cancelled: false }) {
  let next = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const part = parts[next++];
        if (part === undefined) return controller.close();
        seen.reads++;
        controller.enqueue(typeof part === 'string' ? encoder.encode(part) : part);
      },
      cancel() {
        seen.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, seen };
}

async function items(parts: Array<string | Uint8Array>): Promise<SseItem[]> {
  const reader = new EventReader(body(parts).stream, (error) => error);
  const out: SseItem[] = [];
  for (let batch = await reader.read(); batch.length > 0; batch = await reader.read()) out.push(...batch);
  return out;
}

async function chunks(parts: string[], seen?: { reads: number; cancelled: boolean }): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const chunk of readChunks(body(parts, seen).stream, new Headers(), (error) => error))
    out.push(chunk);
  return out;
}

const chunk = (content: string) =>
  `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;

describe('EventReader', () => {
  const stream =
    'data: {"a":1}\r\n\r\n: keep-alive\r\n\r\nevent: x\r\ndata: two\r\ndata: lines\r\n\r\ndata: Hé\n\n';
  const whole: SseItem[] = [
    { id: undefined, event: undefined, data: '{"a":1}' },
    'keep-alive',
    { id: undefined, event: 'x', data: 'two\nlines' },
    { id: undefined, event: undefined, data: 'Hé' },
  ];

  it('reads events and comments however the text was cut, a CRLF split across reads included', async () => {
    for (let cut = 1; cut < stream.length; cut++) {
      expect(await items([stream.slice(0, cut), stream.slice(cut)])).toEqual(whole);
    }
  });

  it('reads a character whose bytes were split across reads', async () => {
    const bytes = encoder.encode(stream);
    const e = bytes.indexOf(0xc3); // the first byte of "é"
    expect(await items([bytes.slice(0, e + 1), bytes.slice(e + 1)])).toEqual(whole);
  });

  it('reads a last event that no blank line ended, as the SDK does', async () => {
    expect(await items(['data: 1\n\ndata: 2'])).toEqual([
      { id: undefined, event: undefined, data: '1' },
      { id: undefined, event: undefined, data: '2' },
    ]);
    expect(await items(['data: 1\r'])).toEqual([{ id: undefined, event: undefined, data: '1' }]);
  });

  it('throws what the body fails with, as the caller maps it', async () => {
    let sent = false;
    const failing = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent) return controller.error(new TypeError('terminated'));
        sent = true;
        controller.enqueue(encoder.encode(chunk('one')));
      },
    });
    const reader = new EventReader(failing, (error) => ({ mapped: error }));
    expect(await reader.read()).toHaveLength(1);
    await expect(reader.read()).rejects.toEqual({ mapped: new TypeError('terminated') });
  });
});

describe('readChunks', () => {
  it('parses chunks, skips comments, ignores what follows [DONE] but reads the body to its end', async () => {
    const seen = { reads: 0, cancelled: false };
    const out = await chunks(
      [chunk('Hail'), ': keep-alive\n\n', `${chunk(' there')}data: [DONE]\n\n`, chunk('ignored'), 'tail'],
      seen,
    );
    expect(out).toHaveLength(2);
    expect(seen).toEqual({ reads: 5, cancelled: false }); // the connection is left clean for keep-alive
  });

  it('throws an error object, or an error event, as the SDK does (an APIError)', async () => {
    const error = { message: 'The engine died', type: 'server_error', code: 'engine_dead' };
    for (const event of [
      `data: ${JSON.stringify({ error })}\n\n`,
      `event: error\ndata: ${JSON.stringify({ error })}\n\n`,
      `event: error\ndata: ${JSON.stringify(error)}\n\n`,
    ]) {
      const seen = { reads: 0, cancelled: false };
      const thrown = await chunks([chunk('one'), event, chunk('two')], seen).catch((e: unknown) => e);
      expect(thrown).toBeInstanceOf(APIError);
      expect((thrown as APIError).code).toBe('engine_dead');
      expect(seen.cancelled).toBe(true);
    }
  });

  it('refuses data that is not a JSON object', async () => {
    for (const data of ['{not json', 'null', '42']) {
      const thrown = await chunks([`data: ${data}\n\n`]).catch((e: unknown) => e);
      expect(thrown).toBeInstanceOf(ProxyError);
      expect((thrown as ProxyError).code).toBe('upstream_error');
    }
  });

  it('cancels the body when the reader stops early', async () => {
    const { stream, seen } = body([chunk('one'), chunk('two'), chunk('three')]);
    for await (const _ of readChunks(stream, new Headers(), (error) => error)) break;
    expect(seen.cancelled).toBe(true);
    expect(seen.reads).toBe(1);
  });
});
