import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import { expect, villageTest as test, type Village } from './fixtures.js';

// The demo on a phone: touch only (taps, the on-screen buttons), both ways up.
const artifacts = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

/** Rectangles of the HUD cards that show, for the overlap check. */
async function hudCards(
  page: Page,
): Promise<Array<{ id: string; x: number; y: number; w: number; h: number }>> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('#hud-top, #hud-purse, #hud-quest, #hud-touch, #hud-history')]
      .filter((el) => getComputedStyle(el).visibility !== 'hidden')
      .map((el) => {
        const r = el.getBoundingClientRect();
        return { id: el.id, x: r.x, y: r.y, w: r.width, h: r.height };
      })
      .filter((r) => r.w > 0 && r.h > 0),
  );
}

async function expectNoOverlap(page: Page): Promise<void> {
  const cards = await hudCards(page);
  expect(cards.length).toBeGreaterThanOrEqual(3);
  const viewport = page.viewportSize()!;
  for (const [i, a] of cards.entries()) {
    expect(a.x, `${a.id} inside the screen`).toBeGreaterThanOrEqual(0);
    expect(a.x + a.w, `${a.id} inside the screen`).toBeLessThanOrEqual(viewport.width + 0.5);
    for (const b of cards.slice(i + 1)) {
      const overlap =
        Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x)) *
        Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));
      expect(overlap, `${a.id} overlaps ${b.id}`).toBe(0);
    }
  }
}

/** The game fills the screen, and the dialogue box's 18 px text is at least 14 CSS px. */
async function expectFullScreen(village: Village): Promise<void> {
  const viewport = village.page.viewportSize()!;
  const canvas = (await village.page.locator('#game canvas').boundingBox())!;
  expect(canvas.width).toBeGreaterThanOrEqual(viewport.width - 1);
  expect(canvas.height).toBeGreaterThanOrEqual(viewport.height - 1);
  const { view } = await village.hook();
  expect(18 * view.sy).toBeGreaterThanOrEqual(14);
}

/** Taps the ground towards a world point (clamped to the part of the screen clear of HUD and box). */
async function tapTowards(village: Village, x: number, y: number): Promise<void> {
  const viewport = village.page.viewportSize()!;
  const top = (await village.hudBottom()) + 24;
  const point = await village.toScreen(x, y);
  await village.point(
    Math.min(viewport.width - 24, Math.max(24, point.x)),
    Math.min(viewport.height - 24, Math.max(top, point.y)),
  );
}

/** Up the main street to the market square, tapping the road ahead. */
async function walkToSquare(village: Village): Promise<void> {
  for (let i = 0; i < 12 && (await village.hook()).player.tileY > 23; i++) {
    const { player } = await village.hook();
    await tapTowards(village, player.x, player.y - 400);
    await village.page.waitForTimeout(200);
    await expect
      .poll(async () => (await village.hook()).walking, { timeout: 15_000, intervals: [100] })
      .toBe(false);
  }
  expect((await village.hook()).player.tileY).toBeLessThanOrEqual(23);
}

