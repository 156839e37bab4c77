import { stripCitations } from '@parley/dialogue';
import { ParleyEvents, type ParleyNpc } from '@parley/phaser';
import * as Phaser from 'phaser';
import { CAST, type CastMember, type NpcId, type ToolWorld } from './cast.ts';
import { ConnectionMonitor } from './connection.js';
import { applyFacts, barksNow, npcFacts, worldFacts } from './facts.ts';
import { Hud, showEnding, showMenu } from './hud.js';
import { playerFetch, playerId, readBudget } from './player.js';
import { type Change, coins, GameState, ITEMS, SAVE_KEY, withArticle } from './state.ts';
import { bakeTiled, makeTextures, Tex } from './textures.js';
import {
  buildVillage,
  COLS,
  EXIT_ROW,
  findPath,
  GATE,
  Ground,
  NPC_SPOTS,
  nearestWalkable,
  PLAYER_START,
  ROWS,
  seeded,
  setGateOpen,
  TILE,
  type VillageMap,
  WALL_ROWS,
} from './world.js';

const SPEED = 170;
const WORLD = { width: COLS * TILE, height: ROWS * TILE };
const NPC_LOOK: Record<NpcId, { tex: string; radius: number }> = {
  brom: { tex: Tex.Guard, radius: 96 },
  tilda: { tex: Tex.Merchant, radius: 72 },
  marta: { tex: Tex.Innkeeper, radius: 72 },
  odo: { tex: Tex.Scholar, radius: 72 },
};
// Each villager's voice (the offline proxy gives each its own eSpeak voice, pitch and pace): the gruff guard,
// the bright trader, the innkeeper with a Scots lilt, the old scholar.
const VILLAGER_VOICES: Record<NpcId, string> = { brom: 'onyx', tilda: 'nova', marta: 'sage', odo: 'fable' };
const TEXT_STYLE = {
  fontFamily: '"Trebuchet MS", "DejaVu Sans", Verdana, sans-serif',
  color: '#fff6e0',
  stroke: '#1b1410',
  strokeThickness: 3,
} as const;

export interface SceneData {
  /** `title` shows the menu over a fly-over of the village; `play` starts at once (after "New game"). */
  mode?: 'title' | 'play';
}

/** Read-only state for browser tests (the tests drive the game with real keys and clicks). */
export interface DemoTestHook {
  readonly mode: 'title' | 'play';
  readonly player: { x: number; y: number; tileX: number; tileY: number };
  readonly walking: boolean;
  readonly nearNpc: string | null;
  readonly talking: string | null;
  readonly npcStates: Record<string, string>;
  readonly npcScreen: Record<string, { x: number; y: number }>;
  readonly quest: string;
  readonly coins: number;
  readonly inventory: Record<string, number>;
  readonly gateOpen: boolean;
  readonly connection: string;
  readonly playerId: string;
  readonly npcIds: Record<string, string>;
  readonly consoleOpen: boolean;
  /** NPCs whose name label a world object (a building, the player) is drawn over. */
  readonly coveredLabels: readonly string[];
  /** The dialogue box's top edge in viewport CSS pixels, while it is open. */
  readonly dialogueTop: number | null;
  /** The quest log's entries, oldest first. */
  readonly log: readonly string[];
  /** World → viewport CSS pixels: `left + (worldX - scrollX) * sx`. */
  readonly view: { scrollX: number; scrollY: number; left: number; top: number; sx: number; sy: number };
  /** The game's size in game pixels (it follows a phone's screen, see main.ts). */
  readonly size: { width: number; height: number };
}

declare global {
  interface Window {
    __parleyDemo?: DemoTestHook;
  }
}

/** Eastwatch: the village, its four talking people, the quest, and the way out through the north gate. */
export class VillageScene extends Phaser.Scene {
  #map!: VillageMap;
  #state!: GameState;
  #mode: 'title' | 'play' = 'title';
  #player!: Phaser.Physics.Arcade.Sprite;
  #npcs = new Map<NpcId, ParleyNpc>();
  #labels = new Map<NpcId, Phaser.GameObjects.Text>();
  #hud!: Hud;
  #connection!: ConnectionMonitor;
  #playerId = '';
  #fetch: typeof fetch = fetch;
  #held = new Set<string>();
  #path: Array<{ x: number; y: number }> = [];
  #pendingTalk: ParleyNpc | undefined;
  #stuck = { x: 0, y: 0, ms: 0 };
  #stepMs = 0;
  #saveMs = 0;
  #boundsMs = 0;
  #coveredTop = 0;
  #gate!: { left: Phaser.GameObjects.Image; right: Phaser.GameObjects.Image; body: Phaser.GameObjects.Zone };
  #marker!: Phaser.GameObjects.Image;
  #flyover: Phaser.Tweens.Tween | undefined;
  #ended = false;
  #alive = false;
  #cleanups: Array<() => void> = [];

  constructor() {
    super('village');
  }

