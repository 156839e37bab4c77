/**
 * One token's way to the screen, in `performance.now()` milliseconds. Subscribe with
 * `connect({ onGlyph })` or `this.parley.on(ParleyEvents.Glyph, …)`.
 */
export interface GlyphTiming {
  /** When the `text.delta` event reached the plugin. */
  arrivedAt: number;
  /** When the typewriter put the delta's first character into the box's text object. */
  placedAt: number;
  /** The game's `postrender` of the first frame drawn after that. */
  drawnAt: number;
  /** `drawnAt - arrivedAt`. */
  latency: number;
  /**
   * Whether the typewriter had revealed everything before this delta when it arrived. Only then does
   * `latency` measure the pipeline; otherwise it includes the deliberate typing pace.
   */
  caughtUp: boolean;
  /** Where the delta starts in the reply's text, and its length. */
  offset: number;
  length: number;
}

interface Pending {
  arrivedAt: number;
  offset: number;
  length: number;
  caughtUp: boolean;
  placedAt?: number;
}

/** Samples not drawn after this many are dropped (a box that is not being rendered). */
const MAX_PENDING = 256;

/**
 * Follows deltas from arrival to their first drawn glyph: `arrived()` when a delta comes in, `placed()`
 * after each typewriter step with how many characters are revealed, `drawn()` from the game's
 * `postrender` event, which returns the finished timings.
 *
 * @example
 * ```ts
 * meter.arrived(reply.length, delta.length, performance.now(), !typewriter.typing);
 * meter.placed(typewriter.shown, performance.now());
 * game.events.on('postrender', () => meter.drawn(performance.now()).forEach(report));
 * ```
 */
export class GlyphMeter {
  #pending: Pending[] = [];

  /** Whether any delta waits to be placed or drawn. */
  get waiting(): boolean {
    return this.#pending.length > 0;
  }

  /** A delta of `length` characters starting at `offset` arrived at `at`. */
  arrived(offset: number, length: number, at: number, caughtUp: boolean): void {
    if (length <= 0) return;
    this.#pending.push({ arrivedAt: at, offset, length, caughtUp });
    if (this.#pending.length > MAX_PENDING) this.#pending.shift();
  }

  /** `shown` characters are now in the text object. */
  placed(shown: number, at: number): void {
    for (const sample of this.#pending)
      if (sample.placedAt === undefined && sample.offset < shown) sample.placedAt = at;
  }

  /** A frame was drawn at `at`: returns the deltas whose first glyph it showed. */
  drawn(at: number): GlyphTiming[] {
    if (this.#pending.length === 0) return [];
    const done: GlyphTiming[] = [];
    const rest: Pending[] = [];
    for (const sample of this.#pending) {
      if (sample.placedAt === undefined || sample.placedAt > at) rest.push(sample);
      else
        done.push({
          arrivedAt: sample.arrivedAt,
          placedAt: sample.placedAt,
          drawnAt: at,
          latency: at - sample.arrivedAt,
          caughtUp: sample.caughtUp,
          offset: sample.offset,
          length: sample.length,
        });
    }
    this.#pending = rest;
    return done;
  }

  /** Forgets every pending delta (a new reply, or the box closed). */
  clear(): void {
    this.#pending = [];
  }
}
