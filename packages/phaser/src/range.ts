/** A point in world space. */
export interface Point {
  x: number;
  y: number;
}

/** Whether `b` lies within `radius` of `a` (inclusive). */
export function isWithin(a: Point, b: Point, radius: number): boolean {
  const dx = a.x - b.x;
  const dy = a.y - b.y;
  return dx * dx + dy * dy <= radius * radius;
}

/**
 * In-range tracking with hysteresis: a target enters at `radius` and leaves only beyond
 * `radius + margin`, so a prompt does not flicker while the player stands on the edge.
 *
 * @example
 * ```ts
 * const range = new RangeTracker(64, 12);
 * range.update(npc, player); // → true once the player is within 64 px, until they pass 76 px
 * ```
 */
export class RangeTracker {
  #inside = false;

  constructor(
    readonly radius: number,
    readonly margin = 12,
  ) {}

  /** Whether the last update found the target in range. */
  get inside(): boolean {
    return this.#inside;
  }

  /** Re-evaluates with the current positions and returns whether the target is in range. */
  update(center: Point, target: Point): boolean {
    this.#inside = isWithin(center, target, this.#inside ? this.radius + this.margin : this.radius);
    return this.#inside;
  }

  /** Forgets the last state (the target disappeared). */
  reset(): void {
    this.#inside = false;
  }
}

/** Squared distance, for picking the nearest of several candidates without square roots. */
export function distanceSquared(a: Point, b: Point): number {
  const dx = a.x - b.x;
  const dy = a.y - b.y;
  return dx * dx + dy * dy;
}
