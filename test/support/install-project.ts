// "Plugin install, proven": packs the kit's packages, creates a fresh Phaser + Vite game in a temporary
// folder OUTSIDE the workspace (so nothing resolves from the workspace's node_modules), either from
// test/fixtures/install-project (by hand, as the READMEs say) or with the packed `create-parley-game`,
// installs the tarballs with npm as a user would, builds it and serves it.
//
// Fixture sources are stored as `.mts` and copied as `.ts`: test/tsconfig.json includes every `*.ts` under
// test/, and the fixture imports `phaser`, which only the fresh project has.
import { type ChildProcess, spawn } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, type Running } from './servers.js';

export const repoDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixtureDir = join(repoDir, 'test', 'fixtures', 'install-project');

/** The packages a game installs, in dependency order. */
export const CLIENT_PACKAGES = ['protocol', 'dialogue', 'phaser'] as const;
/** Everything published: the client packages, the proxy and the scaffold (folders under packages/). */
export const KIT_PACKAGES = [...CLIENT_PACKAGES, 'proxy', 'create-parley-game'] as const;
type KitPackage = (typeof KIT_PACKAGES)[number];
/** Packages that run in the browser: they must not ask npm for a Node version. */
const BROWSER_PACKAGES: readonly KitPackage[] = CLIENT_PACKAGES;
/** Where the packages say they live; every link in their READMEs must be absolute. */
export const REPOSITORY_URL = 'https://github.com/parley-dev/parley';

/** What a user adds to a new Vite project: the plugin and Phaser (a peer dependency of the plugin). */
export const PHASER_SPEC = 'phaser@^4.2.1';

