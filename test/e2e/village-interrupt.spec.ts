import { expect, villageTest as test } from './fixtures.js';

interface RunList {
  data: Array<{ id: string; status: string }>;
}

test('Escape and walking away interrupt the reply: the stream stops and the run ends cancelled', async ({
  page,
  village,
  startVillage,
}) => {
  test.setTimeout(120_000);
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // A slow offline model (150 ms a word), so there is time to interrupt mid-sentence.
  const { url } = await startVillage({ delayMs: 150 });
  await village.open('Start', `${url}/`);
  await village.talkTo('marta');

  const lastMarta = page.locator('#parley-live p[data-speaker="Marta"]:not([data-kind])').last();
  const latestRun = async () => {
    const thread = await village.threadId('marta');
    const runs = await village.api<RunList>(`/v1/threads/${thread}/runs?order=desc&limit=1`);
    return runs.data[0];
  };
  const interruptedWhileStreaming = async (how: () => Promise<void>) => {
    await expect(lastMarta).toHaveAttribute('data-state', 'streaming');
    await expect.poll(async () => (await lastMarta.textContent())?.length ?? 0).toBeGreaterThan(12);
    const run = await latestRun();
    expect(run?.status).toMatch(/queued|in_progress/);
    await how();
    await expect(lastMarta).toHaveAttribute('data-state', 'interrupted');
    const cut = (await lastMarta.textContent()) ?? '';
    await expect.poll(async () => (await latestRun())?.status, { timeout: 10_000 }).toBe('cancelled');
    expect((await latestRun())?.id).toBe(run?.id);
    await page.waitForTimeout(1000);
    expect(await lastMarta.textContent(), 'the stream stopped').toBe(cut);
  };

  // 1. Escape stops the reply; the dialogue stays open.
  await page.keyboard.type('Tell me every rumour about Odo, Tilda and the north gate.');
  await page.keyboard.press('Enter');
  await interruptedWhileStreaming(() => page.keyboard.press('Escape'));
  expect((await village.hook()).talking).toBe((await village.hook()).npcIds['marta']);

  // 2. Walking away (a click across the square) ends the conversation mid-reply.
  await page.keyboard.type('And what about the cider of the Gilded Goose?');
  await page.keyboard.press('Enter');
  await interruptedWhileStreaming(async () => {
    const viewport = page.viewportSize()!;
    await page.mouse.click(viewport.width * 0.8, viewport.height * 0.35);
    await expect.poll(async () => (await village.hook()).talking, { timeout: 10_000 }).toBe(null);
  });
  expect(pageErrors).toEqual([]);
});
