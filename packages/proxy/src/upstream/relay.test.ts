import { describe, expect, it } from 'vitest';
import { relayEvents } from './relay.js';

async function relay(parts: string[], secret?: string): Promise<string> {
  const encoder = new TextEncoder();
  async function* body() {
    for (const part of parts) yield encoder.encode(part);
  }
  let out = '';
  for await (const text of relayEvents(body(), secret)) out += text;
  return out;
}

describe('relayEvents', () => {
  it('passes token events through unchanged, however the bytes were split', async () => {
    const stream = 'data: {"choices":[{"delta":{"content":"Hé"}}]}\n\n: keep-alive\n\ndata: [DONE]\n\n';
    for (let cut = 1; cut < stream.length; cut++) {
      expect(await relay([stream.slice(0, cut), stream.slice(cut)])).toBe(stream);
    }
  });

  it('replaces an upstream error object with a redacted error body of our own', async () => {
    const out = await relay(
      [
        'data: {"choices":[]}\r\n\r\ndata: {"error":{"message":"bad key sk-secret-123456","code":null}}\n\ndata: [DONE]\n\n',
      ],
      'sk-secret-123456',
    );
    expect(out).not.toContain('sk-secret');
    expect(out).toContain('"code":"upstream_error"');
    expect(out.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('leaves the word "error" inside generated text alone', async () => {
    const event = 'data: {"choices":[{"delta":{"content":"no \\"error\\" here"}}]}\n\n';
    expect(await relay([event])).toBe(event);
  });
});
