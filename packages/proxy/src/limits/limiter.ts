/**
 * The limiter's contract, and the rules both backends (memory, Redis) share, so that they answer the
 * same request with the same error.
 *
 * Windows are fixed: per wall-clock minute and per UTC day. A fixed window lets one player spend up to
 * twice a per-minute limit across a minute boundary; in exchange a reservation is charged to, and refunded
 * from, buckets it can name exactly, which is what keeps settling atomic and exact. Daily budgets are
 * where the money is, and a UTC day is what an operator reads on the OpenAI invoice.
 *
 * Decision (may be undone): a blocked player, or everyone blocked, gets the same answer as a spent daily
 * budget — 429 `budget_exceeded` — with `Retry-After: 3600`. The game already shows "out of words for
 * today" (or the canned line) for `budget_exceeded`; a 403 would read as an authentication failure to
 * `@parley/dialogue`. A block has no reset time, so the header is only a polite polling interval.
 */
import { ErrorCode } from '@parley/protocol';
import { ProxyError } from '../errors.js';
import type { LimitsConfig, WindowLimits } from './config.js';
import { costNanoUsd, nanoToUsd, usdToNano } from './prices.js';

/** One upstream call about to be made. */
export interface ReserveRequest {
  /** Stable id of the player (the token's subject), never a display name. */
  player: string;
  /** The NPC (assistant) being talked to, for usage reports; no limits apply per NPC. */
  npc?: string | undefined;
  /** The model the upstream call uses; prices the reservation. */
  model: string;
  /** Estimated prompt tokens (`estimateMessageTokens`). */
  promptTokens: number;
  /** The `max_completion_tokens` sent upstream: the most the reply can cost. */
  maxCompletionTokens: number;
}

/** What the upstream reported (or, for the offline model, what was estimated). */
export interface ActualUsage {
  promptTokens: number;
  completionTokens: number;
}

/**
 * A granted reservation. Exactly one of `settle` or `release` takes effect; calling either again is a
 * no-op, and so is calling it after the reservation expired (its worst case then stays counted, as if it
 * had all been spent). Both may reject when the shared store is unreachable; retrying is safe.
 */
export interface Reservation {
  /** Unique id, for logs. */
  readonly id: string;
  /** Worst-case tokens counted by this reservation (prompt + max completion). */
  readonly tokens: number;
  /** Worst-case estimated cost counted by this reservation, USD. */
  readonly costUsd: number;
  /**
   * Replaces the worst case with what was actually used (refunding the difference, or charging the
   * excess when the prompt estimate was low) and frees the concurrency slot.
   */
  settle(actual: ActualUsage): Promise<void>;
  /** Refunds everything, the request included: nothing was spent (e.g. the upstream refused at once). */
  release(): Promise<void>;
}

/** Whose usage to report: a player, an NPC, or (neither) the whole game. */
export interface UsageScope {
  player?: string | undefined;
  npc?: string | undefined;
}

/** Counted usage of one window. In-flight reservations count with their worst case until settled. */
export interface WindowUsage {
  requests: number;
  tokens: number;
  costUsd: number;
  /** The limits of this scope and window; all `null` for an NPC (NPCs have no limits of their own). */
  limits: WindowLimits;
  /** Seconds until this window starts over. */
  resetsInSeconds: number;
}

/** Usage of one scope in the current minute and UTC day. */
export interface UsageReport {
  scope: 'player' | 'npc' | 'total';
  player?: string;
  npc?: string;
  minute: WindowUsage;
  day: WindowUsage;
  /** Upstream calls in flight for the player; `null` for the other scopes. */
  activeRuns: number | null;
  /** Whether reserving is refused by a kill switch: the player's own, or everyone's. */
  blocked: boolean;
}

/** Who a kill switch applies to. */
export type BlockTarget = { player: string } | 'everyone';

/**
 * Budgets and rate limits, per player and for the whole game. Reserve before every upstream call,
 * settle (or release) after it.
 *
 * @example
 * ```ts
 * const reservation = await limiter.reserve({ player, npc, model, promptTokens, maxCompletionTokens });
 * try {
 *   const reply = await callUpstream({ max_completion_tokens: maxCompletionTokens });
 *   await reservation.settle({ promptTokens: reply.usage.prompt_tokens, completionTokens: reply.usage.completion_tokens });
 * } catch (error) {
 *   await reservation.release(); // or settle with what was streamed before the failure
 *   throw error;
 * }
 * ```
 */
