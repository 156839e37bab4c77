import { describe, expect, it } from 'vitest';
import { type RelayOptions, relayEvents } from './relay.js';

async function relay(parts: string[], secret?: string, options?: RelayOptions): Promise<string> {
  const encoder = new TextEncoder();
  let next = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const part = parts[next++];
      if (part === undefined) controller.close();
      else controller.enqueue(encoder.encode(part));
    },
  });
  let out = '';
  for await (const text of relayEvents(body, secret, options)) out += text;
  return out;
}

describe('relayEvents', () => {
  it('passes token events and comments through unchanged, however the bytes were split', async () => {
    const stream = 'data: {"choices":[{"delta":{"content":"Hé"}}]}\n\n: keep-alive\n\ndata: [DONE]\n\n';
    for (let cut = 1; cut < stream.length; cut++) {
      expect(await relay([stream.slice(0, cut), stream.slice(cut)])).toBe(stream);
    }
  });

  it('writes other framings back in one form: LF line breaks, "data: ", one line per data line', async () => {
    expect(await relay(['data:{"a":1}\r\n\r\nevent: x\rid: 7\rdata: two\rdata: lines\r\r'])).toBe(
      'data: {"a":1}\n\nevent: x\nid: 7\ndata: two\ndata: lines\n\n',
    );
  });

  it('replaces an upstream error object or error event with a redacted error body of our own', async () => {
    for (const event of [
      'data: {"error":{"message":"bad key sk-secret-123456","code":null}}\n\n',
      'event: error\ndata: {"message":"bad key sk-secret-123456"}\n\n',
    ]) {
      const out = await relay(
        ['data: {"choices":[]}\r\n\r\n', event, 'data: [DONE]\n\n'],
        'sk-secret-123456',
      );
      expect(out).not.toContain('sk-secret');
      expect(out).toContain('"code":"upstream_error"');
      expect(out).toContain('bad key [redacted]');
      expect(out.endsWith('data: [DONE]\n\n')).toBe(true);
    }
  });

  it('leaves the word "error" inside generated text alone', async () => {
    const event = 'data: {"choices":[{"delta":{"content":"no \\"error\\" here"}}]}\n\n';
    expect(await relay([event])).toBe(event);
  });

  it('reports the usage chunk, and forwards it only when asked to', async () => {
    const usage = 'data: {"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":2}}\n\n';
    const stream = [`data: {"choices":[],"usage":null}\n\n${usage}`, 'data: [DONE]\n\n'];
    const reported: unknown[] = [];
    const onUsage = (totals: unknown) => reported.push(totals);
    expect(await relay(stream, undefined, { onUsage })).toBe(
      'data: {"choices":[],"usage":null}\n\ndata: [DONE]\n\n',
    );
    expect(await relay(stream, undefined, { onUsage, keepUsage: true })).toContain(usage);
    expect(reported).toEqual([
      { prompt_tokens: 4, completion_tokens: 2 },
      { prompt_tokens: 4, completion_tokens: 2 },
    ]);
  });

  it('drops what follows [DONE]', async () => {
    expect(await relay(['data: [DONE]\n\ndata: {"error":{"message":"late"}}\n\n', ': late\n\n'])).toBe(
      'data: [DONE]\n\n',
    );
  });
});
