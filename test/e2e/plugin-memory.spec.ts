import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test as base, expect } from '@playwright/test';
import { type Running, serveTestPage, startProxy } from '../support/servers.js';

// Long memory in a real game (issue #21): with the smallest context budget the proxy takes, Brom's first
// line (the player's name) falls out of his prompt within a few lines, and the debug console shows the
// memory note the proxy keeps on the thread (metadata parley_memory), read by the plugin through
// conversation.thread(). Its own proxy: the other plugin specs need the default budget.
const artifacts = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

const test = base.extend<object, { memoryServers: { page: Running } }>({
  memoryServers: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright requires the fixtures argument to be destructured.
    async ({}, use) => {
      const proxy = await startProxy({ delayMs: 5, env: { PARLEY_CONTEXT_TOKENS: '256' } });
      try {
        const page = await serveTestPage(proxy.port);
        try {
          await use({ page });
        } finally {
          await page.stop();
        }
      } finally {
        await proxy.stop();
      }
    },
    { scope: 'worker', timeout: 120_000 },
  ],
  baseURL: async ({ memoryServers }, use) => use(memoryServers.page.url),
});

const LINES = [
  'Good evening, guard. My name is Ada.',
  'Cold night tonight, is it not?',
  'How long have you stood watch at this gate?',
  'The road from the coast was long and the inns were full.',
  'Do many travellers come this way after dark?',
  'I saw torches on the hills as I walked in.',
  'Is the tavern still serving at this hour?',
  'What do the villagers do for fun around here?',
  'The wind smells like rain coming.',
];

test('the console shows the memory note once the conversation outgrows the context budget', async ({
  page,
}) => {
  test.setTimeout(90_000);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto('/?renderer=canvas&cps=400');
  await page.waitForFunction(() => window.__parleyTest !== undefined);

  const panel = page.locator('[data-parley="console"]');
  const memory = panel.locator('[data-parley-npc="test-gate-guard"] [data-field="memory"] pre');
  await page.keyboard.press('Backquote');
  await expect(panel).toBeVisible();
  // No thread yet: nothing to show, and none is made just to look.
  await expect(memory).toHaveCount(0);

  // Raw lines from the console go to the selected NPC (Brom, the first) and become its runs.
  const raw = panel.locator('input[data-field="raw"]');
  for (const [i, line] of LINES.entries()) {
    await raw.fill(line);
    await raw.press('Enter');
    // (The console lists the newest runs only: look for this one by its number.)
    await expect(panel.locator(`[data-parley-run="${i + 1}"]`)).toContainText('completed', {
      timeout: 20_000,
    });
    // While the thread fits the budget, the console says so.
    if (i === 0) await expect(memory).toHaveText('(none: the conversation still fits the context)');
  }
  // The note of the newest turn, re-read after each turn while the console is open.
  await expect(memory).toContainText("The player's name is Ada.");

  // After a reload the console starts empty and reads the note when it opens (the thread is remembered).
  await page.reload();
  await page.waitForFunction(() => window.__parleyTest !== undefined);
  await expect(memory).toHaveCount(0);
  await page.keyboard.press('Backquote');
  await expect(panel).toBeVisible();
  await expect(memory).toContainText("The player's name is Ada.");

  await mkdir(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, 'plugin-console-memory.png') });
  expect(errors).toEqual([]);
});
