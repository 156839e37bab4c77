import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CreateGameError, createGame, packageName, TEMPLATE_DIR } from './create.js';

const packagesDir = join(TEMPLATE_DIR, '..', '..');
const readJson = async <T>(path: string): Promise<T> => JSON.parse(await readFile(path, 'utf8')) as T;

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'create-parley-game-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('createGame', () => {
  it('makes a Phaser + Vite + TypeScript game with the proxy forwarded and the kit at its own version', async () => {
    const game = await createGame(join(root, 'My Game'));
    expect(game.name).toBe('my-game');
    expect(game.files).toEqual([
      '.env.example',
      '.gitignore',
      'README.md',
      'index.html',
      'package.json',
      'scripts/dev.mjs',
      'src/main.ts',
      'src/village.ts',
      'tsconfig.json',
      'tsconfig.node.json',
      'vite.config.ts',
    ]);
    const manifest = await readJson<{
      name: string;
      scripts: Record<string, string>;
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    }>(join(game.dir, 'package.json'));
    expect(manifest.name).toBe('my-game');
    // The kit's packages are released together: the game asks for the versions this scaffold came with.
    for (const pkg of ['phaser', 'proxy']) {
      const { version } = await readJson<{ version: string }>(join(packagesDir, pkg, 'package.json'));
      const range = manifest.dependencies[`@parley/${pkg}`] ?? manifest.devDependencies[`@parley/${pkg}`];
      expect(range).toBe(`^${version}`);
    }
    expect(manifest.devDependencies['@parley/proxy']).toBeDefined(); // installed, never a bare `npx parley-proxy`
    expect(manifest.scripts['dev']).toBe('node scripts/dev.mjs');
    const vite = await readFile(join(game.dir, 'vite.config.ts'), 'utf8');
    expect(vite).toMatch(/server: \{ proxy \}/);
    expect(vite).toMatch(/preview: \{ proxy \}/);
    expect(vite).toMatch(/'\/v1': \{ target:/);
    expect(await readFile(join(game.dir, '.gitignore'), 'utf8')).toMatch(/^\.env$/m);
  });

  it('refuses a folder that holds anything, and writes nothing into it', async () => {
    await writeFile(join(root, 'notes.txt'), 'mine');
    const made = createGame(root);
    await expect(made).rejects.toBeInstanceOf(CreateGameError);
    await expect(made).rejects.toMatchObject({ code: 'not_empty' });
    expect(await readFile(join(root, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it("ships the @parley/phaser README's scene, which the phaser package type-checks", async () => {
    const scene = await readFile(join(TEMPLATE_DIR, 'src', 'village.ts'), 'utf8');
    expect(scene).toBe(await readFile(join(packagesDir, 'phaser', 'examples', 'village.ts'), 'utf8'));
  });
});

describe('packageName', () => {
  it('turns a folder name into a name npm accepts', () => {
    expect(packageName('My Game!')).toBe('my-game');
    expect(packageName('_.hidden')).toBe('hidden');
    expect(packageName('???')).toBe('parley-game');
  });
});
