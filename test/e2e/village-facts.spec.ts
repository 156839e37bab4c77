import { expect, villageTest as test } from './fixtures.js';

// Issue #21: what the game did and what the player saw is what the villagers know.

test('a sold-out item is never offered again: Tilda, asked for the lantern after selling it', async ({
  page,
  village,
}) => {
  test.setTimeout(120_000);
  await village.open('Start');
  await village.talkTo('marta');
  await village.say('marta', 'Give me a quest.');
  await expect.poll(async () => (await village.hook()).quest).toBe('lantern');
  await village.leave();

  await village.talkTo('tilda');
  expect(await village.say('tilda', 'I want to buy the lantern.')).toMatch(/sold/i);
  await expect(page.locator('#hud-coins')).toHaveAttribute('data-coins', '8');
  for (const line of [
    'I want to buy the lantern.',
    'Do you have a lantern for me?',
    'What do you sell?',
    'I offer 12 coins for the lantern.',
  ]) {
    const reply = await village.say('tilda', line);
    expect(reply, line).not.toMatch(/lantern for|\blantern\b[^.]*\b1[02] coins/i);
    expect((await village.hook()).coins, line).toBe(8);
  }
  await village.leave();
});

test('Esc mid-typing keeps the box open with the cut line; after a reload the panel shows exactly that line', async ({
  page,
  village,
}) => {
  test.setTimeout(120_000);
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await village.open('Start');
  await village.talkTo('marta');
  const line = 'Tell me every rumour about Odo, Tilda and the north gate.';
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
  const marta = page.locator('#parley-live p[data-speaker="Marta"]:not([data-kind])').last();
  // The reply has arrived (a fast model) but is still typing on screen.
  await expect.poll(async () => (await marta.textContent())?.length ?? 0).toBeGreaterThan(30);
  const whole = (await marta.textContent()) ?? '';
  expect((await village.hook()).npcStates['marta']).toBe('speaking');
  await page.keyboard.press('Escape');

  await expect(marta).toHaveAttribute('data-state', 'interrupted');
  const cut = (await marta.textContent()) ?? '';
  expect(cut.endsWith('—')).toBe(true);
  const seen = cut.slice(0, -1).trimEnd();
  expect(seen.length).toBeGreaterThan(0);
  expect(seen.length).toBeLessThan(whole.length);
  expect(whole.startsWith(seen)).toBe(true);
  // The box stays open, the line stays cut.
  const hook = await village.hook();
  expect(hook.talking).toBe(hook.npcIds['marta']);
  expect(hook.npcStates['marta']).toBe('listening');
  await page.waitForTimeout(1500);
  expect(await marta.textContent()).toBe(cut);

  // The proxy stored the line as seen (the cancel may still be on its way: poll).
  const thread = await village.threadId('marta');
  type Messages = { data: Array<{ status: string; content: Array<{ text: { value: string } }> }> };
  await expect
    .poll(async () => {
      const list = await village.api<Messages>(`/v1/threads/${thread}/messages?order=desc&limit=1`);
      return `${list.data[0]?.status} ${list.data[0]?.content[0]?.text.value.trimEnd()}`;
    })
    .toBe(`incomplete ${seen}`);

  // A second Escape leaves.
  await page.keyboard.press('Escape');
  await expect.poll(async () => (await village.hook()).talking).toBe(null);

  await page.reload();
  await village.open('Continue');
  await village.talkTo('marta');
  const panel = page.locator('#hud-history');
  await expect(panel).toContainText('Earlier with Marta');
  const last = panel.locator('p.npc').last();
  await expect(last).toHaveText(`Marta: ${seen}`, { useInnerText: true });
  expect(pageErrors).toEqual([]);
});
