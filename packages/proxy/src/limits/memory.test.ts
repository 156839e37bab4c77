import { describe, expect, it } from 'vitest';
import { createLimiter } from './index.js';
import { createMemoryLimiter, MemoryLimiter } from './memory.js';
import { clockAt, limiterContract, NOON, testConfig } from './test-contract.js';

describe('memory limiter', () => {
  limiterContract({
    create: (config, now) => createMemoryLimiter(config, { now }),
    shared: (config, now) => {
      // One process shares one limiter: both "instances" are the same object.
      const limiter = createMemoryLimiter(config, { now });
      return [limiter, limiter];
    },
  });

  it('is what createLimiter makes when no Redis URL is configured', async () => {
    const limiter = createLimiter(testConfig());
    expect(limiter).toBeInstanceOf(MemoryLimiter);
    await limiter.close();
  });

  it('drops expired buckets, so memory stays bounded however long it runs', async () => {
    const clock = clockAt(NOON);
    const limiter = createMemoryLimiter(testConfig({ reservationTtlSeconds: 60 }), { now: clock.now });
    for (let minute = 0; minute < 3 * 24 * 60; minute += 7) {
      clock.t = NOON + minute * 60_000;
      for (let player = 0; player < 5; player++)
        await limiter.reserve({ player: `p${player}`, model: 'm', promptTokens: 1, maxCompletionTokens: 1 });
    }
    // Live: this minute and today (player and global), plus at most the previous minute's not yet swept.
    expect(limiter.bucketCount).toBeLessThanOrEqual(2 * (5 * 2 + 2));
    expect(limiter.bucketCount).toBeGreaterThanOrEqual(5 * 2 + 2);
    await limiter.close();
  });
});
