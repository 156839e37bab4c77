// The map of Eastwatch as data: ground tiles, what blocks walking, buildings, trees and where everyone
// stands. Pure (no Phaser), so the pathfinder and the tests of it need no browser.

export const TILE = 32;
export const COLS = 50;
export const ROWS = 40;

export const Ground = {
  Grass: -1,
  Path: 0,
  Cobble: 1,
  Water: 2,
  Bridge: 3,
  Plank: 4,
  Sand: 5,
} as const;
export type Ground = (typeof Ground)[keyof typeof Ground];

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export type BuildingKind = 'inn' | 'library' | 'house' | 'house2' | 'stall';
export interface Building extends Rect {
  kind: BuildingKind;
}

/** Gate opening, in tiles: solid while the gate is shut. */
export const GATE: Rect = { x: 23, y: 4, w: 4, h: 3 };
/** The wall band across the north of the village. */
export const WALL_ROWS = { y: 4, h: 3 };
/** Past this row (north of the wall) the player has left the village. */
export const EXIT_ROW = 2;

export const NPC_SPOTS = {
  brom: { x: 27.2, y: 8.4 },
  marta: { x: 13.5, y: 19.2 },
  tilda: { x: 31.6, y: 19.2 },
  odo: { x: 38.5, y: 15.2 },
} as const;
export const PLAYER_START = { x: 24.5 * TILE, y: 36 * TILE };

export interface VillageMap {
  ground: Ground[][];
  solid: boolean[][];
  buildings: Building[];
  trees: Array<{ x: number; y: number }>;
  /** Small solid props in tiles: the well, barrels, fences. */
  props: Array<{ kind: 'well' | 'barrel' | 'fence-h' | 'fence-v' | 'crate' | 'sign'; x: number; y: number }>;
  /** Pond and river tiles are in `ground`; this is the pond's ellipse for drawing reeds. */
  pond: { cx: number; cy: number; rx: number; ry: number };
}

/** Deterministic scatter, so the village looks the same on every load (and in screenshots). */
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