test.describe('on a phone held upright (390×844, touch)', () => {
  test.use({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });

  test('the whole quest, offline, with taps and the on-screen buttons', async ({ page, village }) => {
    test.setTimeout(200_000);
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto('/');
    await expect(page.locator('#menu .note')).toContainText('Tap');
    await village.open('Start');
    await expectFullScreen(village);
    expect((await village.hook()).size).toEqual({ width: 390, height: 844 });

    // Hints name taps, buttons stand in for the keys, and no card covers another.
    await expect(page.locator('#hud-help')).toContainText('Tap');
    await expect(page.locator('#hud-help')).not.toContainText('WASD');
    await expect(page.locator('#hud-quest h2 small')).toHaveText('Tap to hide');
    await expectNoOverlap(page);
    const questButton = page.getByRole('button', { name: 'Quest log' });
    await questButton.tap();
    await expect(page.locator('#hud-quest')).toHaveAttribute('data-collapsed', 'true');
    await expectNoOverlap(page);
    await questButton.tap();
    await expect(page.locator('#hud-quest')).toHaveAttribute('data-collapsed', 'false');
    await page.getByRole('button', { name: 'Console' }).tap();
    const devConsole = page.locator('[data-parley="console"]');
    await expect(devConsole).toBeVisible();
    await devConsole.getByRole('button', { name: 'Close' }).tap();
    await expect(devConsole).toBeHidden();
    await mkdir(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'phone-portrait-walk.png') });

    // Marta: tap her (the player walks up and the dialogue opens).
    await walkToSquare(village);
    await village.talkTo('marta');
    await expectFullScreen(village);
    await expect(page.locator('[data-parley="leave"]')).toBeVisible();
    expect(await village.say('marta', 'Give me a quest.')).toMatch(/lantern/i);
    await expect(page.locator('#hud-quest')).toHaveAttribute('data-stage', 'lantern');
    await village.finishTyping('marta');
    await expectNoOverlap(page);
    await page.screenshot({ path: join(artifacts, 'phone-portrait-marta.png') });
    await village.leave();

    // Tilda: an apple first (one coin), then the lantern.
    await village.talkTo('tilda');
    expect(await village.say('tilda', 'I want to buy an apple.')).toMatch(/sold/i);
    await expect(page.locator('#hud-toasts')).toContainText('an apple');
    await expect(page.locator('#hud-toasts')).toContainText('−1 coin');
    await expect(page.locator('#hud-toasts')).not.toContainText('1 coins');
    expect((await village.hook()).log).toContain('Bought an apple from Tilda for 1 coin.');
    expect(await village.say('tilda', 'I want to buy the lantern.')).toMatch(/sold/i);
    await expect(page.locator('#hud-inventory [data-item="lantern"]')).toBeVisible();
    await expect(page.locator('#hud-coins')).toHaveAttribute('data-coins', '7');
    // The player stands in front of Tilda's stall: her name still shows over both.
    expect((await village.hook()).coveredLabels).toEqual([]);
    await village.leave();

    await village.talkTo('odo');
    expect(await village.say('odo', 'I give you the lantern.')).toMatch(/oil/i);
    await expect(page.locator('#hud-quest')).toHaveAttribute('data-stage', 'oil');
    expect(await village.say('odo', "What oil lit the old watchtower's lantern?")).toMatch(/moonwick/i);
    expect(await village.say('odo', 'Light the lantern with moonwick oil.')).toMatch(/ember/i);
    await expect(page.locator('#hud-quest')).toHaveAttribute('data-stage', 'password');
    await village.leave();

    await village.talkTo('brom');
    expect(await village.say('brom', 'The password is ember, open the gate.')).toMatch(/open/i);
    await expect.poll(async () => (await village.hook()).gateOpen).toBe(true);
    await village.leave();

    // Through the gate by tapping the road beyond it.
    await page.waitForTimeout(1800); // the doors swing open
    for (let i = 0; i < 12 && (await village.hook()).quest !== 'done'; i++) {
      await tapTowards(village, 800, 20);
      await page.waitForTimeout(200);
      await expect
        .poll(async () => (await village.hook()).walking, { timeout: 15_000, intervals: [100] })
        .toBe(false);
    }
    const ending = page.getByRole('dialog', { name: 'The north road' });
    await expect(ending).toBeVisible();
    await page.screenshot({ path: join(artifacts, 'phone-portrait-ending.png') });

    // After the ending, taps walk again.
    await ending.getByRole('button', { name: 'Keep exploring' }).tap();
    const before = (await village.hook()).player;
    await tapTowards(village, before.x, before.y + 200);
    await expect.poll(async () => (await village.hook()).player.y).toBeGreaterThan(before.y + 32);
    expect(pageErrors).toEqual([]);
  });
});

test.describe('on a phone on its side (844×390, touch)', () => {
  test.use({ viewport: { width: 844, height: 390 }, hasTouch: true, isMobile: true });

  test('fills the screen, the cards share a row, and a conversation fits', async ({ page, village }) => {
    test.setTimeout(90_000);
    await village.open('Start');
    await expectFullScreen(village);
    expect((await village.hook()).size).toEqual({ width: 844, height: 390 });
    await expectNoOverlap(page);
    await mkdir(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'phone-landscape-walk.png') });

    await walkToSquare(village);
    await village.talkTo('marta');
    expect(await village.say('marta', 'Who are you?')).toMatch(/Marta/);
    await village.finishTyping('marta');
    await village.leave();
    // Again: the "Earlier with Marta" panel shows, between the cards and the box, or not at all.
    await village.talkTo('marta');
    await expectNoOverlap(page);
    const input = (await page.locator('input[data-parley="input"]').boundingBox())!;
    expect(input.y + input.height).toBeLessThanOrEqual(390);
    const history = page.locator('#hud-history');
    await expect(history).toBeVisible();
    const top = (await village.hook()).dialogueTop!;
    // (expectNoOverlap above counts the history panel among the cards.)
    const box = (await history.boundingBox())!;
    if (await history.evaluate((el) => getComputedStyle(el).visibility !== 'hidden'))
      expect(box.y + box.height).toBeLessThanOrEqual(top);
    await page.screenshot({ path: join(artifacts, 'phone-landscape-talk.png') });
  });
});
