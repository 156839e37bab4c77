/**
 * How long a bark stays up by default: long enough to read at a relaxed pace (about 15 characters a
 * second after a short glance), between 1.5 and 7 seconds.
 *
 * @example
 * ```ts
 * barkDuration('Halt!'); // 1500
 * ```
 */
export function barkDuration(text: string): number {
  return Math.round(Math.min(7000, Math.max(1500, 900 + text.length * 65)));
}

/** Where ambient barks come from: fixed lines, or a function (which may ask anything the game likes). */
export type BarkSource = readonly string[] | (() => string | undefined | Promise<string | undefined>);

/** Options of ambient barks (`addNpc(…, { ambientBarks })`). */
export interface AmbientBarkOptions {
  lines: BarkSource;
  /** Mean time between barks in ms. Default 9000. */
  every?: number;
  /** Random spread around `every`, as a fraction. Default 0.3 (±30 %). */
  jitter?: number;
  /** The player must be within this many world pixels. Default three times the talk radius. */
  radius?: number;
}

/**
 * Decides when an idle NPC mutters its next ambient line: a countdown that runs only while the NPC may
 * bark (player nearby, no conversation, no bark showing), restarting with some jitter each time, and a
 * pick that does not repeat the previous line.
 *
 * @example
 * ```ts
 * const clock = new AmbientBarks({ lines: ['Cold night.', 'Move along.'] });
 * // each frame:
 * if (clock.update(delta, playerNearby && !talking)) npc.bark(clock.pick() ?? '');
 * ```
 */
export class AmbientBarks {
  readonly every: number;
  readonly jitter: number;
  readonly #random: () => number;
  #left: number;
  #last = -1;

  constructor(
    options: Pick<AmbientBarkOptions, 'every' | 'jitter'> = {},
    random: () => number = Math.random,
  ) {
    this.every = Math.max(500, options.every ?? 9000);
    this.jitter = Math.min(0.9, Math.max(0, options.jitter ?? 0.3));
    this.#random = random;
    // The first bark comes sooner: the player has just arrived.
    this.#left = this.#next() / 2;
  }

  /** Advances the countdown while `eligible`; returns true when a bark is due (and restarts it). */
  update(dtMs: number, eligible: boolean): boolean {
    if (!eligible) return false;
    this.#left -= Math.max(0, dtMs);
    if (this.#left > 0) return false;
    this.#left = this.#next();
    return true;
  }

  /** A line from `lines`, never the same one twice in a row (when there are several). */
  pick(lines: readonly string[]): string | undefined {
    if (lines.length === 0) return undefined;
    let index = Math.floor(this.#random() * lines.length) % lines.length;
    if (lines.length > 1 && index === this.#last) index = (index + 1) % lines.length;
    this.#last = index;
    return lines[index];
  }

  #next(): number {
    return this.every * (1 + this.jitter * (this.#random() * 2 - 1));
  }
}
