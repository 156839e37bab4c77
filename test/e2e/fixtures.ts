import { test as base } from '@playwright/test';
import { type Running, serveDemo, startProxy } from '../support/servers.js';

/** The servers one worker shares across its tests. */
export interface DemoServers {
  proxy: { url: string; port: number };
  demo: Running;
}

/**
 * `test` with a worker-scoped `servers` fixture (proxy + built demo, started once per worker and stopped
 * after) and `baseURL` pointing at the demo. `PARLEY_E2E_PROXY_PORT` reuses an already running proxy, e.g.
 * one with a real API key, instead of starting an offline one.
 */
export const test = base.extend<object, { servers: DemoServers }>({
  servers: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright requires the fixtures argument to be destructured.
    async ({}, use) => {
      const reuse = process.env['PARLEY_E2E_PROXY_PORT'];
      const proxy = reuse
        ? { url: `http://127.0.0.1:${reuse}`, port: Number(reuse), stop: async () => {} }
        : await startProxy({ delayMs: 10 });
      try {
        const demo = await serveDemo(proxy.port);
        try {
          await use({ proxy, demo });
        } finally {
          await demo.stop();
        }
      } finally {
        await proxy.stop();
      }
    },
    { scope: 'worker', timeout: 120_000 },
  ],
  baseURL: async ({ servers }, use) => use(servers.demo.url),
});

export { expect } from '@playwright/test';
