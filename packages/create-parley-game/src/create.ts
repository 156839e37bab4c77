import { cp, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The template, shipped inside the package: nothing is downloaded. Beside `dist/` and `src/` alike. */
export const TEMPLATE_DIR = fileURLToPath(new URL('../template/', import.meta.url));

/**
 * Files that npm would leave out of the package, or would act on, under their real names: stored with a
 * leading `_` and renamed when the game is made.
 */
const RENAMED: Record<string, string> = { _gitignore: '.gitignore', '_env.example': '.env.example' };

/** Options of {@link createGame}. */
export interface CreateGameOptions {
  /** The `name` in the game's package.json. Default: from the folder's name. */
  name?: string;
  /** The version range of the `@parley/*` packages. Default: `^` this package's version (they ship together). */
  parleyVersion?: string;
}

/** What {@link createGame} made. */
export interface CreatedGame {
  dir: string;
  name: string;
  /** Paths of the files written, relative to `dir`, sorted. */
  files: string[];
}

/** Why a game could not be made; `code` says which way. */
export class CreateGameError extends Error {
  override readonly name = 'CreateGameError';
  constructor(
    readonly code: 'not_empty',
    message: string,
  ) {
    super(message);
  }
}

/**
 * A package name from a folder name, as npm accepts it: lowercase, URL-safe, not starting with `.` or `_`.
 *
 * @example
 * packageName('My Game!'); // 'my-game'
 */
export function packageName(folder: string): string {
  const name = folder
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9._~-]+/g, '-')
    .replace(/^[._-]+|-+$/g, '');
  return name || 'parley-game';
}

/**
 * Makes a new Phaser 4 + Vite + TypeScript game in `dir` from the template: one talking NPC, Vite's
 * `server.proxy` and `preview.proxy` forwarding `/v1` to the Parley proxy, and `npm run dev` starting the
 * proxy and the game together. `dir` may exist but must be empty.
 *
 * @throws {CreateGameError} `not_empty` when `dir` holds anything.
 * @example
 * const game = await createGame('my-game');
 * console.log(`cd ${game.dir} && npm install && npm run dev`);
 */
export async function createGame(dir: string, options: CreateGameOptions = {}): Promise<CreatedGame> {
  const target = resolve(dir);
  const existing = await readdir(target).catch(() => []);
  if (existing.length > 0) {
    throw new CreateGameError('not_empty', `${target} is not empty: choose a new folder name.`);
  }
  await mkdir(target, { recursive: true });
  await cp(TEMPLATE_DIR, target, { recursive: true });
  for (const [stored, real] of Object.entries(RENAMED)) {
    await rename(join(target, stored), join(target, real));
  }

  const name = options.name ?? packageName(basename(target));
  const parleyVersion = options.parleyVersion ?? `^${await ownVersion()}`;
  const manifestPath = join(target, 'package.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as {
    name: string;
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  manifest.name = name;
  for (const deps of [manifest.dependencies, manifest.devDependencies]) {
    for (const dep of Object.keys(deps)) if (dep.startsWith('@parley/')) deps[dep] = parleyVersion;
  }
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return { dir: target, name, files: await listFiles(target) };
}

async function ownVersion(): Promise<string> {
  const manifest = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...(await listFiles(join(dir, entry.name), path)));
    else files.push(path);
  }
  return files.sort();
}
