import { ParleyEvents, type ParleyNpc } from '@parley/phaser';
import * as Phaser from 'phaser';
import { bakeTiled, makeTextures, seeded, Tex } from './textures.js';

const WORLD = { width: 1600, height: 1200 };
const PATH_X = 800;
const WALL_Y = 170;
const SPEED = 190;

type Wasd = Record<'W' | 'A' | 'S' | 'D', Phaser.Input.Keyboard.Key>;

/** Read-only hook for browser tests; the test still drives the game with real key presses. */
export interface DemoTestHook {
  readonly playerNear: boolean;
  readonly talking: boolean;
  readonly bromState: string;
}

declare global {
  interface Window {
    __parleyDemo?: DemoTestHook;
  }
}

/** The first slice of Eastwatch: a field before the north gate, and Brom, who guards it. */
export class GateScene extends Phaser.Scene {
  #player!: Phaser.Physics.Arcade.Sprite;
  #brom!: ParleyNpc;
  #keys!: { cursors: Phaser.Types.Input.Keyboard.CursorKeys; wasd: Wasd };
  #status!: Phaser.GameObjects.Text;

  constructor() {
    super('gate');
  }

  create(): void {
    makeTextures(this);
    this.physics.world.setBounds(0, 0, WORLD.width, WORLD.height);
    this.cameras.main.setBounds(0, 0, WORLD.width, WORLD.height).setBackgroundColor('#5a8c3e');

    const solid = this.physics.add.staticGroup();
    this.#drawField(solid);

    this.#player = this.physics.add.sprite(PATH_X, 820, Tex.Player).setCollideWorldBounds(true);
    this.#player.body?.setSize(18, 12).setOffset(5, 28);
    const guard = this.physics.add.staticSprite(PATH_X + 6, WALL_Y + 70, Tex.Guard).setDepth(WALL_Y + 70);
    (guard.body as Phaser.Physics.Arcade.StaticBody).setSize(28, 24).setOffset(6, 48);
    this.physics.add.collider(this.#player, solid);
    this.physics.add.collider(this.#player, guard);

    this.cameras.main.startFollow(this.#player, true, 0.12, 0.12);

    const keyboard = this.input.keyboard!;
    this.#keys = {
      cursors: keyboard.createCursorKeys(),
      wasd: keyboard.addKeys('W,A,S,D') as Wasd,
    };

    this.parley.setPlayer(this.#player);
    this.#brom = this.parley.addNpc(
      guard,
      {
        id: 'eastwatch-gate-guard',
        name: 'Brom',
        instructions: [
          "You are Brom, the gate guard of Eastwatch's north gate: gruff, tired, loyal, a man of few words.",
          'You know the gate is closed at night, from dusk until the dawn bell, and opened for no one.',
          'You speak in short sentences and stay in character; you know nothing of the world beyond the village.',
        ].join(' '),
      },
      { radius: 80 },
    );

    this.#hud();
    this.parley.on(ParleyEvents.Error, ({ error }) => console.warn('[parley]', error.code, error.message));

    const brom = this.#brom;
    const parley = this.parley;
    window.__parleyDemo = {
      get playerNear() {
        return brom.inRange;
      },
      get talking() {
        return parley.isTalking;
      },
      get bromState() {
        return brom.state;
      },
    };
    this.events.once(Phaser.Scenes.Events.SHUTDOWN, () => {
      delete window.__parleyDemo;
    });
  }

  override update(): void {
    const body = this.#player.body as Phaser.Physics.Arcade.Body;
    if (this.parley.isTalking) {
      body.setVelocity(0, 0);
      return;
    }
    const { cursors, wasd } = this.#keys;
    if (this.game.getFrame() % 20 === 0)
      console.log(
        'dbg',
        this.game.getFrame(),
        Math.round(performance.now()),
        this.game.loop.actualFps.toFixed(1),
        cursors.up.isDown,
        this.#player.y.toFixed(0),
      );
    const x = Number(cursors.right.isDown || wasd.D.isDown) - Number(cursors.left.isDown || wasd.A.isDown);
    const y = Number(cursors.down.isDown || wasd.S.isDown) - Number(cursors.up.isDown || wasd.W.isDown);
    body.setVelocity(x, y);
    body.velocity.normalize().scale(SPEED);
    if (x !== 0) this.#player.setFlipX(x < 0);
    this.#player.setDepth(this.#player.y);
  }

  #drawField(solid: Phaser.Physics.Arcade.StaticGroup): void {
    const gateLeft = PATH_X - 64;
    const gateRight = PATH_X + 64;
    bakeTiled(this, Tex.Road, Tex.Path, 80, WORLD.height - WALL_Y);
    bakeTiled(this, Tex.Crossroad, Tex.Path, WORLD.width, 64);
    bakeTiled(this, Tex.WallBand, Tex.Wall, WORLD.width, 96);
    this.add.image(0, 980, Tex.Crossroad).setOrigin(0).setDepth(-2);
    this.add
      .image(PATH_X - 40, WALL_Y, Tex.Road)
      .setOrigin(0)
      .setDepth(-2);

    // The wall of Eastwatch across the top, with the closed gate between two towers.
    this.add
      .image(0, WALL_Y - 96, Tex.WallBand)
      .setOrigin(0)
      .setDepth(-2);
    this.add.image(PATH_X, WALL_Y, Tex.Gate).setOrigin(0.5, 1).setDepth(-1);
    for (const x of [gateLeft - 30, gateRight + 30])
      this.add
        .image(x, WALL_Y + 10, Tex.Tower)
        .setOrigin(0.5, 1)
        .setDepth(WALL_Y + 10);

    // Trees, rocks, flowers and grass, scattered the same way every time, away from the road.
    const rand = seeded(42);
    const onRoad = (x: number, y: number) =>
      Math.abs(x - PATH_X) < 110 ||
      y < WALL_Y + 60 ||
      (y > 940 && y < 1080) ||
      Math.hypot(x - PATH_X, y - 820) < 150;
    const trees: Array<{ x: number; y: number }> = [];
    while (trees.length < 46) {
      const x = 40 + rand() * (WORLD.width - 80);
      const y = WALL_Y + 60 + rand() * (WORLD.height - WALL_Y - 80);
      if (!onRoad(x, y)) trees.push({ x, y });
    }
    for (let i = 0; i < 320; i++) {
      const x = rand() * WORLD.width;
      const y = WALL_Y + 20 + rand() * (WORLD.height - WALL_Y - 20);
      if (Math.abs(x - PATH_X) < 48) continue;
      const key = i % 8 === 0 ? Tex.Rock : i % 3 === 0 ? Tex.Flower : Tex.Tuft;
      this.add.image(x, y, key).setDepth(key === Tex.Rock ? y - 10 : -1);
    }

    solid.add(this.add.zone(WORLD.width / 2, WALL_Y - 48, WORLD.width, 96));
    for (const x of [gateLeft - 30, gateRight + 30]) solid.add(this.add.zone(x, WALL_Y - 20, 80, 60));
    for (const { x, y } of trees) {
      this.add.image(x, y, Tex.Tree).setOrigin(0.5, 0.93).setDepth(y);
      solid.add(this.add.zone(x, y - 8, 16, 12));
    }

    const sign = this.add
      .text(PATH_X - 120, WALL_Y + 40, 'EASTWATCH', {
        fontFamily: 'Georgia, "DejaVu Serif", serif',
        fontSize: '16px',
        color: '#f4e9d8',
        backgroundColor: '#5b3a22',
        padding: { x: 8, y: 4 },
      })
      .setOrigin(0.5);
    sign.setDepth(sign.y);
  }

  #hud(): void {
    const style = {
      fontFamily: '"Trebuchet MS", "DejaVu Sans", Verdana, sans-serif',
      color: '#fff6e0',
      stroke: '#1b1410',
      strokeThickness: 4,
    };
    this.add
      .text(16, 12, 'Eastwatch — the north gate', { ...style, fontSize: '22px', fontStyle: 'bold' })
      .setScrollFactor(0)
      .setDepth(9_500);
    this.add
      .text(16, 42, 'Arrows / WASD: walk   ·   E: talk   ·   Esc: leave', { ...style, fontSize: '14px' })
      .setScrollFactor(0)
      .setDepth(9_500);
    this.#status = this.add
      .text(16, 62, 'Parley proxy: checking…', { ...style, fontSize: '13px', color: '#d9cbb5' })
      .setScrollFactor(0)
      .setDepth(9_500);
    void this.#checkProxy();
  }

  async #checkProxy(): Promise<void> {
    let line: string;
    try {
      const response = await fetch('/healthz');
      const health = (await response.json()) as { upstream?: string; model?: string };
      line =
        health.upstream === 'offline'
          ? 'Parley proxy: built-in offline model (set OPENAI_API_KEY for a real one)'
          : `Parley proxy: ${health.upstream ?? 'unknown'} · ${health.model ?? ''}`;
    } catch {
      line = 'Parley proxy unreachable — start the demo with `pnpm demo`';
    }
    if (this.#status.active) this.#status.setText(line);
  }
}
