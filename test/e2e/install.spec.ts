// "Plugin install, proven": the packed packages, installed with npm into fresh Phaser + Vite projects
// outside the workspace (one made by hand as the READMEs say, one made by the packed `create-parley-game`),
// built, served, and an NPC answering in Chromium through the proxy. Before that, the tarballs themselves:
// what npm's page and a user's install get besides the code (LICENSE, metadata, READMEs that work there).
import { mkdir, mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, type Page, test } from '@playwright/test';
import {
  CLIENT_PACKAGES,
  createProject,
  createWithScaffold,
  ensureBuilt,
  installParley,
  installScaffolded,
  packPackages,
  removeUnlessKept,
  repoDir,
  run,
  servePreview,
  startScaffolded,
  type Tarball,
} from '../support/install-project.js';
import { type Running, startProxy } from '../support/servers.js';

const artifacts = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

// npm installing Phaser and Vite dominates: ~10 s with a warm cache, a minute or more with a cold one.
test.setTimeout(240_000);

// Packed once for the tests of this file (one worker): the kit's five packages.
let packDir: string | undefined;
let packed: Awaited<ReturnType<typeof packPackages>> | undefined;
test.beforeAll(async () => {
  test.setTimeout(180_000);
  await ensureBuilt();
  packDir = await mkdtemp(join(tmpdir(), 'parley-pack-'));
  packed = await packPackages(packDir);
});
test.afterAll(async () => {
  await removeUnlessKept(packDir);
});

/** The tarballs of `packages`, in that order. */
function tarballsOf(packages: readonly string[]): Tarball[] {
  return packages.map((pkg) => {
    const tarball = packed?.tarballs.find((t) => t.pkg === pkg);
    if (!tarball) throw new Error(`${pkg} was not packed`);
    return tarball;
  });
}

