// A minimal game for the plugin's browser tests and the glyph benchmark: the player stands next to Brom,
// the gate guard; Mara, an innkeeper further off, barks now and then. Options come from the query string:
//   renderer=canvas|webgl  w, h (game size)  cps (typing pace)  font (box font size)
//   console=backtick|open|off  suggest=text|tool
import * as Phaser from 'phaser';
import {
  type ParleyEventName,
  ParleyEvents,
  type ParleyPlugin,
  parleyPluginConfig,
  removeParleyPlugin,
  SUGGESTIONS_INSTRUCTIONS,
} from '../src/index.js';

const params = new URLSearchParams(location.search);
const number = (name: string, fallback: number) => Number(params.get(name) ?? fallback) || fallback;
const consoleMode = params.get('console') ?? 'backtick';

/** What the page exposes to tests: the plugin, a log of its events (names and NPC ids), the box's view. */
export interface TestHook {
  parley: ParleyPlugin;
  events: Array<{ name: string; npc?: string; [key: string]: unknown }>;
  /** What the dialogue box shows (the open NPC's session view) and that NPC's state. */
  readonly view:
    | {
        text: string;
        more: boolean;
        page: number;
        pages: number;
        suggestions: readonly string[];
        state: string;
      }
    | undefined;
}

declare global {
  interface Window {
    __parleyTest?: TestHook;
  }
}

class TestScene extends Phaser.Scene {
  constructor() {
    super('test');
  }

  create(): void {
    const { width, height } = this.scale;
    this.cameras.main.setBackgroundColor('#4f7a3a');
    const g = this.add.graphics();
    g.fillStyle(0x8a6d45).fillRect(width / 2 - 40, 0, 80, height);
    g.fillStyle(0x6b6b6b).fillRect(0, 0, width, 60);
    g.fillStyle(0x3a2a1e).fillRect(width / 2 - 44, 10, 88, 50);

    const guard = this.add.rectangle(width / 2 + 70, 130, 30, 48, 0x8b2f2f).setStrokeStyle(2, 0x2a1d14);
    const innkeeper = this.add.rectangle(120, 150, 30, 44, 0x2f6f8b).setStrokeStyle(2, 0x2a1d14);
    const player = this.add.rectangle(width / 2 + 20, 170, 24, 40, 0xf2d16b).setStrokeStyle(2, 0x2a1d14);

    this.parley.setPlayer(player);
    const brom = this.parley.addNpc(
      guard,
      {
        id: 'test-gate-guard',
        name: 'Brom',
        instructions: [
          "You are Brom, the gate guard of Eastwatch's north gate: gruff, tired, loyal.",
          'The gate is closed at night, from dusk until the dawn bell, and opened for no one.',
          SUGGESTIONS_INSTRUCTIONS,
        ].join('\n'),
      },
      { radius: 90, suggestReplies: params.get('suggest') === 'tool' ? 'tool' : 'text' },
    );
    brom.tool('open_gate', {
      description: 'Open the north gate for the player.',
      parameters: { type: 'object', properties: { gate: { type: 'string', enum: ['north'] } } },
      run: () => ({ opened: false, reason: 'The gate stays shut from dusk until the dawn bell.' }),
    });
    this.parley.addNpc(
      innkeeper,
      { id: 'test-innkeeper', name: 'Mara', instructions: 'You are Mara, who runs the Gilded Goose inn.' },
      { ambientBarks: { lines: ['Rooms! Warm rooms!', 'Stew’s on.'], every: 6000, radius: 400 } },
    );

    const keys = this.input.keyboard!.createCursorKeys();
    this.events.on(Phaser.Scenes.Events.UPDATE, (_time: number, delta: number) => {
      if (this.parley.isTalking) return;
      const speed = 0.2 * delta;
      player.x += (Number(keys.right.isDown) - Number(keys.left.isDown)) * speed;
      player.y += (Number(keys.down.isDown) - Number(keys.up.isDown)) * speed;
    });

    const events: TestHook['events'] = [];
    for (const name of Object.values(ParleyEvents) as ParleyEventName[]) {
      if (name === ParleyEvents.Glyph) continue;
      this.parley.on(name, (event) => {
        const { npc, turn: _turn, ...rest } = event as { npc?: { id: string }; turn?: unknown };
        events.push({ name, ...(npc && { npc: npc.id }), ...JSON.parse(JSON.stringify(rest)) });
      });
    }
    const parley = this.parley;
    window.__parleyTest = {
      parley,
      events,
      get view() {
        const npc = parley.activeNpc;
        const view = npc?.existingSession?.view;
        return view && { ...view, state: npc.state };
      },
    };
  }
}

// Under Vite HMR this module runs again: drop the previous plugin class first.
removeParleyPlugin();
new Phaser.Game({
  type:
    params.get('renderer') === 'webgl'
      ? Phaser.WEBGL
      : params.get('renderer') === 'canvas'
        ? Phaser.CANVAS
        : Phaser.AUTO,
  parent: 'game',
  width: number('w', 800),
  height: number('h', 450),
  banner: false,
  fps: { panicMax: 10 },
  scale: { mode: Phaser.Scale.FIT, autoCenter: Phaser.Scale.CENTER_BOTH },
  plugins: {
    scene: [
      parleyPluginConfig({
        url: '',
        charsPerSecond: number('cps', 45),
        theme: { fontSize: number('font', 18) },
        console: consoleMode === 'open' ? true : consoleMode === 'off' ? false : 'backtick',
      }),
    ],
  },
  scene: [TestScene],
});
