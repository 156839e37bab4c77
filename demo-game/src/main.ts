import { parleyPluginConfig, removeParleyPlugin } from '@parley/phaser';
import * as Phaser from 'phaser';
import { VillageScene } from './village-scene.js';

// Under HMR this module runs again: drop the previous plugin class so Phaser installs the new one.
removeParleyPlugin();

/**
 * WebGL, unless it is emulated in software (SwiftShader, llvmpipe: headless browsers, VMs, old drivers),
 * where Phaser's Canvas renderer is several times faster for a scene of many small sprites.
 * `?renderer=canvas` or `?renderer=webgl` overrides.
 */
function rendererType(): number {
  const wanted = new URLSearchParams(location.search).get('renderer');
  if (wanted === 'canvas') return Phaser.CANVAS;
  if (wanted === 'webgl') return Phaser.WEBGL;
  try {
    const gl = document.createElement('canvas').getContext('webgl');
    if (!gl) return Phaser.CANVAS;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return /swiftshader|llvmpipe|softpipe|software/i.test(renderer) ? Phaser.CANVAS : Phaser.WEBGL;
  } catch {
    return Phaser.AUTO;
  }
}

const game = new Phaser.Game({
  type: rendererType(),
  parent: 'game',
  width: 960,
  height: 600,
  backgroundColor: '#141b12',
  banner: false,
  pixelArt: false,
  // Phaser slows time for `panicMax` frames after start or a tab switch; on a slow machine the default
  // (120 frames) makes the first seconds play in slow motion.
  fps: { panicMax: 10 },
  scale: { mode: Phaser.Scale.FIT, autoCenter: Phaser.Scale.CENTER_BOTH },
  physics: { default: 'arcade', arcade: { debug: false } },
  // The scene connects itself (it names the player on each request): see village-scene.ts.
  plugins: { scene: [parleyPluginConfig()] },
  scene: [VillageScene],
});

if (import.meta.hot) {
  import.meta.hot.dispose(() => game.destroy(true));
  import.meta.hot.accept();
}
