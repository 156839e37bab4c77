// What @parley/dialogue's core costs a game that passes its tools JSON Schema (issue 22: target 6 kB
// min+gzip; docs/benchmarks.md says where the bytes are). The core is measured from its source, so an edit
// counts before anything is built; @parley/protocol from its build (`pnpm run build`), as games get it: its
// source bundles smaller than its dist and would hide what the dist costs. `npm run size` in
// packages/dialogue measures the built entries the same way.
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { LIMIT, measure } from '../../packages/dialogue/scripts/size.mjs';

const file = (path: string) => fileURLToPath(new URL(`../../packages/${path}`, import.meta.url));
let core: Awaited<ReturnType<typeof measure>>;

beforeAll(async () => {
  core = await measure(file('dialogue/src/index.ts'));
});

describe('@parley/dialogue core', () => {
  it(`weighs at most ${LIMIT} B min+gzip`, () => {
    expect(core.gzip, `${core.gzip} B min+gzip`).toBeLessThanOrEqual(LIMIT);
  });

  it('carries nothing the core never calls: the price list, the /schema, /voice and /steps helpers', () => {
    // LIST_PRICES once stayed in every bundle because of one computed key (147 B gzipped).
    expect(core.code).not.toContain('gpt-4o-mini');
    expect(core.code).not.toContain('~standard');
    expect(core.code).not.toContain('/audio/');
    expect(core.code).not.toContain('file_search.results');
    // What it does carry, so the checks above cannot pass on an empty bundle.
    expect(core.code).toContain('assistants=v2');
  });
});