/** Times each phase of a test, as a step and in the log. */
function phases(durations: Array<[string, number]>) {
  return async <T>(name: string, body: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await test.step(name, body);
    } finally {
      durations.push([name, Date.now() - started]);
      console.log(`[install] ${name}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  };
}

/** Every file of the built game's JS, to look into. */
async function builtBundle(dir: string): Promise<string> {
  const assets = join(dir, 'dist', 'assets');
  const files = (await readdir(assets)).filter((f) => f.endsWith('.js'));
  return (await Promise.all(files.map((f) => readFile(join(assets, f), 'utf8')))).join('\n');
}

/** Registry requests npm logged (`--loglevel http`) for a @parley package: there must be none. */
const parleyRegistryHits = (installLog: string) =>
  installLog.split('\n').filter((l) => /http fetch .*@parley/i.test(l));

test('the packed packages carry a LICENSE, repository/homepage/bugs, and READMEs that work on npm', () => {
  for (const warning of packed!.warnings) {
    console.warn(`[install] warning: ${warning}`);
    test.info().annotations.push({ type: 'warning', description: warning });
  }
  expect(packed!.tarballs.map((t) => t.name)).toEqual([
    '@parley/protocol',
    '@parley/dialogue',
    '@parley/phaser',
    '@parley/proxy',
    'create-parley-game',
  ]);
  expect(packed!.problems, 'problems in the packed packages').toEqual([]);
  // The scaffold needs nothing but itself: its template is inside.
  const scaffold = tarballsOf(['create-parley-game'])[0]!;
  expect(scaffold.entries).toEqual(
    expect.arrayContaining(['template/package.json', 'template/src/village.ts']),
  );
});

test('a fresh Phaser + Vite game installs the packed plugin with npm, builds, and talks to an NPC', async ({
  page,
}) => {
  const durations: Array<[string, number]> = [];
  const phase = phases(durations);
  let projectDir: string | undefined;
  const running: Running[] = [];
  try {
    const tarballs = tarballsOf(CLIENT_PACKAGES);
    const project = await phase('npm install', async () => {
      projectDir = await createProject();
      const installed = await installParley(projectDir, tarballs);
      console.log(`[install] ${installed.installCommand}`);
      // The registry was never asked for a @parley package (it has none: npm would get a 404).
      expect(parleyRegistryHits(installed.installLog)).toEqual([]);
      // Each @parley package is installed once, at the top level, from its tarball, at the packed version.
      const lock = JSON.parse(await readFile(join(projectDir, 'package-lock.json'), 'utf8')) as {
        packages: Record<string, { version?: string; resolved?: string }>;
      };
      const parley = Object.entries(lock.packages).filter(([path]) => path.includes('node_modules/@parley/'));
      expect(parley.map(([path]) => path).sort()).toEqual(
        tarballs.map((t) => `node_modules/${t.name}`).sort(),
      );
      for (const tarball of tarballs) {
        const entry = lock.packages[`node_modules/${tarball.name}`];
        expect(entry?.version).toBe(tarball.version);
        expect(entry?.resolved).toBe(`file:${tarball.file.split('/').pop()}`);
      }
      return installed;
    });

    // The published types: `@parley/phaser` resolves, and `this.parley` is typed on Phaser.Scene by the
    // package's declaration merging (the fixture's strict tsconfig would reject an untyped `this.parley`).
    await phase('typecheck (tsc --noEmit)', () => run('npm', ['run', 'typecheck'], { cwd: project.dir }));

    await phase('build (vite build)', async () => {
      await run('npm', ['run', 'build'], { cwd: project.dir });
      const bundle = await builtBundle(project.dir);
      expect(bundle).toContain('parley-live'); // the plugin is in the bundle…
      expect(bundle).not.toContain(repoDir); // …and nothing came from the workspace
    });

    const game = await phase('start proxy + vite preview', async () => {
      const proxy = await startProxy({ delayMs: 10 });
      running.push(proxy);
      const preview = await servePreview(project.dir, proxy.url);
      running.push(preview);
      return preview;
    });

    await phase('talk to the NPC in Chromium', async () => {
      const pageErrors: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(error.message));
      const apiOrigins = new Set<string>();
      page.on('request', (request) => {
        const url = new URL(request.url());
        if (url.pathname.startsWith('/v1/')) apiOrigins.add(url.origin);
      });

      await page.goto(game.url);
      await expect(page.locator('canvas')).toBeVisible();
      const live = page.locator('#parley-live');
      await expect(live).toHaveAttribute('role', 'log');

      // Mira stands next to the player: the "[E] Talk" prompt is up without walking.
      await expect(page.locator('body')).toHaveAttribute('data-npc-in-range', 'true');
      await page.keyboard.press('e');
      const input = page.locator('input[data-parley="input"]');
      await expect(input).toBeVisible();
      await expect(input).toBeFocused();

      await page.keyboard.type('What is good to eat tonight?');
      await page.keyboard.press('Enter');
      await expect(live.locator('[data-speaker="player"]').last()).toHaveText('What is good to eat tonight?');
      const reply = live.locator('[data-speaker="Mira"][data-state="done"]');
      await expect(reply).toHaveCount(1, { timeout: 30_000 });
      expect(((await reply.textContent()) ?? '').trim().length).toBeGreaterThan(20);

      // The typewriter has finished once Mira listens again; keep a picture for people to judge.
      await expect(page.locator('body')).toHaveAttribute('data-npc-state', 'listening', { timeout: 30_000 });
      await mkdir(artifacts, { recursive: true });
      await page.screenshot({ path: join(artifacts, 'install.png') });

      expect([...apiOrigins]).toEqual([game.url]); // same origin: Vite forwarded /v1 to the proxy
      expect(pageErrors).toEqual([]);
    });
  } finally {
    for (const server of running.reverse()) await server.stop();
    await removeUnlessKept(projectDir);
    const summary = durations.map(([name, ms]) => `${name} ${(ms / 1000).toFixed(1)} s`).join(' · ');
    test.info().annotations.push({ type: 'durations', description: summary });
  }
});

test('npm create parley-game makes a game that installs from the tarballs, type-checks, builds and talks', async ({
  page,
}) => {
  const durations: Array<[string, number]> = [];
  const phase = phases(durations);
  let gameRoot: string | undefined;
  let game: (Running & { proxyUrl: string }) | undefined;
  try {
    const created = await phase('npm exec create-parley-game my-game', async () => {
      const made = await createWithScaffold(tarballsOf(['create-parley-game'])[0]!);
      gameRoot = dirname(made.dir);
      // It says what to type next, in the order that works.
      expect(made.output).toMatch(/cd my-game\s+npm install\s+npm run dev/);
      const manifest = JSON.parse(await readFile(join(made.dir, 'package.json'), 'utf8')) as {
        name: string;
        devDependencies: Record<string, string>;
      };
      expect(manifest.name).toBe('my-game');
      expect(manifest.devDependencies['@parley/proxy']).toBe(`^${tarballsOf(['proxy'])[0]!.version}`);
      return made;
    });

    await phase('npm install', async () => {
      const installed = await installScaffolded(created.dir, tarballsOf([...CLIENT_PACKAGES, 'proxy']));
      console.log(`[install] ${installed.installCommand}`);
      expect(parleyRegistryHits(installed.installLog)).toEqual([]);
    });

    // Both tsconfigs: the game (with vite/client) and vite.config.ts + scripts (with node). The README
    // samples that come from the template (vite.config.ts, src/main.ts, src/village.ts) compile here, in a
    // project outside the workspace, against the packed types.
    await phase('typecheck (npm run typecheck)', () =>
      run('npm', ['run', 'typecheck'], { cwd: created.dir }),
    );

    await phase('build (npm run build)', async () => {
      await run('npm', ['run', 'build'], { cwd: created.dir });
      const bundle = await builtBundle(created.dir);
      expect(bundle).toContain('parley-live');
      expect(bundle).not.toContain(repoDir);
    });

    // The game's own script: the proxy from its node_modules, then `vite preview` forwarding /v1 to it.
    game = await phase('npm run preview (proxy + vite preview)', () => startScaffolded(created.dir));
    const health = (await (await fetch(`${game.proxyUrl}/healthz`)).json()) as { upstream?: string };
    expect(health.upstream).toBe('offline');

    await phase('talk to Brom in Chromium', () => talkToBrom(page, game!.url));
  } finally {
    await game?.stop();
    await removeUnlessKept(gameRoot);
    const summary = durations.map(([name, ms]) => `${name} ${(ms / 1000).toFixed(1)} s`).join(' · ');
    test.info().annotations.push({ type: 'durations', description: summary });
  }
});

/** The scaffolded game: Brom stands next to the player; E opens the dialogue, a line gets his answer. */
async function talkToBrom(page: Page, url: string): Promise<void> {
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  const apiOrigins = new Set<string>();
  page.on('request', (request) => {
    const target = new URL(request.url());
    if (target.pathname.startsWith('/v1/')) apiOrigins.add(target.origin);
  });
  await page.goto(url);
  await expect(page.locator('canvas')).toBeVisible();
  const live = page.locator('#parley-live');
  await expect(live).toHaveAttribute('role', 'log');
  // His greeting bark shows once the scene runs; then E talks (the prompt needs a frame or two).
  await expect(live.locator('[data-speaker="Brom"][data-kind="bark"]').first()).toBeAttached();
  const input = page.locator('input[data-parley="input"]');
  await expect(async () => {
    await page.keyboard.press('e');
    await expect(input).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 15_000 });
  await expect(input).toBeFocused();
  await page.keyboard.type('Please open the gate.');
  await page.keyboard.press('Enter');
  await expect(live.locator('[data-speaker="player"]').last()).toHaveText('Please open the gate.');
  const reply = live.locator('[data-speaker="Brom"][data-state="done"]:not([data-kind="bark"])');
  await expect(reply).toHaveCount(1, { timeout: 30_000 });
  expect(((await reply.textContent()) ?? '').trim().length).toBeGreaterThan(10);
  await mkdir(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, 'install-scaffold.png') });
  expect([...apiOrigins]).toEqual([url]); // same origin: Vite forwarded /v1 to the proxy
  expect(pageErrors).toEqual([]);
}
