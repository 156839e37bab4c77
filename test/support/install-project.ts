// "Plugin install, proven": packs the client packages, creates a fresh Phaser + Vite game from
// test/fixtures/install-project in a temporary folder OUTSIDE the workspace (so nothing resolves from the
// workspace's node_modules), installs the tarballs with npm as a user would, builds it and serves it.
//
// Fixture sources are stored as `.mts` and copied as `.ts`: test/tsconfig.json includes every `*.ts` under
// test/, and the fixture imports `phaser`, which only the fresh project has.
import { type ChildProcess, spawn } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, type Running } from './servers.js';

export const repoDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixtureDir = join(repoDir, 'test', 'fixtures', 'install-project');

/** The packages a game installs, in dependency order. */
export const CLIENT_PACKAGES = ['protocol', 'dialogue', 'phaser'] as const;
type ClientPackage = (typeof CLIENT_PACKAGES)[number];

/** What a user adds to a new Vite project: the plugin and Phaser (a peer dependency of the plugin). */
export const PHASER_SPEC = 'phaser@^4.2.1';

interface Manifest {
  name: string;
  version: string;
  main?: string;
  types?: string;
  exports?: unknown;
  files?: string[];
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/** One packed package. */
export interface Tarball {
  pkg: ClientPackage;
  name: string;
  version: string;
  /** Absolute path of the .tgz. */
  file: string;
  /** Paths inside the tarball, relative to `package/`. */
  entries: string[];
}

/** A finished command's output. */
export interface RunResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to completion; rejects with its (tail of) output when it fails. The environment drops the
 * `npm_*`/`pnpm_*` variables that `pnpm exec` sets, so npm in the fresh project behaves as in a user's shell.
 */
export function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<RunResult> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(npm|pnpm)_/i.test(key) && key !== 'NODE_PATH' && key !== 'INIT_CWD') env[key] = value;
  }
  // The npm (and pnpm) next to the Node that runs the tests first.
  env['PATH'] = [dirname(process.execPath), env['PATH']].filter(Boolean).join(':');
  Object.assign(env, options.env);
  return new Promise((done, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 180_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${command} could not start: ${error.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return done({ stdout, stderr });
      const output = `${stdout}\n${stderr}`.trim().slice(-4000);
      reject(
        new Error(
          `\`${command} ${args.join(' ')}\` in ${options.cwd} failed (${code ?? signal}):\n${output}`,
        ),
      );
    });
  });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function readManifest(dir: string): Promise<Manifest> {
  return JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as Manifest;
}

/** Builds the client packages whose `dist/` is missing (the root test command has built them already). */
export async function ensureBuilt(): Promise<void> {
  const missing: string[] = [];
  for (const pkg of CLIENT_PACKAGES) {
    const dir = join(repoDir, 'packages', pkg);
    const manifest = await readManifest(dir);
    for (const file of [manifest.main, manifest.types]) {
      if (file && !(await exists(join(dir, file)))) missing.push(manifest.name);
    }
  }
  const filters = [...new Set(missing)].flatMap((name) => ['--filter', name]);
  if (filters.length > 0) await run('pnpm', [...filters, 'run', 'build'], { cwd: repoDir });
}