export function buildVillage(): VillageMap {
  const ground: Ground[][] = Array.from({ length: ROWS }, () => Array<Ground>(COLS).fill(Ground.Grass));
  const solid: boolean[][] = Array.from({ length: ROWS }, () => Array<boolean>(COLS).fill(false));
  const paint = (r: Rect, g: Ground) => {
    for (let y = r.y; y < r.y + r.h; y++)
      for (let x = r.x; x < r.x + r.w; x++) if (ground[y]?.[x] !== undefined) ground[y]![x] = g;
  };
  const block = (r: Rect, value = true) => {
    for (let y = r.y; y < r.y + r.h; y++)
      for (let x = r.x; x < r.x + r.w; x++) if (solid[y]?.[x] !== undefined) solid[y]![x] = value;
  };

  // Roads: the north road beyond the gate, the main street, the plaza and lanes to each door.
  paint({ x: 24, y: 0, w: 2, h: ROWS }, Ground.Path);
  paint({ x: 17, y: 16, w: 16, h: 8 }, Ground.Cobble);
  paint({ x: 11, y: 18, w: 6, h: 2 }, Ground.Path);
  paint({ x: 36, y: 13, w: 2, h: 4 }, Ground.Path);
  paint({ x: 33, y: 16, w: 5, h: 2 }, Ground.Path);
  paint({ x: 26, y: 26, w: 17, h: 2 }, Ground.Path); // to the bridge
  paint({ x: 17, y: 24, w: 2, h: 3 }, Ground.Path);
  paint({ x: 31, y: 24, w: 2, h: 4 }, Ground.Path);

  // The Silverrun along the east, under the wall, with a bridge to the orchard.
  for (let y = 0; y < ROWS; y++) {
    const bend = Math.round(Math.sin(y / 5) * 1.2);
    paint({ x: 43 + bend, y, w: 3, h: 1 }, Ground.Water);
    // Sand banks.
    for (const x of [42 + bend, 46 + bend]) if (ground[y]![x] === Ground.Grass) ground[y]![x] = Ground.Sand;
  }
  for (let x = 41; x < 48; x++)
    for (const y of [26, 27]) if (ground[y]![x] === Ground.Water) ground[y]![x] = Ground.Bridge;
  paint({ x: 47, y: 26, w: 3, h: 2 }, Ground.Path);

  // A pond in the south-west.
  const pond = { cx: 7.5, cy: 30.5, rx: 4.2, ry: 3.1 };
  for (let y = 25; y < 36; y++)
    for (let x = 2; x < 14; x++) {
      const d = ((x + 0.5 - pond.cx) / pond.rx) ** 2 + ((y + 0.5 - pond.cy) / pond.ry) ** 2;
      if (d < 1) ground[y]![x] = Ground.Water;
      else if (d < 1.45 && ground[y]![x] === Ground.Grass) ground[y]![x] = Ground.Sand;
    }
  // A jetty into the pond.
  paint({ x: 10, y: 30, w: 2, h: 1 }, Ground.Plank);

  for (let y = 0; y < ROWS; y++)
    for (let x = 0; x < COLS; x++) if (ground[y]![x] === Ground.Water) solid[y]![x] = true;

  // The wall, with the gate between two towers.
  block({ x: 0, y: WALL_ROWS.y, w: COLS, h: WALL_ROWS.h });
  block({ x: GATE.x - 2, y: 3, w: 2, h: 5 });
  block({ x: GATE.x + GATE.w, y: 3, w: 2, h: 5 });

  const buildings: Building[] = [
    { kind: 'inn', x: 7, y: 12, w: 9, h: 5 },
    { kind: 'library', x: 34, y: 9, w: 7, h: 4 },
    { kind: 'house', x: 14, y: 27, w: 5, h: 3 },
    { kind: 'house2', x: 29, y: 29, w: 5, h: 3 },
    { kind: 'stall', x: 32, y: 20, w: 3, h: 2 },
  ];
  for (const b of buildings) block(b);
  // Where the NPCs stand.
  for (const spot of Object.values(NPC_SPOTS))
    block({ x: Math.floor(spot.x), y: Math.floor(spot.y), w: 1, h: 1 });

  const props: VillageMap['props'] = [
    { kind: 'well', x: 21, y: 20 },
    { kind: 'barrel', x: 16.4, y: 16.6 },
    { kind: 'barrel', x: 15.6, y: 17.3 },
    { kind: 'crate', x: 35.6, y: 21.4 },
    { kind: 'barrel', x: 41.2, y: 12.5 },
    { kind: 'sign', x: 22.6, y: 9.5 },
  ];
  block({ x: 20, y: 19, w: 2, h: 2 });
  block({ x: 16, y: 16, w: 1, h: 2 });
  block({ x: 15, y: 17, w: 1, h: 1 });
  block({ x: 35, y: 21, w: 1, h: 1 });
  block({ x: 41, y: 12, w: 1, h: 1 });
  // Fences around the gardens of the two houses.
  for (let x = 13; x < 20; x++) props.push({ kind: 'fence-h', x: x + 0.5, y: 31.6 });
  for (let x = 28; x < 35; x++) props.push({ kind: 'fence-h', x: x + 0.5, y: 33.6 });
  block({ x: 13, y: 31, w: 7, h: 1 });
  block({ x: 28, y: 33, w: 7, h: 1 });

  // Trees: a belt along the edges and clumps, never on roads, water or buildings.
  const rand = seeded(42);
  const trees: VillageMap['trees'] = [];
  const free = (x: number, y: number) =>
    ground[y]?.[x] === Ground.Grass &&
    !solid[y]![x] &&
    !solid[y - 1]?.[x] &&
    !solid[y + 1]?.[x] &&
    ground[y + 1]?.[x] !== Ground.Path &&
    ground[y - 1]?.[x] !== Ground.Path &&
    ground[y]?.[x - 1] !== Ground.Path &&
    ground[y]?.[x + 1] !== Ground.Path &&
    !trees.some((t) => Math.abs(t.x - x) < 2 && Math.abs(t.y - y) < 2);
  const spots = new Set(Object.values(NPC_SPOTS).map((s) => `${Math.floor(s.x)},${Math.floor(s.y)}`));
  const place = (x: number, y: number) => {
    if (!free(x, y) || spots.has(`${x},${y}`)) return;
    trees.push({ x, y });
    solid[y]![x] = true;
  };
  for (let i = 0; i < 900 && trees.length < 140; i++) {
    const x = Math.floor(rand() * COLS);
    const y = Math.floor(rand() * ROWS);
    const edge = x < 4 || x > COLS - 4 || y > ROWS - 4 || (y < 3 && (x < 18 || x > 31));
    const clump =
      (x > 1 && x < 6 && y > 8 && y < 24) || (x > 46 && y > 8) || (y > 34 && x > 34) || (y < 3 && x > 36);
    if (edge || clump || rand() < 0.08) place(x, y);
  }
  return { ground, solid, buildings, trees, props, pond };
}

/** Opens (or closes) the gate in the walkability grid. */
export function setGateOpen(map: VillageMap, open: boolean): void {
  for (let y = GATE.y; y < GATE.y + GATE.h; y++)
    for (let x = GATE.x; x < GATE.x + GATE.w; x++) map.solid[y]![x] = !open;
}

