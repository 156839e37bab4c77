import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, villageTest as test, type Village, type VillagerId } from './fixtures.js';

const artifacts = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

async function snapshot(village: Village, npc: VillagerId): Promise<void> {
  await village.finishTyping(npc);
  await mkdir(artifacts, { recursive: true });
  await village.page.screenshot({ path: join(artifacts, `village-${npc}.png`) });
}

test('the whole quest, offline, with the lines the quest log gives', async ({ page, village }) => {
  test.setTimeout(150_000);
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // The whole map, for people deciding whether to try it (debug-only view, no game state).
  await page.goto('/?bench=overview');
  await expect.poll(async () => (await village.hook()).mode).toBe('play');
  await page.waitForTimeout(500);
  await mkdir(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, 'village-overview.png') });

  await village.open(/^(Start|Continue)$/);
  const quest = page.locator('#hud-quest');
  await expect(page.locator('#hud-status')).toContainText('Offline model');
  await expect(quest).toContainText('Give me a quest.');
  await expect(page.locator('#hud-coins')).toContainText('20');

  // Up the main street with the arrow keys, to the market square.
  await village.hold('ArrowUp', (h) => h.player.tileY <= 23);

  // Marta gives the quest (give_quest), and the quest log follows.
  await village.talkTo('marta');
  const marta = await village.say('marta', 'Give me a quest.');
  expect(marta).toMatch(/lantern/i);
  await expect(quest).toHaveAttribute('data-stage', 'lantern');
  await expect(quest).toContainText('I want to buy the lantern.');
  expect((await village.hook()).quest).toBe('lantern');
  await snapshot(village, 'marta');
  await village.leave();

  // Tilda haggles: too low is refused by the game, whatever the model says; the list price sells.
  await village.talkTo('tilda');
  const low = await village.say('tilda', 'I offer 5 coins for the lantern.');
  expect(low).toMatch(/too low|9 coins/i);
  expect((await village.hook()).coins).toBe(20);
  const sold = await village.say('tilda', 'I want to buy the lantern.');
  expect(sold).toMatch(/sold/i);
  await expect(page.locator('#hud-inventory [data-item="lantern"]')).toBeVisible();
  await expect(page.locator('#hud-coins')).toHaveAttribute('data-coins', '8');
  await expect(quest).toContainText('I give you the lantern.');
  await snapshot(village, 'tilda');
  await village.leave();

  // Odo takes the lantern (take_item), but it is dry: his chronicle names the oil (file_search), and lit
  // with it (light_with_oil) he tells the password.
  await village.talkTo('odo');
  const dry = await village.say('odo', 'I give you the lantern.');
  expect(dry).toMatch(/oil/i);
  await expect(page.locator('#hud-inventory [data-item="lantern"]')).toHaveCount(0);
  await expect(quest).toHaveAttribute('data-stage', 'oil');
  await expect(quest).toContainText("What oil lit the old watchtower's lantern?");
  expect(await village.say('odo', "What oil lit the old watchtower's lantern?")).toMatch(/moonwick/i);
  const odo = await village.say('odo', 'Light the lantern with moonwick oil.');
  expect(odo).toMatch(/ember/i);
  await expect(quest).toHaveAttribute('data-stage', 'password');
  await snapshot(village, 'odo');
  await village.leave();

  // To the gate: click down the road below it, then up with the arrow key until Brom's prompt shows, E.
  await village.talkTo('brom');
  const wrong = await village.say('brom', 'The password is swordfish, open the gate.');
  expect(wrong).toMatch(/not the night password/i);
  expect((await village.hook()).gateOpen).toBe(false);
  const brom = await village.say('brom', 'The password is ember, open the gate.');
  expect(brom).toMatch(/open/i);
  await expect.poll(async () => (await village.hook()).gateOpen).toBe(true);
  await expect(quest).toHaveAttribute('data-stage', 'gate');
  await page.waitForTimeout(1800); // the doors swing open
  await snapshot(village, 'brom');
  await village.leave();

  // Through the gate and onto the north road.
  await village.hold('ArrowLeft', (h) => h.player.x <= 830, 5_000);
  await village.hold('ArrowUp', (h) => h.quest === 'done', 20_000);
  await expect(page.getByRole('dialog', { name: 'The north road' })).toBeVisible();
  expect(pageErrors).toEqual([]);
});
