import { randomUUID } from 'node:crypto';
import { type ChainableCommander, Redis } from 'ioredis';
import { ProxyError } from '../errors.js';
import type { LimitsConfig } from './config.js';
import {
  type BlockTarget,
  blockedError,
  type Charge,
  CONCURRENCY_FAILURE,
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
 * The player's concurrency slots that still count, swept of the ones that no longer do, and how long until
 * one frees (ms). A slot is a member `holder/id` of the player's sorted set, scored with its reservation's
 * expiry on the proxies' clock; `holder` is the instance holding it, whose lease is the key
 * `<prefix>lease:<holder>` (value: the remaining time below which it has missed a renewal). A slot whose
 * reservation expired, or whose holder's lease lapsed (the instance died), is removed. A slot of a holder
 * that renews on time may free any moment (its reply ends): 1 s, a polling interval. A slot of a holder that
 * missed a renewal frees when its lease ends, and that is the wait told.
 *
 * Holder lease keys are not in KEYS: the set names them. Parley runs on one Redis, not a cluster.
 * Expects: key (the sorted set), now, lease key prefix, own holder.
 */
const SLOTS = `
local function slots(key, now, leasePrefix, own)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local members = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
  local count, wait = 0, nil
  for i = 1, #members, 2 do
    local member = members[i]
    local freeIn = tonumber(members[i + 1]) - now
    local holder = string.match(member, '^([^/]*)/')
    local counts = true
    if holder and holder ~= own then
      local lease = leasePrefix .. holder
      local pttl = redis.call('PTTL', lease)
      if pttl == -2 then
        redis.call('ZREM', key, member)
        counts = false
      elseif pttl >= 0 and pttl < (tonumber(redis.call('GET', lease)) or 0) then
        freeIn = math.min(freeIn, pttl)
      else
        freeIn = math.min(freeIn, 1000)
      end
    else
      freeIn = math.min(freeIn, 1000)
    end
    if counts then
      count = count + 1
      if wait == nil or freeIn < wait then wait = freeIn end
    end
  end
  return count, wait or 0
end
`;

/**
 * Checks every limit and, only if all pass, charges every bucket and takes a concurrency slot. One
 * script runs atomically on the server, so instances sharing this Redis cannot both take the last unit
 * of a budget.
 *
 * KEYS: 1 everyone blocked, 2 player blocked, 3–6 the limited buckets (player minute, player day, global
 * minute, global day), 7–8 the NPC's buckets (minute, day), 9 the player's reservations (sorted set,
 * score = expiry, member = holder/id), 10 this instance's lease.
 * ARGV: 1 now, 2–4 the charge (requests, tokens, nano-dollars), 5 concurrency cap, 6 reservation member,
 * 7 reservation TTL ms, 8–9 minute and day bucket TTL ms, 10 '1' when the NPC buckets count,
 * 11–22 the limits in LIMIT_SLOTS order (-1 = unlimited), 23 lease ms, 24 the lease's stale mark ms,
 * 25 lease key prefix, 26 this instance as a holder.
 * Returns {0} granted, {1, ms until a slot frees, failure indexes…} refused, {2, 'everyone' | 'player'}
 * blocked.
 */
const RESERVE = `${SLOTS}
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
local taken, wait = slots(KEYS[9], now, ARGV[25], ARGV[26])
if taken >= tonumber(ARGV[5]) then failures[#failures + 1] = 12 end
if #failures > 0 then return {1, wait, unpack(failures)} end
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
redis.call('SET', KEYS[10], ARGV[24], 'PX', ARGV[23])
return {0}
`;

/**
 * Counts the player's slots as {@link RESERVE} does (for usage reports).
 * KEYS: 1 the player's reservations. ARGV: 1 now, 2 lease key prefix, 3 this instance as a holder.
 */
const COUNT_SLOTS = `${SLOTS}
local count = slots(KEYS[1], tonumber(ARGV[1]), ARGV[2], ARGV[3])
return count
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
  parleySlots(...args: Array<string | number>): Promise<unknown>;
}

/** The scripts, queued in a transaction. */
interface LimitChains {
  parleySlots(...args: Array<string | number>): ChainableCommander;
}

/** The default lease of an instance's concurrency slots. */
export const DEFAULT_SLOT_LEASE_MS = 15_000;

/** Options of {@link createRedisLimiter}. */
export interface RedisLimiterOptions extends LimiterOptions {
  /**
   * Milliseconds a Redis command may take before the limiter gives up and fails closed (503). Default
   * 1000: a budget check must never hold a player's turn for long.
   */
  commandTimeoutMs?: number;
  /** Told about connection errors (ioredis reports them as events, not to any caller). */
  onError?: (error: Error) => void;
  /** This proxy instance, as the holder of its concurrency slots (default: a random id per limiter). */
  instanceId?: string;
  /**
   * How long the concurrency slots of an instance outlive its last renewal, in ms (default 15 000). The
   * limiter renews its open reservations every third of this, so a dead instance's slots free within one
   * lease, instead of after the reservation TTL.
   */
  slotLeaseMs?: number;
}

/**
 * The limiter shared by every proxy instance that points at one Redis. Keys are namespaced with the
 * configured prefix (`parley:` by default) and expire on their own: a minute bucket shortly after its
 * minute, a day bucket shortly after its day. If Redis cannot be reached every call rejects with a 503
 * `ProxyError`, so no request passes unchecked.
 *
 * The clock is the proxy's, not Redis's: instances should run NTP; a skew of a second only moves which
 * minute a request lands in. Slot leases are the exception: they are Redis key expiries, on Redis's clock.
 *
 * A concurrency slot carries its instance's lease: while a reservation is open, the limiter renews one key
 * for the whole instance every third of `slotLeaseMs`; when the instance dies the key lapses and every
 * slot it held is free, within one lease. A refused player is told the real wait: 1 s while the slots'
 * holders are alive (a reply may end any moment), the rest of the lease once a holder has missed a
 * renewal (half the lease left with none). An instance that comes back after its lease lapsed (a pause
 * longer than the lease) finds those slots gone: settling them refunds nothing, as for an expired reservation.
 */
export class RedisLimiter implements Limiter {
  readonly #config: LimitsConfig;
  readonly #limits: number[];
  readonly #now: () => number;
  readonly #ttlMs: number;
  readonly #prefix: string;
  readonly #redis: Redis & LimitScripts;
  /** This instance in slot members (URI-encoded, so it holds no '/'). */
  readonly #holder: string;
  readonly #leaseMs: number;
  readonly #onError: ((error: Error) => void) | undefined;
  /** Slot members of the open reservations → their expiry: renewed while any is open. */
  readonly #open = new Map<string, number>();
  #renewer: NodeJS.Timeout | undefined;

  constructor(config: LimitsConfig, url: string, options: RedisLimiterOptions = {}) {
    this.#config = config;
    this.#limits = limitVector(config);
    this.#now = options.now ?? Date.now;
    this.#ttlMs = config.reservationTtlSeconds * 1000;
    this.#prefix = config.redisPrefix;
    this.#holder = encodeURIComponent(options.instanceId ?? randomUUID());
    this.#leaseMs = options.slotLeaseMs ?? DEFAULT_SLOT_LEASE_MS;
    if (!Number.isInteger(this.#leaseMs) || this.#leaseMs < 300)
      throw new RangeError(`slotLeaseMs must be an integer ≥ 300, got ${String(options.slotLeaseMs)}`);
    this.#onError = options.onError;
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
    redis.defineCommand('parleyReserve', { numberOfKeys: 10, lua: RESERVE });
    // Without numberOfKeys the first argument says how many keys follow: a reservation charges 4 or 6 buckets.
    redis.defineCommand('parleySettle', { lua: SETTLE });
    redis.defineCommand('parleySlots', { numberOfKeys: 1, lua: COUNT_SLOTS });
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
    const member = `${this.#holder}/${id}`;
    const result = await this.#call(() =>
      this.#redis.parleyReserve(
        this.#blockKey(),
        this.#blockKey(request.player),
        ...limited,
        ...npcBuckets,
        runs,
        this.#leaseKey(),
        now,
        charge.requests,
        charge.tokens,
        charge.cost,
        this.#config.player.concurrentRuns,
        member,
        this.#ttlMs,
        windows.minute.end + this.#ttlMs - now,
        windows.day.end + this.#ttlMs - now,
        npc ? '1' : '0',
        ...this.#limits,
        this.#leaseMs,
        this.#staleMs(),
        this.#leaseKeyPrefix(),
        this.#holder,
      ),
    );
    if (!Array.isArray(result)) throw unavailableError(new Error(`Unexpected reply ${String(result)}`));
    const [status, ...rest] = result as Array<number | string>;
    if (status === 2) throw blockedError(rest[0] === 'everyone' ? 'everyone' : 'player');
    if (status === 1) {
      const [slotWaitMs, ...failures] = rest.map(Number);
      throw withSlotWait(
        limitError(failures, now, this.#config.player.concurrentRuns),
        failures.includes(CONCURRENCY_FAILURE) ? (slotWaitMs ?? 0) : 0,
      );
    }
    this.#hold(member, now + this.#ttlMs);
    const charged = npc ? [...limited, ...npcBuckets] : limited;
    return createReservation(this.#config, id, request.model, charge, async (delta) => {
      const applied = await this.#call(() =>
        this.#redis.parleySettle(
          1 + charged.length,
          runs,
          ...charged,
          member,
          this.#now(),
          delta.requests,
          delta.tokens,
          delta.cost,
        ),
      );
      this.#let(member);
      return applied;
    });
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
      const multi = this.#redis.multi() as ChainableCommander & LimitChains;
      multi
        .hmget(this.#bucket('m', windows.minute.index, owner), 'r', 't', 'c')
        .hmget(this.#bucket('d', windows.day.index, owner), 'r', 't', 'c')
        .exists(this.#blockKey());
      if (kind === 'player') {
        multi.exists(this.#blockKey(scope.player));
        multi.parleySlots(this.#runsKey(scope.player ?? ''), now, this.#leaseKeyPrefix(), this.#holder);
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

  /**
   * Closes the connection. Open reservations are not settled: their slots free when this instance's lease
   * lapses, as if it had died (settle or release them first on a clean shutdown).
   */
  async close(): Promise<void> {
    clearInterval(this.#renewer);
    this.#renewer = undefined;
    this.#open.clear();
    if (this.#redis.status === 'ready') {
      await this.#redis.quit().catch(() => this.#redis.disconnect());
    } else this.#redis.disconnect();
  }

  /** Counts an open reservation, renewing this instance's lease while any is open. */
  #hold(member: string, expiresAt: number): void {
    this.#open.set(member, expiresAt);
    if (this.#renewer !== undefined) return;
    this.#renewer = setInterval(() => this.#renew(), Math.max(100, Math.floor(this.#leaseMs / 3)));
    // A timer must not keep a process alive that has nothing else to do.
    this.#renewer.unref();
  }

  #let(member: string): void {
    this.#open.delete(member);
    if (this.#open.size > 0) return;
    clearInterval(this.#renewer);
    this.#renewer = undefined;
  }

  /** One renewal for all this instance's open reservations; those past their TTL no longer need it. */
  #renew(): void {
    const now = this.#now();
    for (const [member, expiresAt] of this.#open) if (expiresAt <= now) this.#let(member);
    if (this.#open.size === 0) return;
    this.#redis
      .set(this.#leaseKey(), this.#staleMs(), 'PX', this.#leaseMs)
      .catch((error: unknown) => this.#onError?.(error instanceof Error ? error : new Error(String(error))));
  }

  /** The lease's remaining time below which its holder has missed a renewal (one is due every third). */
  #staleMs(): number {
    return Math.floor(this.#leaseMs / 2);
  }

  #leaseKeyPrefix(): string {
    return `${this.#prefix}lease:`;
  }

  #leaseKey(): string {
    return `${this.#leaseKeyPrefix()}${this.#holder}`;
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

/** The refusal with its Retry-After raised to the wait for a concurrency slot, when a slot refused it. */
function withSlotWait(error: ProxyError, slotWaitMs: number): ProxyError {
  const told = Number(error.headers['Retry-After'] ?? 1);
  const seconds = Math.max(told, Math.ceil(slotWaitMs / 1000));
  if (seconds === told) return error;
  return new ProxyError(error.code, error.message, {
    headers: { ...error.headers, 'Retry-After': String(seconds) },
  });
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
