import { defineConfig } from 'tsup';

export default defineConfig({
  // The PGlite worker is its own entry: the store starts it by file (`dist/pglite-worker.js`, found beside
  // the bundled chunk that loads it), so it cannot be inlined into a chunk. Named, so that it lands at the
  // top of `dist/` rather than under `dist/store/`.
  entry: { index: 'src/index.ts', cli: 'src/cli.ts', 'pglite-worker': 'src/store/pglite-worker.ts' },
  format: 'esm',
  platform: 'node',
  target: 'node22',
  dts: { entry: 'src/index.ts' },
  sourcemap: true,
  clean: true,
});
