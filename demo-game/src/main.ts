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

/**
 * The game's size in game pixels for a screen of `width` × `height` CSS pixels. A large screen shows the
 * 960×600 village scaled to fit. A small one (a phone, either way up) would shrink that to a strip with
 * 7 px text, so there the game takes the screen's own shape at one game pixel per CSS pixel: the whole
 * screen, and the dialogue box's 18 px text at 18 CSS px.
 */
function gameSize(width: number, height: number): { width: number; height: number } {
  const fit = Math.min(width / 960, height / 600);
  // Below this the dialogue text (18 game px) would be smaller than 14 CSS px.
  if (fit >= 0.8) return { width: 960, height: 600 };
  return { width: Math.max(320, Math.round(width)), height: Math.max(320, Math.round(height)) };
}

const screen = () => {
  const parent = document.getElementById('game');
  return gameSize(parent?.clientWidth || innerWidth, parent?.clientHeight || innerHeight);
};
const initial = screen();

const game = new Phaser.Game({
  type: rendererType(),
  parent: 'game',
  width: initial.width,
  height: initial.height,
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

// A phone turned round, a window resized, an on-screen keyboard opening: the game follows the screen.
const fitScreen = () => {
  const { width, height } = screen();
  if (width !== game.scale.gameSize.width || height !== game.scale.gameSize.height)
    game.scale.setGameSize(width, height);
};
addEventListener('resize', fitScreen);

if (import.meta.hot) {
  import.meta.hot.dispose(() => {
    removeEventListener('resize', fitScreen);
    game.destroy(true);
  });
  import.meta.hot.accept();
}
