import type * as Phaser from 'phaser';
import { seeded, TILE } from './world.js';

/** Every texture the demo uses, drawn in code: nothing is downloaded. */
export const Tex = {
  Tiles: 'tiles',
  Path: 'path',
  Wall: 'wall',
  WallBand: 'wall-band',
  GateLeft: 'gate-left',
  GateRight: 'gate-right',
  GateArch: 'gate-arch',
  Tower: 'tower',
  Tree: 'tree',
  Pine: 'pine',
  Rock: 'rock',
  Flower: 'flower',
  FlowerRed: 'flower-red',
  Tuft: 'tuft',
  Reed: 'reed',
  Lily: 'lily',
  Sparkle: 'sparkle',
  Shadow: 'shadow',
  Player0: 'player-0',
  Player1: 'player-1',
  Guard: 'guard',
  Merchant: 'merchant',
  Innkeeper: 'innkeeper',
  Scholar: 'scholar',
  Inn: 'inn',
  Library: 'library',
  House: 'house',
  House2: 'house2',
  Stall: 'stall',
  Well: 'well',
  Barrel: 'barrel',
  Crate: 'crate',
  FenceH: 'fence-h',
  Sign: 'signpost',
  Marker: 'marker',
  Dust: 'dust',
} as const;

/** Ground tiles, by index in the generated tileset (see `Ground` in world.ts). */
const TILESET_ORDER = ['path', 'cobble', 'water', 'bridge', 'plank', 'sand'] as const;

