// The install test's README check (test/support/install-project.ts): what counts as a link that is dead on
// npm's page, where none of the repository's other files are.
import { describe, expect, it } from 'vitest';
import { relativeLinks } from '../support/install-project.ts';

describe('relativeLinks', () => {
  it('finds relative links, images, reference links and HTML attributes; code is not linked', () => {
    const readme = [
      'Renders what [`@parley/dialogue`](../dialogue) reports; see [docs](docs/decisions).',
      '![Village](../../docs/images/demo-village.png)',
      '[security]: ../../docs/security.md',
      '<img src="shot.png"> <a href="./LICENSE">licence</a>',
      '```ts',
      "const link = '[not](a-link)';",
      '```',
    ].join('\n');
    expect(relativeLinks(readme)).toEqual([
      '../dialogue',
      'docs/decisions',
      '../../docs/images/demo-village.png',
      '../../docs/security.md',
      'shot.png',
      './LICENSE',
    ]);
  });

  it('accepts absolute https links, anchors on the page and mail', () => {
    const readme =
      '[repo](https://github.com/parley-dev/parley) [Tools](#tools) [mail](mailto:a@b.example) <https://x.example>';
    expect(relativeLinks(readme)).toEqual([]);
  });
});
