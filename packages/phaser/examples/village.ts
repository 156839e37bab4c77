import { ParleyEvents, SUGGESTIONS_INSTRUCTIONS } from '@parley/phaser';
import * as Phaser from 'phaser';

/** A guard who can open the gate and a player who walks with the arrow keys: shapes, no assets to load. */
export class Village extends Phaser.Scene {
  private player!: Phaser.GameObjects.Rectangle;
  private gate!: Phaser.GameObjects.Rectangle;
  private keys: Phaser.Types.Input.Keyboard.CursorKeys | undefined;

  constructor() {
    super('village');
  }

  create(): void {
    this.add.text(16, 16, 'Arrow keys: walk · E or a click on Brom: talk · Enter: say it · Esc: leave', {
      color: '#f4e9d8',
      fontSize: '16px',
    });
    this.gate = this.add.rectangle(400, 100, 160, 20, 0x8b5a2b);
    const guard = this.add.rectangle(400, 170, 28, 40, 0xd98c4a);
    this.player = this.add.rectangle(400, 230, 28, 40, 0x4a90d9);
    this.keys = this.input.keyboard?.createCursorKeys();

    this.parley.setPlayer(this.player);
    const brom = this.parley.addNpc(
      guard,
      {
        id: 'gate-guard',
        name: 'Brom',
        instructions: `A gruff guard of Eastwatch's gate. The gate is closed at night.\n${SUGGESTIONS_INSTRUCTIONS}`,
      },
      { radius: 80, ambientBarks: { lines: ['Cold night.', 'Move along.'] } },
    );
    brom.tool('open_gate', { description: 'Open the north gate.', run: () => this.openGate() });
    brom.bark('Halt! Who goes there?');
    this.parley.on(ParleyEvents.Reply, ({ npc, text }) => console.log(npc.name, 'said', text));
  }

  override update(_time: number, delta: number): void {
    if (this.parley.isTalking || !this.keys) return; // freeze the player while the dialogue is open
    const step = 0.25 * delta;
    const { left, right, up, down } = this.keys;
    this.player.x += (Number(right.isDown) - Number(left.isDown)) * step;
    this.player.y += (Number(down.isDown) - Number(up.isDown)) * step;
  }

  /** What the tool returns is what Brom is told. */
  private openGate(): string {
    if (!this.gate.visible) return 'The gate is already open.';
    this.gate.setVisible(false);
    return 'The gate is open.';
  }
}
