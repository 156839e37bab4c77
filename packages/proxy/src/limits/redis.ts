import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { LimitsConfig } from './config.js';
import {
  type BlockTarget,
  blockedError,
  type Charge,
  createReservation,
  type Limiter,
  type LimiterOptions,
  limitError,
  limitVector,
  type Reservation,
  type ReserveRequest,
  scopeKind,
  type UsageReport,
  type UsageScope,
  unavailableError,
  usageReport,
  windowsAt,
  worstCase,
} from './limiter.js';

/**
 * Checks every limit and, only if all pass, charges every bucket and takes a concurrency slot. One
 * script runs atomically on the server, so instances sharing this Redis cannot both take the last unit
 * of a budget.
 *
 * KEYS: 1 everyone blocked, 2 player blocked, 3–6 the limited buckets (player minute, player day, global
 * minute, global day), 7–8 the NPC's buckets (minute, day), 9 the player's reservations (sorted set,
 * score = expiry).
 * ARGV: 1 now, 2–4 the charge (requests, tokens, nano-dollars), 5 concurrency cap, 6 reservation id,
 * 7 reservation TTL ms, 8–9 minute and day bucket TTL ms, 10 '1' when the NPC buckets count,
 * 11–22 the limits in LIMIT_SLOTS order (-1 = unlimited).
 * Returns {0} granted, {1, failure indexes…} refused, {2, 'everyone' | 'player'} blocked.
 */
