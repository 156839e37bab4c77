import { describe, expect, it } from 'vitest';
import { DEV_MODE_BANNER } from './auth/dev-mode.js';
import { box, offlineBanner } from './banner.js';

/** Terminal columns of each line: every character in the banners is one column wide. */
const columns = (text: string) => text.split('\n').map((line) => [...line].length);

describe('start-up banners', () => {
  it('offline: says no key is needed, in a box whose lines all end in the same column', () => {
    const banner = offlineBanner();
    expect(banner).toContain('Offline model, no key needed');
    expect(banner).not.toMatch(/spend/i);
    const lines = banner.split('\n').filter(Boolean);
    expect(lines[0]).toMatch(/^ {2}┌─+┐$/);
    expect(lines.at(-1)).toMatch(/^ {2}└─+┘$/);
    for (const line of lines.slice(1, -1)) expect(line).toMatch(/^ {2}│ {2}\S.* {2}│$/);
    expect(new Set(columns(lines.join('\n'))).size).toBe(1);
  });

  it('dev mode: does not claim a key is spent when none may be set', () => {
    expect(DEV_MODE_BANNER).toContain('PLAYERS ARE NOT AUTHENTICATED');
    expect(DEV_MODE_BANNER).toContain('spend your model key if one is set');
  });

  it('box pads every line to the longest', () => {
    expect(box(['ab', 'abcd'])).toBe(
      ['  ┌────────┐', '  │  ab    │', '  │  abcd  │', '  └────────┘'].join('\n'),
    );
  });
});
