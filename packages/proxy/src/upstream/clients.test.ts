import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { createUpstream, readTurn } from './upstream.js';

/** A real HTTP server answering any chat-completions path with a two-word stream, recording requests. */
let server: Server;
let origin: string;
const seen: Array<{ url: string; headers: IncomingHttpHeaders; body: Record<string, unknown> }> = [];

beforeAll(async () => {
  server = createServer(async (req, res) => {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    seen.push({ url: req.url ?? '', headers: req.headers, body: JSON.parse(raw || '{}') });
    const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm' };
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const [delta, finish] of [
      [{ content: 'Hail' }, null],
      [{ content: ' there' }, null],
      [{}, 'stop'],
    ] as const) {
      res.write(
        `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`,
      );
    }
    res.end('data: [DONE]\n\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function say(env: Record<string, string>): Promise<{ text: string; request: (typeof seen)[number] }> {
  const config = loadConfig(env);
  const upstream = createUpstream(config.upstream);
  const chunks = await upstream.stream(
    { model: '', messages: [{ role: 'user', content: 'hi' }] },
    new AbortController().signal,
  );
  let text = '';
  for await (const event of readTurn(chunks)) if (event.type === 'text') text += event.delta;
  return { text, request: seen.at(-1)! };
}

describe('upstream clients', () => {
  it('Azure OpenAI: deployment path, api-version and api-key header', async () => {
    const { text, request } = await say({
      AZURE_OPENAI_ENDPOINT: origin,
      AZURE_OPENAI_API_KEY: 'azure-secret',
      AZURE_OPENAI_DEPLOYMENT: 'npc-deploy',
      OPENAI_API_VERSION: '2024-10-21',
    });
    expect(text).toBe('Hail there');
    expect(request.url).toBe('/openai/deployments/npc-deploy/chat/completions?api-version=2024-10-21');
    expect(request.headers['api-key']).toBe('azure-secret');
    expect(request.body['model']).toBe('npc-deploy');
  });

  it('OpenAI: bearer key, organization and project headers, default model, usage requested', async () => {
    const { request } = await say({
      OPENAI_API_KEY: 'sk-test-key',
      OPENAI_BASE_URL: `${origin}/v1`,
      PARLEY_MODEL: 'gpt-5.5',
      OPENAI_ORG_ID: 'org-guild',
      OPENAI_PROJECT_ID: 'proj_village',
    });
    expect(request.url).toBe('/v1/chat/completions');
    expect(request.headers['authorization']).toBe('Bearer sk-test-key');
    expect(request.headers['openai-organization']).toBe('org-guild');
    expect(request.headers['openai-project']).toBe('proj_village');
    expect(request.body).toMatchObject({
      model: 'gpt-5.5',
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('a compatible server without a key (Ollama-style) gets a placeholder key, never an empty one', async () => {
    const { request } = await say({ OPENAI_BASE_URL: `${origin}/v1`, PARLEY_MODEL: 'llama3.2' });
    expect(request.headers['authorization']).toBe('Bearer unused');
    expect(request.body['model']).toBe('llama3.2');
  });

  it('refuses a compatible base URL without a model name', () => {
    expect(() => loadConfig({ OPENAI_BASE_URL: `${origin}/v1` })).toThrow(/PARLEY_MODEL/);
  });
});
