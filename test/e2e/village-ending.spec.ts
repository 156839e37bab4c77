import type { Page } from '@playwright/test';
import { expect, villageTest as test, type Village } from './fixtures.js';

// Play-test findings on desktop: the ending, reloads, resizing mid-conversation, the network panel.

const GATE_LOG = 'You walked out through the north gate onto the road to Harrowmere.';

/** A saved game with the gate open and the player just south of it (as after talking Brom round). */
async function saveAtGate(page: Page): Promise<void> {
  await page.goto('/');
  await page.evaluate(() => {
    localStorage.setItem(
      'eastwatch:save',
      JSON.stringify({
        version: 1,
        coins: 8,
        inventory: {},
        stock: { lantern: 0, rope: 2, bread: 3, apple: 4 },
        agreed: {},
        quest: 'gate',
        gateOpen: true,
        player: { x: 800, y: 300 },
        log: [],
      }),
    );
  });
}

async function clickWorld(village: Village, x: number, y: number): Promise<void> {
  const point = await village.toScreen(x, y);
  await village.point(point.x, point.y);
}

test('after the ending the mouse walks again, and a reload on the north road does not end the game again', async ({
  page,
  village,
}) => {
  test.setTimeout(90_000);
  await saveAtGate(page);
  await village.open('Continue');
  await village.hold('ArrowUp', (h) => h.quest === 'done', 20_000);
  const ending = page.getByRole('dialog', { name: 'The north road' });
  await expect(ending).toBeVisible();
  await ending.getByRole('button', { name: 'Keep exploring' }).click();
  await expect(ending).toBeHidden();

  // A click walks the player (it did nothing once the game had ended).
  const north = (await village.hook()).player;
  await clickWorld(village, 800, north.y + 160);
  await expect.poll(async () => (await village.hook()).player.y).toBeGreaterThan(north.y + 64);
  await expect.poll(async () => (await village.hook()).walking).toBe(false);
  // Back onto the road: no second ending, no second entry.
  await village.hold('ArrowUp', (h) => h.player.y < 70, 10_000);
  await page.waitForTimeout(500);
  await expect(ending).toBeHidden();
  expect((await village.hook()).log.filter((line) => line === GATE_LOG)).toHaveLength(1);

  // Reload standing on the north road, Continue: the game goes on where it ended.
  await page.waitForTimeout(2200); // the game saves the player's position every 2 s
  await page.reload();
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect.poll(async () => (await village.hook()).mode).toBe('play');
  expect((await village.hook()).player.y).toBeLessThan(90);
  await page.waitForTimeout(1000);
  await expect(page.getByRole('dialog', { name: 'The north road' })).toBeHidden();
  const hook = await village.hook();
  expect(hook.quest).toBe('done');
  expect(hook.log.filter((line) => line === GATE_LOG)).toHaveLength(1);
  await clickWorld(village, 800, hook.player.y + 160);
  await expect.poll(async () => (await village.hook()).player.y).toBeGreaterThan(hook.player.y + 64);
});

test('resizing during a conversation keeps the "Earlier with…" panel above the box, clear of the name', async ({
  page,
  village,
}) => {
  test.setTimeout(90_000);
  // Every finished stream ends by its body ending, not by the client cancelling it (net::ERR_ABORTED).
  const aborted: string[] = [];
  page.on('requestfailed', (request) => aborted.push(`${request.url()} ${request.failure()?.errorText}`));
  await village.open('Start');
  await village.talkTo('marta');
  await village.say('marta', 'Who are you?');
  await village.say('marta', 'Any rumours about Odo?');
  await village.finishTyping('marta');
  await village.leave();
  await village.talkTo('marta');
  const history = page.locator('#hud-history');
  await expect(history).toContainText('Earlier with Marta');
  // The labels over Marta and the player are not drawn under anything.
  expect((await village.hook()).coveredLabels).toEqual([]);

  const clear = async () => {
    await expect
      .poll(async () => {
        const top = (await village.hook()).dialogueTop;
        const box = await history.boundingBox();
        return top !== null && box !== null && box.y + box.height <= top;
      })
      .toBe(true);
  };
  await clear();
  for (const size of [
    { width: 900, height: 520 },
    { width: 700, height: 900 },
    { width: 1280, height: 800 },
  ]) {
    await page.setViewportSize(size);
    await clear();
  }
  expect(aborted).toEqual([]);
});

test('the connection dot does not poll /healthz while the tab is hidden', async ({ page, village }) => {
  test.setTimeout(60_000);
  const polls: number[] = [];
  page.on('request', (request) => {
    if (new URL(request.url()).pathname === '/healthz') polls.push(Date.now());
  });
  await village.open('Start');
  await expect(page.locator('#hud-status')).toHaveAttribute('data-kind', 'offline-model');
  const setHidden = (hidden: boolean) =>
    page.evaluate((hidden) => {
      Object.defineProperty(document, 'visibilityState', {
        configurable: true,
        get: () => (hidden ? 'hidden' : 'visible'),
      });
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
      document.dispatchEvent(new Event('visibilitychange'));
    }, hidden);
  await setHidden(true);
  const hiddenAt = Date.now();
  await page.waitForTimeout(11_000); // two poll intervals
  expect(polls.filter((at) => at > hiddenAt + 100)).toEqual([]);
  await setHidden(false);
  await expect.poll(() => polls.filter((at) => at > hiddenAt).length).toBeGreaterThan(0);
});
