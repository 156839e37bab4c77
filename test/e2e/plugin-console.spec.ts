import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, pluginTest as test } from './fixtures.js';

// The in-game debug console of @parley/phaser on its test page (`console: 'backtick'`).
const artifacts = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

test('backtick opens the console: NPCs with assistant and thread, the run’s events, TTFT, tokens, tools', async ({
  page,
  context,
}) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto('/?renderer=canvas&cps=120');
  await page.waitForFunction(() => window.__parleyTest !== undefined);
  await expect
    .poll(() =>
      page.evaluate(() => window.__parleyTest?.events.some((e) => e.name === 'npc.range' && e['inRange'])),
    )
    .toBe(true);

  const panel = page.locator('[data-parley="console"]');
  const brom = panel.locator('[data-parley-npc="test-gate-guard"]');
  await expect(panel).toBeHidden();
  await page.keyboard.press('Backquote');
  await expect(panel).toBeVisible();
  await expect(brom).toContainText('Brom');
  await expect(brom.locator('[data-field="thread"]')).toHaveText('(none yet)');
  await expect(panel.locator('[data-parley-npc="test-innkeeper"]')).toContainText('Mara');
  // The assistant's settings, as the proxy has them (npc.ensure()).
  const settings = brom.locator('[data-field="assistant"]');
  await expect(settings).toContainText('"model": "parley-offline"');
  await expect(settings).toContainText('open_gate');
  await expect(settings).toContainText('asst_');
  await page.keyboard.press('Backquote');
  await expect(panel).toBeHidden();

  // A turn with a tool call: the offline model opens the gate when asked to.
  await page.keyboard.press('e');
  const input = page.locator('input[data-parley="input"]');
  await expect(input).toBeFocused();
  await input.fill('Open the gate, please');
  await input.press('Enter');
  const reply = page.locator('#parley-live [data-speaker="Brom"]').last();
  await expect(reply).toHaveAttribute('data-state', 'done', { timeout: 20_000 });

  // In the dialogue input the key types its character; Ctrl with it toggles the console from there.
  await input.press('Backquote');
  await expect(input).toHaveValue('`');
  await expect(panel).toBeHidden();
  await input.fill('');
  await page.keyboard.press('Control+Backquote');
  await expect(panel).toBeVisible();
  await expect(input).toHaveValue('');
  await expect(brom.locator('[data-field="thread"]')).toHaveText(/^thread_\w+/);
  await expect(panel.locator('[data-parley-run]')).toHaveCount(1);
  await expect(panel.locator('[data-field="status"]')).toHaveText('completed');
  await expect(panel.locator('[data-field="run-id"]')).toHaveText(/^run_\w+/);
  await expect(panel.locator('[data-field="ttft"]')).toHaveText(/^\d+ ms$/);
  await expect(panel.locator('[data-field="total"]')).toHaveText(/^\d+ ms$/);
  await expect(panel.locator('[data-field="tokens"]')).toHaveText(/^\d+ in \+ \d+ out = \d+$/);
  await expect(panel.locator('[data-field="cost"]')).toHaveText('$0 (free) (parley-offline)');
  const ttft = Number.parseInt((await panel.locator('[data-field="ttft"]').textContent()) ?? '', 10);
  const total = Number.parseInt((await panel.locator('[data-field="total"]').textContent()) ?? '', 10);
  expect(ttft).toBeGreaterThan(0);
  expect(total).toBeGreaterThanOrEqual(ttft);

  const events = panel.locator('[data-field="events"] li');
  await expect(events.first()).toHaveAttribute('data-type', 'turn.start');
  await expect(events.last()).toHaveAttribute('data-type', 'turn.end');
  expect(await panel.locator('[data-field="events"] li[data-type="text.delta"]').count()).toBeGreaterThan(1);
  await expect(panel.locator('[data-field="events"] li[data-type="tool.call"]')).toContainText('open_gate');
  await expect(panel.locator('[data-field="events"] li[data-type="tool.result"]')).toContainText('open_gate');
  await expect(panel.locator('[data-field="tool"]')).toContainText('open_gate(');
  await expect(panel.locator('[data-field="tool"]')).toContainText('dawn bell');
  for (const time of await panel.locator('[data-field="events"] li .t').allTextContents()) {
    expect(time).toMatch(/^\+\d+ ms$/);
  }

  // A raw line from the console goes to the selected NPC and becomes the run shown.
  const raw = panel.locator('input[data-field="raw"]');
  await raw.fill('Who are you?');
  await raw.press('Enter');
  await expect(panel.locator('[data-parley-run]')).toHaveCount(2);
  await expect(panel.locator('[data-parley-run="2"]')).toContainText('(console)');
  await expect(panel.locator('[data-field="status"]')).toHaveText('completed', { timeout: 20_000 });
  await expect(page.locator('#parley-live [data-speaker="player"]').last()).toHaveText('Who are you?');

  // Copy run as JSON.
  await panel.locator('[data-action="copy"]').click();
  await expect(panel.locator('[data-field="notice"]')).toContainText('copied as JSON');
  const copied = JSON.parse(await page.evaluate(() => navigator.clipboard.readText())) as {
    line: string;
    runId: string;
    status: string;
    usage: { total_tokens: number };
    events: unknown[];
    npc: { id: string; threadId: string; assistant: { id: string } };
  };
  expect(copied).toMatchObject({ line: 'Who are you?', status: 'completed', npc: { id: 'test-gate-guard' } });
  expect(copied.runId).toMatch(/^run_/);
  expect(copied.npc.threadId).toMatch(/^thread_/);
  expect(copied.npc.assistant.id).toMatch(/^asst_/);
  expect(copied.usage.total_tokens).toBeGreaterThan(0);

  await panel.locator('[data-parley-run="1"]').click();
  await expect(panel.locator('[data-field="tool"]')).toContainText('open_gate(');
  await mkdir(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, 'plugin-console.png') });
  expect(errors).toEqual([]);
});