/** Every file path a manifest points at (`main`, `types`, `exports` targets). */
function entryPoints(manifest: Manifest): string[] {
  const paths: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') paths.push(value);
    else if (value && typeof value === 'object') for (const v of Object.values(value)) walk(v);
  };
  walk(manifest.exports);
  for (const file of [manifest.main, manifest.types]) if (file) paths.push(file);
  return [...new Set(paths.map((p) => p.replace(/^\.\//, '')))].filter((p) => !p.includes('*'));
}

/** Packages a built file imports or re-exports at top level (doc comments and `declare module` aside). */
function importedPackages(source: string): string[] {
  const names = new Set<string>();
  for (const match of source.matchAll(/^(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]/gm)) {
    names.add(match[1]!);
  }
  for (const match of source.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) names.add(match[1]!);
  return [...names]
    .filter((s) => !s.startsWith('.') && !s.startsWith('node:'))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!));
}

/**
 * Packs protocol, dialogue and phaser with pnpm (which rewrites `workspace:^` to real ranges) into
 * `destDir`, and checks each tarball as the registry would serve it: no `workspace:` range left, every
 * entry point present, every package the built code imports declared as a dependency or peer.
 * Returns the problems found instead of throwing, so the caller can report them all at once, and
 * warnings for what does not break an install (a file listed in `files` but absent, e.g. a README).
 */
export async function packClientPackages(
  destDir: string,
): Promise<{ tarballs: Tarball[]; problems: string[]; warnings: string[] }> {
  const filters = CLIENT_PACKAGES.flatMap((pkg) => ['--filter', `@parley/${pkg}`]);
  await run('pnpm', [...filters, 'pack', '--pack-destination', destDir], { cwd: repoDir });
  const files = await readdir(destDir);
  const tarballs: Tarball[] = [];
  const problems: string[] = [];
  const warnings: string[] = [];
  for (const pkg of CLIENT_PACKAGES) {
    const file = files.find((f) => f.startsWith(`parley-${pkg}-`) && f.endsWith('.tgz'));
    if (!file) throw new Error(`pnpm pack wrote no tarball for @parley/${pkg} in ${destDir}`);
    const path = join(destDir, file);
    const listing = await run('tar', ['-tzf', path], { cwd: destDir });
    const entries = listing.stdout
      .split('\n')
      .filter(Boolean)
      .map((e) => e.replace(/^package\//, ''));
    const packedJson = (await run('tar', ['-xzOf', path, 'package/package.json'], { cwd: destDir })).stdout;
    const manifest = JSON.parse(packedJson) as Manifest;
    const where = `${manifest.name}@${manifest.version} (${file})`;
    if (packedJson.includes('workspace:'))
      problems.push(`${where}: package.json still has a workspace: range`);
    for (const entry of entryPoints(manifest)) {
      if (!entries.includes(entry)) problems.push(`${where}: entry point ${entry} is not in the tarball`);
    }
    for (const listed of manifest.files ?? []) {
      if (!listed.includes('*') && !entries.some((e) => e === listed || e.startsWith(`${listed}/`))) {
        warnings.push(`${where}: "files" lists ${listed}, which is not in the tarball`);
      }
    }
    const declared = new Set([
      ...Object.keys(manifest.dependencies ?? {}),
      ...Object.keys(manifest.peerDependencies ?? {}),
    ]);
    for (const built of entries.filter((e) => /\.(c|m)?js$|\.d\.(c|m)?ts$/.test(e))) {
      const source = (await run('tar', ['-xzOf', path, `package/${built}`], { cwd: destDir })).stdout;
      for (const name of importedPackages(source)) {
        if (!declared.has(name))
          problems.push(`${where}: ${built} imports ${name}, which is not a dependency`);
      }
    }
    tarballs.push({ pkg, name: manifest.name, version: manifest.version, file: path, entries });
  }
  return { tarballs, problems, warnings };
}

/** A fresh game project. */
export interface InstalledProject {
  dir: string;
  /** The npm command line that installed Parley, as a user would type it. */
  installCommand: string;
  /** npm's `--loglevel http` output of that install. */
  installLog: string;
}

/** Copies the fixture into a new temporary folder, renaming `.mts` sources to `.ts`. */
export async function createProject(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-install-'));
  if (!relative(repoDir, dir).startsWith('..')) throw new Error(`${dir} is inside the workspace`);
  await cp(fixtureDir, dir, { recursive: true });
  const renameAll = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await renameAll(path);
      else if (entry.name.endsWith('.mts')) await rename(path, path.replace(/\.mts$/, '.ts'));
    }
  };
  await renameAll(dir);
  return dir;
}

/**
 * Installs the plugin into `dir` as a user would: `npm install ./parley-phaser-….tgz phaser@^4.2.1` (vite
 * and typescript are already the project's devDependencies, as `npm create vite` leaves them). The
 * tarballs are copied into the project; `overrides` stand in for the registry, which does not have
 * @parley/dialogue and @parley/protocol: they point the plugin's transitive dependencies at their tarballs,
 * so npm never asks the registry for a @parley package.
 */
export async function installParley(dir: string, tarballs: Tarball[]): Promise<InstalledProject> {
  const local: Record<string, string> = {};
  for (const tarball of tarballs) {
    const name = tarball.file.split('/').pop()!;
    await cp(tarball.file, join(dir, name));
    local[tarball.pkg] = name;
  }
  const manifestPath = join(dir, 'package.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Record<string, unknown>;
  manifest['overrides'] = {
    '@parley/protocol': `file:${local['protocol']}`,
    '@parley/dialogue': `file:${local['dialogue']}`,
  };
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);

  const args = ['install', '--no-audit', '--no-fund', `./${local['phaser']}`, PHASER_SPEC];
  const result = await run('npm', [...args, '--loglevel', 'http'], { cwd: dir, timeoutMs: 200_000 });
  return { dir, installCommand: `npm ${args.join(' ')}`, installLog: `${result.stdout}\n${result.stderr}` };
}

/**
 * Serves the project's built `dist/` with its own `vite preview` (the project's vite.config.ts forwards
 * `/v1` to `proxyUrl`).
 */
export async function servePreview(dir: string, proxyUrl: string): Promise<Running> {
  const port = await freePort();
  const vite = join(dir, 'node_modules', 'vite', 'bin', 'vite.js');
  const child = spawn(
    process.execPath,
    [vite, 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'],
    {
      cwd: dir,
      env: { ...process.env, PARLEY_PROXY_URL: proxyUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => output.push(chunk));
  }
  const url = `http://127.0.0.1:${port}`;
  const stop = () => stopChild(child);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`vite preview did not serve ${url}:\n${output.join('').slice(-2000)}`);
    }
    const ok = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return { url, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(force);
      done();
    });
    child.kill('SIGTERM');
  });
}

/** Removes a temporary folder unless PARLEY_KEEP_INSTALL is set (to inspect a failed install). */
export async function removeUnlessKept(dir: string | undefined): Promise<void> {
  if (!dir) return;
  if (process.env['PARLEY_KEEP_INSTALL']) console.log(`[install] kept ${dir}`);
  else await rm(dir, { recursive: true, force: true });
}
