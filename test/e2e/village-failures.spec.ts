import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProxy } from '../support/servers.js';
import { expect, villageTest as test } from './fixtures.js';

const artifacts = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

test('proxy down: the HUD says so, the villager answers in-world, and the game reconnects by itself', async ({
  page,
  village,
  startVillage,
}) => {
  test.setTimeout(120_000);
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  const { url, proxy } = await startVillage();
  await village.open('Start', `${url}/`);
  const status = page.locator('#hud-status');
  await expect(status).toContainText('Offline model');
  await village.talkTo('marta');
  expect(await village.say('marta', 'Hello!')).toMatch(/Marta/);

  await proxy.stop();
  await expect(status).toContainText('The messenger cannot reach the village — retrying…', {
    timeout: 15_000,
  });
  await expect(status).toHaveAttribute('data-tone', 'bad');
  await page.keyboard.type('Are you still there?');
  await page.keyboard.press('Enter');
  const failed = page.locator('#parley-live p[data-speaker="Marta"]:not([data-kind])').last();
  await expect(failed).toHaveAttribute('data-state', 'error', { timeout: 30_000 });
  await expect(failed).toHaveText(/^\(Marta .*\)$/); // an in-world line, not a stack trace
  await page.screenshot({ path: join(artifacts, 'village-proxy-down.png') });

  // The proxy comes back on its port: the HUD notices on its own, and talking works again.
  const again = await startProxy({ port: proxy.port });
  try {
    await expect(status).toContainText('Offline model', { timeout: 20_000 });
    expect(await village.say('marta', 'Hello again!')).toMatch(/Marta|hello/i);
  } finally {
    await again.stop();
  }
  expect(pageErrors).toEqual([]);
});

test('budget spent: the villager answers with the proxy’s canned line, and the HUD shows none left', async ({
  page,
  village,
  startVillage,
}) => {
  test.setTimeout(90_000);
  const { url } = await startVillage({
    env: { PARLEY_PLAYER_REQUESTS_PER_DAY: '2', PARLEY_BUDGET_CANNED_REPLY: '1' },
  });
  await village.open('Start', `${url}/`);
  const budget = page.locator('#hud-budget');
  await expect(budget).toContainText('2 of 2 replies');
  await village.talkTo('odo');
  await village.say('odo', 'Hello!');
  await village.say('odo', 'Who founded Eastwatch?');
  await expect(budget).toContainText('0 of 2 replies');
  const canned = await village.say('odo', 'Tell me about the Long Winter.');
  expect(canned).toMatch(/^\(Odo (shrugs|yawns|waves you off|turns away)\.\) /);
  await village.finishTyping('odo');
  await page.screenshot({ path: join(artifacts, 'village-budget.png') });
});
