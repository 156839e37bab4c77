import { test as base, expect, type Locator, type Page } from '@playwright/test';
import { type ProxyOptions, type Running, serveDemo, serveTestPage, startProxy } from '../support/servers.js';

/** The servers one worker shares across its tests. */
export interface DemoServers {
  proxy: { url: string; port: number };
  demo: Running;
}

/**
 * `test` with a worker-scoped `servers` fixture (proxy + built demo, started once per worker and stopped
 * after) and `baseURL` pointing at the demo. `PARLEY_E2E_PROXY_PORT` reuses an already running proxy, e.g.
 * one with a real API key, instead of starting an offline one.
 */
export const test = base.extend<object, { servers: DemoServers }>({
  servers: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright requires the fixtures argument to be destructured.
    async ({}, use) => {
      const reuse = process.env['PARLEY_E2E_PROXY_PORT'];
      const proxy = reuse
        ? { url: `http://127.0.0.1:${reuse}`, port: Number(reuse), stop: async () => {} }
        : await startProxy({ delayMs: 10 });
      try {
        const demo = await serveDemo(proxy.port);
        try {
          await use({ proxy, demo });
        } finally {
          await demo.stop();
        }
      } finally {
        await proxy.stop();
      }
    },
    { scope: 'worker', timeout: 120_000 },
  ],
  baseURL: async ({ servers }, use) => use(servers.demo.url),
});

/** What packages/phaser/test-page exposes on `window.__parleyTest` (read-only use in specs). */
export interface PluginTestHook {
  parley: {
    isTalking: boolean;
    consoleOpen: boolean;
    activeNpc?: { id: string; state: string };
    say(text: string): void;
    npc(
      id: string,
    ): { bark(text: string, options?: { duration?: number }): void; barking?: string } | undefined;
  };
  events: Array<{ name: string; npc?: string; [key: string]: unknown }>;
  view?: { text: string; more: boolean; page: number; pages: number; suggestions: string[]; state: string };
}

declare global {
  interface Window {
    __parleyTest?: PluginTestHook;
  }
}

/** The servers of the plugin's browser tests: an offline proxy and `@parley/phaser`'s test page. */
export interface PluginServers {
  proxy: { url: string; port: number };
  page: Running;
}

/**
 * `test` for the plugin's specs (e2e/plugin-*.spec.ts): a worker-scoped proxy whose offline model streams
 * a word every `proxyDelayMs` (default 60: slow enough to act mid-stream) and the built test page of
 * packages/phaser/test-page as `baseURL`.
 */
export const pluginTest = base.extend<object, { pluginServers: PluginServers; proxyDelayMs: number }>({
  proxyDelayMs: [60, { scope: 'worker', option: true }],
  pluginServers: [
    async ({ proxyDelayMs }, use) => {
      const proxy = await startProxy({ delayMs: proxyDelayMs });
      try {
        const page = await serveTestPage(proxy.port);
        try {
          await use({ proxy, page });
        } finally {
          await page.stop();
        }
      } finally {
        await proxy.stop();
      }
    },
    { scope: 'worker', timeout: 120_000 },
  ],
  baseURL: async ({ pluginServers }, use) => use(pluginServers.page.url),
});

/** What demo-game exposes on `window.__parleyDemo` (read-only; see demo-game/src/village-scene.ts). */
export interface VillageHook {
  mode: 'title' | 'play';
  player: { x: number; y: number; tileX: number; tileY: number };
  walking: boolean;
  nearNpc: string | null;
  talking: string | null;
  npcStates: Record<string, string>;
  npcScreen: Record<string, { x: number; y: number }>;
  quest: string;
  coins: number;
  inventory: Record<string, number>;
  gateOpen: boolean;
  connection: string;
  playerId: string;
  npcIds: Record<string, string>;
  consoleOpen: boolean;
  log: string[];
  coveredLabels: string[];
  dialogueTop: number | null;
  view: { scrollX: number; scrollY: number; left: number; top: number; sx: number; sy: number };
  size: { width: number; height: number };
}

declare global {
  interface Window {
    __parleyDemo?: VillageHook;
  }
}

export type VillagerId = 'brom' | 'tilda' | 'marta' | 'odo';
export const VILLAGER_NAMES: Record<VillagerId, string> = {
  brom: 'Brom',
  tilda: 'Tilda',
  marta: 'Marta',
  odo: 'Odo',
};

/**
 * Drives the Eastwatch demo like a player: real key presses and mouse clicks (taps on a touch screen), the
 * dialogue read from the ARIA live region `#parley-live`, and `window.__parleyDemo` only to know when to
 * stop walking.
 */
