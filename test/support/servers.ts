// Servers for the browser tests: a Parley proxy (offline model, its own data dir and port) and the BUILT
// demo served by `vite preview`, with /v1 forwarded to that proxy. Vite is the demo's dependency, not
// ours, so it is loaded from demo-game/.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { UNLIMITED } from './limits.ts';

const repoDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const demoDir = join(repoDir, 'demo-game');
const testPageDir = join(repoDir, 'packages', 'phaser', 'test-page');

/** A running server and how to stop it. */
export interface Running {
  /** Base URL, without a trailing slash. */
  url: string;
  stop(): Promise<void>;
}

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject()));
    });
  });
}

/** Options of {@link startProxy}. */
export interface ProxyOptions {
  /** The offline model's delay per word, in ms. Default 10: fast, yet still visibly streamed. */
  delayMs?: number;
  /** Extra environment. */
  env?: Record<string, string>;
  /** Listen on this port instead of a free one (e.g. to restart a proxy where the demo expects it). */
  port?: number;
}

/**
 * Starts `parley-proxy` (the package's bin) with the offline model on a free port and a temporary data
 * directory, and waits for `/healthz`.
 */
export async function startProxy(options: ProxyOptions = {}): Promise<Running & { port: number }> {
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve('@parley/proxy/package.json');
  const pkg = JSON.parse(await readFile(pkgPath, 'utf8')) as { bin?: string | Record<string, string> };
  const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin?.['parley-proxy'];
  if (!bin) throw new Error('@parley/proxy declares no parley-proxy bin');

  const port = options.port ?? (await freePort());
  const dataDir = await mkdtemp(join(tmpdir(), 'parley-e2e-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    PARLEY_DATA_DIR: dataDir,
    PARLEY_OFFLINE_DELAY_MS: String(options.delayMs ?? 10),
    PARLEY_CONFIG: join(demoDir, 'parley.config.json'), // the demo's policy: its lore library
    ...UNLIMITED,
    ...options.env,
  };
  // The offline model, whatever the developer's shell holds (unless the test names an upstream itself,
  // e.g. the fake upstream for transcription).
  if (!options.env?.['OPENAI_API_KEY']) delete env['OPENAI_API_KEY'];
  if (!options.env?.['AZURE_OPENAI_API_KEY']) delete env['AZURE_OPENAI_API_KEY'];

  const child = spawn(process.execPath, [join(dirname(pkgPath), bin)], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => output.push(chunk));
  }
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopChild(child);
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await waitFor(`${url}/healthz`, child, 30_000);
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n--- proxy output ---\n${output.join('').slice(-2000)}`);
  }
  return { url, port, stop };
}

// Only the parts of Vite used here; the types live with the demo's copy of Vite.
interface ViteApi {
  build(config: Record<string, unknown>): Promise<unknown>;
  preview(config: Record<string, unknown>): Promise<{
    resolvedUrls: { local: string[] } | null;
    close(): Promise<void>;
  }>;
}

async function loadVite(): Promise<ViteApi> {
  const require = createRequire(join(demoDir, 'package.json'));
  const pkgPath = require.resolve('vite/package.json');
  const pkg = JSON.parse(await readFile(pkgPath, 'utf8')) as { exports: Record<string, unknown> };
  const main = pkg.exports['.'];
  const entry =
    typeof main === 'string'
      ? main
      : ((main as { import?: string; default?: string }).import ?? 'dist/node/index.js');
  return (await import(pathToFileURL(join(dirname(pkgPath), entry)).href)) as ViteApi;
}

/**
 * Builds the demo into a temporary directory (once per call) and serves it with `vite preview`, which
 * forwards `/v1` and `/healthz` to `proxyPort`.
 */
export async function serveDemo(proxyPort: number): Promise<Running> {
  const vite = await loadVite();
  const outDir = await mkdtemp(join(tmpdir(), 'parley-demo-'));
  const common = { root: demoDir, configFile: join(demoDir, 'vite.config.ts'), logLevel: 'warn' as const };
  await vite.build({ ...common, build: { outDir, emptyOutDir: true } });
  const target = `http://127.0.0.1:${proxyPort}`;
  const server = await vite.preview({
    ...common,
    build: { outDir },
    preview: {
      host: '127.0.0.1',
      port: await freePort(),
      strictPort: true,
      proxy: { '/v1': { target }, '/healthz': { target } },
    },
  });
  const url = server.resolvedUrls?.local[0]?.replace(/\/$/, '');
  if (!url) throw new Error('vite preview reported no URL');
  return {
    url,
    async stop() {
      await server.close();
      await rm(outDir, { recursive: true, force: true });
    },
  };
}

/**
 * Builds `@parley/phaser`'s test page (packages/phaser/test-page: a minimal scene on the plugin's source)
 * into a temporary directory and serves it with `vite preview`, forwarding `/v1` and `/healthz` to
 * `proxyPort`. Vite comes from the demo, as for {@link serveDemo}.
 */
export async function serveTestPage(proxyPort: number): Promise<Running> {
  const vite = await loadVite();
  const outDir = await mkdtemp(join(tmpdir(), 'parley-test-page-'));
  const common = { root: testPageDir, configFile: false, logLevel: 'warn' as const, base: './' };
  await vite.build({
    ...common,
    build: { outDir, emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4000 },
  });
  const target = `http://127.0.0.1:${proxyPort}`;
  const server = await vite.preview({
    ...common,
    build: { outDir },
    preview: {
      host: '127.0.0.1',
      port: await freePort(),
      strictPort: true,
      proxy: { '/v1': { target }, '/healthz': { target } },
    },
  });
  const url = server.resolvedUrls?.local[0]?.replace(/\/$/, '');
  if (!url) throw new Error('vite preview reported no URL');
  return {
    url,
    async stop() {
      await server.close();
      await rm(outDir, { recursive: true, force: true });
    },
  };
}

async function waitFor(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the proxy exited (${child.exitCode ?? child.signalCode}) before ${url} answered`);
    }
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(force);
      done();
    });
    child.kill('SIGTERM');
  });
}
