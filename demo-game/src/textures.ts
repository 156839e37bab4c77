import type * as Phaser from 'phaser';

/** Every texture the demo uses, drawn in code: nothing is downloaded. */
export const Tex = {
  Grass: 'grass',
  Path: 'path',
  Wall: 'wall',
  Gate: 'gate',
  Tower: 'tower',
  Tree: 'tree',
  Rock: 'rock',
  Flower: 'flower',
  Player: 'player',
  Guard: 'guard',
  Shadow: 'shadow',
  Tuft: 'tuft',
  Road: 'road',
  Crossroad: 'crossroad',
  WallBand: 'wall-band',
} as const;

// Deterministic scatter, so the field looks the same on every load (and in screenshots).
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function makeTextures(scene: Phaser.Scene): void {
  const g = scene.make.graphics({}, false);
  const bake = (key: string, width: number, height: number, draw: () => void) => {
    if (scene.textures.exists(key)) return;
    g.clear();
    draw();
    g.generateTexture(key, width, height);
  };
  const rand = seeded(7);

  bake(Tex.Grass, 64, 64, () => {
    g.fillStyle(0x5a8c3e).fillRect(0, 0, 64, 64);
    for (let i = 0; i < 40; i++) {
      g.fillStyle(rand() > 0.5 ? 0x6d9f47 : 0x4a7a33, 0.9);
      g.fillRect(Math.floor(rand() * 62), Math.floor(rand() * 61), 2, 3);
    }
  });
  bake(Tex.Tuft, 10, 7, () => {
    g.fillStyle(0x4a7a33).fillTriangle(0, 7, 3, 0, 4, 7).fillTriangle(3, 7, 6, 1, 7, 7);
    g.fillStyle(0x6d9f47).fillTriangle(5, 7, 9, 2, 10, 7);
  });
  bake(Tex.Path, 64, 64, () => {
    g.fillStyle(0xa7865a).fillRect(0, 0, 64, 64);
    for (let i = 0; i < 18; i++) {
      g.fillStyle(rand() > 0.5 ? 0x8f704a : 0xbd9c6c, 1);
      g.fillCircle(rand() * 64, rand() * 64, 1 + rand() * 2);
    }
  });
  bake(Tex.Wall, 64, 96, () => {
    g.fillStyle(0x6f6a63).fillRect(0, 0, 64, 96);
    for (let row = 0; row < 6; row++) {
      const offset = row % 2 ? 16 : 0;
      for (let col = -1; col < 3; col++) {
        g.fillStyle(row % 3 === 0 ? 0x817b72 : 0x7a746b).fillRect(
          col * 32 + offset + 1,
          row * 16 + 1,
          30,
          14,
        );
      }
    }
    g.fillStyle(0x59544e).fillRect(0, 0, 64, 6);
    g.fillStyle(0x4b4742).fillRect(0, 90, 64, 6);
  });
  bake(Tex.Tower, 80, 150, () => {
    g.fillStyle(0x5f5a54).fillRect(0, 20, 80, 130);
    for (let i = 0; i < 4; i++) g.fillStyle(0x5f5a54).fillRect(i * 22, 0, 14, 22);
    for (let row = 0; row < 8; row++) {
      const offset = row % 2 ? 10 : 0;
      for (let col = -1; col < 4; col++)
        g.fillStyle(0x6c665f).fillRect(col * 22 + offset + 1, 26 + row * 15, 20, 13);
    }
    g.fillStyle(0x2a2622).fillRect(34, 50, 12, 22);
  });
  bake(Tex.Gate, 128, 110, () => {
    g.fillStyle(0x4b4742).fillRect(0, 0, 128, 110);
    g.fillStyle(0x2b211a).fillRoundedRect(10, 14, 108, 96, { tl: 50, tr: 50, bl: 0, br: 0 });
    g.fillStyle(0x6b4a2c).fillRoundedRect(14, 18, 100, 92, { tl: 46, tr: 46, bl: 0, br: 0 });
    for (let x = 14; x < 114; x += 12) g.fillStyle(0x5a3d24).fillRect(x, 18, 2, 92);
    g.fillStyle(0x2f2f33).fillRect(14, 48, 100, 6).fillRect(14, 86, 100, 6);
    g.fillStyle(0x1e1a16).fillRect(63, 30, 2, 80);
    g.fillStyle(0xc9a66b).fillCircle(56, 72, 3).fillCircle(72, 72, 3);
  });
  bake(Tex.Tree, 72, 92, () => {
    g.fillStyle(0x000000, 0.2).fillEllipse(36, 86, 50, 12);
    g.fillStyle(0x6b4a2c).fillRect(31, 56, 10, 30);
    g.fillStyle(0x2f5e2a).fillCircle(36, 36, 30);
    g.fillStyle(0x3c7434).fillCircle(28, 30, 20).fillCircle(46, 40, 20);
    g.fillStyle(0x4c8a3f).fillCircle(30, 24, 10);
  });
  bake(Tex.Rock, 30, 20, () => {
    g.fillStyle(0x000000, 0.2).fillEllipse(15, 16, 28, 8);
    g.fillStyle(0x8b8680).fillEllipse(15, 11, 26, 16);
    g.fillStyle(0xa39e97).fillEllipse(12, 8, 12, 6);
  });
  bake(Tex.Flower, 10, 10, () => {
    g.fillStyle(0xf2d15c).fillCircle(5, 5, 2);
    g.fillStyle(0xffffff).fillCircle(2, 5, 2).fillCircle(8, 5, 2).fillCircle(5, 2, 2).fillCircle(5, 8, 2);
    g.fillStyle(0xf2d15c).fillCircle(5, 5, 1.5);
  });
  bake(Tex.Shadow, 32, 10, () => {
    g.fillStyle(0x000000, 0.25).fillEllipse(16, 5, 30, 9);
  });
  bake(Tex.Player, 28, 40, () => {
    g.fillStyle(0x3b2f2a).fillRect(8, 30, 5, 9).fillRect(15, 30, 5, 9); // legs
    g.fillStyle(0x2f6db5).fillRoundedRect(5, 16, 18, 17, 4); // tunic
    g.fillStyle(0x7a5230).fillRect(5, 27, 18, 3); // belt
    g.fillStyle(0xf1c9a0).fillCircle(14, 10, 8); // head
    g.fillStyle(0x6b3f1f).fillRoundedRect(6, 1, 16, 7, { tl: 7, tr: 7, bl: 1, br: 1 }); // hair
    g.fillStyle(0x222222).fillRect(10, 10, 2, 2).fillRect(16, 10, 2, 2); // eyes
  });
  bake(Tex.Guard, 40, 56, () => {
    g.fillStyle(0x8a6a44).fillRect(33, 8, 3, 46); // spear shaft
    g.fillStyle(0xcfd3d8).fillTriangle(30, 11, 39, 11, 34.5, 0); // spear head
    g.fillStyle(0x3b3b40).fillRect(10, 42, 6, 12).fillRect(19, 42, 6, 12); // legs
    g.fillStyle(0x8d949c).fillRoundedRect(6, 20, 24, 24, 5); // mail
    g.fillStyle(0xa8312c).fillRect(11, 20, 14, 24); // tabard
    g.fillStyle(0xe8c15a).fillRect(16, 26, 4, 10); // emblem
    g.fillStyle(0x5b3a22).fillRect(6, 38, 24, 3); // belt
    g.fillStyle(0xe0b48c).fillCircle(18, 13, 8); // face
    g.fillStyle(0x7b5a3a).fillRect(12, 16, 12, 4); // beard
    g.fillStyle(0x9aa2ab).fillRoundedRect(9, 2, 18, 9, { tl: 8, tr: 8, bl: 0, br: 0 }); // helmet
    g.fillStyle(0x747c86).fillRect(17, 2, 2, 16); // nose guard
    g.fillStyle(0x222222).fillRect(14, 12, 2, 2).fillRect(20, 12, 2, 2);
  });
  g.destroy();
}

/**
 * Bakes a `width` × `height` area tiled with `tile` into its own texture (roads, the wall), so each is one
 * quad. Big textured quads are what software WebGL (headless Chromium's SwiftShader) is slowest at, so
 * the grass is the camera's clear colour and only the roads, the wall and small things are textured.
 */
export function bakeTiled(
  scene: Phaser.Scene,
  key: string,
  tile: string,
  width: number,
  height: number,
): void {
  if (scene.textures.exists(key)) return;
  const texture = scene.textures.createCanvas(key, width, height);
  if (!texture) return;
  const pattern = texture.context.createPattern(
    scene.textures.get(tile).getSourceImage() as HTMLCanvasElement,
    'repeat',
  );
  if (pattern) {
    texture.context.fillStyle = pattern;
    texture.context.fillRect(0, 0, width, height);
  }
  texture.refresh();
}