export class Village {
  constructor(
    readonly page: Page,
    /** Tap instead of click, and use the on-screen buttons instead of Enter and Escape. */
    readonly touch = false,
  ) {}

  /** A click, or on a touch screen a tap. */
  async point(x: number, y: number): Promise<void> {
    if (this.touch) await this.page.touchscreen.tap(x, y);
    else await this.page.mouse.click(x, y);
  }

  /** The screen point (CSS pixels) of a world point. */
  async toScreen(x: number, y: number): Promise<{ x: number; y: number }> {
    const { view } = await this.hook();
    return { x: view.left + (x - view.scrollX) * view.sx, y: view.top + (y - view.scrollY) * view.sy };
  }

  /** The top of the screen area clear of the HUD cards (they take the top of a phone's screen). */
  async hudBottom(): Promise<number> {
    return this.page.evaluate(() => {
      let bottom = 0;
      for (const el of document.querySelectorAll('#hud-top, #hud-purse, #hud-quest, #hud-touch')) {
        const rect = el.getBoundingClientRect();
        if (rect.height > 0) bottom = Math.max(bottom, rect.bottom);
      }
      return bottom;
    });
  }

  get live(): Locator {
    return this.page.locator('#parley-live');
  }

  hook(): Promise<VillageHook> {
    return this.page.evaluate(() => {
      const h = window.__parleyDemo!;
      return JSON.parse(
        JSON.stringify({
          ...h,
          player: h.player,
          npcScreen: h.npcScreen,
          npcStates: h.npcStates,
          inventory: h.inventory,
          npcIds: h.npcIds,
        }),
      ) as VillageHook;
    });
  }

  /** Opens the page and picks a title-menu entry (Start / Continue / New game). */
  async open(choice: RegExp | string = /^(Start|Continue)$/, url = '/'): Promise<void> {
    await this.page.goto(url);
    const button = this.page.getByRole('button', { name: choice });
    if (this.touch) await button.tap();
    else await button.click();
    await expect.poll(async () => (await this.hook()).mode, { timeout: 20_000 }).toBe('play');
  }

  /**
   * Holds `key` until `done(hook)` is true, then releases it. `done` runs in the page (every animation
   * frame), so it must not use anything from the test's scope.
   */
  async hold(key: string, done: (hook: VillageHook) => boolean, timeout = 20_000): Promise<VillageHook> {
    await this.page.keyboard.down(key);
    try {
      await this.page.waitForFunction(
        (fn) => new Function('h', `return (${fn})(h)`)(window.__parleyDemo),
        done.toString(),
        {
          timeout,
        },
      );
    } catch (error) {
      throw new Error(`held ${key} for ${timeout} ms: ${JSON.stringify((await this.hook()).player)}`, {
        cause: error,
      });
    } finally {
      await this.page.keyboard.up(key);
    }
    return this.hook();
  }

  /**
   * Walks to a villager by clicking: on them when they are on screen (the player walks up and the
   * dialogue opens), else towards them, again and again. Resolves when the dialogue is open.
   */
  async talkTo(npc: VillagerId, timeout = 45_000): Promise<void> {
    const viewport = this.page.viewportSize() ?? { width: 1280, height: 800 };
    const deadline = Date.now() + timeout;
    let hook = await this.hook();
    while (hook.talking !== hook.npcIds[npc]) {
      if (Date.now() > deadline) throw new Error(`could not reach ${npc}: ${JSON.stringify(hook.player)}`);
      const target = hook.npcScreen[npc]!;
      // Keep clear of the HUD panels in the top corners and the screen's edges.
      // (On a phone the cards run across the top of the screen; on a desktop they keep to the corners.)
      const top = this.touch ? Math.max(140, (await this.hudBottom()) + 30) : 140;
      const safe = { left: 40, right: viewport.width - 40, top, bottom: viewport.height - 40 };
      const onScreen =
        target.x > safe.left && target.x < safe.right && target.y > safe.top && target.y < safe.bottom;
      if (onScreen) {
        await this.point(target.x, target.y);
        const id = hook.npcIds[npc];
        await expect
          .poll(async () => (await this.hook()).talking, { timeout: 20_000, intervals: [100] })
          .toBe(id);
        break;
      }
      const cx = viewport.width / 2;
      const cy = (top + viewport.height) / 2;
      const dx = target.x - cx;
      const dy = target.y - cy;
      const scale = Math.min(
        1,
        (cx - 60) / Math.max(1, Math.abs(dx)),
        (Math.min(cy - top, viewport.height - cy) - 40) / Math.max(1, Math.abs(dy)),
      );
      await this.point(cx + dx * scale, cy + dy * scale);
      await this.page.waitForTimeout(150);
      await expect
        .poll(async () => (await this.hook()).walking, { timeout: 15_000, intervals: [100] })
        .toBe(false);
      hook = await this.hook();
    }
    await expect(this.page.locator('input[data-parley="input"]')).toBeFocused();
  }

