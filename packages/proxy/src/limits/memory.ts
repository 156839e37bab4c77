import { randomUUID } from 'node:crypto';
import type { LimitsConfig } from './config.js';
import {
  type BlockTarget,
  blockedError,
  type Charge,
  CONCURRENCY_FAILURE,
  createReservation,
  exceededLimits,
  type Limiter,
  type LimiterOptions,
  limitError,
  limitVector,
  MINUTE_MS,
  type Reservation,
  type ReserveRequest,
  scopeKind,
  type UsageReport,
  type UsageScope,
  usageReport,
  windowsAt,
  worstCase,
} from './limiter.js';

interface Bucket extends Charge {
  /** When the bucket can be dropped: its window's end plus the reservation TTL, so a late settle finds it. */
  expiresAt: number;
}

const ZERO: Readonly<Charge> = Object.freeze({ requests: 0, tokens: 0, cost: 0 });

/**
 * The in-process limiter, for a single proxy instance. Every check and charge of a reservation happens
 * in one synchronous stretch of JavaScript, so concurrent requests cannot interleave between them.
 * Memory stays bounded: expired buckets and reservations are swept at most once a minute.
 */
export class MemoryLimiter implements Limiter {
  readonly #config: LimitsConfig;
  readonly #limits: number[];
  readonly #now: () => number;
  readonly #ttlMs: number;
  readonly #buckets = new Map<string, Bucket>();
  /** Player → reservation id → expiry. */
  readonly #runs = new Map<string, Map<string, number>>();
  readonly #blocked = new Set<string>();
  #everyoneBlocked = false;
  #nextSweep = 0;

  constructor(config: LimitsConfig, options: LimiterOptions = {}) {
    this.#config = config;
    this.#limits = limitVector(config);
    this.#now = options.now ?? Date.now;
    this.#ttlMs = config.reservationTtlSeconds * 1000;
  }

  /** Buckets currently held (for tests and metrics): stays bounded however long the proxy runs. */
  get bucketCount(): number {
    return this.#buckets.size;
  }

