/** Options of {@link FastForward}. */
export interface FastForwardOptions {
  /** How long the advance key or pointer must be held before fast-forward starts, in ms. Default 300. */
  holdMs?: number;
  /** Typing speed multiplier while fast-forwarding. Default 6. */
  speed?: number;
  /** While fast-forwarding, a full page turns by itself after this many ms. Default 250. */
  pageMs?: number;
}

/** What one press of the advance key (Enter on an empty line, a click or tap on the box) does. */
export type AdvanceAction = 'complete' | 'next' | 'none';

/**
 * The advance press, decided from what the box shows: a page still typing is completed at once; a full
 * page with more after it turns; otherwise nothing happens.
 *
 * @example
 * ```ts
 * advanceAction({ typing: true, hasNext: true }); // 'complete'
 * ```
 */
export function advanceAction(page: { typing: boolean; hasNext: boolean }): AdvanceAction {
  if (page.typing) return 'complete';
  return page.hasNext ? 'next' : 'none';
}

/**
 * Press-and-hold of the advance control. A press acts at once (see {@link advanceAction}); holding past
 * `holdMs` fast-forwards: typing runs `speed` times faster and full pages turn by themselves.
 *
 * @example
 * ```ts
 * const ff = new FastForward();
 * ff.press(now);
 * // each frame: typewriter.tick(dt * ff.speed(now)); if (ff.shouldTurn(now, fullSince)) pager.next();
 * ff.release(now);
 * ```
 */
export class FastForward {
  readonly holdMs: number;
  readonly multiplier: number;
  readonly pageMs: number;
  #pressedAt: number | undefined;

  constructor(options: FastForwardOptions = {}) {
    this.holdMs = Math.max(0, options.holdMs ?? 300);
    this.multiplier = Math.max(1, options.speed ?? 6);
    this.pageMs = Math.max(0, options.pageMs ?? 250);
  }

  /** Whether the control is down. */
  get pressed(): boolean {
    return this.#pressedAt !== undefined;
  }

  /** The control went down (key repeats are ignored: the first press counts). */
  press(now: number): void {
    this.#pressedAt ??= now;
  }

  /** The control came up. */
  release(): void {
    this.#pressedAt = undefined;
  }

  /** Whether it has been held long enough to fast-forward. */
  active(now: number): boolean {
    return this.#pressedAt !== undefined && now - this.#pressedAt >= this.holdMs;
  }

  /** The typing speed multiplier now. */
  speed(now: number): number {
    return this.active(now) ? this.multiplier : 1;
  }

  /** Whether a page that has been full since `fullSince` should turn by itself now. */
  shouldTurn(now: number, fullSince: number | undefined): boolean {
    return this.active(now) && fullSince !== undefined && now - fullSince >= this.pageMs;
  }
}
