import { expect, villageTest as test } from './fixtures.js';

// Chromium plays audio without a gesture here, as it would after the player's first key press.
test.use({
  launchOptions: {
    executablePath: process.env['PARLEY_CHROMIUM'] ?? '/usr/bin/chromium',
    args: ['--autoplay-policy=no-user-gesture-required'],
  },
});

interface Clip {
  started: number;
  stopped?: number;
  ended?: number;
  seconds: number;
}

declare global {
  interface Window {
    __voiceClips?: Clip[];
  }
}

test('a villager speaks the reply aloud in its own voice, and Escape stops the audio at once', async ({
  page,
  village,
}) => {
  test.setTimeout(120_000);
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // Every clip the page starts, stops or finishes, seen from the Web Audio API itself.
  await page.addInitScript(() => {
    const clips: Clip[] = [];
    window.__voiceClips = clips;
    const proto = AudioBufferSourceNode.prototype;
    const { start, stop } = proto;
    proto.start = function (this: AudioBufferSourceNode, ...args: Parameters<typeof start>) {
      const clip: Clip = { started: performance.now(), seconds: this.buffer?.duration ?? 0 };
      clips.push(clip);
      (this as AudioBufferSourceNode & { __clip?: Clip }).__clip = clip;
      this.addEventListener('ended', () => {
        clip.ended = performance.now();
      });
      return start.apply(this, args);
    };
    proto.stop = function (this: AudioBufferSourceNode, ...args: Parameters<typeof stop>) {
      const clip = (this as AudioBufferSourceNode & { __clip?: Clip }).__clip;
      if (clip) clip.stopped = performance.now();
      return stop.apply(this, args);
    };
  });
  const clips = () => page.evaluate(() => window.__voiceClips ?? []);

  await village.open('Start', '/?voice=on');
  await expect(page.locator('#hud-voice')).toHaveAttribute('aria-pressed', 'true');
  await village.talkTo('marta');
  await page.keyboard.type('Tell me every rumour about Odo, Tilda and the north gate.');
  await page.keyboard.press('Enter');

  // The offline proxy speaks with eSpeak NG: a real clip of real length starts playing.
  await expect.poll(async () => (await clips()).length, { timeout: 30_000 }).toBeGreaterThan(0);
  const [first] = await clips();
  expect(first?.seconds).toBeGreaterThan(0.2);

  await page.keyboard.press('Escape');
  await expect
    .poll(
      async () => (await clips()).every((clip) => clip.stopped !== undefined || clip.ended !== undefined),
      {
        timeout: 1_000,
      },
    )
    .toBe(true);
  const afterEscape = (await clips()).length;
  // Nothing more is said after the player cut in (sentences already requested are dropped).
  await page.waitForTimeout(2_000);
  expect((await clips()).length).toBe(afterEscape);
  const stoppedAt = (await clips()).at(-1);
  expect(stoppedAt?.stopped ?? stoppedAt?.ended).toBeDefined();

  // Voice off on the HUD: the next reply is silent.
  await page.locator('#hud-voice').click();
  await expect(page.locator('#hud-voice')).toHaveAttribute('aria-pressed', 'false');
  expect(pageErrors).toEqual([]);
});
