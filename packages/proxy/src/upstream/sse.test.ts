import { Readable } from 'node:stream';
import { APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import { ProxyError } from '../errors.js';
import { eventFields, readChunks, sseSplitter } from './sse.js';

const encoder = new TextEncoder();
async function* body(parts: string[], read?: { count: number }) {
  for (const part of parts) {
    if (read) read.count++;
    yield encoder.encode(part);
  }
}

function events(parts: string[]): string[] {
  const splitter = sseSplitter();
  return [...parts.flatMap((part) => splitter.push(encoder.encode(part))), ...splitter.end()];
}

/** How a body reaches `readChunks`: a web body's async iterable, or the Node stream the transport hands over. */
const KINDS = {
  'an async iterable': (parts: string[], read?: { count: number }) => body(parts, read),
  'a Node stream': (parts: string[], read?: { count: number }) =>
    Readable.from(body(parts, read), { objectMode: false }),
} as const;
type Kind = keyof typeof KINDS;

async function chunks(kind: Kind, parts: string[], read?: { count: number }): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const chunk of readChunks(KINDS[kind](parts, read), new Headers(), (error) => error))
    out.push(chunk);
  return out;
}

describe('sseSplitter', () => {
  it('splits events however the bytes were cut, CRLF line breaks included', async () => {
    const stream = 'data: {"a":1}\r\n\r\n: keep-alive\r\n\r\nevent: x\r\ndata: two\r\ndata: lines\r\n\r\n';
    const whole = ['data: {"a":1}', ': keep-alive', 'event: x\ndata: two\ndata: lines'];
    for (let cut = 1; cut < stream.length; cut++) {
      expect(events([stream.slice(0, cut), stream.slice(cut)])).toEqual(whole);
    }
  });

  it('yields a last event that no blank line ended', async () => {
    expect(events(['data: 1\n\ndata: 2'])).toEqual(['data: 1', 'data: 2']);
  });
});

describe('eventFields', () => {
  it('reads names, joined data lines and comments as the SSE format defines them', () => {
    expect(eventFields('data: {"x":1}')).toEqual({ event: undefined, data: '{"x":1}' });
    expect(eventFields('data:tight')).toEqual({ event: undefined, data: 'tight' });
    expect(eventFields('event: error\ndata: a\ndata: b')).toEqual({ event: 'error', data: 'a\nb' });
    expect(eventFields(': ping')).toEqual({ event: undefined, data: undefined });
    expect(eventFields('id: 7\ndata: x')).toEqual({ event: undefined, data: 'x' });
  });
});

const chunk = (content: string) =>
  `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;

describe.each(Object.keys(KINDS) as Kind[])('readChunks from %s', (kind) => {
  it('parses chunks, skips comments, ignores what follows [DONE] but reads the body to its end', async () => {
    const read = { count: 0 };
    const out = await chunks(
      kind,
      [chunk('Hail'), ': keep-alive\n\n', `${chunk(' there')}data: [DONE]\n\n`, chunk('ignored'), 'tail'],
      read,
    );
    expect(out).toHaveLength(2);
    expect(read.count).toBe(5); // the connection is left clean for keep-alive
  });

  it('throws an error object, or an error event, as the SDK does (an APIError)', async () => {
    const error = { message: 'The engine died', type: 'server_error', code: 'engine_dead' };
    for (const event of [
      `data: ${JSON.stringify({ error })}\n\n`,
      `event: error\ndata: ${JSON.stringify({ error })}\n\n`,
    ]) {
      const thrown = await chunks(kind, [chunk('one'), event]).catch((e: unknown) => e);
      expect(thrown).toBeInstanceOf(APIError);
      expect((thrown as APIError).code).toBe('engine_dead');
    }
  });

  it('refuses data that is not JSON, through the caller’s mapping', async () => {
    const thrown = await chunks(kind, ['data: {not json\n\n']).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(ProxyError);
    expect((thrown as ProxyError).status).toBe(502);
  });
});

describe('readChunks from a Node stream', () => {
  /** A byte stream the test feeds by hand, as a socket would. */
  const fed = () => new Readable({ read() {} });

  it('waits for reads that have not come yet, and ends when the stream does', async () => {
    const stream = fed();
    const iterator = readChunks(stream, new Headers(), (error) => error);
    const first = iterator.next();
    setTimeout(() => stream.push(chunk('late')), 10);
    expect(
      ((await first).value as { choices: Array<{ delta: { content: string } }> }).choices[0]!.delta.content,
    ).toBe('late');
    const second = iterator.next();
    setTimeout(() => {
      stream.push('data: [DONE]\n\n');
      stream.push(null);
    }, 10);
    expect((await second).done).toBe(true);
    expect(stream.destroyed).toBe(true);
  });

  it('fails as the stream does: its error, or a premature close, through the caller’s mapping', async () => {
    for (const [end, code] of [
      [
        (stream: Readable) => stream.destroy(Object.assign(new Error('reset'), { code: 'ECONNRESET' })),
        'ECONNRESET',
      ],
      [(stream: Readable) => stream.destroy(), 'ERR_STREAM_PREMATURE_CLOSE'],
    ] as const) {
      const stream = fed();
      stream.push(chunk('one'));
      const iterator = readChunks(stream, new Headers(), (error) => ({ mapped: error }));
      expect((await iterator.next()).done).toBe(false);
      const pending = iterator.next();
      end(stream);
      const thrown = (await pending.catch((e: unknown) => e)) as { mapped: { code?: string } };
      expect(thrown.mapped.code).toBe(code);
    }
  });

  it('destroys the stream when the reader stops early, and leaves no listener behind', async () => {
    const stream = fed();
    stream.push(chunk('one'));
    stream.push(chunk('two'));
    for await (const _ of readChunks(stream, new Headers(), (error) => error)) break;
    expect(stream.destroyed).toBe(true);
    expect(stream.listenerCount('readable')).toBe(0);
    expect(stream.listenerCount('error')).toBe(0);
  });
});
