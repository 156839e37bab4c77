import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createProxy } from '../app.js';
import { loadConfig } from '../config.js';
import type { Logger } from '../log.js';
import { createCors, isLoopbackOrigin } from './cors.js';

const SECRET = 'a-session-secret-that-is-long-enough-0123';

const proxies: Array<Awaited<ReturnType<typeof createProxy>>> = [];
afterAll(async () => {
  await Promise.all(proxies.map((proxy) => proxy.close()));
});

async function startProxy(env: Record<string, string>): Promise<string> {
  const proxy = await createProxy(loadConfig({ PORT: '0', HOST: '127.0.0.1', PARLEY_LOG: 'silent', ...env }));
  proxies.push(proxy);
  return proxy.listen();
}

const preflight = (url: string, origin: string) =>
  fetch(`${url}/v1/threads`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type',
    },
  });

describe('CORS in dev mode', () => {
  it('allows the dev servers of this machine on any port, and nothing else unless listed', async () => {
    const url = await startProxy({ PARLEY_CORS_ORIGINS: 'https://game.example' });
    for (const origin of [
      'http://localhost:5173',
      'http://127.0.0.1:4174',
      'http://localhost',
      'http://[::1]:3000',
    ]) {
      const answer = await preflight(url, origin);
      expect(answer.status, origin).toBe(204);
      expect(answer.headers.get('access-control-allow-origin'), origin).toBe(origin);
      const get = await fetch(`${url}/v1/models`, { headers: { origin } });
      expect(get.headers.get('access-control-allow-origin'), origin).toBe(origin);
    }
    for (const origin of [
      'http://localhost.evil.example',
      'http://evil.example',
      'http://localhost:5173/',
      'null',
      'http://127.0.0.2:5173',
    ]) {
      const answer = await preflight(url, origin);
      expect(answer.headers.get('access-control-allow-origin'), origin).toBeNull();
    }
    // The listed origin still works beside them.
    expect((await preflight(url, 'https://game.example')).headers.get('access-control-allow-origin')).toBe(
      'https://game.example',
    );
  });
});

describe('CORS outside dev mode', () => {
  it('refuses loopback origins too: only PARLEY_CORS_ORIGINS is allowed', async () => {
    const url = await startProxy({
      PARLEY_AUTH: 'session',
      PARLEY_SESSION_SECRET: SECRET,
      PARLEY_CORS_ORIGINS: 'https://game.example',
    });
    for (const origin of ['http://localhost:5173', 'http://127.0.0.1:8080', 'https://evil.example']) {
      const answer = await preflight(url, origin);
      expect(answer.headers.get('access-control-allow-origin'), origin).toBeNull();
      const health = await fetch(`${url}/healthz`, { headers: { origin } });
      expect(health.headers.get('access-control-allow-origin'), origin).toBeNull();
    }
    const allowed = await preflight(url, 'https://game.example');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://game.example');
  });
});

describe('a refusal in the log', () => {
  const warnings: string[] = [];
  const log: Logger = {
    info() {},
    debug() {},
    error() {},
    warn: (message) => warnings.push(message),
  };
  let server: Server | undefined;
  afterEach(async () => {
    warnings.length = 0;
    await new Promise((done) => server?.close(done));
  });

  async function serve(loopback: boolean): Promise<string> {
    const cors = createCors({ origins: ['https://game.example'], loopback, log });
    server = createServer((req, res) => {
      if (!cors(req, res)) res.end('ok');
    });
    await new Promise<void>((done) => server!.listen(0, '127.0.0.1', done));
    return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
  }

  it('names the origin and the variable to set, once per origin', async () => {
    const url = await serve(false);
    await preflight(url, 'http://localhost:3000');
    await fetch(url, { headers: { origin: 'http://localhost:3000' } });
    await preflight(url, 'https://other.example');
    await preflight(url, 'https://game.example');
    expect(warnings).toEqual([
      'CORS: refused a browser request from origin "http://localhost:3000"; to allow it, add it to PARLEY_CORS_ORIGINS (comma-separated exact origins)',
      'CORS: refused a browser request from origin "https://other.example"; to allow it, add it to PARLEY_CORS_ORIGINS (comma-separated exact origins)',
    ]);
  });

  it('says nothing about same-origin requests that came through the game server', async () => {
    const url = await serve(false);
    // A POST from the page's own origin, forwarded by Vite or nginx: the browser needs no CORS for it.
    await fetch(url, {
      method: 'POST',
      headers: { origin: 'https://play.example', 'sec-fetch-site': 'same-origin' },
    });
    const host = new URL(url).host;
    await fetch(url, { method: 'POST', headers: { origin: `http://${host}` } });
    expect(warnings).toEqual([]);
  });
});

describe('isLoopbackOrigin', () => {
  it('takes only what a browser sends for a page on this machine', () => {
    expect(isLoopbackOrigin('http://localhost:5173')).toBe(true);
    expect(isLoopbackOrigin('https://127.0.0.1:8443')).toBe(true);
    expect(isLoopbackOrigin('http://LOCALHOST:5173')).toBe(false); // browsers send it lowercased
    expect(isLoopbackOrigin('file://localhost')).toBe(false);
    expect(isLoopbackOrigin('not a url')).toBe(false);
  });
});
