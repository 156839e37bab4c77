// The code in the packages' READMEs is compiled: every TypeScript block is a copy of a file that a
// typecheck covers (packages/*/examples, checked by the package's `typecheck`; the scaffold's template,
// checked by the install test in a fresh project). A block says which file it shows with a comment right
// above it, `<!-- sample: examples/village.ts -->` (relative to the README); a file may mark the part shown
// with `// #region readme` … `// #endregion readme`, so that what the sample needs but the reader does not
// (stand-ins for the game's objects) stays out of the README.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const packagesDir = join(repoDir, 'packages');
const readmes = readdirSync(packagesDir).map((name) => join(packagesDir, name, 'README.md'));

interface Block {
  lang: string;
  code: string;
  line: number;
  sample: string | undefined;
}

/** The fenced code blocks of a Markdown file, each with the `<!-- sample: … -->` comment above it, if any. */
export function codeBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\w*)/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]!); i++) body.push(lines[i]!.slice(indent));
    let above = start - 1;
    while (above >= 0 && lines[above]!.trim() === '') above--;
    const sample = /^\s*<!-- sample: (\S+) -->\s*$/.exec(lines[above] ?? '')?.[1];
    blocks.push({ lang: open[2]!, code: body.join('\n'), line: start + 1, sample });
  }
  return blocks;
}

/** The part of a sample file a README shows: its `readme` region, or all of it. */
export function shownPart(source: string): string {
  const region = /\/\/ #region readme\n([\s\S]*?)\/\/ #endregion readme/.exec(source);
  return (region ? region[1]! : source).trim();
}

describe('README samples', () => {
  it('finds blocks, their sample comment and the region a file shows', () => {
    const markdown = ['<!-- sample: a.ts -->', '', '```ts', 'x();', '```', '', '```sh', 'ls', '```'].join(
      '\n',
    );
    expect(codeBlocks(markdown)).toEqual([
      { lang: 'ts', code: 'x();', line: 3, sample: 'a.ts' },
      { lang: 'sh', code: 'ls', line: 7, sample: undefined },
    ]);
    expect(shownPart('declare const a: 1;\n// #region readme\nuse(a);\n// #endregion readme\n')).toBe(
      'use(a);',
    );
    expect(shownPart('whole();\n')).toBe('whole();');
  });

  for (const readme of readmes) {
    const name = readme.slice(packagesDir.length + 1);
    it(`${name}: every TypeScript block is a sample file, verbatim`, () => {
      const blocks = codeBlocks(readFileSync(readme, 'utf8')).filter((b) => /^(ts|typescript)$/.test(b.lang));
      for (const block of blocks) {
        const where = `${name}:${block.line}`;
        expect(
          block.sample,
          `${where}: a TypeScript block without <!-- sample: … --> is not compiled`,
        ).toBeDefined();
        const file = join(dirname(readme), block.sample!);
        expect(block.code.trim(), `${where} differs from ${block.sample}`).toBe(
          shownPart(readFileSync(file, 'utf8')),
        );
      }
    });
  }
});