  create(data: SceneData = {}): void {
    const params = new URLSearchParams(location.search);
    const bench = params.get('bench');
    this.#mode = 'title';
    this.#alive = true;
    this.#held.clear();
    this.#path = [];
    this.#npcs.clear();
    this.#labels.clear();
    makeTextures(this);
    this.#state =
      (bench ? undefined : GameState.load(localStorage)) ??
      new GameState(undefined, bench ? undefined : localStorage);
    // A saved game that already ended (the player reloaded on the north road) does not end again.
    this.#ended = this.#state.quest === 'done';
    this.#coveredTop = 0;
    this.#map = buildVillage();
    setGateOpen(this.#map, this.#state.gateOpen);

    this.physics.world.setBounds(0, 0, WORLD.width, WORLD.height);
    this.cameras.main.setBounds(0, 0, WORLD.width, WORLD.height).setBackgroundColor('#5a8c3e');
    this.#drawGround();
    this.#drawDecor();
    this.#drawBuildings();
    const gateBody = this.#drawWallAndGate();
    this.#marker = this.add.image(0, 0, Tex.Marker).setVisible(false).setDepth(1);

    const start = this.#state.player ?? PLAYER_START;
    this.#player = this.physics.add.sprite(start.x, start.y, Tex.Player0).setCollideWorldBounds(true);
    this.#player.setOrigin(0.5, 0.85);
    this.#player.body!.setSize(16, 10).setOffset(6, 29);
    const solids = this.#solidBodies();
    this.physics.add.collider(this.#player, solids);
    this.#gate = { ...this.#gate, body: gateBody };
    this.physics.add.collider(this.#player, gateBody);
    if (this.#state.gateOpen) this.#openGate(false);

    // Parley: each browser is one player with its own threads (see player.ts); the console is on backtick.
    this.#playerId = bench ? `bench-${Math.random().toString(36).slice(2, 8)}` : playerId();
    this.#fetch = playerFetch(this.#playerId);
    this.parley.connect({
      url: import.meta.env['VITE_PARLEY_URL'] ?? '',
      fetch: this.#fetch,
      console: 'backtick',
      // Off by default under automation (browser tests), so only the voice specs hear anything;
      // `?voice=on` or the HUD toggle turns it on, and the choice is remembered.
      voice: {
        enabled: params.get('voice') === 'on' || (params.get('voice') !== 'off' && !navigator.webdriver),
        // Hold V beside a villager (or the 🎤 button on a phone) and speak: the words land in the input.
        pushToTalk: {
          language: 'en',
          prompt: 'Brom, Tilda, Marta, Odo, Eastwatch, lantern, the north gate',
          onChange: (_state, problem) => {
            if (problem) this.#hud.toast(problem);
          },
        },
      },
    });
    this.parley.setPlayer(this.#player);
    for (const member of CAST) this.#addNpc(member, !bench);
    this.#syncFacts();

    this.#hud = new Hud();
    this.#hud.setVisible(false);
    // On touch screens, buttons stand in for the keys (Q is the quest log's own button).
    this.#hud.onAction((action) => {
      if (action === 'console') this.parley.toggleConsole();
      const voice = this.parley.voice;
      if (action === 'voice' && voice) {
        voice.muted = !voice.muted;
        this.#hud.setVoiceOn(!voice.muted);
      }
    });
    this.#hud.setVoiceOn(this.parley.voice?.muted === false);
    this.#connection = new ConnectionMonitor(import.meta.env['VITE_PARLEY_URL'] ?? '').start();
    this.#cleanups.push(this.#connection.on((c) => this.#hud.renderConnection(c)));
    this.#cleanups.push(this.#state.on((change) => this.#changed(change)));
    this.#hud.renderState(this.#state);
    this.#wireParleyEvents();
    this.#wireInput();
    this.#exposeTestHook();
    void this.#refreshBudget();

    // SHUTDOWN on restart (New game), DESTROY when the game goes (HMR).
    this.events.once(Phaser.Scenes.Events.SHUTDOWN, () => this.#shutdown());
    this.events.once(Phaser.Scenes.Events.DESTROY, () => this.#shutdown());

    if (bench) {
      this.#startBench(bench);
      return;
    }
    if (data.mode === 'play') this.#play();
    else this.#title();
  }

  override update(_time: number, delta: number): void {
    const body = this.#player.body as Phaser.Physics.Arcade.Body;
    if (this.#mode !== 'play') {
      body.setVelocity(0, 0);
      return;
    }
    const talking = this.parley.isTalking;
    const dx = Number(this.#held.has('right')) - Number(this.#held.has('left'));
    const dy = Number(this.#held.has('down')) - Number(this.#held.has('up'));
    let vx = 0;
    let vy = 0;
    if ((dx !== 0 || dy !== 0) && !talking) {
      this.#clearPath();
      vx = dx;
      vy = dy;
    } else if (this.#path.length > 0) {
      const feet = body.center;
      let target = this.#path[0]!;
      if (Phaser.Math.Distance.Between(feet.x, feet.y, target.x, target.y) < 5) {
        this.#path.shift();
        target = this.#path[0] ?? target;
      }
      if (this.#path.length === 0) this.#clearPath();
      else {
        vx = target.x - feet.x;
        vy = target.y - feet.y;
        // Give up on a path that makes no progress (something walked into the way).
        if (Math.hypot(feet.x - this.#stuck.x, feet.y - this.#stuck.y) > 6)
          this.#stuck = { x: feet.x, y: feet.y, ms: 0 };
        else {
          this.#stuck.ms += delta;
          if (this.#stuck.ms > 700) this.#clearPath();
        }
      }
    }
    const pending = this.#pendingTalk;
    if (pending?.inRange && !talking) {
      this.#clearPath();
      vx = 0;
      vy = 0;
      pending.talk();
    }
    body.setVelocity(vx, vy);
    if (vx !== 0 || vy !== 0) body.velocity.normalize().scale(SPEED);
    const moving = body.velocity.lengthSq() > 1;
    if (moving) {
      if (Math.abs(body.velocity.x) > 1) this.#player.setFlipX(body.velocity.x < 0);
      this.#stepMs += delta;
      if (this.#stepMs > 140) {
        this.#stepMs = 0;
        this.#player.setTexture(this.#player.texture.key === Tex.Player0 ? Tex.Player1 : Tex.Player0);
      }
    } else if (this.#player.texture.key !== Tex.Player0) this.#player.setTexture(Tex.Player0);
    this.#player.setDepth(this.#player.y);
    // The box moves when the screen is resized or turned: the history panel stays above it, clear of its name.
    if (this.#hud.historyVisible) {
      const box = this.#dialogueOnScreen();
      if (box) this.#hud.placeHistory(box);
    }

    // NPCs turn to face the player when close.
    for (const npc of this.#npcs.values()) {
      const sprite = npc.sprite as Phaser.GameObjects.Image;
      if (Math.abs(sprite.x - this.#player.x) < 160 && Math.abs(sprite.y - this.#player.y) < 160)
        sprite.setFlipX(this.#player.x < sprite.x - 4);
    }

    this.#boundsMs += delta;
    if (this.#boundsMs > 250) {
      this.#boundsMs = 0;
      this.#fitCamera();
    }
    this.#saveMs += delta;
    if (this.#saveMs > 2000) {
      this.#saveMs = 0;
      this.#state.setPlayer(this.#player.x, this.#player.y);
      this.#state.save();
    }
    if (this.#state.gateOpen && !this.#ended && this.#player.y < EXIT_ROW * TILE + 20) this.#leaveVillage();
  }

  // --- Modes -------------------------------------------------------------------------------------------

  #title(): void {
    this.#mode = 'title';
    const camera = this.cameras.main;
    camera.stopFollow();
    camera.setScroll(120, 360);
    this.#flyover = this.tweens.add({
      targets: camera,
      scrollX: WORLD.width - camera.width - 120,
      scrollY: 200,
      duration: 26_000,
      ease: 'Sine.easeInOut',
      yoyo: true,
      repeat: -1,
    });
    void showMenu(GameState.hasSave(localStorage)).then(async (choice) => {
      if (!this.#alive) return;
      if (choice.kind === 'new') {
        await this.#newGame();
        this.scene.restart({ mode: 'play' } satisfies SceneData);
        return;
      }
      if (choice.kind === 'start') {
        // A fresh start: no saved game, and none of the old conversations either.
        if (!GameState.hasSave(localStorage)) await this.#resetConversations();
      }
      this.#play();
    });
  }

  #play(): void {
    this.#mode = 'play';
    this.#flyover?.remove();
    this.#flyover = undefined;
    const camera = this.cameras.main;
    camera.startFollow(this.#player, true, 0.15, 0.15);
    camera.centerOn(this.#player.x, this.#player.y);
    this.#hud.setVisible(true);
    this.#hud.renderState(this.#state);
    this.#fitCamera();
    this.#state.save();
    this.game.canvas.focus();
  }

  /** "New game": deletes every NPC's thread for this player and the saved game. */
  async #newGame(): Promise<void> {
    await this.#resetConversations();
    try {
      localStorage.removeItem(SAVE_KEY);
    } catch {
      // nothing saved
    }
  }

  async #resetConversations(): Promise<void> {
    await Promise.all(
      [...this.#npcs.values()].map((npc) =>
        npc.npc
          .conversation({ key: npc.conversationKey })
          .reset()
          .catch(() => {
            // The proxy is down: forget the thread locally; the old one is never used again.
            try {
              localStorage.removeItem(`parley:thread:${npc.id}:${npc.conversationKey}`);
            } catch {
              // no storage
            }
          }),
      ),
    );
  }

  #leaveVillage(): void {
    this.#ended = true;
    this.#state.setQuest('done');
    this.#state.addLog('You walked out through the north gate onto the road to Harrowmere.');
    this.#clearPath();
    this.#held.clear();
    void showEnding().then(() => this.game.canvas.focus());
  }

  // --- Parley ------------------------------------------------------------------------------------------

  #addNpc(member: CastMember, ambient: boolean): void {
    const spot = NPC_SPOTS[member.id];
    const look = NPC_LOOK[member.id];
    const x = spot.x * TILE;
    const y = spot.y * TILE + 6;
    const sprite = this.add.image(x, y, look.tex).setOrigin(0.5, 0.92).setDepth(y);
    const label = this.add
      .text(x, y + 6, `${member.name} · ${member.title}`, {
        ...TEXT_STYLE,
        fontSize: '11px',
        strokeThickness: 3,
      })
      .setOrigin(0.5, 0)
      // Above the world (Tilda's stall, the player standing in front), below the plugin's bubbles (9 000+).
      .setDepth(8_990)
      .setAlpha(0.9);
    this.#labels.set(member.id, label);
    const npc = this.parley.addNpc(
      sprite,
      {
        id: member.npcId,
        name: member.name,
        instructions: member.instructions,
        ...(member.vectorStoreIds && { vectorStoreIds: [...member.vectorStoreIds] }),
      },
      {
        radius: look.radius,
        conversationKey: this.#playerId,
        voice: VILLAGER_VOICES[member.id],
        ...(ambient && {
          ambientBarks: { lines: this.#barker(member), every: 12_000, radius: 300 },
        }),
      },
    );
    const world: ToolWorld = {
      state: this.#state,
      tell: (id, text) => {
        const target = this.#npcs.get(id);
        target?.npc
          .conversation({ key: target.conversationKey })
          .tell(text)
          .catch(() => {});
      },
    };
    for (const [name, spec] of Object.entries(member.tools)) {
      npc.npc.tool(name, {
        description: spec.description,
        parameters: spec.parameters,
        run: (args: Record<string, unknown>) => {
          // Some changes (Tilda's stock) are saved without an event: the facts follow every tool call.
          const answer = spec.run(args, world);
          this.#syncFacts();
          return answer;
        },
      });
    }
    this.#npcs.set(member.id, npc);
  }

  /** Tells the villagers what the game has done (Parley facts, sent with every turn). */
  #syncFacts(): void {
    applyFacts(this.parley.client.facts, worldFacts(this.#state));
    for (const [id, npc] of this.#npcs) applyFacts(npc.npc.facts, npcFacts(id, this.#state));
  }

  /** A villager's ambient lines as things stand now, never the same line twice in a row. */
  #barker(member: CastMember): () => string | undefined {
    let last: string | undefined;
    return () => {
      const lines = barksNow(member.id, member.barks, this.#state).filter((line) => line !== last);
      last = lines[Math.floor(Math.random() * lines.length)] ?? last;
      return last;
    };
  }

  #wireParleyEvents(): void {
    const parley = this.parley;
    parley.on(ParleyEvents.TalkStart, ({ npc }) => {
      this.#held.clear();
      this.#pendingTalk = undefined;
      void this.#showHistory(npc);
    });
    parley.on(ParleyEvents.TalkEnd, () => this.#hud.hideHistory());
    parley.on(ParleyEvents.Console, ({ open }) => this.#hud.setConsoleOpen(open));
    parley.on(ParleyEvents.Reply, () => void this.#refreshBudget());
    parley.on(ParleyEvents.Error, ({ error }) => {
      console.warn('[parley]', error.code, error.message);
      if (error.code === 'network') void this.#connection.check();
      if (error.code === 'budget' || error.code === 'rate_limited') void this.#refreshBudget();
    });
  }

  /** Reopening a conversation shows its last lines: the thread lives on the proxy, across reloads. */
  async #showHistory(npc: ParleyNpc): Promise<void> {
    try {
      const { messages } = await npc.npc.conversation({ key: npc.conversationKey }).history({ limit: 6 });
      if (this.parley.activeNpc !== npc) return;
      // Odo's lines keep the markers of what they cite, as stored: the panel shows them as the box did.
      const lines = messages.map((m) => ({
        role: m.role,
        text: stripCitations(m.text),
        event: m.event === true,
      }));
      this.#hud.showHistory(npc.name, lines, this.#dialogueOnScreen());
    } catch {
      // No history (the proxy is down): the conversation still opens.
    }
  }

  /**
   * On a phone the HUD cards run across the top of the screen: the camera may scroll that much beyond the
   * north edge of the map, so Brom and the road out are never stuck under them.
   */
  #fitCamera(): void {
    const canvas = this.game.canvas.getBoundingClientRect();
    const sy = canvas.height / this.scale.height || 1;
    const covered = Math.round(this.#hud.coveredBelow(canvas.top) / sy);
    if (covered === this.#coveredTop) return;
    this.#coveredTop = covered;
    this.cameras.main.setBounds(0, -covered, WORLD.width, WORLD.height + covered);
    // …and keeps the player in the middle of what the cards leave free.
    this.cameras.main.setFollowOffset(0, covered / 2);
  }

  /** The dialogue box's top-left corner in CSS pixels of the viewport, while it is open. */
  #dialogueOnScreen(): { left: number; top: number } | undefined {
    const rect = this.parley.dialogueRect;
    if (!rect) return undefined;
    const camera = this.cameras.main;
    const canvas = this.game.canvas.getBoundingClientRect();
    const sx = canvas.width / this.scale.width;
    const sy = canvas.height / this.scale.height;
    return { left: canvas.left + (camera.x + rect.x) * sx, top: canvas.top + (camera.y + rect.y) * sy };
  }

  async #refreshBudget(): Promise<void> {
    const budget = await readBudget(this.#fetch, import.meta.env['VITE_PARLEY_URL'] ?? '');
    if (this.#alive) this.#hud.renderBudget(budget?.text, budget?.low);
  }

  // --- Input -------------------------------------------------------------------------------------------

  #wireInput(): void {
    const directions: Record<string, string> = {
      ArrowUp: 'up',
      KeyW: 'up',
      ArrowDown: 'down',
      KeyS: 'down',
      ArrowLeft: 'left',
      KeyA: 'left',
      ArrowRight: 'right',
      KeyD: 'right',
    };
    const typing = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement | null;
      return (
        target?.tagName === 'INPUT' || target?.tagName === 'TEXTAREA' || target?.isContentEditable === true
      );
    };
    const down = (event: KeyboardEvent) => {
      if (typing(event) || this.#mode !== 'play') return;
      const direction = directions[event.code];
      if (direction) {
        this.#held.add(direction);
        if (event.code.startsWith('Arrow')) event.preventDefault();
      } else if (event.code === 'KeyQ' && !event.repeat) this.#hud.toggleQuest();
    };
    const up = (event: KeyboardEvent) => {
      const direction = directions[event.code];
      if (direction) this.#held.delete(direction);
    };
    const blur = () => this.#held.clear();
    window.addEventListener('keydown', down, true);
    window.addEventListener('keyup', up, true);
    window.addEventListener('blur', blur);
    const save = () => {
      if (this.#mode !== 'play') return;
      this.#state.setPlayer(this.#player.x, this.#player.y);
      this.#state.save();
    };
    window.addEventListener('pagehide', save);
    this.#cleanups.push(() => {
      window.removeEventListener('keydown', down, true);
      window.removeEventListener('keyup', up, true);
      window.removeEventListener('blur', blur);
      window.removeEventListener('pagehide', save);
    });

    // Click or tap to walk there; on an NPC, walk up to them and start talking.
    this.input.on(
      Phaser.Input.Events.POINTER_DOWN,
      (pointer: Phaser.Input.Pointer, over: Phaser.GameObjects.GameObject[]) => {
        // (After the ending the player keeps exploring: the ending card is DOM and takes its own clicks.)
        if (this.#mode !== 'play') return;
        const camera = this.cameras.main;
        // Clicks on the dialogue box belong to it (they advance the text).
        const box = this.parley.dialogueRect;
        if (
          box &&
          pointer.y - camera.y >= box.y &&
          pointer.x - camera.x >= box.x &&
          pointer.x - camera.x <= box.x + box.width
        )
          return;
        const npc = [...this.#npcs.values()].find((n) => over.includes(n.sprite));
        if (npc) {
          if (npc === this.parley.activeNpc) return;
          if (npc.inRange) return; // the plugin opens the dialogue
          this.#walkTo(npc.sprite.x, npc.sprite.y + 20);
          this.#pendingTalk = npc;
          return;
        }
        this.#pendingTalk = undefined;
        this.#walkTo(pointer.worldX, pointer.worldY);
      },
    );
  }

  #walkTo(x: number, y: number): void {
    const body = this.#player.body as Phaser.Physics.Arcade.Body;
    const from = { x: Math.floor(body.center.x / TILE), y: Math.floor(body.center.y / TILE) };
    const target = {
      x: Phaser.Math.Clamp(Math.floor(x / TILE), 0, COLS - 1),
      y: Phaser.Math.Clamp(Math.floor(y / TILE), 0, ROWS - 1),
    };
    const start = this.#map.solid[from.y]?.[from.x] ? nearestWalkable(this.#map.solid, from) : from;
    const path = start && findPath(this.#map.solid, start, target);
    if (!path || path.length === 0) return;
    this.#path = path;
    this.#stuck = { x: body.center.x, y: body.center.y, ms: 0 };
    const last = path[path.length - 1]!;
    this.#marker
      .setPosition(last.x, last.y + 4)
      .setVisible(true)
      .setAlpha(1);
    this.tweens.killTweensOf(this.#marker);
    this.tweens.add({ targets: this.#marker, alpha: 0, duration: 900, delay: 300 });
  }

  #clearPath(): void {
    this.#path = [];
  }

  // --- World changes -----------------------------------------------------------------------------------

  #changed(change: Change): void {
    this.#hud.renderState(this.#state);
    this.#syncFacts();
    switch (change.kind) {
      case 'coins':
        this.#hud.toast(`${change.delta > 0 ? '+' : '−'}${coins(Math.abs(change.delta))}`);
        break;
      case 'item':
        this.#hud.toast(`${change.delta > 0 ? '+' : '−'} ${withArticle(ITEMS[change.item].name)}`);
        break;
      case 'quest':
        if (change.stage === 'lantern') this.#hud.toast('New quest: A Lantern for the Scholar');
        if (change.stage === 'oil') this.#hud.toast('Odo’s lantern needs the oil his chronicle names');
        if (change.stage === 'password') this.#hud.toast('You learned the night password');
        if (change.stage === 'done') this.#hud.toast('Quest complete!');
        break;
      case 'gate':
        this.#openGate(true);
        this.#hud.toast('The north gate opens!');
        break;
      case 'log':
        break;
    }
  }

  #openGate(animate: boolean): void {
    setGateOpen(this.#map, true);
    this.#gate.body.destroy();
    const { left, right } = this.#gate;
    if (!animate) {
      left.setScale(0.14, 1);
      right.setScale(0.14, 1);
      return;
    }
    this.tweens.add({
      targets: [left, right],
      scaleX: 0.14,
      duration: 1600,
      ease: 'Cubic.easeInOut',
      delay: 250,
    });
    this.cameras.main.shake(450, 0.004);
    const rand = seeded(3);
    for (let i = 0; i < 14; i++) {
      const puff = this.add
        .image(GATE.x * TILE + rand() * GATE.w * TILE, (GATE.y + GATE.h) * TILE - 4, Tex.Dust)
        .setDepth((GATE.y + GATE.h) * TILE + 2)
        .setAlpha(0.8);
      this.tweens.add({
        targets: puff,
        x: puff.x + (rand() - 0.5) * 60,
        y: puff.y - 10 - rand() * 20,
        alpha: 0,
        scale: 2 + rand() * 2,
        duration: 900 + rand() * 600,
        delay: 250 + rand() * 500,
        onComplete: () => puff.destroy(),
      });
    }
  }

  // --- Drawing -----------------------------------------------------------------------------------------

  #drawGround(): void {
    const data = this.#map.ground.map((row) => row.map((g) => (g === Ground.Grass ? -1 : g)));
    const map = this.make.tilemap({ data, tileWidth: TILE, tileHeight: TILE });
    const tiles = map.addTilesetImage(Tex.Tiles, Tex.Tiles, TILE, TILE, 0, 0);
    if (tiles) map.createLayer(0, tiles, 0, 0)?.setDepth(-10);
    // A few glints on the water.
    const rand = seeded(11);
    let glints = 0;
    for (let i = 0; i < 400 && glints < 26; i++) {
      const x = Math.floor(rand() * COLS);
      const y = Math.floor(rand() * ROWS);
      if (this.#map.ground[y]?.[x] !== Ground.Water) continue;
      glints++;
      const glint = this.add
        .image((x + rand()) * TILE, (y + rand()) * TILE, Tex.Sparkle)
        .setDepth(-9)
        .setAlpha(0);
      this.tweens.add({
        targets: glint,
        alpha: 0.9,
        duration: 900,
        yoyo: true,
        repeat: -1,
        delay: rand() * 3000,
        repeatDelay: 1500 + rand() * 2500,
      });
    }
  }

  #drawDecor(): void {
    const { ground, solid, trees, props, pond } = this.#map;
    const rand = seeded(99);
    for (let i = 0; i < 420; i++) {
      const x = rand() * WORLD.width;
      const y = rand() * WORLD.height;
      const tx = Math.floor(x / TILE);
      const ty = Math.floor(y / TILE);
      if (ground[ty]?.[tx] !== Ground.Grass || solid[ty]?.[tx]) continue;
      const key = i % 11 === 0 ? Tex.Rock : i % 5 === 0 ? Tex.FlowerRed : i % 3 === 0 ? Tex.Flower : Tex.Tuft;
      this.add.image(x, y, key).setDepth(key === Tex.Rock ? y - 6 : -5);
    }
    for (let a = 0; a < Math.PI * 2; a += 0.45) {
      const x = (pond.cx + Math.cos(a) * (pond.rx + 0.2)) * TILE;
      const y = (pond.cy + Math.sin(a) * (pond.ry + 0.2)) * TILE;
      if (a > 0.2 && a < 0.7) continue; // the jetty
      this.add.image(x, y, Tex.Reed).setOrigin(0.5, 1).setDepth(y);
    }
    for (const [dx, dy] of [
      [-1.5, -0.8],
      [0.8, 1.2],
      [-2.6, 0.9],
      [1.9, -1.1],
    ] as const)
      this.add.image((pond.cx + dx) * TILE, (pond.cy + dy) * TILE, Tex.Lily).setDepth(-8);
    for (const { x, y } of trees) {
      const px = (x + 0.5) * TILE;
      const py = (y + 1) * TILE - 2;
      const pine = (x * 7 + y * 3) % 5 === 0;
      this.add
        .image(px, py, pine ? Tex.Pine : Tex.Tree)
        .setOrigin(0.5, 0.95)
        .setDepth(py);
    }
    for (const prop of props) {
      const px = prop.x * TILE;
      const py = prop.y * TILE;
      const key = {
        well: Tex.Well,
        barrel: Tex.Barrel,
        crate: Tex.Crate,
        'fence-h': Tex.FenceH,
        'fence-v': Tex.FenceH,
        sign: Tex.Sign,
      }[prop.kind];
      this.add.image(px, py, key).setOrigin(0.5, 0.9).setDepth(py);
    }
    const sign = this.add
      .text(22.6 * TILE, 9.5 * TILE - 40, 'North gate ↑\nMarket ↓', {
        ...TEXT_STYLE,
        fontSize: '11px',
        align: 'center',
      })
      .setOrigin(0.5, 1);
    sign.setDepth(9.5 * TILE);
  }

  #drawBuildings(): void {
    const labels: Record<string, string> = {
      inn: 'The Gilded Goose',
      library: 'Library',
      stall: 'Tilda’s Wares',
    };
    for (const b of this.#map.buildings) {
      const key = {
        inn: Tex.Inn,
        library: Tex.Library,
        house: Tex.House,
        house2: Tex.House2,
        stall: Tex.Stall,
      }[b.kind];
      const cx = (b.x + b.w / 2) * TILE;
      const bottom = (b.y + b.h) * TILE + (b.kind === 'stall' ? 8 : 4);
      this.add
        .image(cx, bottom, key)
        .setOrigin(0.5, 1)
        .setDepth(bottom - 2);
      const label = labels[b.kind];
      if (label)
        this.add
          .text(cx, bottom + 2, label, {
            fontFamily: 'Georgia, "DejaVu Serif", serif',
            fontSize: '13px',
            color: '#f4e9d8',
            backgroundColor: '#5b3a22',
            padding: { x: 6, y: 2 },
          })
          .setOrigin(0.5, 0)
          .setDepth(bottom);
    }
  }

  /** The north wall, its towers and the two gate doors; returns the gate's blocking body. */
  #drawWallAndGate(): Phaser.GameObjects.Zone {
    const top = WALL_ROWS.y * TILE;
    const left = GATE.x * TILE;
    const right = (GATE.x + GATE.w) * TILE;
    const bottom = (WALL_ROWS.y + WALL_ROWS.h) * TILE;
    bakeTiled(this, Tex.WallBand, Tex.Wall, left, WALL_ROWS.h * TILE);
    this.add
      .image(0, top, Tex.WallBand)
      .setOrigin(0)
      .setDepth(bottom - 40);
    this.add
      .image(right, top, Tex.WallBand)
      .setOrigin(0)
      .setDepth(bottom - 40);
    this.add
      .image((left + right) / 2, bottom, Tex.GateArch)
      .setOrigin(0.5, 1)
      .setDepth(bottom - 41);
    const doorL = this.add
      .image(left + 4, bottom, Tex.GateLeft)
      .setOrigin(0, 1)
      .setDepth(bottom - 39);
    const doorR = this.add
      .image(right - 4, bottom, Tex.GateRight)
      .setOrigin(1, 1)
      .setDepth(bottom - 39);
    for (const x of [left - TILE, right + TILE])
      this.add
        .image(x, bottom + TILE, Tex.Tower)
        .setOrigin(0.5, 1)
        .setDepth(bottom + TILE);
    this.#gate = { left: doorL, right: doorR, body: undefined as unknown as Phaser.GameObjects.Zone };
    const zone = this.add.zone(
      (left + right) / 2,
      (GATE.y + GATE.h / 2) * TILE,
      GATE.w * TILE,
      GATE.h * TILE,
    );
    this.physics.add.existing(zone, true);
    return zone;
  }

  /** Static bodies for the solid tiles (the gate has its own), merged into horizontal runs. */
  #solidBodies(): Phaser.Physics.Arcade.StaticGroup {
    const group = this.physics.add.staticGroup();
    const { solid } = this.#map;
    const inGate = (x: number, y: number) =>
      x >= GATE.x && x < GATE.x + GATE.w && y >= GATE.y && y < GATE.y + GATE.h;
    for (let y = 0; y < ROWS; y++) {
      for (let x = 0; x < COLS; ) {
        if (!solid[y]![x] || inGate(x, y)) {
          x++;
          continue;
        }
        let end = x;
        while (end < COLS && solid[y]![end] && !inGate(end, y)) end++;
        const zone = this.add.zone(((x + end) / 2) * TILE, (y + 0.5) * TILE, (end - x) * TILE, TILE);
        group.add(zone);
        x = end;
      }
    }
    return group;
  }

  // --- Tests and benchmarks ----------------------------------------------------------------------------

  #exposeTestHook(): void {
    const scene = this;
    const hook: DemoTestHook = {
      get mode() {
        return scene.#mode;
      },
      get player() {
        const body = scene.#player.body as Phaser.Physics.Arcade.Body;
        return {
          x: Math.round(scene.#player.x),
          y: Math.round(scene.#player.y),
          tileX: Math.floor(body.center.x / TILE),
          tileY: Math.floor(body.center.y / TILE),
        };
      },
      get walking() {
        return scene.#path.length > 0 || scene.#pendingTalk !== undefined;
      },
      get nearNpc() {
        return scene.parley.nearestNpc()?.id ?? null;
      },
      get talking() {
        return scene.parley.activeNpc?.id ?? null;
      },
      get npcStates() {
        return Object.fromEntries([...scene.#npcs].map(([id, npc]) => [id, npc.state]));
      },
      get npcScreen() {
        const camera = scene.cameras.main;
        const canvas = scene.game.canvas.getBoundingClientRect();
        const sx = canvas.width / scene.scale.width;
        const sy = canvas.height / scene.scale.height;
        return Object.fromEntries(
          [...scene.#npcs].map(([id, npc]) => [
            id,
            {
              x: Math.round(canvas.left + (npc.sprite.x - camera.worldView.x) * sx),
              y: Math.round(canvas.top + (npc.sprite.y - 20 - camera.worldView.y) * sy),
            },
          ]),
        );
      },
      get quest() {
        return scene.#state.quest;
      },
      get coins() {
        return scene.#state.coins;
      },
      get inventory() {
        return Object.fromEntries(scene.#state.inventory.map(({ item, count }) => [item, count]));
      },
      get gateOpen() {
        return scene.#state.gateOpen;
      },
      get connection() {
        return scene.#connection.state.kind;
      },
      get playerId() {
        return scene.#playerId;
      },
      get npcIds() {
        return Object.fromEntries([...scene.#npcs].map(([id, npc]) => [id, npc.id]));
      },
      get consoleOpen() {
        return scene.parley.consoleOpen;
      },
      get log() {
        return scene.#state.log.map((entry) => entry.text);
      },
      get coveredLabels() {
        const covered: string[] = [];
        for (const [id, label] of scene.#labels) {
          const box = label.getBounds();
          const over = scene.children.list.some((object) => {
            const o = object as Phaser.GameObjects.Image;
            // (The plugin's bubbles and prompts, 9 000 and up, are meant to sit over everything.)
            if (object === label || !o.visible || o.alpha === 0 || o.depth <= label.depth || o.depth >= 9_000)
              return false;
            if (typeof o.getBounds !== 'function') return false;
            return Phaser.Geom.Intersects.RectangleToRectangle(box, o.getBounds());
          });
          if (over) covered.push(id);
        }
        return covered;
      },
      get dialogueTop() {
        return scene.#dialogueOnScreen()?.top ?? null;
      },
      get view() {
        const camera = scene.cameras.main;
        const canvas = scene.game.canvas.getBoundingClientRect();
        return {
          scrollX: camera.worldView.x,
          scrollY: camera.worldView.y,
          left: canvas.left + camera.x,
          top: canvas.top + camera.y,
          sx: canvas.width / scene.scale.width,
          sy: canvas.height / scene.scale.height,
        };
      },
      get size() {
        return { width: scene.scale.width, height: scene.scale.height };
      },
    };
    window.__parleyDemo = Object.freeze(hook);
  }

  /**
   * Debug-only (`?bench=idle|stream|overview`), for test/bench/frames.ts: frames the four NPCs and, with
   * `stream`, keeps all four talking at once (each reply streamed into its speech bubble) on a throwaway
   * player; `overview` shows the whole map (the README's picture). Never reached in normal play.
   */
  #startBench(kind: string): void {
    this.#mode = 'play';
    const xs = [...this.#npcs.values()].map((n) => n.sprite.x);
    const ys = [...this.#npcs.values()].map((n) => n.sprite.y);
    this.#player.setPosition(25.5 * TILE, 16 * TILE);
    this.cameras.main.centerOn(
      (Math.min(...xs) + Math.max(...xs)) / 2,
      (Math.min(...ys) + Math.max(...ys)) / 2 - 30,
    );
    this.#hud.setVisible(kind !== 'overview');
    if (kind === 'overview') {
      // The whole village at once, for the README.
      this.#player.setPosition(24.5 * TILE, 24 * TILE);
      this.cameras.main
        .setZoom(this.scale.width / WORLD.width)
        .centerOn(WORLD.width / 2, WORLD.height / 2 - 40);
    }
    const stats = { streams: 0, deltas: 0, turns: 0, errors: 0 };
    (window as unknown as { __parleyBench: typeof stats }).__parleyBench = stats;
    if (kind !== 'stream') return;
    const lines: Record<NpcId, string> = {
      brom: 'Who are you, and what do you guard?',
      tilda: 'Tell me about the lantern from Harrowmere.',
      marta: 'Any rumours about Odo and his lantern?',
      odo: 'Tell me about Eastwatch, the Silverrun and the Long Winter.',
    };
    for (const [id, npc] of this.#npcs) {
      const conversation = npc.npc.conversation({ key: `${this.#playerId}-${id}` });
      // Each reply streams into a speech bubble over the NPC, re-laid out on every token.
      const bubble = this.add
        .text(npc.sprite.x, npc.sprite.y - 60, '', {
          fontFamily: TEXT_STYLE.fontFamily,
          fontSize: '13px',
          color: '#2a1d14',
          backgroundColor: '#fffaf0',
          padding: { x: 8, y: 5 },
          wordWrap: { width: 200, useAdvancedWrap: true },
          align: 'center',
        })
        .setOrigin(0.5, 1)
        .setDepth(9_500);
      const loop = async () => {
        stats.streams++;
        while (this.#alive) {
          const turn = conversation.say(lines[id]);
          for await (const event of turn) {
            if (event.type === 'text.delta') {
              stats.deltas++;
              bubble.setText(event.text.length > 90 ? `…${event.text.slice(-88)}` : event.text);
            } else if (event.type === 'error') stats.errors++;
          }
          stats.turns++;
        }
      };
      void loop();
    }
  }

  #shutdown(): void {
    if (!this.#alive) return;
    this.#alive = false;
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
    this.#connection?.stop();
    this.#hud?.destroy();
    this.#flyover?.remove();
    delete window.__parleyDemo;
  }
}
