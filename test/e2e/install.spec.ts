// "Plugin install, proven": the packed packages, installed with npm into a fresh Phaser + Vite project
// outside the workspace, built, served, and an NPC answering in Chromium through the proxy.
import { mkdir, mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import {
  createProject,
  ensureBuilt,
  installParley,
  packClientPackages,
  removeUnlessKept,
  repoDir,
  run,
  servePreview,
} from '../support/install-project.js';
import { type Running, startProxy } from '../support/servers.js';

const artifacts = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

// npm installing Phaser and Vite dominates: ~10 s with a warm cache, a minute or more with a cold one.
test.setTimeout(240_000);

test('a fresh Phaser + Vite game installs the packed plugin with npm, builds, and talks to an NPC', async ({
  page,
}) => {
  const durations: Array<[string, number]> = [];
  const phase = async <T>(name: string, body: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await test.step(name, body);
    } finally {
      durations.push([name, Date.now() - started]);
      console.log(`[install] ${name}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  };

  let packDir: string | undefined;
  let projectDir: string | undefined;
  const running: Running[] = [];
  try {
    const { tarballs } = await phase('pack', async () => {
      await ensureBuilt();
      packDir = await mkdtemp(join(tmpdir(), 'parley-pack-'));
      const packed = await packClientPackages(packDir);
      for (const warning of packed.warnings) {
        console.warn(`[install] warning: ${warning}`);
        test.info().annotations.push({ type: 'warning', description: warning });
      }
      expect(packed.problems, 'problems in the packed packages').toEqual([]);
      return packed;
    });

    const project = await phase('npm install', async () => {
      projectDir = await createProject();
      const installed = await installParley(projectDir, tarballs);
      console.log(`[install] ${installed.installCommand}`);
      // The registry was never asked for a @parley package (it has none: npm would get a 404).
      const registryHits = installed.installLog.split('\n').filter((l) => /http fetch .*@parley/i.test(l));
      expect(registryHits).toEqual([]);
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
      const assets = join(project.dir, 'dist', 'assets');
      const bundle = (
        await Promise.all(
          (
            await readdir(assets)
          )
            .filter((f) => f.endsWith('.js'))
            .map((f) => readFile(join(assets, f), 'utf8')),
        )
      ).join('\n');
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
    await removeUnlessKept(packDir);
    const summary = durations.map(([name, ms]) => `${name} ${(ms / 1000).toFixed(1)} s`).join(' · ');
    test.info().annotations.push({ type: 'durations', description: summary });
  }
});
