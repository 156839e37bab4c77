import { ErrorCode } from '@parley/protocol';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisAvailable, startRedis, type TestRedis } from '../../../../test/support/redis.js';
import type { LimitsConfig } from './config.js';
import { createLimiter } from './index.js';
import { createRedisLimiter, DEFAULT_SLOT_LEASE_MS, RedisLimiter } from './redis.js';
import { clockAt, limiterContract, NOON, refusal, testConfig } from './test-contract.js';

const inCi = Boolean(process.env.CI) && process.env.CI !== 'false';
const haveRedis = redisAvailable();
// Locally a missing server is a skip with its reason in the title; in CI it is a failure (beforeAll throws).
const title =
  haveRedis || inCi
    ? 'redis limiter'
    : 'redis limiter (skipped: redis-server not found on PATH; apt-get install redis-server)';

const ask = (player: string) => ({ player, model: 'test-model', promptTokens: 10, maxCompletionTokens: 10 });

describe.skipIf(!haveRedis && !inCi)(title, () => {
  let server: TestRedis | undefined;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server?.stop();
  });

  // Every limiter (or shared pair) gets keys of its own, so tests never see each other's counters.
  let namespaces = 0;
  const isolated = (config: LimitsConfig): LimitsConfig => ({
    ...config,
    redisPrefix: `parley:test-${process.pid}-${++namespaces}:`,
  });

  limiterContract({
    create: (config, now) => createRedisLimiter(isolated(config), server!.url, { now }),
    shared: (config, now) => {
      // Two connections, as two proxy instances would have.
      const shared = isolated(config);
      return [
        createRedisLimiter(shared, server!.url, { now }),
        createRedisLimiter(shared, server!.url, { now }),
      ];
    },
  });

  it('is what createLimiter makes when a Redis URL is configured', async () => {
    const limiter = createLimiter({ ...isolated(testConfig()), redisUrl: server!.url });
    expect(limiter).toBeInstanceOf(RedisLimiter);
    await limiter.reserve(ask('ann'));
    await limiter.close();
  });

  it('shares budgets and kill switches between instances', async () => {
    const config = isolated(testConfig({ player: { perMinute: { requests: 1 } } }));
    const clock = clockAt(NOON);
    const a = createRedisLimiter(config, server!.url, { now: clock.now });
    const b = createRedisLimiter(config, server!.url, { now: clock.now });
    try {
      await a.reserve(ask('ann'));
      expect((await refusal(b.reserve(ask('ann')))).code).toBe(ErrorCode.RateLimited);
      expect((await b.usage({ player: 'ann' })).minute.requests).toBe(1);
      await a.setBlocked('everyone', true);
      expect((await refusal(b.reserve(ask('bob')))).code).toBe(ErrorCode.BudgetExceeded);
      await b.setBlocked('everyone', false);
      await a.reserve(ask('bob'));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('keeps every key under the parley: prefix, each expiring shortly after its window', async () => {
    const config = { ...testConfig(), redisPrefix: `parley:ttl-${process.pid}:` };
    // Noon at the start of a minute: the day key has twelve hours left, whatever the real time is.
    const limiter = createRedisLimiter(config, server!.url, { now: () => NOON });
    const admin = new Redis(server!.url);
    try {
      const reservation = await limiter.reserve({ ...ask('ann'), npc: 'brom' });
      await limiter.setBlocked({ player: 'zed' }, true);
      const keys = (await admin.keys(`${config.redisPrefix}*`)).sort();
      expect(keys.every((key) => key.startsWith('parley:'))).toBe(true);
      // Minute and day buckets for player, NPC and global; the player's reservations; one block; the
      // instance's slot lease.
      expect(keys).toHaveLength(9);
      const ttl = config.reservationTtlSeconds * 1000;
      for (const key of keys) {
        const pttl = await admin.pttl(key);
        if (key.includes(':lease:')) {
          expect(pttl).toBeGreaterThan(0);
          expect(pttl).toBeLessThanOrEqual(DEFAULT_SLOT_LEASE_MS);
        } else if (key.includes(':block:')) {
          expect(pttl).toBe(-1); // a block lasts until lifted
        } else if (key.includes(':use:m:')) {
          expect(pttl).toBeGreaterThan(ttl);
          expect(pttl).toBeLessThanOrEqual(60_000 + ttl);
        } else if (key.includes(':use:d:')) {
          expect(pttl).toBeGreaterThan(60_000 + ttl);
          expect(pttl).toBeLessThanOrEqual(86_400_000 + ttl);
        } else {
          expect(pttl).toBeGreaterThan(0);
          expect(pttl).toBeLessThanOrEqual(ttl);
        }
      }
      await reservation.settle({ promptTokens: 1, completionTokens: 1 });
    } finally {
      await limiter.close();
      admin.disconnect();
    }
  });

  it('keeps the slots of a live instance past its lease, renewing it, and tells others to poll', async () => {
    const config = isolated(testConfig({ player: { concurrentRuns: 1 } }));
    const holder = createRedisLimiter(config, server!.url, { instanceId: 'alive', slotLeaseMs: 600 });
    const other = createRedisLimiter(config, server!.url, { instanceId: 'other', slotLeaseMs: 600 });
    try {
      const held = await holder.reserve(ask('ann'));
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const error = await refusal(other.reserve(ask('ann')));
      expect(error.code).toBe(ErrorCode.RateLimited);
      expect(error.headers['Retry-After']).toBe('1');
      expect((await other.usage({ player: 'ann' })).activeRuns).toBe(1);
      await held.settle({ promptTokens: 1, completionTokens: 1 });
      await other.reserve(ask('ann'));
    } finally {
      await Promise.all([holder.close(), other.close()]);
    }
  });

  it('frees the slots of an instance that died within its lease, and tells the real wait', async () => {
    const leaseMs = 4000;
    const config = isolated(testConfig({ player: { concurrentRuns: 1 } }));
    const dying = createRedisLimiter(config, server!.url, { instanceId: 'dying', slotLeaseMs: leaseMs });
    const survivor = createRedisLimiter(config, server!.url, {
      instanceId: 'survivor',
      slotLeaseMs: leaseMs,
    });
    const admin = new Redis(server!.url);
    try {
      await dying.reserve(ask('ann'));
      await dying.close(); // never settled: the instance "died" holding the slot
      const died = Date.now();
      // While the lease looks renewed the holder may be alive: poll. Once it has missed a renewal (half the
      // lease left), the answer is the rest of the lease, not 1 s and not the 10-minute reservation TTL.
      let retryAfter = 1;
      let leaseLeft = 0;
      while (retryAfter === 1 && Date.now() - died < leaseMs) {
        const error = await refusal(survivor.reserve(ask('ann')));
        expect(error.code).toBe(ErrorCode.RateLimited);
        retryAfter = Number(error.headers['Retry-After']);
        leaseLeft = await admin.pttl(`${config.redisPrefix}lease:dying`);
        if (retryAfter === 1) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const told = Date.now();
      expect(retryAfter).toBeGreaterThanOrEqual(2);
      expect(retryAfter).toBeLessThanOrEqual(leaseMs / 2000);
      expect(Math.abs(retryAfter - Math.ceil(leaseLeft / 1000))).toBeLessThanOrEqual(1);
      // Still refused shortly before the told wait is over, admitted once it is.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, leaseLeft - 600)));
      await refusal(survivor.reserve(ask('ann')));
      await new Promise((resolve) => setTimeout(resolve, told + retryAfter * 1000 - Date.now()));
      const next = await survivor.reserve(ask('ann'));
      expect(Date.now() - died).toBeLessThan(leaseMs + 1500);
      expect((await survivor.usage({ player: 'ann' })).activeRuns).toBe(1);
      await next.release();
    } finally {
      await survivor.close();
      admin.disconnect();
    }
  });

  it('fails closed with a 503 when Redis cannot be reached at all', async () => {
    const gone = await startRedis();
    await gone.stop();
    const limiter = createRedisLimiter(testConfig(), gone.url, { commandTimeoutMs: 300 });
    try {
      const started = Date.now();
      const error = await refusal(limiter.reserve(ask('ann')));
      expect(error.status).toBe(503);
      expect(error.code).toBe(ErrorCode.Unavailable);
      expect(error.headers['Retry-After']).toBeDefined();
      expect(Date.now() - started).toBeLessThan(5_000);
      expect((await refusal(limiter.usage({}))).status).toBe(503);
      expect((await refusal(limiter.setBlocked('everyone', true))).status).toBe(503);
    } finally {
      await limiter.close();
    }
  });

  it('fails closed when Redis goes away, refuses to lose a settle silently, and recovers when it is back', async () => {
    const own = await startRedis();
    const errors: Error[] = [];
    const limiter = createRedisLimiter(testConfig({ player: { concurrentRuns: 1 } }), own.url, {
      commandTimeoutMs: 300,
      onError: (error) => errors.push(error),
    });
    let restarted: TestRedis | undefined;
    try {
      const reservation = await limiter.reserve(ask('ann'));
      await own.stop();
      expect((await refusal(limiter.reserve(ask('bob')))).status).toBe(503);
      expect((await refusal(reservation.settle({ promptTokens: 1, completionTokens: 1 }))).status).toBe(503);
      expect(errors.length).toBeGreaterThan(0);
      restarted = await startRedis({ port: own.port });
      // The new server is empty: the reservation is gone, so settling is a no-op rather than an error.
      await expect
        .poll(
          () =>
            limiter.reserve(ask('bob')).then(
              () => true,
              () => false,
            ),
          { timeout: 10_000 },
        )
        .toBe(true);
      await reservation.settle({ promptTokens: 1, completionTokens: 1 });
    } finally {
      await limiter.close();
      await restarted?.stop();
    }
  });
});
