#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createProxy } from './app.js';
import { DEV_MODE_BANNER } from './auth/dev-mode.js';
import { offlineBanner } from './banner.js';
import { ConfigError, loadConfig } from './config.js';

/**
 * What the proxy README advises for one CPU, each with the prefix that finds it among Node's options:
 * V8's GC in one thread (its helpers would only take turns with the main thread), and a young generation
 * of at most 16 MB a half: on a large host V8 grows it further, and each collection of it then stops every
 * stream for ~15–30 ms under 200 streams instead of ~6–12 ms, for about the same CPU in all.
 */
const ONE_CPU_FLAGS = [
  ['--single-threaded-gc', '--single-threaded-gc'],
  ['--max-semi-space-size=16', '--max-semi-space-size'],
] as const;

/** The {@link ONE_CPU_FLAGS} that neither the command line nor `NODE_OPTIONS` gave (V8 spells `-` or `_`). */
function missingOneCpuFlags(): string[] {
  const given = [...process.execArgv, ...(process.env['NODE_OPTIONS'] ?? '').split(/\s+/)];
  return ONE_CPU_FLAGS.filter(
    ([, prefix]) => !given.some((arg) => arg.replaceAll('_', '-').startsWith(prefix)),
  ).map(([flag]) => flag);
}

/** `parley-proxy`: reads `.env` (if present) and the environment, then serves until SIGINT/SIGTERM. */
async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env'); // variables already set in the environment win
  const config = loadConfig();
  const proxy = await createProxy(config);
  const url = await proxy.listen();
  const { upstream } = config;
  if (config.auth.dev) process.stderr.write(`${DEV_MODE_BANNER}\n`);
  if (upstream.kind === 'offline') process.stderr.write(offlineBanner());
  const where =
    upstream.kind === 'azure'
      ? 'Azure OpenAI'
      : upstream.kind === 'compatible'
        ? upstream.baseURL
        : upstream.kind;
  process.stderr.write(`[parley] upstream: ${where}, default model: ${upstream.defaultModel}\n`);
  process.stderr.write(
    `[parley] store: ${config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : (config.dataDir ?? 'in memory (set PARLEY_DATA_DIR to keep data)')}\n`,
  );
  const missing = availableParallelism() === 1 ? missingOneCpuFlags() : [];
  if (missing.length > 0) {
    // V8 takes these only at start-up (set later, they crash the process or do nothing): say so instead.
    process.stderr.write(
      `[parley] one CPU: start Node with ${missing.join(' ')} for shorter pauses (see "On one CPU" in the proxy README)\n`,
    );
  }
  process.stdout.write(`Parley proxy listening on ${url}\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    process.stderr.write(`[parley] ${signal}: shutting down\n`);
    proxy.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  const message =
    error instanceof ConfigError
      ? `configuration: ${error.message}`
      : error instanceof Error
        ? error.message
        : String(error);
  process.stderr.write(`[parley] could not start: ${message}\n`);
  process.exit(1);
});
