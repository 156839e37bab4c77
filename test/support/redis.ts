import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/** Where `redis-server` lives on PATH (Debian: `apt-get install redis-server`), if anywhere. */
function serverBinary(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'redis-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/**
 * True when a Redis server can be started for tests.
 *
 * @example
 * ```ts
 * describe.skipIf(!redisAvailable() && !inCi)('on Redis', () => { ... });
 * ```
 */
export function redisAvailable(): boolean {
  return serverBinary() !== undefined;
}

/** A running throwaway server. */
export interface TestRedis {
  /** `redis://127.0.0.1:PORT`, empty, no persistence. */
  url: string;
  port: number;
  /** Stops the server (SIGTERM, then SIGKILL). Safe to call twice. */
  stop(): Promise<void>;
}

/** Asks the kernel for a free loopback port. Another process could take it before Redis binds it. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('No port assigned'));
      });
    });
  });
}

/** Resolves once `PING` on `port` answers `+PONG`, or rejects after `timeoutMs`. */
async function waitForPong(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      let reply = '';
      socket.setTimeout(500, () => socket.destroy());
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (data) => {
        reply += data.toString('utf8');
        if (reply.includes('\r\n')) {
          socket.end();
          resolve(reply.startsWith('+PONG'));
        }
      });
      socket.on('error', () => resolve(false));
      socket.on('close', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`redis-server did not answer PING on port ${port} within ${timeoutMs} ms`);
}

/**
 * Starts a private Redis server as a child process: loopback only, no RDB or AOF files, on a free port.
 * Takes a few tens of milliseconds. `port` restarts a server where a stopped one listened (its data is
 * gone: nothing is persisted). Throws (with the install hint) when the binary is missing, so a
 * suite that runs in CI without Redis fails instead of passing vacuously.
 *
 * @example
 * ```ts
 * const redis = await startRedis();
 * const limiter = createRedisLimiter(config, redis.url);
 * // …
 * await limiter.close();
 * await redis.stop();
 * ```
 */
export async function startRedis(options: { port?: number } = {}): Promise<TestRedis> {
  const binary = serverBinary();
  if (binary === undefined)
    throw new Error('redis-server not found on PATH; install it with: apt-get install redis-server');
  // The chosen port can be taken between probing and binding; a few more tries cover that race.
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    const child = spawn(
      binary,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (data: Buffer) => {
      stderr += data.toString('utf8');
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const stop = async (): Promise<void> => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(killer);
    };
    try {
      await waitForPong(port, child, 10_000);
      return { url: `redis://127.0.0.1:${port}`, port, stop };
    } catch (error) {
      await stop();
      if (attempt < 3 && options.port === undefined) continue;
      throw new Error(`redis-server failed to start: ${stderr}`, { cause: error });
    }
  }
}