export interface Limiter {
  /**
   * Counts one request, the worst-case tokens and their worst-case cost against every window (player
   * minute and day, global minute and day) and takes one of the player's concurrency slots — all or
   * nothing. Throws a {@link ProxyError}: 429 `rate_limit_exceeded` (per-minute requests or tokens, or no
   * free slot) or 429 `budget_exceeded` (any daily limit, any cost limit, a kill switch), with
   * `Retry-After`; 400 when the request alone is larger than a limit (it could never pass); 503 when the
   * shared store is unreachable (never lets the request through).
   */
  reserve(request: ReserveRequest): Promise<Reservation>;
  /** Usage of a player, an NPC, or (empty scope) everyone. A scope naming both is a 400. */
  usage(scope: UsageScope): Promise<UsageReport>;
  /** Kill switch: refuses every reservation for one player, or for everyone, until unblocked. */
  setBlocked(target: BlockTarget, blocked: boolean): Promise<void>;
  /** Closes connections; the limiter must not be used afterwards. */
  close(): Promise<void>;
}

/** Options shared by both backends. */
export interface LimiterOptions {
  /** The clock, in epoch milliseconds; tests move it. */
  now?: () => number;
}

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

/** The fixed windows that contain `now`: each has an index (its number since the epoch) and an end. */
export function windowsAt(now: number): {
  minute: { index: number; end: number };
  day: { index: number; end: number };
} {
  const minute = Math.floor(now / MINUTE_MS);
  const day = Math.floor(now / DAY_MS);
  return {
    minute: { index: minute, end: (minute + 1) * MINUTE_MS },
    day: { index: day, end: (day + 1) * DAY_MS },
  };
}

/** What a call counts: requests, tokens, cost in nano-dollars (integers, so counters never drift). */
export interface Charge {
  requests: number;
  tokens: number;
  cost: number;
}

type Scope = 'player' | 'global';
type Window = 'minute' | 'day';
type Measure = 'requests' | 'tokens' | 'cost';

/**
 * The twelve limits in the fixed order both backends use (the Redis script receives them as a flat
 * list and answers with indexes into it): scope, then window, then measure.
 */
export const LIMIT_SLOTS: ReadonlyArray<{ scope: Scope; window: Window; measure: Measure }> = (
  ['player', 'global'] as const
).flatMap((scope) =>
  (['minute', 'day'] as const).flatMap((window) =>
    (['requests', 'tokens', 'cost'] as const).map((measure) => ({ scope, window, measure })),
  ),
);

/** The failure index that means "no free concurrency slot". */
export const CONCURRENCY_FAILURE = LIMIT_SLOTS.length;

/** The limits as twelve integers in {@link LIMIT_SLOTS} order; -1 is unlimited, cost in nano-dollars. */
export function limitVector(config: LimitsConfig): number[] {
  return LIMIT_SLOTS.map(({ scope, window, measure }) => {
    const windowLimits = config[scope][window === 'minute' ? 'perMinute' : 'perDay'];
    const limit = measure === 'cost' ? windowLimits.costUsd : windowLimits[measure];
    if (limit === null) return -1;
    return measure === 'cost' ? usdToNano(limit) : limit;
  });
}

/**
 * Indexes (into {@link LIMIT_SLOTS}) of the limits that `charge` would push over, given the counters of
 * the four windows in order player minute, player day, global minute, global day.
 */
export function exceededLimits(
  limits: readonly number[],
  counters: readonly Charge[],
  charge: Charge,
): number[] {
  const failures: number[] = [];
  LIMIT_SLOTS.forEach(({ measure }, slot) => {
    const limit = limits[slot] ?? -1;
    const counter = counters[Math.floor(slot / 3)];
    if (limit >= 0 && counter !== undefined && counter[measure] + charge[measure] > limit)
      failures.push(slot);
  });
  return failures;
}

function nonNegativeInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0)
    throw new RangeError(`${name} must be an integer ≥ 0, got ${String(value)}`);
  return value;
}

/**
 * The worst case of `request`: one request, prompt + max completion tokens, their cost. Throws a
 * RangeError for malformed numbers (a caller bug) and a 400 when the request alone is larger than a
 * non-zero limit, so that it gets an answer saying what to change instead of a 429 forever.
 */
export function worstCase(config: LimitsConfig, limits: readonly number[], request: ReserveRequest): Charge {
  if (typeof request.player !== 'string' || request.player === '')
    throw new RangeError('player must be a non-empty string');
  const promptTokens = nonNegativeInteger(request.promptTokens, 'promptTokens');
  const completionTokens = nonNegativeInteger(request.maxCompletionTokens, 'maxCompletionTokens');
  const charge: Charge = {
    requests: 1,
    tokens: promptTokens + completionTokens,
    cost: costNanoUsd(config.prices, request.model, { promptTokens, completionTokens }),
  };
  LIMIT_SLOTS.forEach(({ scope, window, measure }, slot) => {
    const limit = limits[slot] ?? -1;
    if (limit > 0 && charge[measure] > limit) {
      const shown =
        measure === 'cost' ? `$${nanoToUsd(charge[measure]).toFixed(4)}` : String(charge[measure]);
      const limitShown = measure === 'cost' ? `$${nanoToUsd(limit).toFixed(4)}` : String(limit);
      throw new ProxyError(
        ErrorCode.InvalidValue,
        `This request may use ${shown} ${measure === 'cost' ? '' : `${measure} `}(prompt plus max_completion_tokens), ` +
          `more than the ${scope === 'player' ? "player's" : "game's"} ${window === 'minute' ? 'per-minute' : 'daily'} ` +
          `${measure === 'cost' ? 'cost' : measure.replace(/s$/, '')} limit of ${limitShown}; lower max_completion_tokens or shorten the conversation.`,
        { param: 'max_completion_tokens' },
      );
    }
  });
  return charge;
}

/** The charge of what was actually used. */
export function actualCharge(config: LimitsConfig, model: string, actual: ActualUsage): Charge {
  const promptTokens = nonNegativeInteger(actual.promptTokens, 'promptTokens');
  const completionTokens = nonNegativeInteger(actual.completionTokens, 'completionTokens');
  return {
    requests: 1,
    tokens: promptTokens + completionTokens,
    cost: costNanoUsd(config.prices, model, { promptTokens, completionTokens }),
  };
}

const secondsUntil = (end: number, now: number) => Math.max(1, Math.ceil((end - now) / 1000));

/** Seconds a blocked caller is told to wait: a block has no reset time, so this is a polling interval. */
export const BLOCKED_RETRY_AFTER_SECONDS = 3600;

/** The 429 for a reservation refused by one or more limits (indexes from {@link exceededLimits}). */
export function limitError(failures: readonly number[], now: number, concurrentRuns: number): ProxyError {
  const windows = windowsAt(now);
  // Daily limits and cost limits are budgets; per-minute requests and tokens are rates. The message names
  // the most serious limit hit: daily over per-minute, a budget over a rate.
  const rank = (slot: { window: Window; measure: Measure }) =>
    (slot.window === 'day' ? 2 : 0) + (slot.measure === 'cost' ? 1 : 0);
  let retryAfter = 1;
  let worst: { scope: Scope; window: Window; measure: Measure } | undefined;
  for (const failure of failures) {
    const slot = LIMIT_SLOTS[failure];
    if (!slot) continue;
    retryAfter = Math.max(retryAfter, secondsUntil(windows[slot.window].end, now));
    if (!worst || rank(slot) > rank(worst)) worst = slot;
  }
  const budget = worst !== undefined && rank(worst) > 0;
  const headers = { 'Retry-After': String(retryAfter) };
  if (!worst) {
    return new ProxyError(
      ErrorCode.RateLimited,
      `This player already has ${concurrentRuns} ${concurrentRuns === 1 ? 'reply' : 'replies'} in progress; try again when one finishes.`,
      { headers },
    );
  }
  const who = worst.scope === 'player' ? "This player's" : "The game's";
  const what = worst.measure === 'cost' ? 'spending' : worst.measure.replace(/s$/, '');
  const message =
    worst.window === 'day'
      ? `${who} daily ${what} budget is spent; it resets at midnight UTC.`
      : `${who} per-minute ${what} limit is reached; try again in ${retryAfter} s.`;
  return new ProxyError(budget ? ErrorCode.BudgetExceeded : ErrorCode.RateLimited, message, {
    headers,
  });
}

