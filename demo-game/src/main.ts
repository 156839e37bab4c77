import { PARLEY_PLUGIN_KEY, parleyPluginConfig } from '@parley/phaser';
import * as Phaser from 'phaser';
import { GateScene } from './gate-scene.js';

// Under HMR this module runs again: drop the previous plugin class so Phaser installs the new one.
Phaser.Plugins.PluginCache.remove(PARLEY_PLUGIN_KEY);

const game = new Phaser.Game({
  // `?renderer=canvas` forces the Canvas renderer (for machines whose WebGL is software-emulated).
  type: new URLSearchParams(location.search).get('renderer') === 'canvas' ? Phaser.CANVAS : Phaser.AUTO,
  parent: 'game',
  width: 960,
  height: 600,
  backgroundColor: '#141b12',
  banner: false,
  // Phaser slows time for `panicMax` frames after start or a tab switch; on a slow machine the default
  // (120 frames) makes the first seconds play in slow motion.
  fps: { panicMax: 10 },
  scale: { mode: Phaser.Scale.FIT, autoCenter: Phaser.Scale.CENTER_BOTH },
  physics: { default: 'arcade', arcade: { debug: false } },
  // '' = this page's origin: the dev server forwards /v1 to the Parley proxy.
  plugins: { scene: [parleyPluginConfig({ url: import.meta.env['VITE_PARLEY_URL'] ?? '' })] },
  scene: [GateScene],
});

if (import.meta.hot) {
  import.meta.hot.dispose(() => game.destroy(true));
  import.meta.hot.accept();
}
