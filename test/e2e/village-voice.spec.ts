import { FAKE_TRANSCRIPT, startFakeUpstream } from '../support/fake-upstream.js';
import { expect, villageTest as test } from './fixtures.js';

// Chromium plays audio without a gesture here, as it would after the player's first key press, and
// records a fake microphone (a beep) without asking.
test.use({
  launchOptions: {
    executablePath: process.env['PARLEY_CHROMIUM'] ?? '/usr/bin/chromium',
    args: [
      '--autoplay-policy=no-user-gesture-required',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
    ],
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

  // The debug console lists the reply's clips: each one's time to first audio and its length.
  await page.keyboard.press('Control+Backquote');
  const spoken = page.locator('[data-parley="console"] [data-field="clips"] li').first();
  await expect(spoken.locator('[data-field="first-audio"]')).toHaveText(/^first audio \d+ ms$/);
  await expect(spoken.locator('[data-field="length"]')).toHaveText(/^\d+\.\d\d s$/);
  await expect(spoken).toHaveAttribute('data-status', /^(played|stopped)$/);
  await page.keyboard.press('Control+Backquote');

  // Voice off on the HUD: the next reply is silent.
  await page.locator('#hud-voice').click();
  await expect(page.locator('#hud-voice')).toHaveAttribute('aria-pressed', 'false');
  expect(pageErrors).toEqual([]);
});

test('push-to-talk: holding V beside a villager records the microphone and the transcript fills the input', async ({
  page,
  village,
  startVillage,
}) => {
  test.setTimeout(180_000);
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // Offline there is no transcription model: this proxy has an upstream that transcribes (the fake one).
  const fake = await startFakeUpstream();
  try {
    const { url } = await startVillage({
      env: { OPENAI_API_KEY: 'sk-e2e-fake-upstream', OPENAI_BASE_URL: fake.url, PARLEY_MODEL: 'fake-model' },
    });
    await village.open('Start', `${url}/`);
    await expect(page.locator('#hud-help')).toContainText('hold V: speak');
    // Beside Marta with the dialogue closed: V is push-to-talk, not a letter.
    await village.talkTo('marta');
    await village.leave();
    await page.keyboard.down('v');
    const input = page.locator('input[data-parley="input"]');
    // The dialogue opens on the villager in reach, and the input says it is listening.
    await expect(input).toBeVisible();
    await expect(input).toHaveAttribute('placeholder', /Listening/);
    await page.waitForTimeout(1_500);
    await page.keyboard.up('v');
    await expect(input).toHaveValue(FAKE_TRANSCRIPT, { timeout: 30_000 });
    await expect(input).toBeFocused();
    // The recording went to the proxy, and on to the upstream, as real audio of the length held.
    const upload = fake.requests.find((request) => request.path === '/v1/audio/transcriptions');
    expect(upload?.body).toMatchObject({ model: 'gpt-4o-mini-transcribe', language: 'en' });
    // Not sent: the player reads it first (and may edit it).
    expect(fake.requests.filter((request) => request.path.endsWith('/chat/completions'))).toHaveLength(0);

    // In the focused input V is a letter: the player is typing, not talking.
    const uploads = () => fake.requests.filter((request) => request.path.includes('/audio/')).length;
    const before = uploads();
    await input.press('End');
    await page.keyboard.down('v');
    await page.waitForTimeout(600);
    await page.keyboard.up('v');
    await expect(input).toHaveValue(`${FAKE_TRANSCRIPT}v`);
    await page.waitForTimeout(500);
    expect(uploads()).toBe(before);
    expect(pageErrors).toEqual([]);
  } finally {
    await fake.close();
  }
});

test('push-to-talk offline: the proxy has no transcription model, so the browser’s own recognition listens', async ({
  page,
  village,
}) => {
  test.setTimeout(120_000);
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // Chromium's recogniser needs Google's servers: a stand-in with the Web Speech API's shape answers here.
  await page.addInitScript(() => {
    class StandInRecognition {
      lang = '';
      continuous = false;
      interimResults = false;
      onresult: ((event: unknown) => void) | null = null;
      onerror: ((event: unknown) => void) | null = null;
      onend: (() => void) | null = null;
      start() {
        const w = window as unknown as { __recognitions?: string[] };
        w.__recognitions = [...(w.__recognitions ?? []), this.lang];
        const result = Object.assign([{ transcript: 'Where is the mill?' }], { isFinal: true });
        setTimeout(() => this.onresult?.({ results: [result] }), 200);
      }
      stop() {
        setTimeout(() => this.onend?.(), 20);
      }
      abort() {
        setTimeout(() => this.onend?.(), 20);
      }
    }
    Object.assign(window, {
      SpeechRecognition: StandInRecognition,
      webkitSpeechRecognition: StandInRecognition,
    });
  });
  const uploads: number[] = [];
  page.on('request', (request) => {
    if (request.url().endsWith('/v1/audio/transcriptions'))
      uploads.push(request.postDataBuffer()?.length ?? 0);
  });
  await village.open('Start', '/');
  await village.talkTo('marta');
  await village.leave();
  await page.keyboard.down('v');
  const input = page.locator('input[data-parley="input"]');
  await expect(input).toHaveAttribute('placeholder', /Listening/);
  await page.waitForTimeout(1_000);
  await page.keyboard.up('v');
  await expect(input).toHaveValue('Where is the mill?');
  expect(
    await page.evaluate(() => (window as unknown as { __recognitions?: string[] }).__recognitions),
  ).toEqual(['en']);
  // The proxy was only asked whether it transcribes (a form without audio): no recording went to it.
  expect(uploads).toHaveLength(1);
  expect(uploads[0]).toBeLessThan(1_000);
  expect(pageErrors).toEqual([]);
});