interface Manifest {
  name: string;
  version: string;
  license?: string;
  repository?: { type?: string; url?: string; directory?: string } | string;
  homepage?: string;
  bugs?: { url?: string } | string;
  engines?: Record<string, string>;
  scripts?: Record<string, string>;
  main?: string;
  types?: string;
  exports?: unknown;
  files?: string[];
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/** One packed package. */
export interface Tarball {
  pkg: KitPackage;
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

/** Builds the packages whose `dist/` is missing (the root test command has built them already). */
export async function ensureBuilt(packages: readonly KitPackage[] = KIT_PACKAGES): Promise<void> {
  const missing: string[] = [];
  for (const pkg of packages) {
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
  return (
    [...names]
      // Node's own modules, with or without `node:` (bundlers keep `fs` as written).
      .filter(
        (s) => !s.startsWith('.') && !s.startsWith('node:') && !builtinModules.includes(s.split('/')[0]!),
      )
      .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!))
  );
}

/**
 * Links in a README that would be dead on npm's page, where the repository's files are not: every link,
 * image and autolink must be absolute (`https://…`) or an anchor on the page itself (`#…`).
 */
export function relativeLinks(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, ''); // code is not linked
  const targets = [
    ...[...prose.matchAll(/\]\(\s*<?([^)\s>]+)/g)].map((m) => m[1]!),
    ...[...prose.matchAll(/^\s*\[[^\]]+\]:\s*(\S+)/gm)].map((m) => m[1]!),
    ...[...prose.matchAll(/\b(?:href|src)=["']([^"']+)["']/g)].map((m) => m[1]!),
  ];
  return targets.filter((target) => !/^(https:\/\/|#|mailto:)/.test(target));
}

/**
 * What npm shows and does with a package besides its code: a LICENSE file, repository/homepage/bugs, a
 * README that works off the repository (absolute links, no monorepo-only commands, the proxy installed
 * before `npx parley-proxy`), no Node requirement on browser packages, and scripts whose files are shipped.
 */
function metadataProblems(pkg: KitPackage, manifest: Manifest, entries: string[], readme: string): string[] {
  const problems: string[] = [];
  if (!entries.includes('LICENSE')) problems.push('LICENSE is not in the tarball');
  if (manifest.license !== 'MIT') problems.push(`license is ${manifest.license}, not MIT`);
  const repository = typeof manifest.repository === 'string' ? manifest.repository : manifest.repository?.url;
  if (!repository?.includes(REPOSITORY_URL.replace('https://', '')))
    problems.push(`repository is ${repository}, not ${REPOSITORY_URL}`);
  if (!manifest.homepage?.startsWith(REPOSITORY_URL)) problems.push(`homepage is ${manifest.homepage}`);
  const bugs = typeof manifest.bugs === 'string' ? manifest.bugs : manifest.bugs?.url;
  if (!bugs?.startsWith(REPOSITORY_URL)) problems.push(`bugs is ${bugs}`);
  if (BROWSER_PACKAGES.includes(pkg) && manifest.engines?.['node'])
    problems.push(`engines.node ${manifest.engines['node']} on a browser package (npm warns on other Nodes)`);
  for (const [name, script] of Object.entries(manifest.scripts ?? {})) {
    const file = /^node\s+(\S+\.[cm]?js)\b/.exec(script)?.[1];
    if (file && !entries.includes(file.replace(/^\.\//, '')))
      problems.push(`script ${name} runs ${file}, which is not in the tarball`);
  }
  if (!readme) return [...problems, 'README.md is not in the tarball'];
  for (const link of relativeLinks(readme)) problems.push(`README links to ${link}, dead on npm`);
  for (const local of ['root README', 'pnpm --filter', 'pnpm add', 'workspace:']) {
    if (readme.includes(local))
      problems.push(`README says "${local}", which only makes sense in the monorepo`);
  }
  if (readme.includes('npx parley-proxy') && !readme.includes('npm i -D @parley/proxy'))
    problems.push('README runs npx parley-proxy without installing @parley/proxy first');
  return problems;
}

/**
 * Packs `packages` with pnpm (which rewrites `workspace:^` to real ranges) into `destDir`, and checks each
 * tarball as the registry would serve it: no `workspace:` range left, every entry point present, every
 * package the built code imports declared as a dependency or peer, and the metadata of
 * {@link metadataProblems}. Returns the problems found instead of throwing, so the caller can report them
 * all at once, and warnings for what does not break an install (a file listed in `files` but absent).
 */
export async function packPackages(
  destDir: string,
  packages: readonly KitPackage[] = KIT_PACKAGES,
): Promise<{ tarballs: Tarball[]; problems: string[]; warnings: string[] }> {
  const names = new Map<KitPackage, string>();
  for (const pkg of packages) names.set(pkg, (await readManifest(join(repoDir, 'packages', pkg))).name);
  const filters = [...names.values()].flatMap((name) => ['--filter', name]);
  await run('pnpm', [...filters, 'pack', '--pack-destination', destDir], { cwd: repoDir });
  const files = await readdir(destDir);
  const tarballs: Tarball[] = [];
  const problems: string[] = [];
  const warnings: string[] = [];
  for (const pkg of packages) {
    // pnpm names a tarball after the package: @parley/phaser → parley-phaser-0.1.0.tgz.
    const prefix = `${names.get(pkg)!.replace(/^@/, '').replace('/', '-')}-`;
    const file = files.find(
      (f) => f.startsWith(prefix) && /^\d/.test(f.slice(prefix.length)) && f.endsWith('.tgz'),
    );
    if (!file) throw new Error(`pnpm pack wrote no tarball for ${names.get(pkg)} in ${destDir}`);
    const path = join(destDir, file);
    const listing = await run('tar', ['-tzf', path], { cwd: destDir });
    const entries = listing.stdout
      .split('\n')
      .filter(Boolean)
      .map((e) => e.replace(/^package\//, ''));
    const extract = async (entry: string) =>
      entries.includes(entry)
        ? (await run('tar', ['-xzOf', path, `package/${entry}`], { cwd: destDir })).stdout
        : '';
    const packedJson = await extract('package.json');
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
    for (const problem of metadataProblems(pkg, manifest, entries, await extract('README.md'))) {
      problems.push(`${where}: ${problem}`);
    }
    const declared = new Set([
      ...Object.keys(manifest.dependencies ?? {}),
      ...Object.keys(manifest.peerDependencies ?? {}),
    ]);
    // The scaffold's template is the game's code, whose dependencies are the game's.
    for (const built of entries.filter(
      (e) => /\.(c|m)?js$|\.d\.(c|m)?ts$/.test(e) && !e.startsWith('template/'),
    )) {
      const source = await extract(built);
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
 * Copies the tarballs into `dir`, and points npm's `overrides` for the packages a game does not name itself
 * (@parley/protocol, @parley/dialogue) at them: the registry does not have them, so npm never asks it for a
 * @parley package. Returns each package's tarball file name.
 */
async function useLocalTarballs(dir: string, tarballs: Tarball[]): Promise<Record<string, string>> {
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
  return local;
}

/**
 * Runs the packed scaffold as `npm create parley-game@latest my-game` does (`npm exec` of the package's
 * bin), from the tarball instead of the registry, in a new temporary folder outside the workspace. Returns
 * the game's folder and what the scaffold printed.
 */
export async function createWithScaffold(scaffold: Tarball): Promise<{ dir: string; output: string }> {
  const root = await mkdtemp(join(tmpdir(), 'parley-scaffold-'));
  if (!relative(repoDir, root).startsWith('..')) throw new Error(`${root} is inside the workspace`);
  const result = await run(
    'npm',
    [
      'exec',
      '--yes',
      '--prefer-offline',
      `--package=${scaffold.file}`,
      '--',
      'create-parley-game',
      'my-game',
    ],
    { cwd: root },
  );
  return { dir: join(root, 'my-game'), output: result.stdout };
}

/**
 * `npm install` in a scaffolded game, with its @parley dependencies (`@parley/phaser`, and the dev
 * dependency `@parley/proxy`) taken from their tarballs: the same ranges a user gets from the registry,
 * rewritten to `file:` as `npm install ./x.tgz` would. Everything else comes from the registry, or from
 * npm's cache when it has it (`--prefer-offline`).
 */
export async function installScaffolded(dir: string, tarballs: Tarball[]): Promise<InstalledProject> {
  const local = await useLocalTarballs(dir, tarballs);
  const manifestPath = join(dir, 'package.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  for (const deps of [manifest.dependencies, manifest.devDependencies]) {
    for (const name of Object.keys(deps)) {
      const pkg = name.startsWith('@parley/') ? local[name.slice('@parley/'.length)] : undefined;
      if (name.startsWith('@parley/')) {
        if (!pkg) throw new Error(`the scaffold depends on ${name}, which was not packed`);
        deps[name] = `file:${pkg}`;
      }
    }
  }
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  const args = ['install', '--no-audit', '--no-fund', '--prefer-offline'];
  const result = await run('npm', [...args, '--loglevel', 'http'], { cwd: dir, timeoutMs: 200_000 });
  return { dir, installCommand: `npm ${args.join(' ')}`, installLog: `${result.stdout}\n${result.stderr}` };
}

/**
 * Starts a scaffolded game the way its README says, `npm run preview` (its `scripts/dev.mjs`: the proxy
 * from the game's own node_modules, then `vite preview`), on free ports, with the offline model whatever
 * the developer's shell holds. Stops the whole process group.
 */
export async function startScaffolded(dir: string): Promise<Running & { proxyUrl: string }> {
  const [port, proxyPort] = [await freePort(), await freePort()];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PARLEY_PROXY_PORT: String(proxyPort),
    PARLEY_OFFLINE_DELAY_MS: '10',
  };
  for (const key of ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'AZURE_OPENAI_ENDPOINT', 'AZURE_OPENAI_API_KEY'])
    delete env[key];
  const child = spawn(
    process.execPath,
    ['scripts/dev.mjs', 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'],
    { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => output.push(chunk));
  }
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM'); // dev.mjs stops the proxy and Vite
      const force = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 5_000);
      await exited;
      clearTimeout(force);
    }
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`npm run preview did not serve ${url}:\n${output.join('').slice(-3000)}`);
    }
    const ok = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return { url, proxyUrl: `http://127.0.0.1:${proxyPort}`, stop };
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Installs the plugin into `dir` as a user would: `npm install ./parley-phaser-….tgz phaser@^4.2.1` (vite
 * and typescript are already the project's devDependencies, as `npm create vite` leaves them). The
 * tarballs are copied into the project; `overrides` stand in for the registry, which does not have
 * @parley/dialogue and @parley/protocol: they point the plugin's transitive dependencies at their tarballs,
 * so npm never asks the registry for a @parley package.
 */
export async function installParley(dir: string, tarballs: Tarball[]): Promise<InstalledProject> {
  const local = await useLocalTarballs(dir, tarballs);
  const args = [
    'install',
    '--no-audit',
    '--no-fund',
    '--prefer-offline',
    `./${local['phaser']}`,
    PHASER_SPEC,
  ];
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