/** The 429 for a reservation refused by a kill switch. */
export function blockedError(target: 'player' | 'everyone'): ProxyError {
  return new ProxyError(
    ErrorCode.BudgetExceeded,
    target === 'player'
      ? 'This player cannot talk to characters right now.'
      : 'Conversations are paused for everyone right now.',
    { headers: { 'Retry-After': String(BLOCKED_RETRY_AFTER_SECONDS) } },
  );
}

/** The 503 for a shared store that cannot be reached: fail closed, never let the request through. */
export function unavailableError(cause: unknown): ProxyError {
  return new ProxyError(
    ErrorCode.Unavailable,
    'The proxy cannot check its budgets right now; try again shortly.',
    {
      headers: { 'Retry-After': '2' },
      cause,
    },
  );
}

/** Which scope a usage query means; naming both a player and an NPC is refused. */
export function scopeKind(scope: UsageScope): 'player' | 'npc' | 'total' {
  if (scope.player !== undefined && scope.npc !== undefined)
    throw new ProxyError(ErrorCode.InvalidValue, 'Ask for the usage of a player or of an NPC, not both.', {
      param: 'npc',
    });
  for (const key of ['player', 'npc'] as const) {
    if (scope[key] === '')
      throw new ProxyError(ErrorCode.InvalidValue, `${key} must not be empty.`, { param: key });
  }
  return scope.player !== undefined ? 'player' : scope.npc !== undefined ? 'npc' : 'total';
}

const UNLIMITED: WindowLimits = { requests: null, tokens: null, costUsd: null };

/** Builds a report from the counters of one scope's current minute and day. */
export function usageReport(
  config: LimitsConfig,
  scope: UsageScope,
  now: number,
  counters: { minute: Charge; day: Charge; activeRuns: number | null; blocked: boolean },
): UsageReport {
  const kind = scopeKind(scope);
  const windows = windowsAt(now);
  const limits = kind === 'player' ? config.player : kind === 'total' ? config.global : undefined;
  const window = (counter: Charge, which: Window): WindowUsage => ({
    requests: counter.requests,
    tokens: counter.tokens,
    costUsd: nanoToUsd(counter.cost),
    limits: { ...(limits ? limits[which === 'minute' ? 'perMinute' : 'perDay'] : UNLIMITED) },
    resetsInSeconds: secondsUntil(windows[which].end, now),
  });
  return {
    scope: kind,
    ...(scope.player !== undefined ? { player: scope.player } : {}),
    ...(scope.npc !== undefined ? { npc: scope.npc } : {}),
    minute: window(counters.minute, 'minute'),
    day: window(counters.day, 'day'),
    activeRuns: counters.activeRuns,
    blocked: counters.blocked,
  };
}

/**
 * A reservation whose bookkeeping is left to the backend: `apply` adds a (possibly negative) charge to
 * the reserved buckets and frees the slot, exactly once on the backend's side, and resolves false when
 * the reservation had already expired or finished. Until `apply` succeeds, settling may be retried.
 */
export function createReservation(
  config: LimitsConfig,
  id: string,
  model: string,
  reserved: Charge,
  apply: (delta: Charge) => Promise<unknown>,
): Reservation {
  let finished = false;
  const finish = async (delta: Charge) => {
    if (finished) return;
    await apply(delta);
    finished = true;
  };
  return {
    id,
    tokens: reserved.tokens,
    costUsd: nanoToUsd(reserved.cost),
    settle: async (actual) => {
      const used = actualCharge(config, model, actual);
      await finish({ requests: 0, tokens: used.tokens - reserved.tokens, cost: used.cost - reserved.cost });
    },
    release: () => finish({ requests: -reserved.requests, tokens: -reserved.tokens, cost: -reserved.cost }),
  };
}
