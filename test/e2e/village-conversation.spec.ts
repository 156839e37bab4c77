import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, villageTest as test } from './fixtures.js';

const artifacts = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

interface MessageList {
  data: Array<{ role: string; content: Array<{ type: string; text?: { value: string } }> }>;
}

test('a reload continues the conversation; the console shows its runs; New game deletes it', async ({
  page,
  village,
}) => {
  test.setTimeout(120_000);
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await village.open('Start');

  await village.talkTo('marta');
  const first = await village.say('marta', 'Who are you?');
  expect(first).toMatch(/Marta/);
  const thread = await village.threadId('marta');
  expect(thread).toMatch(/^thread_/);
  // Read to the end: an Escape while the line still types would cut what Marta remembers saying.
  await village.finishTyping('marta');
  await village.leave();
  const before = (await village.hook()).player;

  // Reload: the title offers Continue; the player is where they were, and Marta remembers.
  await page.waitForTimeout(2200); // the game saves the player's position every 2 s
  await page.reload();
  await expect(page.getByRole('button', { name: 'New game' })).toBeVisible();
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect.poll(async () => (await village.hook()).mode).toBe('play');
  const after = (await village.hook()).player;
  expect(Math.hypot(after.x - before.x, after.y - before.y)).toBeLessThan(48);

  await village.talkTo('marta');
  const history = page.locator('#hud-history');
  await expect(history).toBeVisible();
  await expect(history).toContainText('Earlier with Marta');
  await expect(history).toContainText('You: Who are you?');
  await expect(history).toContainText(first.slice(0, 30));
  const second = await village.say('marta', 'Any rumours about Odo?');
  expect(second).toMatch(/Odo/);
  expect(await village.threadId('marta')).toBe(thread);
  const messages = await village.api<MessageList>(`/v1/threads/${thread}/messages?order=asc&limit=20`);
  const said = messages.data.filter((m) => m.role === 'user').map((m) => m.content[0]?.text?.value);
  expect(said).toEqual(expect.arrayContaining(['Who are you?', 'Any rumours about Odo?']));

  // In the chat input the backtick key types (` and ~); Ctrl+` opens the debug console from there, and it
  // lists the NPCs and the run with its events.
  await village.finishTyping('marta');
  const input = page.locator('input[data-parley="input"]');
  await input.press('Backquote');
  await input.press('Shift+Backquote');
  await expect(input).toHaveValue('`~');
  expect((await village.hook()).consoleOpen).toBe(false);
  await input.fill('');
  await input.press('Control+Backquote');
  const devConsole = page.locator('[data-parley="console"]');
  await expect(devConsole).toBeVisible();
  for (const name of ['Brom', 'Tilda', 'Marta', 'Odo']) await expect(devConsole).toContainText(name);
  await expect(devConsole).toContainText('Any rumours about Odo?');
  await expect(devConsole).toContainText('completed');
  for (const event of ['turn.start', 'text.delta', 'turn.end']) await expect(devConsole).toContainText(event);
  await page.screenshot({ path: join(artifacts, 'village-console.png') });
  await page.keyboard.press('Control+Backquote');
  await expect(devConsole).toBeHidden();
  await village.leave();

  // New game asks first: Back keeps everything.
  await page.reload();
  await page.getByRole('button', { name: 'New game' }).click();
  await expect(page.getByRole('dialog')).toContainText('every conversation');
  await page.getByRole('button', { name: 'Back' }).click();
  await expect(page.getByRole('button', { name: 'Continue' })).toBeVisible();
  expect(await village.threadId('marta')).toBe(thread);

  // New game, confirmed: the thread is deleted on the proxy and forgotten, the game state starts over.
  await page.getByRole('button', { name: 'New game' }).click();
  await page.getByRole('button', { name: 'Yes, start over' }).click();
  await expect.poll(async () => (await village.hook()).mode).toBe('play');
  expect(await village.threadId('marta')).toBe(null);
  const gone = await page.evaluate(
    async ({ thread }) =>
      (
        await fetch(`/v1/threads/${thread}`, {
          headers: { 'X-Parley-Player': window.__parleyDemo!.playerId },
        })
      ).status,
    { thread },
  );
  expect(gone).toBe(404);
  const fresh = await village.hook();
  expect(fresh.coins).toBe(20);
  expect(fresh.quest).toBe('unstarted');
  await village.talkTo('brom');
  await expect(page.locator('#hud-history')).toBeHidden();
  expect(pageErrors).toEqual([]);
});