const RESERVE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return {2, 'everyone'} end
if redis.call('EXISTS', KEYS[2]) == 1 then return {2, 'player'} end
local now = tonumber(ARGV[1])
local charge = { tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]) }
local failures = {}
for w = 0, 3 do
  local current = redis.call('HMGET', KEYS[3 + w], 'r', 't', 'c')
  for m = 1, 3 do
    local limit = tonumber(ARGV[10 + w * 3 + m])
    if limit >= 0 and (tonumber(current[m]) or 0) + charge[m] > limit then
      failures[#failures + 1] = w * 3 + m - 1
    end
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[9], '-inf', now)
if redis.call('ZCARD', KEYS[9]) >= tonumber(ARGV[5]) then failures[#failures + 1] = 12 end
if #failures > 0 then return {1, unpack(failures)} end
local last = 6
if ARGV[10] == '1' then last = 8 end
for k = 3, last do
  redis.call('HINCRBY', KEYS[k], 'r', ARGV[2])
  redis.call('HINCRBY', KEYS[k], 't', ARGV[3])
  redis.call('HINCRBY', KEYS[k], 'c', ARGV[4])
  if k % 2 == 1 then redis.call('PEXPIRE', KEYS[k], ARGV[8]) else redis.call('PEXPIRE', KEYS[k], ARGV[9]) end
end
redis.call('ZADD', KEYS[9], now + tonumber(ARGV[7]), ARGV[6])
redis.call('PEXPIRE', KEYS[9], ARGV[7])
return {0}
`;

/**
 * Settles or releases a reservation exactly once: only a reservation still in the player's set counts,
 * and it leaves the set here. One past its expiry is dropped without a refund (its worst case stays,
 * as if all spent). Buckets that already expired are left alone, so no counter is recreated negative.
 *
 * KEYS: 1 the player's reservations, 2… the buckets the reservation charged.
 * ARGV: 1 reservation id, 2 now, 3–5 the delta (requests, tokens, nano-dollars).
 * Returns 1 when applied, 0 when the reservation was already finished or expired.
 */
const SETTLE = `
local expires = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not expires then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
if tonumber(expires) <= tonumber(ARGV[2]) then return 0 end
local fields = { 'r', 't', 'c' }
for k = 2, #KEYS do
  if redis.call('EXISTS', KEYS[k]) == 1 then
    for i = 1, 3 do
      if redis.call('HINCRBY', KEYS[k], fields[i], ARGV[2 + i]) < 0 then
        redis.call('HSET', KEYS[k], fields[i], 0)
      end
    end
  end
end
return 1
`;

interface LimitScripts {
  parleyReserve(...args: Array<string | number>): Promise<unknown>;
  parleySettle(...args: Array<string | number>): Promise<unknown>;
}

/** Options of {@link createRedisLimiter}. */
export interface RedisLimiterOptions extends LimiterOptions {
  /**
   * Milliseconds a Redis command may take before the limiter gives up and fails closed (503). Default
   * 1000: a budget check must never hold a player's turn for long.
   */
  commandTimeoutMs?: number;
  /** Told about connection errors (ioredis reports them as events, not to any caller). */
  onError?: (error: Error) => void;
}

/**
 * The limiter shared by every proxy instance that points at one Redis. Keys are namespaced with the
 * configured prefix (`parley:` by default) and expire on their own: a minute bucket shortly after its
 * minute, a day bucket shortly after its day. If Redis cannot be reached every call rejects with a 503
 * `ProxyError`, so no request passes unchecked.
 *
 * The clock is the proxy's, not Redis's: instances should run NTP; a skew of a second only moves which
 * minute a request lands in.
 */
export class RedisLimiter implements Limiter {
  readonly #config: LimitsConfig;
  readonly #limits: number[];
  readonly #now: () => number;
  readonly #ttlMs: number;
  readonly #prefix: string;
  readonly #redis: Redis & LimitScripts;

  constructor(config: LimitsConfig, url: string, options: RedisLimiterOptions = {}) {
    this.#config = config;
    this.#limits = limitVector(config);
    this.#now = options.now ?? Date.now;
    this.#ttlMs = config.reservationTtlSeconds * 1000;
    this.#prefix = config.redisPrefix;
    const timeout = options.commandTimeoutMs ?? 1000;
    const redis = new Redis(url, {
      // Fail fast and closed: a command waits at most `timeout`, queued or sent, then the caller gets a 503.
      commandTimeout: timeout,
      connectTimeout: timeout,
      maxRetriesPerRequest: 1,
      retryStrategy: (times) => Math.min(times * 100, 2000),
      connectionName: 'parley-limits',
    });
    redis.on('error', (error: Error) => options.onError?.(error));
    redis.defineCommand('parleyReserve', { numberOfKeys: 9, lua: RESERVE });
    // Without numberOfKeys the first argument says how many keys follow: a reservation charges 4 or 6 buckets.
    redis.defineCommand('parleySettle', { lua: SETTLE });
    this.#redis = redis as Redis & LimitScripts;
  }

  async reserve(request: ReserveRequest): Promise<Reservation> {
    const charge = worstCase(this.#config, this.#limits, request);
    const now = this.#now();
    const windows = windowsAt(now);
    const player = this.#id('p', request.player);
    const npc = request.npc === undefined ? undefined : this.#id('n', request.npc);
    const limited = [
      this.#bucket('m', windows.minute.index, player),
      this.#bucket('d', windows.day.index, player),
      this.#bucket('m', windows.minute.index, 'g'),
      this.#bucket('d', windows.day.index, 'g'),
    ];
    const npcBuckets = npc
      ? [this.#bucket('m', windows.minute.index, npc), this.#bucket('d', windows.day.index, npc)]
      : [`${this.#prefix}unused`, `${this.#prefix}unused`];
    const runs = this.#runsKey(request.player);
    const id = randomUUID();
    const result = await this.#call(() =>
      this.#redis.parleyReserve(
        this.#blockKey(),
        this.#blockKey(request.player),
        ...limited,
        ...npcBuckets,
        runs,
        now,
        charge.requests,
        charge.tokens,
        charge.cost,
        this.#config.player.concurrentRuns,
        id,
        this.#ttlMs,
        windows.minute.end + this.#ttlMs - now,
        windows.day.end + this.#ttlMs - now,
        npc ? '1' : '0',
        ...this.#limits,
      ),
    );
    if (!Array.isArray(result)) throw unavailableError(new Error(`Unexpected reply ${String(result)}`));
    const [status, ...rest] = result as Array<number | string>;
    if (status === 2) throw blockedError(rest[0] === 'everyone' ? 'everyone' : 'player');
    if (status === 1) throw limitError(rest.map(Number), now, this.#config.player.concurrentRuns);
    const charged = npc ? [...limited, ...npcBuckets] : limited;
    return createReservation(this.#config, id, request.model, charge, (delta) =>
      this.#call(() =>
        this.#redis.parleySettle(
          1 + charged.length,
          runs,
          ...charged,
          id,
          this.#now(),
          delta.requests,
          delta.tokens,
          delta.cost,
        ),
      ),
    );
  }

  async usage(scope: UsageScope): Promise<UsageReport> {
    const kind = scopeKind(scope);
    const now = this.#now();
    const windows = windowsAt(now);
    const owner =
      kind === 'player'
        ? this.#id('p', scope.player ?? '')
        : kind === 'npc'
          ? this.#id('n', scope.npc ?? '')
          : 'g';
    const replies = await this.#call(() => {
      const multi = this.#redis
        .multi()
        .hmget(this.#bucket('m', windows.minute.index, owner), 'r', 't', 'c')
        .hmget(this.#bucket('d', windows.day.index, owner), 'r', 't', 'c')
        .exists(this.#blockKey());
      if (kind === 'player') {
        multi
          .exists(this.#blockKey(scope.player))
          .zcount(this.#runsKey(scope.player ?? ''), `(${now}`, '+inf');
      }
      return multi.exec();
    });
    if (!replies) throw unavailableError(new Error('Transaction aborted'));
    const values = replies.map(([error, value]) => {
      if (error) throw unavailableError(error);
      return value;
    });
    const counter = (value: unknown): Charge => {
      const [requests, tokens, cost] = (value as Array<string | null>).map((field) => Number(field ?? 0));
      return { requests: requests ?? 0, tokens: tokens ?? 0, cost: cost ?? 0 };
    };
    return usageReport(this.#config, scope, now, {
      minute: counter(values[0]),
      day: counter(values[1]),
      activeRuns: kind === 'player' ? Number(values[4]) : null,
      blocked: values[2] === 1 || (kind === 'player' && values[3] === 1),
    });
  }

  async setBlocked(target: BlockTarget, blocked: boolean): Promise<void> {
    const key = this.#blockKey(target === 'everyone' ? undefined : target.player);
    await this.#call<unknown>(() => (blocked ? this.#redis.set(key, '1') : this.#redis.del(key)));
  }

  async close(): Promise<void> {
    if (this.#redis.status === 'ready') {
      await this.#redis.quit().catch(() => this.#redis.disconnect());
    } else this.#redis.disconnect();
  }

  /** Runs a Redis call; anything going wrong on the way becomes a 503, so the request does not pass. */
  async #call<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      throw unavailableError(error);
    }
  }

  // Ids are free text: URI-encoded, they cannot contain ':' and so cannot reach into another key's parts.
  #id(kind: 'p' | 'n', id: string): string {
    return `${kind}:${encodeURIComponent(id)}`;
  }

  #bucket(window: 'm' | 'd', index: number, owner: string): string {
    return `${this.#prefix}use:${window}:${index}:${owner}`;
  }

  #runsKey(player: string): string {
    return `${this.#prefix}runs:${encodeURIComponent(player)}`;
  }

  #blockKey(player?: string): string {
    return player === undefined
      ? `${this.#prefix}block:everyone`
      : `${this.#prefix}block:p:${encodeURIComponent(player)}`;
  }
}

/**
 * Creates the Redis-backed limiter. Connects at once (and reconnects by itself); commands made while
 * Redis is unreachable fail closed after `commandTimeoutMs`.
 *
 * @example
 * ```ts
 * const limiter = createRedisLimiter(config, 'redis://127.0.0.1:6379', { onError: (e) => log.warn(e.message) });
 * ```
 */
export function createRedisLimiter(
  config: LimitsConfig,
  url: string,
  options: RedisLimiterOptions = {},
): RedisLimiter {
  return new RedisLimiter(config, url, options);
}
