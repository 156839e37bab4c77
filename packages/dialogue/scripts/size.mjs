// Prints the shipped size of @parley/dialogue: dist/index.js bundled with its dependencies (eventsource-parser,
// and the runtime part of @parley/protocol), minified and tree-shaken, then gzipped. Run after `build`.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = fileURLToPath(new URL('..', import.meta.url));
// esbuild is not our dependency; it is tsup's. Resolve it from there rather than adding one.
const esbuild = createRequire(createRequire(`${here}package.json`).resolve('tsup'))('esbuild');

const entry = `${here}dist/index.js`;
if (!existsSync(entry)) {
  console.error('dist/index.js is missing: run `pnpm --filter @parley/dialogue run build` first.');
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
// Reported, not enforced: the budget is 6000 B min+gzip (see the README's "Size").
console.log(`@parley/dialogue: ${code.length} B min, ${gzipped} B min+gzip (budget 6000 B)`);