  /** Types a line into the dialogue, presses Enter, and returns the NPC's finished reply. */
  async say(npc: VillagerId, line: string, timeout = 30_000): Promise<string> {
    const name = VILLAGER_NAMES[npc];
    const input = this.page.locator('input[data-parley="input"]');
    await expect(input).toBeFocused();
    await this.page.keyboard.type(line);
    await this.page.keyboard.press('Enter');
    const reply = await this.page.waitForFunction(
      ({ name, line }) => {
        const lines = [...document.querySelectorAll('#parley-live p:not([data-kind])')];
        const last = lines.at(-1) as HTMLElement | undefined;
        const before = lines.at(-2) as HTMLElement | undefined;
        if (!last || !before || last.dataset['speaker'] !== name || before.textContent !== line) return false;
        return last.dataset['state'] === 'streaming' ? false : `${last.dataset['state']}|${last.textContent}`;
      },
      { name, line },
      { timeout, polling: 50 },
    );
    const [state, ...text] = String(await reply.jsonValue()).split('|');
    if (state !== 'done') throw new Error(`${name}'s reply ended ${state}: ${text.join('|')}`);
    return text.join('|');
  }

  /** Lets the typewriter finish (an empty Enter, or a tap on the box, shows the rest at once). */
  async finishTyping(npc: VillagerId): Promise<void> {
    for (let i = 0; i < 6; i++) {
      const hook = await this.hook();
      if (hook.npcStates[npc] === 'listening') return;
      if (this.touch) {
        // The box's text, just above its input.
        const input = await this.page.locator('input[data-parley="input"]').boundingBox();
        if (input) await this.page.touchscreen.tap(input.x + input.width / 2, input.y - 24);
      } else await this.page.keyboard.press('Enter');
      await this.page.waitForTimeout(150);
    }
    await expect.poll(async () => (await this.hook()).npcStates[npc], { timeout: 15_000 }).toBe('listening');
  }

  /** Escape (on a touch screen the box's ✕) until the dialogue is closed. */
  async leave(): Promise<void> {
    for (let i = 0; i < 3 && (await this.hook()).talking; i++) {
      if (this.touch) await this.page.locator('[data-parley="leave"]').tap();
      else await this.page.keyboard.press('Escape');
      await this.page.waitForTimeout(100);
    }
    await expect.poll(async () => (await this.hook()).talking).toBe(null);
  }

  /** GET on the proxy through the page (same origin, as this player). */
  async api<T>(path: string): Promise<T> {
    return this.page.evaluate(
      async ({ path }) => {
        const player = window.__parleyDemo!.playerId;
        const response = await fetch(path, {
          headers: { 'X-Parley-Player': player, 'OpenAI-Beta': 'assistants=v2' },
        });
        return (await response.json()) as unknown;
      },
      { path },
    ) as Promise<T>;
  }

  /** The thread the dialogue module remembers for this villager and player (localStorage). */
  async threadId(npc: VillagerId): Promise<string | null> {
    return this.page.evaluate((npc) => {
      const hook = window.__parleyDemo!;
      return localStorage.getItem(`parley:thread:${hook.npcIds[npc]}:${hook.playerId}`);
    }, npc);
  }
}

/**
 * `test` for the village specs: `village` drives the demo served by the worker's servers, and
 * `startVillage(options)` starts a proxy of its own (e.g. slow, or with tiny budgets) with the demo in
 * front of it, both stopped after the test.
 */
export const villageTest = test.extend<{
  village: Village;
  startVillage: (options?: ProxyOptions) => Promise<{ url: string; proxy: Running & { port: number } }>;
}>({
  village: async ({ page, hasTouch }, use) => use(new Village(page, hasTouch)),
  // biome-ignore lint/correctness/noEmptyPattern: Playwright requires the fixtures argument to be destructured.
  startVillage: async ({}, use) => {
    const started: Running[] = [];
    await use(async (options = {}) => {
      const proxy = await startProxy(options);
      started.push(proxy);
      const demo = await serveDemo(proxy.port);
      started.unshift(demo);
      return { url: demo.url, proxy };
    });
    for (const server of started) await server.stop().catch(() => {});
  },
});

export { expect } from '@playwright/test';
