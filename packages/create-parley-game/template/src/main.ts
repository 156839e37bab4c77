import { parleyPluginConfig, removeParleyPlugin } from '@parley/phaser';
import * as Phaser from 'phaser';
import { Village } from './village';

// Phaser caches scene plugins by key and ignores a second registration: drop the old one, so that a hot
// update (Vite HMR) brings the new code.
removeParleyPlugin();

const game = new Phaser.Game({
  type: Phaser.AUTO,
  parent: 'game',
  width: 800,
  height: 600,
  backgroundColor: '#2b2536',
  scale: { mode: Phaser.Scale.FIT, autoCenter: Phaser.Scale.CENTER_BOTH },
  // url: '' is this page's own origin: Vite forwards /v1 to the Parley proxy (vite.config.ts). The debug
  // console (the ` key) only in development.
  plugins: { scene: [parleyPluginConfig({ url: '', console: import.meta.env.DEV ? 'backtick' : false })] },
  scene: [Village],
});

if (import.meta.hot) {
  import.meta.hot.dispose(() => game.destroy(true));
  import.meta.hot.accept();
}
