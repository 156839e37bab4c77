import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test, Village } from './fixtures.js';

const artifacts = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

declare global {
  interface Window {
    __parleySamples?: number[];
  }
}

test('walk up to Brom, press E, say a line, and read his streamed answer', async ({ page }) => {
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  const village = new Village(page);

  await village.open(/^(Start|Continue)$/, '/');
  await expect(page.locator('canvas')).toBeVisible();
  const live = page.locator('#parley-live');
  await expect(live).toHaveAttribute('role', 'log');
  await expect(live).toHaveAttribute('aria-live', 'polite');
  const brom = (await village.hook()).npcIds['brom']!;

  // Walk north up the road until the "[E] Talk" prompt shows over Brom, by the gate.
  expect((await village.hook()).nearNpc).toBe(null);
  await village.hold('ArrowUp', (h) => h.nearNpc === h.npcIds['brom'], 30_000);

  await page.keyboard.press('e');
  const input = page.locator('input[data-parley="input"]');
  await expect(input).toBeVisible();
  await expect(input).toBeFocused();
  await expect(input).toHaveValue(''); // the talk key itself was not typed
  expect((await village.hook()).talking).toBe(brom);

  // Record every length the NPC's line passes through, straight from the DOM as it changes.
  await page.evaluate(() => {
    const region = document.getElementById('parley-live')!;
    const samples: number[] = [];
    window.__parleySamples = samples;
    new MutationObserver(() => {
      const line = region.querySelector('[data-speaker="Brom"]:not([data-kind]):last-child');
      if (line && line.getAttribute('data-state') === 'streaming')
        samples.push(line.textContent?.length ?? 0);
    }).observe(region, { subtree: true, childList: true, characterData: true, attributes: true });
  });

  await page.keyboard.type('Is the gate open at night?');
  await expect(input).toHaveValue('Is the gate open at night?');
  await page.keyboard.press('Enter');
  await expect(input).toHaveValue('');

  await expect(live.locator('[data-speaker="player"]').last()).toHaveText('Is the gate open at night?');
  const reply = live.locator('[data-speaker="Brom"]:not([data-kind])[data-state="done"]');
  await expect(reply).toHaveCount(1, { timeout: 30_000 });
  const text = (await reply.textContent()) ?? '';
  expect(text.trim().length).toBeGreaterThan(20);

  const samples = (await page.evaluate(() => window.__parleySamples)) ?? [];
  const partial = new Set(samples.filter((n) => n > 0 && n < text.length));
  expect(partial.size, `streamed lengths seen: ${[...partial].join(', ')}`).toBeGreaterThanOrEqual(2);

  // Let the typewriter finish, then keep a picture of the scene for people to judge.
  await village.finishTyping('brom');
  await mkdir(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, 'first-npc.png') });

  // Escape closes the dialogue and gives the keyboard back to the game.
  await village.leave();
  await expect(input).toBeHidden();
  expect(pageErrors).toEqual([]);
});
