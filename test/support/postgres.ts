import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Debian's layout; 15 is what Debian 12 (this project's CI image) ships. */
const DEBIAN_ROOT = '/usr/lib/postgresql';
const PREFERRED_VERSION = '15';

/**
 * The directory holding `initdb` and `pg_ctl`: version 15 when installed, else the newest Debian-packaged
 * version, so a CI image on a newer Debian still runs the suite rather than skipping it.
 */
function binDir(): string | undefined {
  const preferred = join(DEBIAN_ROOT, PREFERRED_VERSION, 'bin');
  if (hasBinaries(preferred)) return preferred;
  if (!existsSync(DEBIAN_ROOT)) return undefined;
  const versions = readdirSync(DEBIAN_ROOT)
    .filter((name) => /^\d+$/.test(name))
    .sort((a, b) => Number(b) - Number(a));
  return versions.map((version) => join(DEBIAN_ROOT, version, 'bin')).find(hasBinaries);
}

function hasBinaries(dir: string): boolean {
  return ['initdb', 'pg_ctl', 'createdb'].every((name) => existsSync(join(dir, name)));
}

/**
 * True when a PostgreSQL server can be started for tests (`apt-get install postgresql` provides it).
 *
 * @example
 * ```ts
 * describe.skipIf(!postgresAvailable())('on PostgreSQL', () => { ... });
 * ```
 */
export function postgresAvailable(): boolean {
  return binDir() !== undefined;
}

/** util-linux's `runuser`, found in the sbin directories too: a lean PATH (`/usr/bin:/bin`) leaves them out. */
const RUNUSER =
  ['/usr/sbin/runuser', '/sbin/runuser', '/usr/bin/runuser', '/bin/runuser'].find((path) =>
    existsSync(path),
  ) ?? 'runuser';

/** A running throwaway server. */
export interface TestPostgres {
  /** `postgres://postgres@127.0.0.1:PORT/parley`, trust authentication, empty database. */
  url: string;
  /** Creates another empty database on the same server and resolves with its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server and deletes its files. Safe to call twice. */
  stop(): Promise<void>;
}

/** Asks the kernel for a free loopback port. Another process could take it before Postgres binds it. */
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

/**
 * Starts a private PostgreSQL server in a temporary directory, listening on loopback only, with a
 * database named `parley`. Takes about two seconds (initdb dominates).
 *
 * Postgres refuses to run as root, so as root the cluster directory is handed to the `postgres` user
 * (which Debian's package creates) and every server command runs as that user through `runuser`.
 *
 * @example
 * ```ts
 * const pg = await startPostgres();
 * const store = await createStore({ databaseUrl: pg.url });
 * // …
 * await store.close();
 * await pg.stop();
 * ```
 */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = binDir();
  if (bin === undefined) {
    throw new Error(
      `PostgreSQL binaries not found under ${DEBIAN_ROOT}; install them with: apt-get install postgresql`,
    );
  }
  const asRoot = process.getuid?.() === 0;
  const exec = (command: string, args: readonly string[]) =>
    asRoot
      ? run(RUNUSER, ['-u', 'postgres', '--', join(bin, command), ...args])
      : run(join(bin, command), [...args]);

  const root = await mkdtemp(join(tmpdir(), 'parley-pg-'));
  const dataDir = join(root, 'data');
  const log = join(root, 'server.log');
  let started = false;
  const cleanup = async (): Promise<void> => {
    if (started) {
      started = false;
      await exec('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => {});
    }
    await rm(root, { recursive: true, force: true });
  };

  try {
    if (asRoot) {
      const { stdout } = await run('id', ['-u', 'postgres']);
      const { stdout: gid } = await run('id', ['-g', 'postgres']);
      await chown(root, Number(stdout.trim()), Number(gid.trim()));
    }
    // --no-sync and fsync=off: a test cluster never needs to survive a power cut, and syncing is most of
    // initdb's time on slow disks.
    await exec('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync']);

    // The chosen port can be taken between probing and binding; one more try covers that race.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${root} -c fsync=off -c full_page_writes=off`;
      try {
        await exec('pg_ctl', ['-D', dataDir, '-l', log, '-o', options, '-w', '-t', '60', 'start']);
        started = true;
      } catch (error) {
        if (attempt < 3) continue;
        const serverLog = await readFile(log, 'utf8').catch(() => '');
        throw new Error(`pg_ctl start failed:\n${serverLog}`, { cause: error });
      }
      const createDatabase = async (name: string): Promise<string> => {
        await exec('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', name]);
        return `postgres://postgres@127.0.0.1:${port}/${name}`;
      };
      return { url: await createDatabase('parley'), createDatabase, stop: cleanup };
    }
  } catch (error) {
    await cleanup();
    throw error;
  }
}
