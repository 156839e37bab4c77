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

async function chunks(parts: string[], read?: { count: number }): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const chunk of readChunks(body(parts, read), new Headers(), (error) => error)) out.push(chunk);
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

describe('readChunks', () => {
  const chunk = (content: string) =>
    `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;

  it('parses chunks, skips comments, ignores what follows [DONE] but reads the body to its end', async () => {
    const read = { count: 0 };
    const out = await chunks(
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
      const thrown = await chunks([chunk('one'), event]).catch((e: unknown) => e);
      expect(thrown).toBeInstanceOf(APIError);
      expect((thrown as APIError).code).toBe('engine_dead');
    }
  });

  it('refuses data that is not JSON, through the caller’s mapping', async () => {
    const thrown = await chunks(['data: {not json\n\n']).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(ProxyError);
    expect((thrown as ProxyError).status).toBe(502);
  });
});