  async reserve(request: ReserveRequest): Promise<Reservation> {
    const charge = worstCase(this.#config, this.#limits, request);
    const now = this.#now();
    this.#sweep(now);
    if (this.#everyoneBlocked) throw blockedError('everyone');
    if (this.#blocked.has(request.player)) throw blockedError('player');

    const windows = windowsAt(now);
    const limited = [
      { key: key('p', 'm', windows.minute.index, request.player), end: windows.minute.end },
      { key: key('p', 'd', windows.day.index, request.player), end: windows.day.end },
      { key: key('g', 'm', windows.minute.index), end: windows.minute.end },
      { key: key('g', 'd', windows.day.index), end: windows.day.end },
    ];
    const failures = exceededLimits(
      this.#limits,
      limited.map(({ key }) => this.#buckets.get(key) ?? ZERO),
      charge,
    );
    const runs = this.#liveRuns(request.player, now);
    if ((runs?.size ?? 0) >= this.#config.player.concurrentRuns) failures.push(CONCURRENCY_FAILURE);
    if (failures.length > 0) throw limitError(failures, now, this.#config.player.concurrentRuns);

    const charged =
      request.npc === undefined
        ? limited
        : [
            ...limited,
            { key: key('n', 'm', windows.minute.index, request.npc), end: windows.minute.end },
            { key: key('n', 'd', windows.day.index, request.npc), end: windows.day.end },
          ];
    for (const { key, end } of charged) this.#add(key, charge, end + this.#ttlMs);
    const id = randomUUID();
    const playerRuns = runs ?? new Map<string, number>();
    playerRuns.set(id, now + this.#ttlMs);
    this.#runs.set(request.player, playerRuns);

    return createReservation(this.#config, id, request.model, charge, async (delta) => {
      const current = this.#runs.get(request.player);
      const expiresAt = current?.get(id);
      if (current === undefined || expiresAt === undefined) return false;
      current.delete(id);
      if (current.size === 0) this.#runs.delete(request.player);
      // Past its TTL the reservation counts as fully spent: its worst case stays.
      if (expiresAt <= this.#now()) return false;
      for (const { key } of charged) {
        const bucket = this.#buckets.get(key);
        if (bucket) applyDelta(bucket, delta);
      }
      return true;
    });
  }

  async usage(scope: UsageScope): Promise<UsageReport> {
    const kind = scopeKind(scope);
    const now = this.#now();
    const windows = windowsAt(now);
    const [prefix, id] =
      kind === 'player'
        ? (['p', scope.player] as const)
        : kind === 'npc'
          ? (['n', scope.npc] as const)
          : (['g'] as const);
    const counter = (window: 'm' | 'd', index: number): Charge => {
      const bucket = this.#buckets.get(key(prefix, window, index, id));
      return bucket ? { requests: bucket.requests, tokens: bucket.tokens, cost: bucket.cost } : { ...ZERO };
    };
    return usageReport(this.#config, scope, now, {
      minute: counter('m', windows.minute.index),
      day: counter('d', windows.day.index),
      activeRuns: kind === 'player' ? (this.#liveRuns(scope.player ?? '', now)?.size ?? 0) : null,
      blocked: this.#everyoneBlocked || (kind === 'player' && this.#blocked.has(scope.player ?? '')),
    });
  }

  async setBlocked(target: BlockTarget, blocked: boolean): Promise<void> {
    if (target === 'everyone') this.#everyoneBlocked = blocked;
    else if (blocked) this.#blocked.add(target.player);
    else this.#blocked.delete(target.player);
  }

  async close(): Promise<void> {
    this.#buckets.clear();
    this.#runs.clear();
  }

  /**
   * The player's unexpired reservations, dropping expired ones (they leaked: settle never came). Every
   * reservation lives as long as the next, so they expire in the order they were made: the scan stops at
   * the first one still live, and a game server holding many runs under one identity pays for none.
   */
  #liveRuns(player: string, now: number): Map<string, number> | undefined {
    const runs = this.#runs.get(player);
    if (!runs) return undefined;
    for (const id of runs.keys()) {
      if ((runs.get(id) ?? 0) > now) break;
      runs.delete(id);
    }
    if (runs.size === 0) {
      this.#runs.delete(player);
      return undefined;
    }
    return runs;
  }

  #add(key: string, charge: Charge, expiresAt: number): void {
    const bucket = this.#buckets.get(key);
    if (bucket) applyDelta(bucket, charge);
    else this.#buckets.set(key, { ...charge, expiresAt });
  }

  #sweep(now: number): void {
    if (now < this.#nextSweep) return;
    this.#nextSweep = now + MINUTE_MS;
    for (const [key, bucket] of this.#buckets) if (bucket.expiresAt <= now) this.#buckets.delete(key);
    for (const player of [...this.#runs.keys()]) this.#liveRuns(player, now);
  }
}

/** Adds a charge, never below zero (a refund can only return what was counted). */
function applyDelta(bucket: Charge, delta: Charge): void {
  bucket.requests = Math.max(0, bucket.requests + delta.requests);
  bucket.tokens = Math.max(0, bucket.tokens + delta.tokens);
  bucket.cost = Math.max(0, bucket.cost + delta.cost);
}

/** Player and NPC ids are free text; they come last, so no id can make one key look like another. */
function key(scope: 'p' | 'g' | 'n', window: 'm' | 'd', index: number, id?: string): string {
  return id === undefined
    ? `${scope}\u0000${window}\u0000${index}`
    : `${scope}\u0000${window}\u0000${index}\u0000${id}`;
}

/**
 * Creates the in-process limiter.
 *
 * @example
 * ```ts
 * const limiter = createMemoryLimiter(loadLimitsConfig());
 * ```
 */
export function createMemoryLimiter(config: LimitsConfig, options: LimiterOptions = {}): MemoryLimiter {
  return new MemoryLimiter(config, options);
}
