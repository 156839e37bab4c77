import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import { expect, villageTest as test } from './fixtures.js';

// Odo reads from his library (issue 19): the demo's lore book (demo-game/lore/library) is the proxy's
// read-only vector store vs_lore_library, and a step of the quest needs a fact only the chronicle holds.
// Offline: the offline model calls file_search for the question and answers from the passage with its
// marker; the box shows the answer without the marker and a source line under it.
const artifacts = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');
const QUESTION = "What oil lit the old watchtower's lantern?";

/** A saved game with the lantern bought and the quest at "bring it to Odo". */
async function saveWithLantern(page: Page): Promise<void> {
  await page.goto('/');
  await page.evaluate(() => {
    localStorage.setItem(
      'eastwatch:save',
      JSON.stringify({
        version: 1,
        coins: 8,
        inventory: { lantern: 1 },
        stock: { lantern: 0, rope: 2, bread: 3, apple: 4 },
        agreed: {},
        quest: 'lantern',
        gateOpen: false,
        player: null,
        log: [],
      }),
    );
  });
}

test('Odo answers from his chronicle, offline, with the source under his reply and the search in the console', async ({
  page,
  village,
}) => {
  test.setTimeout(120_000);
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await saveWithLantern(page);
  await village.open('Continue');
  const quest = page.locator('#hud-quest');

  await village.talkTo('odo');
  expect(await village.say('odo', 'I give you the lantern.')).toMatch(/oil/i);
  await expect(quest).toHaveAttribute('data-stage', 'oil');

  // The fact is in the chronicle only (not in Odo's instructions): he looks it up and cites it.
  const answer = await village.say('odo', QUESTION);
  expect(answer).toMatch(/moonwick oil from the marsh at Hollow Fen/i);
  // The player reads no raw marker…
  expect(answer).not.toMatch(/【|†/);
  // …but the source, right after the reply.
  const source = page.locator('#parley-live p').last();
  await expect(source).toHaveAttribute('data-kind', 'source');
  await expect(source).toHaveAttribute('data-speaker', 'Odo');
  await expect(source).toHaveText('— from chronicle.md');
  await village.finishTyping('odo');
  await mkdir(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, 'village-odo-book.png') });

  // Back with Odo later, the 'Earlier with' panel shows his answer as the box did, without the marker.
  await village.leave();
  await village.talkTo('odo');
  const history = page.locator('#hud-history');
  await expect(history).toContainText('Earlier with Odo');
  await expect(history).toContainText('moonwick oil from the marsh at Hollow Fen.');
  await expect(history).not.toContainText('【');

  // What the chronicle says moves the quest on: lit with moonwick, the lantern earns the password.
  expect(await village.say('odo', 'Light the lantern with olive oil.')).toMatch(/not the oil/i);
  await expect(quest).toHaveAttribute('data-stage', 'oil');
  expect(await village.say('odo', 'Light the lantern with moonwick oil.')).toMatch(/ember/i);
  await expect(quest).toHaveAttribute('data-stage', 'password');
  // Replies that cite nothing get no source line.
  await expect(page.locator('#parley-live p[data-kind="source"]')).toHaveCount(1);

  // The debug console shows the search of that run: its query, the passages and their scores.
  await page.keyboard.press('Control+Backquote');
  const panel = page.locator('[data-parley="console"]');
  await expect(panel).toBeVisible();
  await panel.locator('[data-parley-run]', { hasText: 'What oil lit' }).click();
  const search = panel.locator('[data-field="file-search"]');
  await expect(search).toHaveCount(1);
  await expect(search.locator('[data-field="query"]')).toHaveText(JSON.stringify(QUESTION));
  const best = search.locator('[data-field="passages"] li').first();
  await expect(best).toHaveAttribute('data-file', 'chronicle.md');
  await expect(best).toContainText('moonwick oil');
  await expect(best.locator('[data-field="score"]')).toHaveText(/^(0\.\d{3}|1\.000)$/);
  await search.scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(artifacts, 'village-odo-console.png') });
  expect(pageErrors).toEqual([]);
});
