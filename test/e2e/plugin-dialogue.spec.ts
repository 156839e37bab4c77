import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import { expect, pluginTest as test } from './fixtures.js';

// The dialogue box of @parley/phaser on its test page (packages/phaser/test-page): the player starts next
// to Brom; the offline model streams a word every 60 ms.
const artifacts = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');
const LORE = 'Tell me about the gate and the night';

async function talkToBrom(page: Page, query: string) {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`/?renderer=canvas&${query}`);
  await page.waitForFunction(() => window.__parleyTest !== undefined);
  // The first frame has measured the range: Brom's prompt is up.
  await expect
    .poll(() =>
      page.evaluate(() => window.__parleyTest?.events.some((e) => e.name === 'npc.range' && e['inRange'])),
    )
    .toBe(true);
  await page.keyboard.press('e');
  const input = page.locator('input[data-parley="input"]');
  await expect(input).toBeFocused();
  const view = () => page.evaluate(() => window.__parleyTest?.view);
  const reply = page.locator('#parley-live [data-speaker="Brom"]').last();
  return { input, errors, view, reply };
}

test.beforeAll(async () => {
  await mkdir(artifacts, { recursive: true });
});

test('types a reply page by page: Enter completes the page, then turns it; holding fast-forwards', async ({
  page,
}) => {
  // A small game with a big font: one line per page. 18 characters a second: slow enough to catch.
  const { input, errors, view, reply } = await talkToBrom(page, 'w=640&h=360&font=22&cps=18');
  await input.fill(LORE);
  await input.press('Enter');

  await expect(reply).toHaveAttribute('data-state', 'streaming');
  await expect.poll(async () => (await view())?.text.length ?? 0).toBeGreaterThan(6);
  expect((await view())?.state).toBe('speaking');
  await page.screenshot({ path: join(artifacts, 'plugin-dialogue-streaming.png') });

  // The first page fills and waits, showing the continue arrow, however long it takes.
  await expect.poll(async () => (await view())?.more, { timeout: 20_000 }).toBe(true);
  const first = (await view())!;
  expect(first.page).toBe(0);
  expect(first.pages).toBeGreaterThan(1);
  await page.screenshot({ path: join(artifacts, 'plugin-dialogue-page.png') });
  await page.waitForTimeout(400);
  expect((await view())?.page).toBe(0);

  await input.press('Enter'); // turns the page…
  await expect.poll(async () => (await view())?.page).toBe(1);
  const typing = (await view())!;
  expect(typing.more).toBe(false);
  expect(typing.state).toBe('speaking');
  await input.press('Enter'); // …and completes the next one at once (typing it would take seconds)
  await expect
    .poll(
      async () => {
        const v = await view();
        return v?.more === true || v?.state === 'listening';
      },
      { timeout: 1_000 },
    )
    .toBe(true);
  await expect(reply).toHaveAttribute('data-state', 'done', { timeout: 20_000 });
  while ((await view())?.state !== 'listening') {
    await input.press('Enter');
    await page.waitForTimeout(50);
  }

  // Holding Enter from the start fast-forwards: 6× typing, and full pages turn by themselves.
  await input.fill('Who are you?');
  await input.press('Enter');
  await page.keyboard.down('Enter');
  await expect.poll(async () => (await view())?.state, { timeout: 8_000 }).toBe('listening');
  await page.keyboard.up('Enter');
  const fast = (await view())!;
  expect(fast.page).toBe(fast.pages - 1);
  expect(errors).toEqual([]);
});

test('recalls earlier lines with ArrowUp and ArrowDown, keeping the draft', async ({ page }) => {
  const { input, errors, reply } = await talkToBrom(page, 'cps=200');
  for (const line of ['Is the gate open at night?', 'Who are you?']) {
    await input.fill(line);
    await input.press('Enter');
    await expect(page.locator('#parley-live [data-speaker="player"]').last()).toHaveText(line);
    await expect(reply).toHaveAttribute('data-state', 'done', { timeout: 20_000 });
  }
  await expect(input).toHaveValue('');
  await input.pressSequentially('Wh');
  await input.press('ArrowUp');
  await expect(input).toHaveValue('Who are you?');
  await input.press('ArrowUp');
  await expect(input).toHaveValue('Is the gate open at night?');
  await input.press('ArrowUp');
  await expect(input).toHaveValue('Is the gate open at night?');
  await input.press('ArrowDown');
  await expect(input).toHaveValue('Who are you?');
  await input.press('ArrowDown');
  await expect(input).toHaveValue('Wh');
  expect(errors).toEqual([]);
});