export interface TilePoint {
  x: number;
  y: number;
}

/**
 * A* over the walkable tiles, 8 directions without cutting corners, then string-pulled to the fewest
 * straight legs. Returns tile centres in world pixels from the first step to `to`, or undefined when
 * there is no way. `to` on a solid tile is moved to the nearest walkable one.
 */
export function findPath(
  solid: readonly (readonly boolean[])[],
  from: TilePoint,
  to: TilePoint,
  maxNodes = 6000,
): Array<{ x: number; y: number }> | undefined {
  const rows = solid.length;
  const cols = solid[0]?.length ?? 0;
  const walkable = (x: number, y: number) => x >= 0 && y >= 0 && x < cols && y < rows && !solid[y]![x];
  const goal = walkable(to.x, to.y) ? to : nearestWalkable(solid, to);
  if (!goal || !walkable(from.x, from.y)) return undefined;
  const key = (x: number, y: number) => y * cols + x;
  const g = new Map<number, number>([[key(from.x, from.y), 0]]);
  const came = new Map<number, number>();
  const open: Array<{ k: number; f: number }> = [{ k: key(from.x, from.y), f: 0 }];
  const h = (x: number, y: number) => {
    const dx = Math.abs(x - goal.x);
    const dy = Math.abs(y - goal.y);
    return Math.max(dx, dy) + 0.414 * Math.min(dx, dy);
  };
  const closed = new Set<number>();
  let found = false;
  while (open.length > 0 && closed.size < maxNodes) {
    let best = 0;
    for (let i = 1; i < open.length; i++) if (open[i]!.f < open[best]!.f) best = i;
    const { k } = open.splice(best, 1)[0]!;
    if (closed.has(k)) continue;
    closed.add(k);
    const x = k % cols;
    const y = Math.floor(k / cols);
    if (x === goal.x && y === goal.y) {
      found = true;
      break;
    }
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -1; dx <= 1; dx++) {
        if ((dx === 0 && dy === 0) || !walkable(x + dx, y + dy)) continue;
        if (dx !== 0 && dy !== 0 && (!walkable(x + dx, y) || !walkable(x, y + dy))) continue;
        const nk = key(x + dx, y + dy);
        const cost = (g.get(k) ?? 0) + (dx !== 0 && dy !== 0 ? Math.SQRT2 : 1);
        if (cost < (g.get(nk) ?? Number.POSITIVE_INFINITY)) {
          g.set(nk, cost);
          came.set(nk, k);
          open.push({ k: nk, f: cost + h(x + dx, y + dy) });
        }
      }
  }
  if (!found) return undefined;
  const tiles: TilePoint[] = [];
  for (let k: number | undefined = key(goal.x, goal.y); k !== undefined; k = came.get(k))
    tiles.unshift({ x: k % cols, y: Math.floor(k / cols) });
  // String pulling: skip every tile that a straight, clear line can bypass.
  const legs: TilePoint[] = [];
  let anchor = tiles[0]!;
  for (let i = 1; i < tiles.length; i++) {
    const next = tiles[i + 1];
    if (next && clearLine(walkable, anchor, next)) continue;
    legs.push(tiles[i]!);
    anchor = tiles[i]!;
  }
  return legs.map((t) => ({ x: (t.x + 0.5) * TILE, y: (t.y + 0.5) * TILE }));
}

/** Whether a body about a tile wide can walk straight from `a` to `b` (sampled along the line). */
function clearLine(walkable: (x: number, y: number) => boolean, a: TilePoint, b: TilePoint): boolean {
  const steps = Math.ceil(Math.hypot(b.x - a.x, b.y - a.y) * 4);
  for (let i = 0; i <= steps; i++) {
    const t = i / Math.max(1, steps);
    const cx = a.x + 0.5 + (b.x - a.x) * t;
    const cy = a.y + 0.5 + (b.y - a.y) * t;
    for (const [ox, oy] of [
      [-0.35, -0.3],
      [0.35, -0.3],
      [-0.35, 0.3],
      [0.35, 0.3],
    ] as const)
      if (!walkable(Math.floor(cx + ox), Math.floor(cy + oy))) return false;
  }
  return true;
}

export function nearestWalkable(
  solid: readonly (readonly boolean[])[],
  to: TilePoint,
): TilePoint | undefined {
  for (let r = 1; r < 8; r++)
    for (let dy = -r; dy <= r; dy++)
      for (let dx = -r; dx <= r; dx++) {
        if (Math.max(Math.abs(dx), Math.abs(dy)) !== r) continue;
        const x = to.x + dx;
        const y = to.y + dy;
        if (solid[y]?.[x] === false) return { x, y };
      }
  return undefined;
}
