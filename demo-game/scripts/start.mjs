#!/usr/bin/env node
// `pnpm demo`: starts the Parley proxy, waits until it is healthy, then serves the demo with Vite's dev
// server (which forwards /v1 to the proxy). Ctrl+C stops both.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';

const demoDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoDir = resolve(demoDir, '..');
const port = Number(process.env.PARLEY_PROXY_PORT ?? 8787);
const host = process.env.HOST ?? '127.0.0.1';

/** @returns {Promise<string>} the proxy's executable script, from its package.json `bin`. */
async function proxyBin() {
  const pkgUrl = import.meta.resolve('@parley/proxy/package.json');
  const pkgPath = fileURLToPath(pkgUrl);
  const pkg = JSON.parse(await readFile(pkgPath, 'utf8'));
  const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin?.['parley-proxy'];
  if (!bin) throw new Error('@parley/proxy has no parley-proxy bin');
  return join(dirname(pkgPath), bin);
}

/**
 * @param {string} message
 * @returns {never}
 */
function fail(message) {
  console.error(`\n✖ ${message}`);
  process.exit(1);
}

const bin = await proxyBin().catch((error) => fail(`cannot find the Parley proxy: ${error.message}`));
const proxy = spawn(process.execPath, [bin], {
  cwd: repoDir, // the proxy reads OPENAI_API_KEY & co. from a `.env` in its cwd: the repository's
  env: {
    ...process.env,
    PORT: String(port),
    HOST: host,
    PARLEY_DATA_DIR: process.env.PARLEY_DATA_DIR ?? join(repoDir, '.parley-data'),
    // The demo's policy: Odo's library (lore/library) becomes the read-only vector store vs_lore_library.
    PARLEY_CONFIG: process.env.PARLEY_CONFIG ?? join(demoDir, 'parley.config.json'),
  },
  stdio: /** @type {const} */ (['ignore', 'pipe', 'pipe']),
});

// Keep the proxy's last words so a crash can be explained in one message.
/** @type {string[]} */
const recent = [];
for (const stream of [proxy.stdout, proxy.stderr]) {
  stream.setEncoding('utf8');
  stream.on('data', (/** @type {string} */ chunk) => {
    for (const line of chunk.split('\n').filter(Boolean)) {
      recent.push(line);
      if (recent.length > 12) recent.shift();
      process.stderr.write(`[proxy] ${line}\n`);
    }
  });
}

/** @type {import('vite').ViteDevServer | undefined} */
let vite;
let stopping = false;
/** @type {Promise<{ code: number | null, signal: NodeJS.Signals | null }>} */
const exited = new Promise((resolveExit) =>
  proxy.once('exit', (code, signal) => resolveExit({ code, signal })),
);

exited.then(async ({ code, signal }) => {
  await vite?.close().catch(() => {});
  if (stopping) process.exit(0);
  const why = recent.slice(-5).join('\n  ') || `exit code ${code ?? signal}`;
  fail(`the Parley proxy stopped (${signal ?? `code ${code}`}):\n  ${why}`);
});

for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    // Close Vite first: its forwarded keep-alive connections would otherwise hold the proxy open.
    setTimeout(() => {
      proxy.kill('SIGKILL');
      process.exit(0);
    }, 5_000).unref();
    await vite?.close().catch(() => {});
    proxy.kill(signal);
  });
}

const health = await waitForHealth(`http://${host}:${port}/healthz`, 30_000);

process.env.PARLEY_PROXY_PORT = String(port); // read by vite.config.ts for the /v1 forward
vite = await createServer({ root: demoDir, configFile: join(demoDir, 'vite.config.ts'), logLevel: 'warn' });
await vite.listen();
const url = vite.resolvedUrls?.local[0] ?? `http://localhost:${vite.config.server.port}/`;
const model =
  health.upstream === 'offline'
    ? 'offline model (set OPENAI_API_KEY for real replies)'
    : `${health.upstream} model ${health.model}`;
console.log(`\n▶ Parley demo: open ${url}  — proxy on :${port}, ${model}. Ctrl+C to stop.\n`);

/**
 * Polls the proxy's health endpoint until it answers 200, the proxy exits, or time runs out.
 * @param {string} url
 * @param {number} timeoutMs
 * @returns {Promise<{ upstream?: string, model?: string }>}
 */
async function waitForHealth(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let done = false;
  exited.then(() => {
    done = true;
  });
  while (!done && Date.now() < deadline) {
    try {
      const response = await fetch(url);
      if (response.ok) return /** @type {{ upstream?: string, model?: string }} */ (await response.json());
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (done) await new Promise(() => {}); // the exit handler reports and exits
  proxy.kill('SIGTERM');
  return fail(`the Parley proxy did not become healthy at ${url} within ${timeoutMs / 1000} s`);
}
