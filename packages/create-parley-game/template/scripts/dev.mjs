// `npm run dev`: the Parley proxy and Vite's dev server together; Vite forwards /v1 to the proxy.
// `npm run preview`: the same with `vite preview` (serves `dist/`: `npm run build` first).
// Ctrl+C stops both. PARLEY_PROXY_PORT moves the proxy (default 8787); Vite picks a free port itself, and
// takes any further arguments (`npm run dev -- --host`).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const proxyPort = process.env.PARLEY_PROXY_PORT ?? '8787';
const proxyUrl = `http://127.0.0.1:${proxyPort}`;

/**
 * The script a package's bin runs, found from its package.json, so that both start with this Node on any OS.
 * @param {string} pkg
 * @param {string} name
 */
function bin(pkg, name) {
  const manifestPath = require.resolve(`${pkg}/package.json`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const file = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin[name];
  return join(dirname(manifestPath), file);
}

/** @type {import('node:child_process').ChildProcess[]} */
const children = [];
let stopping = false;
/** @param {number} code */
function stop(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 3000).unref();
  Promise.all(
    children.map((c) => new Promise((done) => (c.exitCode !== null ? done(0) : c.once('exit', done)))),
  ).then(() => process.exit(code));
}
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) process.on(signal, () => stop(0));

/**
 * @param {string} script
 * @param {string[]} args
 * @param {NodeJS.ProcessEnv} env
 */
function start(script, args, env) {
  const child = spawn(process.execPath, [script, ...args], {
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });
  children.push(child);
  child.once('exit', (code) => {
    if (!stopping) console.error(`\n${script} stopped (${code ?? 'signal'}); stopping the rest.`);
    stop(code ?? 1);
  });
  return child;
}

// The proxy reads OPENAI_API_KEY & co. from .env here; without a key it answers with its offline model.
start(bin('@parley/proxy', 'parley-proxy'), [], { PORT: proxyPort, HOST: '127.0.0.1' });

// Vite starts once the proxy answers, so the game's first request does not fail.
const deadline = Date.now() + 30_000;
while (
  !(await fetch(`${proxyUrl}/healthz`).then(
    (r) => r.ok,
    () => false,
  ))
) {
  if (stopping) await new Promise(() => {});
  if (Date.now() > deadline) {
    console.error(`The Parley proxy did not answer at ${proxyUrl} within 30 s.`);
    stop(1);
    await new Promise(() => {});
  }
  await new Promise((r) => setTimeout(r, 200));
}
// Every argument goes to Vite: `dev.mjs preview --port 4000` is `vite preview --port 4000`.
start(bin('vite', 'vite'), process.argv.slice(2), { PARLEY_PROXY_URL: proxyUrl });
