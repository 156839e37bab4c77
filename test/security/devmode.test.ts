/**
 * Dev mode (no proof of identity: the player is named by a header) must never be reachable from
 * another machine: a non-loopback HOST is refused at start-up — in-process and through the CLI — before
 * anything is opened or listened on. In dev mode the player header itself is validated.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createProxy, loadConfig } from '@parley/proxy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNLIMITED } from '../support/limits.ts';
import {
  as,
  capturingLogger,
  devPlayer,
  expectError,
  rawRequest,
  SESSION_SECRET,
  type Started,
  startProxy,
} from './support.ts';
import { attack, attackEach, reportFile } from './tally.ts';

reportFile(import.meta.url);

const CLI = resolve(fileURLToPath(import.meta.url), '../../../packages/proxy/dist/cli.js');

const NON_LOOPBACK = [
  '0.0.0.0',
  '::',
  '[::]',
  '0',
  '192.168.1.10',
  '10.0.0.1',
  '203.0.113.7',
  '::ffff:10.0.0.1',
  'fe80::1',
  'example.com',
  '127.0.0.1.nip.io',
  'localhost.evil.example',
];

function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

describe('start-up with dev mode on a non-loopback HOST', () => {
  const base = { PORT: '0', PARLEY_LOG: 'silent', OPENAI_API_KEY: '', ...UNLIMITED };
  const modes: Array<[string, Record<string, string>]> = [
    ['dev by default (no secrets)', {}],
    ['PARLEY_AUTH=dev', { PARLEY_AUTH: 'dev' }],
    ['PARLEY_AUTH=session,dev', { PARLEY_AUTH: 'session,dev', PARLEY_SESSION_SECRET: SESSION_SECRET }],
  ];

  it('createProxy refuses, before opening the store', async () => {
    const cases = modes.flatMap(([mode, env]) => NON_LOOPBACK.map((host) => ({ mode, env, host })));
    await attackEach(
      'dev mode on a non-loopback host',
      cases,
      (c) => `${c.mode}, HOST=${c.host}`,
      async ({ env, host }) => {
        const dataDir = join(mkdtempSync(join(tmpdir(), 'parley-dev-')), 'data');
        const started = createProxy(loadConfig({ ...base, ...env, HOST: host, PARLEY_DATA_DIR: dataDir }), {
          logger: capturingLogger(),
        });
        await expect(started).rejects.toThrow(/loopback/);
        // Nothing was created or migrated on the way to the refusal.
        expect(existsSync(dataDir) ? readdirSync(dataDir) : []).toEqual([]);
      },
    );
  });

  it('loopback hosts, and non-loopback hosts without dev mode, start (control)', async () => {
    for (const env of [
      { HOST: '127.0.0.1' },
      { HOST: '::1' },
      { HOST: 'localhost' },
      { HOST: '0.0.0.0', PARLEY_SESSION_SECRET: SESSION_SECRET },
    ]) {
      const proxy = await createProxy(loadConfig({ ...base, ...env }), { logger: capturingLogger() });
      await proxy.close();
    }
  }, 90_000);

  it('the CLI exits 1 with a message and never listens', async () => {
    const cases = ['0.0.0.0', '::', '192.168.1.10'];
    await attackEach(
      'dev mode on a non-loopback host',
      cases,
      (host) => `CLI, HOST=${host}`,
      async (host) => {
        const port = await freePort();
        const child = spawn(process.execPath, [CLI], {
          cwd: mkdtempSync(join(tmpdir(), 'parley-cli-')),
          env: { PATH: process.env['PATH'] ?? '', HOST: host, PORT: String(port) },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d;
        });
        child.stderr.on('data', (d: Buffer) => {
          out += d;
        });
        const code = await new Promise<number | null>((done) => {
          const timer = setTimeout(() => {
            child.kill('SIGKILL');
            done(null);
          }, 20_000);
          child.once('exit', (exit) => {
            clearTimeout(timer);
            done(exit);
          });
        });
        expect(code, out).toBe(1);
        expect(out).toMatch(/could not start: .*[Dd]ev mode/);
        expect(out).not.toMatch(/listening on/);
      },
    );
  }, 90_000);
});

describe('the dev player header', () => {
  let server: Started;
  beforeAll(async () => {
    server = await startProxy();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('names a dev: player (control)', async () => {
    const reply = await as(server.url, devPlayer('alice'))('GET', '/v1/usage');
    expect(reply.json.player).toBe('dev:alice');
  });

  it('refuses names that could reach another namespace or a reserved owner', async () => {
    const names = [
      'parley:game',
      'jwt:hero',
      'anon_AAAAAAAAAAAAAAAAAAAAAAAA:x',
      'a b',
      '../admin',
      'x'.repeat(65),
      '',
      'a,b',
      'a;b',
    ];
    await attackEach(
      'dev player header spoofing',
      names,
      (name) => JSON.stringify(name),
      async (name) => {
        expectError(await as(server.url, devPlayer(name))('GET', '/v1/usage'), 400, 'invalid_value');
      },
    );
    await attack('dev player header spoofing', async () => {
      // Two headers: node joins them with ', ', which is refused as one malformed name.
      const raw = await rawRequest(
        server.url,
        'GET /v1/usage HTTP/1.1\r\nHost: x\r\nX-Parley-Player: alice\r\nX-Parley-Player: bob\r\nConnection: close\r\n\r\n',
      );
      expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    });
  });
});
