import { parleyPluginConfig } from '@parley/phaser';
import * as Phaser from 'phaser';

class Tavern extends Phaser.Scene {
  create(): void {
    const player = this.add.rectangle(400, 300, 28, 40, 0x4a90d9);
    const innkeeper = this.add.rectangle(440, 300, 28, 40, 0xd98c4a);
    this.parley.setPlayer(player);
    this.parley.addNpc(innkeeper, {
      id: 'mira',
      name: 'Mira',
      instructions: 'Mira runs the Crooked Kettle inn.',
    });
  }
}

// url: '' is the page's own origin: the dev server forwards /v1 to the proxy (see "Reach the proxy").
new Phaser.Game({
  width: 800,
  height: 600,
  plugins: { scene: [parleyPluginConfig({ url: '' })] },
  scene: [Tavern],
});
