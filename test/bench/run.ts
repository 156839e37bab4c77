// `pnpm bench`: every benchmark in turn, each printing its own figures. Benchmarks measure; they never
// fail the build on a number (targets and the latest figures are in docs/benchmarks.md).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const only = process.argv.slice(2);

const benches = [
  { name: 'proxy', title: 'Proxy latency and throughput', script: join(here, 'proxy.ts') },
  {
    name: 'size',
    title: '@parley/dialogue bundle size',
    script: join(root, 'packages/dialogue/scripts/size.mjs'),
  },
  { name: 'glyph', title: 'Token arrival to first glyph drawn', script: join(here, 'glyph.ts') },
  { name: 'frames', title: 'Frame times while NPCs stream', script: join(here, 'frames.ts') },
  {
    name: 'security',
    title: 'Cost of auth, policy and budgets per request',
    script: join(here, 'security.ts'),
  },
  {
    name: 'scale',
    title: 'Two instances against one, on PostgreSQL + Redis',
    script: join(here, 'scale.ts'),
  },
  { name: 'dialogue', title: 'The offline model in character', script: join(here, 'dialogue.ts') },
  {
    name: 'knowledge',
    title: 'Knowledge: indexing a 300-page PDF, search at 1k and 20k chunks',
    script: join(here, 'knowledge.ts'),
  },
  { name: 'speech', title: 'Speech: time to first audio, proxy overhead', script: join(here, 'speech.ts') },
];

let failed = 0;
for (const bench of benches) {
  if (only.length > 0 && !only.includes(bench.name)) continue;
  if (!existsSync(bench.script)) continue;
  console.log(`\n━━ ${bench.title} (${bench.name}) ━━`);
  const result = spawnSync(process.execPath, [bench.script], { stdio: 'inherit', cwd: root });
  if (result.status !== 0) {
    failed++;
    console.log(`(${bench.name} did not finish: exit ${result.status})`);
  }
}
process.exit(failed > 0 ? 1 : 0);
