import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from './fixtures.js';

const artifacts = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

// What the demo exposes for tests (read-only; the test drives the game with real key presses).
interface DemoHook {
  playerNear: boolean;
  talking: boolean;
  bromState: string;
}
declare global {
  interface Window {
    __parleyDemo?: DemoHook;
    __parleySamples?: number[];
  }
}

test('walk up to Brom, press E, say a line, and read his streamed answer', async ({ page }) => {
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));

  await page.goto('/');
  await expect(page.locator('canvas')).toBeVisible();
  await page.waitForFunction(() => window.__parleyDemo !== undefined);
  const live = page.locator('#parley-live');
  await expect(live).toHaveAttribute('role', 'log');
  await expect(live).toHaveAttribute('aria-live', 'polite');
  const hook = <K extends keyof DemoHook>(key: K) => page.evaluate((k) => window.__parleyDemo?.[k], key);

  // Walk north up the road until the "[E] Talk" prompt shows.
  expect(await hook('playerNear')).toBe(false);
  await page.keyboard.down('ArrowUp');
  await expect.poll(() => hook('playerNear'), { timeout: 30_000, intervals: [50] }).toBe(true);
  await page.keyboard.up('ArrowUp');

  await page.keyboard.press('e');
  const input = page.locator('input[data-parley="input"]');
  await expect(input).toBeVisible();
  await expect(input).toBeFocused();
  await expect(input).toHaveValue(''); // the talk key itself was not typed
  expect(await hook('talking')).toBe(true);

  // Record every length the NPC's line passes through, straight from the DOM as it changes.
  await page.evaluate(() => {
    const region = document.getElementById('parley-live')!;
    const samples: number[] = [];
    window.__parleySamples = samples;
    new MutationObserver(() => {
      const line = region.querySelector('[data-speaker="Brom"]:last-child');
      if (line && line.getAttribute('data-state') === 'streaming')
        samples.push(line.textContent?.length ?? 0);
    }).observe(region, { subtree: true, childList: true, characterData: true, attributes: true });
  });

  await page.keyboard.type('Is the gate open at night?');
  await expect(input).toHaveValue('Is the gate open at night?');
  await page.keyboard.press('Enter');
  await expect(input).toHaveValue('');

  await expect(live.locator('[data-speaker="player"]').last()).toHaveText('Is the gate open at night?');
  const reply = live.locator('[data-speaker="Brom"][data-state="done"]');
  await expect(reply).toHaveCount(1, { timeout: 30_000 });
  const text = (await reply.textContent()) ?? '';
  expect(text.trim().length).toBeGreaterThan(20);

  const samples = (await page.evaluate(() => window.__parleySamples)) ?? [];
  const partial = new Set(samples.filter((n) => n > 0 && n < text.length));
  expect(partial.size, `streamed lengths seen: ${[...partial].join(', ')}`).toBeGreaterThanOrEqual(2);

  // Let the typewriter finish, then keep a picture of the scene for people to judge.
  await expect.poll(() => hook('bromState'), { timeout: 30_000 }).toBe('listening');
  await mkdir(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, 'first-npc.png') });

  // Escape closes the dialogue and gives the keyboard back to the game.
  await page.keyboard.press('Escape');
  await expect(input).toBeHidden();
  expect(await hook('talking')).toBe(false);
  expect(pageErrors).toEqual([]);
});