export function makeTextures(scene: Phaser.Scene): void {
  const g = scene.make.graphics({}, false);
  const bake = (key: string, width: number, height: number, draw: () => void) => {
    if (scene.textures.exists(key)) return;
    g.clear();
    draw();
    g.generateTexture(key, width, height);
  };
  const rand = seeded(7);

  // --- Ground tileset: one 32 px tile per ground kind, side by side. ---------------------------------
  bake(Tex.Tiles, TILE * TILESET_ORDER.length, TILE, () => {
    TILESET_ORDER.forEach((kind, i) => {
      const ox = i * TILE;
      switch (kind) {
        case 'path':
          g.fillStyle(0xa7865a).fillRect(ox, 0, TILE, TILE);
          for (let k = 0; k < 10; k++) {
            g.fillStyle(rand() > 0.5 ? 0x8f704a : 0xbd9c6c, 1);
            g.fillCircle(ox + 2 + rand() * 28, 2 + rand() * 28, 1 + rand() * 1.5);
          }
          break;
        case 'cobble':
          g.fillStyle(0x8a8276).fillRect(ox, 0, TILE, TILE);
          for (let row = 0; row < 4; row++)
            for (let col = -1; col < 3; col++) {
              const x = ox + col * 12 + (row % 2 ? 6 : 0) + 1;
              g.fillStyle([0x9d958a, 0xa59d90, 0x958d80][(row + col + 3) % 3]!).fillRoundedRect(
                Math.max(ox, x),
                row * 8 + 1,
                Math.min(10, ox + TILE - Math.max(ox, x)),
                6,
                2,
              );
            }
          break;
        case 'water':
          g.fillStyle(0x3f7fb3).fillRect(ox, 0, TILE, TILE);
          g.fillStyle(0x5595c6, 1)
            .fillRect(ox + 4, 8, 10, 2)
            .fillRect(ox + 18, 22, 9, 2);
          g.fillStyle(0x346c9a, 1).fillRect(ox + 14, 14, 8, 2);
          break;
        case 'bridge':
          g.fillStyle(0x3f7fb3).fillRect(ox, 0, TILE, TILE);
          g.fillStyle(0x8a6238).fillRect(ox, 2, TILE, 28);
          for (let x = 0; x < TILE; x += 8) g.fillStyle(0x6d4b2a).fillRect(ox + x, 2, 1, 28);
          g.fillStyle(0x5a3d24).fillRect(ox, 0, TILE, 3).fillRect(ox, 29, TILE, 3);
          break;
        case 'plank':
          g.fillStyle(0x8a6238).fillRect(ox, 4, TILE, 24);
          for (let x = 0; x < TILE; x += 8) g.fillStyle(0x6d4b2a).fillRect(ox + x, 4, 1, 24);
          break;
        case 'sand':
          g.fillStyle(0xc7b27f).fillRect(ox, 0, TILE, TILE);
          for (let k = 0; k < 8; k++) g.fillStyle(0xb39d6a).fillCircle(ox + rand() * 32, rand() * 32, 1);
          break;
      }
    });
  });
  bake(Tex.Path, 64, 64, () => {
    g.fillStyle(0xa7865a).fillRect(0, 0, 64, 64);
  });

  // --- Wall, gate and towers. ------------------------------------------------------------------------
  bake(Tex.Wall, 64, 96, () => {
    g.fillStyle(0x6f6a63).fillRect(0, 0, 64, 96);
    for (let row = 0; row < 6; row++) {
      const offset = row % 2 ? 16 : 0;
      for (let col = -1; col < 3; col++)
        g.fillStyle(row % 3 === 0 ? 0x817b72 : 0x7a746b).fillRect(
          col * 32 + offset + 1,
          row * 16 + 1,
          30,
          14,
        );
    }
    g.fillStyle(0x59544e).fillRect(0, 0, 64, 6);
    for (let x = 0; x < 64; x += 16) g.fillStyle(0x59544e).fillRect(x, -1, 9, 4);
    g.fillStyle(0x4b4742).fillRect(0, 90, 64, 6);
  });
  bake(Tex.GateArch, 128, 100, () => {
    g.fillStyle(0x2b211a).fillRoundedRect(0, 4, 128, 96, { tl: 56, tr: 56, bl: 0, br: 0 });
    g.fillStyle(0x4d6b3a).fillRect(8, 60, 112, 40);
    g.fillStyle(0xa7865a).fillRect(32, 60, 64, 40);
  });
  const door = (key: string, flip: boolean) =>
    bake(key, 60, 92, () => {
      g.fillStyle(0x6b4a2c).fillRoundedRect(
        0,
        0,
        60,
        92,
        flip ? { tl: 0, tr: 46, bl: 0, br: 0 } : { tl: 46, tr: 0, bl: 0, br: 0 },
      );
      for (let x = 4; x < 60; x += 11) g.fillStyle(0x5a3d24).fillRect(x, 4, 2, 88);
      g.fillStyle(0x2f2f33).fillRect(0, 34, 60, 6).fillRect(0, 72, 60, 6);
      g.fillStyle(0xc9a66b).fillCircle(flip ? 8 : 52, 58, 3);
    });
  door(Tex.GateLeft, false);
  door(Tex.GateRight, true);
  bake(Tex.Tower, 72, 164, () => {
    g.fillStyle(0x000000, 0.18).fillEllipse(36, 158, 70, 12);
    g.fillStyle(0x5f5a54).fillRect(2, 22, 68, 136);
    for (let i = 0; i < 4; i++) g.fillStyle(0x5f5a54).fillRect(2 + i * 19, 0, 12, 24);
    for (let row = 0; row < 9; row++) {
      const offset = row % 2 ? 10 : 0;
      for (let col = -1; col < 4; col++)
        g.fillStyle(0x6c665f).fillRect(Math.max(2, col * 22 + offset + 3), 28 + row * 14, 19, 12);
    }
    g.fillStyle(0x2a2622).fillRoundedRect(29, 52, 14, 24, { tl: 7, tr: 7, bl: 0, br: 0 });
    g.fillStyle(0xf2c45a, 0.8).fillRect(33, 60, 6, 8);
  });

  // --- Plants and small things. ----------------------------------------------------------------------
  bake(Tex.Tree, 72, 92, () => {
    g.fillStyle(0x000000, 0.2).fillEllipse(36, 86, 50, 12);
    g.fillStyle(0x6b4a2c).fillRect(31, 56, 10, 30);
    g.fillStyle(0x2f5e2a).fillCircle(36, 36, 30);
    g.fillStyle(0x3c7434).fillCircle(28, 30, 20).fillCircle(46, 40, 20);
    g.fillStyle(0x4c8a3f).fillCircle(30, 24, 10);
  });
  bake(Tex.Pine, 56, 96, () => {
    g.fillStyle(0x000000, 0.2).fillEllipse(28, 90, 40, 10);
    g.fillStyle(0x5a3d24).fillRect(24, 70, 8, 20);
    g.fillStyle(0x24503a).fillTriangle(28, 0, 4, 48, 52, 48);
    g.fillStyle(0x2b5e43).fillTriangle(28, 18, 0, 76, 56, 76);
    g.fillStyle(0x336e4e).fillTriangle(28, 8, 16, 34, 36, 34);
  });
  bake(Tex.Rock, 30, 20, () => {
    g.fillStyle(0x000000, 0.2).fillEllipse(15, 16, 28, 8);
    g.fillStyle(0x8b8680).fillEllipse(15, 11, 26, 16);
    g.fillStyle(0xa39e97).fillEllipse(12, 8, 12, 6);
  });
  bake(Tex.Flower, 10, 10, () => {
    g.fillStyle(0xffffff).fillCircle(2, 5, 2).fillCircle(8, 5, 2).fillCircle(5, 2, 2).fillCircle(5, 8, 2);
    g.fillStyle(0xf2d15c).fillCircle(5, 5, 1.8);
  });
  bake(Tex.FlowerRed, 10, 10, () => {
    g.fillStyle(0xd9534f).fillCircle(2, 5, 2).fillCircle(8, 5, 2).fillCircle(5, 2, 2).fillCircle(5, 8, 2);
    g.fillStyle(0xf7e08a).fillCircle(5, 5, 1.6);
  });
  bake(Tex.Tuft, 10, 7, () => {
    g.fillStyle(0x4a7a33).fillTriangle(0, 7, 3, 0, 4, 7).fillTriangle(3, 7, 6, 1, 7, 7);
    g.fillStyle(0x6d9f47).fillTriangle(5, 7, 9, 2, 10, 7);
  });
  bake(Tex.Reed, 12, 18, () => {
    g.fillStyle(0x5d7f35).fillRect(2, 4, 2, 14).fillRect(6, 2, 2, 16).fillRect(9, 6, 2, 12);
    g.fillStyle(0x6b4a2c).fillRect(5, 0, 4, 6);
  });
  bake(Tex.Lily, 14, 10, () => {
    g.fillStyle(0x3e8a3a).fillEllipse(7, 5, 14, 9);
    g.fillStyle(0xf3c6d8).fillCircle(8, 4, 2);
  });
  bake(Tex.Sparkle, 8, 3, () => {
    g.fillStyle(0xcfe6f7, 0.9).fillRect(0, 1, 8, 1);
  });
  bake(Tex.Shadow, 32, 10, () => {
    g.fillStyle(0x000000, 0.25).fillEllipse(16, 5, 30, 9);
  });
  bake(Tex.Dust, 6, 6, () => {
    g.fillStyle(0xd8c7a4, 1).fillCircle(3, 3, 3);
  });
  bake(Tex.Marker, 16, 10, () => {
    g.lineStyle(2, 0xfff6e0, 0.9).strokeEllipse(8, 5, 14, 8);
  });
  bake(Tex.Well, 52, 56, () => {
    g.fillStyle(0x000000, 0.2).fillEllipse(26, 50, 50, 12);
    g.fillStyle(0x7a746b).fillRoundedRect(4, 26, 44, 24, 6);
    g.fillStyle(0x8b857c).fillRect(4, 26, 44, 6);
    g.fillStyle(0x223a55).fillEllipse(26, 28, 34, 8);
    g.fillStyle(0x5a3d24).fillRect(6, 4, 4, 26).fillRect(42, 4, 4, 26);
    g.fillStyle(0x8a3b2c).fillTriangle(0, 8, 26, -2, 52, 8);
    g.fillStyle(0x6e2e22).fillRect(0, 8, 52, 3);
    g.fillStyle(0x3b2f2a).fillRect(25, 10, 2, 14);
  });
  bake(Tex.Barrel, 22, 28, () => {
    g.fillStyle(0x000000, 0.2).fillEllipse(11, 25, 22, 6);
    g.fillStyle(0x7a5230).fillRoundedRect(1, 2, 20, 24, 5);
    g.fillStyle(0x3b3b40).fillRect(1, 7, 20, 2).fillRect(1, 19, 20, 2);
    g.fillStyle(0x8e6238).fillEllipse(11, 3, 18, 5);
  });
  bake(Tex.Crate, 26, 26, () => {
    g.fillStyle(0x000000, 0.2).fillEllipse(13, 24, 26, 6);
    g.fillStyle(0x9a7040).fillRect(1, 2, 24, 21);
    g.lineStyle(2, 0x6d4b2a).strokeRect(2, 3, 22, 19).lineBetween(2, 3, 24, 22);
  });
  bake(Tex.FenceH, 32, 22, () => {
    g.fillStyle(0x8a6238).fillRect(0, 6, 32, 3).fillRect(0, 13, 32, 3);
    g.fillStyle(0x6d4b2a).fillRect(3, 2, 4, 18).fillRect(19, 2, 4, 18);
  });
  bake(Tex.Sign, 40, 44, () => {
    g.fillStyle(0x5a3d24).fillRect(18, 14, 4, 30);
    g.fillStyle(0x8a6238).fillRoundedRect(0, 2, 40, 16, 3);
    g.fillStyle(0xf4e9d8).fillRect(6, 8, 28, 2);
  });

  // --- People. ---------------------------------------------------------------------------------------
  const player = (key: string, stride: number) =>
    bake(key, 28, 40, () => {
      g.fillStyle(0x000000, 0.22).fillEllipse(14, 38, 22, 6);
      g.fillStyle(0x3b2f2a)
        .fillRect(8 - stride, 30, 5, 8)
        .fillRect(15 + stride, 30, 5, 8); // legs
      g.fillStyle(0x2f6db5).fillRoundedRect(5, 16, 18, 17, 4); // tunic
      g.fillStyle(0x7a5230).fillRect(5, 27, 18, 3); // belt
      g.fillStyle(0xf1c9a0).fillCircle(14, 10, 8); // head
      g.fillStyle(0x6b3f1f).fillRoundedRect(6, 1, 16, 7, { tl: 7, tr: 7, bl: 1, br: 1 }); // hair
      g.fillStyle(0x222222).fillRect(10, 10, 2, 2).fillRect(16, 10, 2, 2); // eyes
      g.fillStyle(0x8a5a2b).fillRect(20, 18, 4, 10); // satchel
    });
  player(Tex.Player0, 0);
  player(Tex.Player1, 2);
  bake(Tex.Guard, 40, 56, () => {
    g.fillStyle(0x000000, 0.22).fillEllipse(18, 54, 28, 6);
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
  bake(Tex.Merchant, 34, 50, () => {
    g.fillStyle(0x000000, 0.22).fillEllipse(17, 48, 28, 6);
    g.fillStyle(0x3f7a4a).fillTriangle(4, 46, 30, 46, 17, 18); // dress
    g.fillStyle(0x3f7a4a).fillRoundedRect(8, 18, 18, 14, 4);
    g.fillStyle(0xf2e3c4).fillRect(11, 26, 12, 18); // apron
    g.fillStyle(0xb0823e).fillRect(24, 28, 8, 8); // purse
    g.fillStyle(0xf1c9a0).fillCircle(17, 11, 8);
    g.fillStyle(0xd9a23a).fillRoundedRect(8, 1, 18, 8, { tl: 8, tr: 8, bl: 2, br: 2 }); // headscarf
    g.fillStyle(0xd9a23a).fillTriangle(8, 6, 4, 14, 10, 10);
    g.fillStyle(0x222222).fillRect(13, 11, 2, 2).fillRect(19, 11, 2, 2);
    g.fillStyle(0xc0504d).fillRect(15, 15, 4, 1);
  });
  bake(Tex.Innkeeper, 36, 50, () => {
    g.fillStyle(0x000000, 0.22).fillEllipse(18, 48, 30, 6);
    g.fillStyle(0x8a3b2c).fillRoundedRect(5, 18, 26, 28, 6); // dress
    g.fillStyle(0xfbf4e4).fillRoundedRect(9, 22, 18, 24, 3); // apron
    g.fillStyle(0x8a3b2c).fillRect(9, 22, 18, 3);
    g.fillStyle(0xcfd3d8).fillRect(28, 24, 6, 9); // tankard
    g.fillStyle(0xf7e08a).fillRect(28, 24, 6, 3);
    g.fillStyle(0xf1c9a0).fillCircle(18, 11, 8);
    g.fillStyle(0xc8602e).fillCircle(18, 4, 7).fillCircle(10, 10, 4).fillCircle(26, 10, 4); // red hair
    g.fillStyle(0x222222).fillRect(14, 11, 2, 2).fillRect(20, 11, 2, 2);
    g.fillStyle(0xc0504d).fillRect(16, 15, 4, 1);
  });
  bake(Tex.Scholar, 36, 54, () => {
    g.fillStyle(0x000000, 0.22).fillEllipse(18, 52, 30, 6);
    g.fillStyle(0x4b3a75).fillTriangle(3, 50, 33, 50, 18, 14); // robe
    g.fillStyle(0x4b3a75).fillRoundedRect(8, 18, 20, 16, 5);
    g.fillStyle(0xe8c15a).fillRect(17, 22, 2, 26); // trim
    g.fillStyle(0x7a2e2e).fillRect(22, 28, 10, 12); // book
    g.fillStyle(0xf4e9d8).fillRect(23, 29, 8, 1);
    g.fillStyle(0xf1c9a0).fillCircle(18, 12, 8);
    g.fillStyle(0xe6e6e6).fillTriangle(11, 14, 25, 14, 18, 27); // beard
    g.fillStyle(0x4b3a75).fillTriangle(8, 8, 28, 8, 18, -4); // hat
    g.fillStyle(0x222222).fillRect(14, 11, 2, 2).fillRect(20, 11, 2, 2);
    g.lineStyle(1, 0x333333).strokeCircle(15, 12, 2.5).strokeCircle(21, 12, 2.5); // spectacles
  });

  // --- Buildings: drawn with their roofs; the footprint (solid) is the lower part. -----------------------
  const timberHouse = (
    key: string,
    w: number,
    h: number,
    roof: number,
    roofDark: number,
    wall: number,
    extras: (w: number, h: number) => void,
  ) =>
    bake(key, w, h, () => {
      const wallTop = Math.round(h * 0.45);
      g.fillStyle(0x000000, 0.2).fillEllipse(w / 2, h - 6, w + 10, 18);
      g.fillStyle(wall).fillRect(6, wallTop, w - 12, h - wallTop - 6);
      g.fillStyle(0x6b4a2c)
        .fillRect(6, wallTop, 5, h - wallTop - 6)
        .fillRect(w - 11, wallTop, 5, h - wallTop - 6);
      g.fillStyle(0x6b4a2c).fillRect(6, h - 12, w - 12, 6);
      // Roof.
      g.fillStyle(roof).fillTriangle(-2, wallTop + 6, w / 2, 2, w + 2, wallTop + 6);
      g.fillStyle(roof).fillRect(-2, wallTop - 14, w + 4, 20);
      g.fillStyle(roof).fillTriangle(-2, wallTop - 14, w / 2, 2, w + 2, wallTop - 14);
      for (let y = 14; y < wallTop; y += 10) {
        const inset = Math.max(0, ((wallTop - 14 - y) / (wallTop - 14)) * (w / 2));
        g.fillStyle(roofDark).fillRect(inset, y, w - inset * 2, 2);
      }
      g.fillStyle(roofDark).fillRect(-2, wallTop + 4, w + 4, 4);
      extras(w, h);
    });
  const window = (x: number, y: number) => {
    g.fillStyle(0x5a3d24).fillRect(x - 2, y - 2, 24, 22);
    g.fillStyle(0xf2c45a).fillRect(x, y, 20, 18);
    g.fillStyle(0x5a3d24)
      .fillRect(x + 9, y, 2, 18)
      .fillRect(x, y + 8, 20, 2);
  };
  const doorway = (x: number, y: number, w = 28, h = 40) => {
    g.fillStyle(0x4a3220).fillRoundedRect(x, y, w, h, { tl: w / 2, tr: w / 2, bl: 0, br: 0 });
    g.fillStyle(0x6b4a2c).fillRoundedRect(x + 3, y + 3, w - 6, h - 3, {
      tl: w / 2 - 3,
      tr: w / 2 - 3,
      bl: 0,
      br: 0,
    });
    g.fillStyle(0xc9a66b).fillCircle(x + w - 9, y + h / 2 + 4, 2);
  };
  // The Gilded Goose: 9 × 5 tiles of footprint.
  timberHouse(Tex.Inn, 9 * TILE, 9 * TILE, 0x9a4a32, 0x7e3a26, 0xe8d8b8, (w, h) => {
    window(30, h - 96);
    window(90, h - 96);
    window(w - 110, h - 96);
    window(w - 50, h - 96);
    doorway(w / 2 - 14 + 1, h - 52);
    // Hanging sign with a golden goose.
    g.fillStyle(0x5a3d24).fillRect(w / 2 + 30, h - 108, 40, 3);
    g.fillStyle(0x3b2a1c).fillRoundedRect(w / 2 + 36, h - 104, 32, 24, 4);
    g.fillStyle(0xe8c15a)
      .fillEllipse(w / 2 + 52, h - 90, 16, 9)
      .fillCircle(w / 2 + 59, h - 96, 4);
    // Chimney.
    g.fillStyle(0x7a746b).fillRect(w - 70, 30, 18, 40);
  });
  timberHouse(Tex.Library, 7 * TILE, 8 * TILE, 0x44506b, 0x343e55, 0xcfc6b4, (w, h) => {
    g.fillStyle(0x8b857c).fillRect(6, h * 0.45, w - 12, h * 0.55 - 6);
    for (let row = 0; row < 5; row++)
      for (let col = 0; col < 7; col++)
        g.fillStyle(0x958f86).fillRect(10 + col * 30 + (row % 2) * 12, h * 0.45 + 6 + row * 16, 26, 12);
    window(24, h - 92);
    window(w - 44, h - 92);
    doorway(w / 2 - 16 + 32, h - 54, 32, 48);
    // Round tower window with a book sign.
    g.fillStyle(0x3b2a1c).fillCircle(w / 2, 64, 14);
    g.fillStyle(0xf2c45a, 0.6).fillCircle(w / 2, 64, 10);
    g.fillStyle(0x7a2e2e).fillRect(w / 2 - 30, h - 118, 24, 18);
    g.fillStyle(0xf4e9d8).fillRect(w / 2 - 19, h - 118, 2, 18);
  });
  timberHouse(Tex.House, 5 * TILE, 6 * TILE, 0xa8642e, 0x8a4f22, 0xe6d5b0, (w, h) => {
    window(20, h - 70);
    doorway(w - 56, h - 48, 26, 36);
  });
  timberHouse(Tex.House2, 5 * TILE, 6 * TILE, 0x6d7a3a, 0x56612d, 0xd9c7a4, (w, h) => {
    window(w - 44, h - 70);
    doorway(26, h - 48, 26, 36);
  });
  bake(Tex.Stall, 3 * TILE + 8, 3 * TILE + 16, () => {
    const w = 3 * TILE + 8;
    const h = 3 * TILE + 16;
    g.fillStyle(0x000000, 0.2).fillEllipse(w / 2, h - 6, w, 14);
    g.fillStyle(0x5a3d24)
      .fillRect(6, 20, 4, h - 26)
      .fillRect(w - 10, 20, 4, h - 26);
    g.fillStyle(0x8a6238).fillRect(0, h - 42, w, 30); // counter
    g.fillStyle(0x6d4b2a).fillRect(0, h - 42, w, 5);
    // Goods: a lantern, rope, bread, apples.
    g.fillStyle(0xc9a66b).fillRect(12, h - 58, 12, 16);
    g.fillStyle(0xf2c45a, 0.9).fillRect(15, h - 54, 6, 9);
    g.fillStyle(0xc2a36b).fillCircle(42, h - 48, 7);
    g.fillStyle(0xa57b45).fillCircle(42, h - 48, 3);
    g.fillStyle(0xd39a52).fillEllipse(66, h - 48, 18, 10);
    g.fillStyle(0xc0392b)
      .fillCircle(84, h - 47, 4)
      .fillCircle(90, h - 48, 4)
      .fillCircle(87, h - 53, 4);
    // Striped awning.
    for (let i = 0; i < 6; i++)
      g.fillStyle(i % 2 ? 0xf4e9d8 : 0xc0504d).fillRect(i * (w / 6), 8, w / 6 + 1, 26);
    for (let i = 0; i < 6; i++)
      g.fillStyle(i % 2 ? 0xf4e9d8 : 0xc0504d).fillTriangle(
        i * (w / 6),
        34,
        (i + 1) * (w / 6),
        34,
        (i + 0.5) * (w / 6),
        42,
      );
  });
  g.destroy();
}

/**
 * Bakes a `width` × `height` area tiled with `tile` into its own texture (the wall), so it is one quad.
 * Big textured quads are what software WebGL (headless Chromium's SwiftShader) is slowest at, so the
 * grass is the camera's clear colour and only roads, water, the wall and small things are textured.
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
