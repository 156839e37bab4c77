// Prints the shipped size of @parley/dialogue: each entry point (the core, `dist/index.js`, and the
// Standard Schema helper, `dist/schema.js`) bundled with its dependencies (eventsource-parser, and the
// runtime part of @parley/protocol), minified and tree-shaken, then gzipped. Run after `build`. Shipped with
// the package (`npm run size` in node_modules/@parley/dialogue works too, given an esbuild to bundle with).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(`${here}package.json`);

/** esbuild is not our dependency: in the workspace it is tsup's; elsewhere, whatever the project has. */
function loadEsbuild() {
  for (const from of [() => createRequire(require.resolve('tsup')), () => require]) {
    try {
      return from()('esbuild');
    } catch {
      // try the next place
    }
  }
  console.error('esbuild is needed to measure the bundle: npm i -D esbuild');
  process.exit(1);
}

const esbuild = loadEsbuild();
const entries = [
  ['@parley/dialogue', 'dist/index.js', 'budget 6000 B'],
  ['@parley/dialogue/schema', 'dist/schema.js', 'on top of the core, only for Standard Schema tools'],
  ['@parley/dialogue/voice', 'dist/voice.js', 'on top of the core, only for speech and transcription'],
];
for (const [name, file, note] of entries) {
  const entry = `${here}${file}`;
  if (!existsSync(entry)) {
    console.error(`${file} is missing: run \`pnpm --filter @parley/dialogue run build\` first.`);
    process.exit(1);
  }
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    treeShaking: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
  });
  const code = result.outputFiles[0].contents;
  const gzipped = gzipSync(code, { level: 9 }).length;
  // Reported, not enforced (see the README's "Size").
  console.log(`${name}: ${code.length} B min, ${gzipped} B min+gzip (${note})`);
}