test('Escape interrupts the streaming reply (the run ends cancelled); a second Escape closes', async ({
  page,
}) => {
  const { input, errors, view, reply } = await talkToBrom(page, 'cps=45');
  await input.fill(LORE);
  await input.press('Enter');
  await expect(reply).toHaveAttribute('data-state', 'streaming');
  await expect.poll(async () => (await reply.textContent())?.length ?? 0).toBeGreaterThan(4);

  await input.press('Escape');
  await expect(reply).toHaveAttribute('data-state', 'interrupted');
  await expect(input).toBeVisible(); // still talking
  await expect.poll(async () => (await view())?.text).toMatch(/—$/);
  expect((await view())?.state).toBe('listening');
  const events = await page.evaluate(() => window.__parleyTest!.events.map((e) => e.name));
  expect(events).toContain('npc.interrupt');

  // The console has the run as cancelled; so does the proxy.
  await page.keyboard.press('Control+Backquote');
  const panel = page.locator('[data-parley="console"]');
  await expect(panel).toBeVisible();
  await expect(input).toHaveValue('');
  await expect(panel.locator('[data-field="status"]')).toHaveText('cancelled');
  await expect(panel.locator('[data-field="error"]')).toContainText('interrupted');
  const runId = (await panel.locator('[data-field="run-id"]').textContent()) ?? '';
  const threadId =
    (await panel.locator('[data-parley-npc="test-gate-guard"] [data-field="thread"]').textContent()) ?? '';
  expect(runId).toMatch(/^run_/);
  expect(threadId).toMatch(/^thread_/);
  const status = () =>
    page.evaluate(
      async ([thread, run]) =>
        ((await (await fetch(`/v1/threads/${thread}/runs/${run}`)).json()) as { status: string }).status,
      [threadId, runId],
    );
  await expect.poll(status, { timeout: 10_000 }).toBe('cancelled');
  // The console shows what the proxy charged for the words said before the cancel (the run's usage, set
  // when it ended), not "—".
  const usage = await page.evaluate(
    async ([thread, run]) =>
      (
        (await (await fetch(`/v1/threads/${thread}/runs/${run}`)).json()) as {
          usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
        }
      ).usage,
    [threadId, runId],
  );
  await expect(panel.locator('[data-field="tokens"]')).toHaveText(
    usage ? `${usage.prompt_tokens} in + ${usage.completion_tokens} out = ${usage.total_tokens}` : '—',
  );
  await page.keyboard.press('Control+Backquote');
  await expect(panel).toBeHidden();

  await input.press('Escape');
  await expect(input).toBeHidden();
  expect(await page.evaluate(() => window.__parleyTest?.parley.isTalking)).toBe(false);
  expect(errors).toEqual([]);
});

test('suggested replies are chips (click, or Down then Enter), and the box follows the scaled canvas', async ({
  page,
}) => {
  const { input, errors, reply } = await talkToBrom(page, 'suggest=tool&cps=200');
  await input.fill('Suggest some replies I could give');
  await input.press('Enter');
  await expect(reply).toHaveAttribute('data-state', 'done', { timeout: 20_000 });
  const chips = page.locator('[data-parley="suggestion"]');
  await expect(chips.first()).toBeVisible();
  const offered = (await chips.allTextContents()).filter(Boolean);
  expect(offered.length).toBeGreaterThan(0);
  await page.screenshot({ path: join(artifacts, 'plugin-dialogue-suggestions.png') });

  // Keyboard: Down from the empty input moves to the chips; Enter picks one.
  await input.press('ArrowDown');
  await expect(chips.first()).toBeFocused();
  await page.keyboard.press('Enter');
  const said = page.locator('#parley-live [data-speaker="player"]').last();
  await expect(said).toHaveText(offered[0]!);
  await expect(chips).toHaveCount(0);
  await expect(input).toBeFocused();

  // Under Scale.FIT the input keeps its place on the canvas whatever the window's size.
  const place = async () => {
    const canvas = (await page.locator('canvas').boundingBox())!;
    const box = (await input.boundingBox())!;
    return {
      x: (box.x - canvas.x) / canvas.width,
      y: (box.y - canvas.y) / canvas.height,
      w: box.width / canvas.width,
      h: box.height / canvas.height,
    };
  };
  const before = await place();
  await page.setViewportSize({ width: 900, height: 700 });
  await expect
    .poll(async () => {
      const after = await place();
      return Math.max(...(['x', 'y', 'w', 'h'] as const).map((k) => Math.abs(after[k] - before[k])));
    })
    .toBeLessThan(0.01);
  await page.screenshot({ path: join(artifacts, 'plugin-dialogue-resized.png') });
  expect(errors).toEqual([]);
});

test('NPCs bark in a speech bubble, on demand and now and then by themselves, mirrored for screen readers', async ({
  page,
}) => {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto('/?renderer=canvas');
  await page.waitForFunction(() => window.__parleyTest !== undefined);
  await page.evaluate(() =>
    window.__parleyTest?.parley.npc('test-gate-guard')?.bark('Halt! Who goes there?', { duration: 8000 }),
  );
  const barks = page.locator('#parley-live [data-kind="bark"]');
  await expect(barks.filter({ hasText: 'Halt! Who goes there?' })).toHaveAttribute('data-speaker', 'Brom');
  expect(await page.evaluate(() => window.__parleyTest?.parley.npc('test-gate-guard')?.barking)).toBe(
    'Halt! Who goes there?',
  );
  // Mara mutters one of her lines every ~6 s while the player is near and not talking (the first sooner).
  await expect(page.locator('#parley-live [data-kind="bark"][data-speaker="Mara"]').first()).toHaveText(
    /Rooms! Warm rooms!|Stew’s on\./,
    { timeout: 10_000 },
  );
  await page.screenshot({ path: join(artifacts, 'plugin-barks.png') });
  const events = await page.evaluate(() =>
    window.__parleyTest!.events.filter((e) => e.name === 'npc.bark').map((e) => e.npc),
  );
  expect(events).toEqual(expect.arrayContaining(['test-gate-guard', 'test-innkeeper']));
  expect(errors).toEqual([]);
});
