/**
 * The behaviour every limiter backend must show, run against memory and Redis alike (not imported by
 * production code). Each test builds its own limiter with its own limits and a clock it moves by hand.
 */
import { ErrorCode } from '@parley/protocol';
import { afterEach, expect, it } from 'vitest';
import { ProxyError } from '../errors.js';
import {
  type LimitsConfig,
  type LimitsConfigInput,
  limitsConfigFromJson,
  type WindowLimits,
} from './config.js';
import type { Limiter, Reservation, ReserveRequest, UsageReport } from './limiter.js';

/** How a backend under test makes limiters. `shared` makes two that must enforce one budget. */
export interface Backend {
  create(config: LimitsConfig, now: () => number): Limiter;
  shared(config: LimitsConfig, now: () => number): [Limiter, Limiter];
}

/** Nothing limited but what the test sets; prices: 1 USD in, 2 USD out per million tokens. */
export function testConfig(input: LimitsConfigInput = {}): LimitsConfig {
  const open: WindowLimits = { requests: null, tokens: null, costUsd: null };
  return limitsConfigFromJson({
    player: {
      perMinute: { ...open, ...input.player?.perMinute },
      perDay: { ...open, ...input.player?.perDay },
      concurrentRuns: input.player?.concurrentRuns ?? 1000,
    },
    global: {
      perMinute: { ...open, ...input.global?.perMinute },
      perDay: { ...open, ...input.global?.perDay },
    },
    prices: { default: { input: 1, output: 2 }, ...input.prices },
    reservationTtlSeconds: input.reservationTtlSeconds ?? 600,
  });
}

/** 2030-01-15 12:00:00 UTC: the start of a minute, twelve hours before the day ends. */
export const NOON = Date.UTC(2030, 0, 15, 12, 0, 0);

export function clockAt(start: number) {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

const ask = (player: string, promptTokens = 10, maxCompletionTokens = 10, npc?: string): ReserveRequest => ({
  player,
  model: 'test-model',
  promptTokens,
  maxCompletionTokens,
  ...(npc === undefined ? {} : { npc }),
});

/** Awaits a rejection and returns it as a ProxyError (failing the test when it is anything else). */
export async function refusal(promise: Promise<unknown>): Promise<ProxyError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ProxyError);
  return error as ProxyError;
}

export function limiterContract(backend: Backend): void {
  const open: Limiter[] = [];
  const make = (input: LimitsConfigInput, now: () => number) => {
    const limiter = backend.create(testConfig(input), now);
    open.push(limiter);
    return limiter;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((limiter) => limiter.close()));
  });

  it('limits requests per player per minute, with 429 rate_limit_exceeded, and starts over next minute', async () => {
    const clock = clockAt(NOON);
    const limiter = make({ player: { perMinute: { requests: 3 } } }, clock.now);
    for (let i = 0; i < 3; i++) await limiter.reserve(ask('ann'));
    const error = await refusal(limiter.reserve(ask('ann')));
    expect(error.status).toBe(429);
    expect(error.code).toBe(ErrorCode.RateLimited);
    expect(error.message).toMatch(/per-minute request limit/);
    await limiter.reserve(ask('bob')); // another player has a budget of their own
    clock.t += 60_000;
    await limiter.reserve(ask('ann'));
  });

  it('answers Retry-After with the seconds until the window that refused frees up', async () => {
    const clock = clockAt(NOON + 45_200);
    const limiter = make(
      { player: { perMinute: { requests: 1 } }, global: { perDay: { tokens: 1000 } } },
      clock.now,
    );
    await limiter.reserve(ask('ann'));
    const perMinute = await refusal(limiter.reserve(ask('ann')));
    expect(perMinute.headers['Retry-After']).toBe('15'); // 14.8 s, rounded up

    clock.t = Date.UTC(2030, 0, 15, 23, 0, 0);
    await limiter.reserve(ask('bob', 500, 480));
    const daily = await refusal(limiter.reserve(ask('cat', 10, 20)));
    expect(daily.code).toBe(ErrorCode.BudgetExceeded);
    expect(daily.headers['Retry-After']).toBe('3600');
    expect(daily.message).toMatch(/game's daily token budget/);
  });

  it('counts worst-case tokens per minute and per day, allowing a window to fill exactly', async () => {
    const clock = clockAt(NOON);
    const limiter = make({ player: { perMinute: { tokens: 1000 }, perDay: { tokens: 2500 } } }, clock.now);
    await limiter.reserve(ask('ann', 100, 500));
    const overMinute = await refusal(limiter.reserve(ask('ann', 100, 500)));
    expect(overMinute.code).toBe(ErrorCode.RateLimited);
    await limiter.reserve(ask('ann', 100, 300)); // 600 + 400 = 1000: exactly the limit
    clock.t += 60_000;
    await limiter.reserve(ask('ann', 500, 500)); // day: 2000
    clock.t += 60_000;
    const overDay = await refusal(limiter.reserve(ask('ann', 300, 300)));
    expect(overDay.code).toBe(ErrorCode.BudgetExceeded);
    expect(overDay.message).toMatch(/daily token budget/);
    await limiter.reserve(ask('ann', 250, 250)); // 2500: exactly the daily limit
  });

  it('limits the whole game across players', async () => {
    const limiter = make({ global: { perMinute: { requests: 2 } } }, clockAt(NOON).now);
    await limiter.reserve(ask('ann'));
    await limiter.reserve(ask('bob'));
    const error = await refusal(limiter.reserve(ask('cat')));
    expect(error.code).toBe(ErrorCode.RateLimited);
    expect(error.message).toMatch(/game's per-minute request limit/);
  });

  it('enforces a daily cost budget from the price table, and the offline model costs nothing', async () => {
    const clock = clockAt(NOON);
    // 100 prompt tokens at 1 USD/M + 200 completion tokens at 2 USD/M = 0.0005 USD per request.
    const limiter = make({ player: { perDay: { costUsd: 0.001 } } }, clock.now);
    const first = await limiter.reserve(ask('ann', 100, 200));
    expect(first.costUsd).toBeCloseTo(0.0005, 12);
    await limiter.reserve(ask('ann', 100, 200));
    const error = await refusal(limiter.reserve(ask('ann', 1, 1)));
    expect(error.status).toBe(429);
    expect(error.code).toBe(ErrorCode.BudgetExceeded);
    expect(error.message).toMatch(/daily spending budget/);
    expect(error.headers['Retry-After']).toBe(String(12 * 3600));
    await limiter.reserve({ ...ask('ann', 5000, 5000), model: 'parley-offline' });
    expect((await limiter.usage({ player: 'ann' })).day.costUsd).toBeCloseTo(0.001, 12);
  });

  it('calls a per-minute cost limit a budget, not a rate limit', async () => {
    const limiter = make({ global: { perMinute: { costUsd: 0.0001 } } }, clockAt(NOON).now);
    await limiter.reserve(ask('ann', 50, 25)); // 0.0001 exactly
    const error = await refusal(limiter.reserve(ask('bob', 1, 0)));
    expect(error.code).toBe(ErrorCode.BudgetExceeded);
    expect(error.headers['Retry-After']).toBe('60');
  });

  it('settle replaces the worst case with the actual usage, refunding the difference', async () => {
    const limiter = make({ player: { perMinute: { tokens: 1000 } } }, clockAt(NOON).now);
    const reservation = await limiter.reserve(ask('ann', 100, 800, 'brom'));
    expect(reservation.tokens).toBe(900);
    await refusal(limiter.reserve(ask('ann', 100, 100)));
    await reservation.settle({ promptTokens: 120, completionTokens: 30 });
    const usage = await limiter.usage({ player: 'ann' });
    expect(usage.minute).toMatchObject({ requests: 1, tokens: 150 });
    expect(usage.day.costUsd).toBeCloseTo((120 * 1 + 30 * 2) / 1e6, 12);
    expect((await limiter.usage({ npc: 'brom' })).day.tokens).toBe(150);
    await limiter.reserve(ask('ann', 50, 800)); // 150 + 850 = 1000
  });

  it('settle charges the excess when the prompt estimate was low', async () => {
    const limiter = make({ player: { perMinute: { tokens: 1000 } } }, clockAt(NOON).now);
    const reservation = await limiter.reserve(ask('ann', 100, 100));
    await reservation.settle({ promptTokens: 900, completionTokens: 50 });
    expect((await limiter.usage({ player: 'ann' })).minute.tokens).toBe(950);
    await refusal(limiter.reserve(ask('ann', 30, 30)));
  });

  it('release refunds everything, the request included, and frees the slot', async () => {
    const limiter = make(
      { player: { perMinute: { requests: 1 }, concurrentRuns: 1 }, global: { perDay: { costUsd: 1 } } },
      clockAt(NOON).now,
    );
    const reservation = await limiter.reserve(ask('ann', 100, 100, 'brom'));
    await reservation.release();
    for (const scope of [{ player: 'ann' }, { npc: 'brom' }, {}]) {
      const usage = await limiter.usage(scope);
      expect(usage.minute).toMatchObject({ requests: 0, tokens: 0, costUsd: 0 });
      expect(usage.day).toMatchObject({ requests: 0, tokens: 0, costUsd: 0 });
    }
    expect((await limiter.usage({ player: 'ann' })).activeRuns).toBe(0);
    await limiter.reserve(ask('ann'));
  });

  it('applies only the first settle or release of a reservation, even when they race', async () => {
    const limiter = make({}, clockAt(NOON).now);
    const reservation = await limiter.reserve(ask('ann', 100, 100));
    await Promise.all([
      reservation.settle({ promptTokens: 10, completionTokens: 10 }),
      reservation.release(),
      reservation.settle({ promptTokens: 10, completionTokens: 10 }),
    ]);
    await reservation.release();
    const usage = await limiter.usage({ player: 'ann' });
    // Either the settle won (1 request, 20 tokens) or the release did (nothing), never both or twice.
    expect([
      [1, 20],
      [0, 0],
    ]).toContainEqual([usage.minute.requests, usage.minute.tokens]);
  });

  it('caps concurrent reservations per player and frees a slot on settle or release', async () => {
    const limiter = make({ player: { concurrentRuns: 2 } }, clockAt(NOON).now);
    const first = await limiter.reserve(ask('ann'));
    const second = await limiter.reserve(ask('ann'));
    const error = await refusal(limiter.reserve(ask('ann')));
    expect(error.status).toBe(429);
    expect(error.code).toBe(ErrorCode.RateLimited);
    expect(error.headers['Retry-After']).toBe('1');
    expect(error.message).toMatch(/2 replies in progress/);
    expect((await limiter.usage({ player: 'ann' })).activeRuns).toBe(2);
    await limiter.reserve(ask('bob')); // per player
    await first.settle({ promptTokens: 5, completionTokens: 5 });
    const third = await limiter.reserve(ask('ann'));
    await refusal(limiter.reserve(ask('ann')));
    await second.release();
    await limiter.reserve(ask('ann'));
    await third.release();
    expect((await limiter.usage({ player: 'ann' })).activeRuns).toBe(1);
  });

  it('frees the slot of a reservation that is never settled after its TTL, keeping its worst case', async () => {
    const clock = clockAt(NOON);
    const limiter = make({ player: { concurrentRuns: 1 }, reservationTtlSeconds: 600 }, clock.now);
    const leaked = await limiter.reserve(ask('ann', 100, 100));
    clock.t += 599_000;
    await refusal(limiter.reserve(ask('ann')));
    clock.t += 1_000;
    const next = await limiter.reserve(ask('ann', 1, 1));
    // A settle that arrives after the TTL is ignored: no refund, and the new reservation keeps its slot.
    await leaked.settle({ promptTokens: 0, completionTokens: 0 });
    const usage = await limiter.usage({ player: 'ann' });
    expect(usage.day.tokens).toBe(202);
    expect(usage.activeRuns).toBe(1);
    await refusal(limiter.reserve(ask('ann')));
    await next.release();
    await limiter.reserve(ask('ann'));
  });

  it('refuses a blocked player with 429 budget_exceeded, charging nothing, until unblocked', async () => {
    const limiter = make({}, clockAt(NOON).now);
    await limiter.setBlocked({ player: 'ann' }, true);
    const error = await refusal(limiter.reserve(ask('ann')));
    expect(error.status).toBe(429);
    expect(error.code).toBe(ErrorCode.BudgetExceeded);
    expect(error.headers['Retry-After']).toBe('3600');
    await limiter.reserve(ask('bob'));
    const usage = await limiter.usage({ player: 'ann' });
    expect(usage.blocked).toBe(true);
    expect(usage.day.requests).toBe(0);
    expect((await limiter.usage({ player: 'bob' })).blocked).toBe(false);
    await limiter.setBlocked({ player: 'ann' }, false);
    await limiter.reserve(ask('ann'));
  });

  it('has a kill switch for everyone', async () => {
    const limiter = make({}, clockAt(NOON).now);
    await limiter.setBlocked('everyone', true);
    for (const player of ['ann', 'bob']) {
      const error = await refusal(limiter.reserve(ask(player)));
      expect(error.code).toBe(ErrorCode.BudgetExceeded);
      expect(error.message).toMatch(/everyone/);
    }
    expect((await limiter.usage({})).blocked).toBe(true);
    expect((await limiter.usage({ player: 'ann' })).blocked).toBe(true);
    await limiter.setBlocked('everyone', false);
    await limiter.reserve(ask('ann'));
    expect((await limiter.usage({})).blocked).toBe(false);
  });

  it('reports usage per player, per NPC and in total, with the limits that apply', async () => {
    const clock = clockAt(NOON + 20_000);
    const limiter = make(
      {
        player: { perMinute: { requests: 5 }, perDay: { costUsd: 0.5 } },
        global: { perDay: { costUsd: 20 } },
      },
      clock.now,
    );
    const settle = async (player: string, npc: string, prompt: number, completion: number) =>
      (await limiter.reserve(ask(player, prompt, 500, npc))).settle({
        promptTokens: prompt,
        completionTokens: completion,
      });
    await settle('ann', 'brom', 100, 10);
    await settle('ann', 'mira', 200, 20);
    await settle('bob', 'brom', 300, 30);
    const pending = await limiter.reserve(ask('bob', 50, 50, 'mira'));

    const ann = await limiter.usage({ player: 'ann' });
    expect(ann).toMatchObject({ scope: 'player', player: 'ann', activeRuns: 0, blocked: false });
    expect(ann.minute).toMatchObject({ requests: 2, tokens: 330, resetsInSeconds: 40 });
    expect(ann.minute.limits).toEqual({ requests: 5, tokens: null, costUsd: null });
    expect(ann.day.limits.costUsd).toBe(0.5);
    expect(ann.day.costUsd).toBeCloseTo((300 + 2 * 30) / 1e6, 12);
    expect(ann.day.resetsInSeconds).toBe(12 * 3600 - 20);

    const brom = await limiter.usage({ npc: 'brom' });
    expect(brom).toMatchObject({ scope: 'npc', npc: 'brom', activeRuns: null });
    expect(brom.day).toMatchObject({ requests: 2, tokens: 440 });
    expect(brom.day.limits).toEqual({ requests: null, tokens: null, costUsd: null });
    // In-flight reservations count with their worst case.
    expect((await limiter.usage({ npc: 'mira' })).day).toMatchObject({ requests: 2, tokens: 320 });
    expect((await limiter.usage({ player: 'bob' })).activeRuns).toBe(1);

    const total = await limiter.usage({});
    expect(total).toMatchObject({ scope: 'total', activeRuns: null });
    expect(total.day).toMatchObject({ requests: 4, tokens: 100 + 110 + 220 + 330 });
    expect(total.day.limits.costUsd).toBe(20);

    await pending.release();
    clock.t += 60_000;
    const later = await limiter.usage({ player: 'ann' });
    expect(later.minute).toMatchObject({ requests: 0, tokens: 0 });
    expect(later.day).toMatchObject({ requests: 2, tokens: 330 });
    expect((await refusal(limiter.usage({ player: 'ann', npc: 'brom' }))).status).toBe(400);
    expect((await limiter.usage({ player: 'nobody' })).day.requests).toBe(0);
  });

  it('refuses with a 400 a request that alone is larger than a limit, since waiting cannot help', async () => {
    const limiter = make({ player: { perMinute: { tokens: 1000 } } }, clockAt(NOON).now);
    const error = await refusal(limiter.reserve(ask('ann', 200, 900)));
    expect(error.status).toBe(400);
    expect(error.code).toBe(ErrorCode.InvalidValue);
    expect(error.param).toBe('max_completion_tokens');
    expect((await limiter.usage({ player: 'ann' })).minute.requests).toBe(0);
    await expect(limiter.reserve(ask('ann', -1, 10))).rejects.toThrow(RangeError);
    await expect(limiter.reserve(ask('ann', 1.5, 10))).rejects.toThrow(RangeError);
    await expect(limiter.reserve(ask('', 1, 10))).rejects.toThrow(RangeError);
  });

  it('treats a limit of 0 as "nothing allowed" rather than as unlimited', async () => {
    const limiter = make({ global: { perDay: { requests: 0 } } }, clockAt(NOON).now);
    expect((await refusal(limiter.reserve(ask('ann')))).code).toBe(ErrorCode.BudgetExceeded);
  });

  it('keeps players and NPCs with look-alike ids apart', async () => {
    const limiter = make({ player: { perMinute: { requests: 1 } } }, clockAt(NOON).now);
    await limiter.reserve(ask('a:b', 1, 1, 'x:y'));
    await limiter.reserve(ask('a', 1, 1, 'x'));
    await limiter.reserve(ask('a%3Ab', 1, 1));
    expect((await limiter.usage({ npc: 'x:y' })).day.requests).toBe(1);
    expect((await limiter.usage({ npc: 'x' })).day.requests).toBe(1);
  });

  describeRaces(backend, open);
}

/** The budget is 10 in every case; 100 reserves race for it through two limiters sharing one store. */
const RACES: Array<{
  name: string;
  limits: LimitsConfigInput;
  request: (i: number) => ReserveRequest;
  /** The counter the budget limits, and the budget. */
  counted: (usage: UsageReport) => number | null;
  budget: number;
}> = [
  {
    name: 'per-minute requests of one player',
    limits: { player: { perMinute: { requests: 10 } } },
    request: () => ask('ann'),
    counted: (usage) => usage.minute.requests,
    budget: 10,
  },
  {
    name: 'per-minute tokens of one player',
    limits: { player: { perMinute: { tokens: 1000 } } },
    request: () => ask('ann', 40, 60),
    counted: (usage) => usage.minute.tokens,
    budget: 1000,
  },
  {
    name: 'daily cost of the whole game, across 100 players',
    // Each reserve: 100 * 1 + 200 * 2 USD/M = 0.0005 USD.
    limits: { global: { perDay: { costUsd: 0.005 } } },
    request: (i) => ask(`player-${i}`, 100, 200),
    counted: (usage) => usage.day.costUsd,
    budget: 0.005 + 1e-12,
  },
  {
    name: 'concurrent runs of one player',
    limits: { player: { concurrentRuns: 10 } },
    request: () => ask('ann'),
    counted: (usage) => usage.activeRuns,
    budget: 10,
  },
];

function describeRaces(backend: Backend, open: Limiter[]): void {
  for (const race of RACES) {
    it(`lets exactly 10 of 100 concurrent reserves through a budget of 10 (${race.name})`, async () => {
      const config = testConfig(race.limits);
      const [a, b] = backend.shared(config, clockAt(NOON).now);
      open.push(a, b);
      const scope = race.limits.global ? {} : { player: 'ann' };
      let maxSeen = 0;
      let samples = 0;
      let racing = true;
      // Reads the counters while the reserves are in flight: they must never show more than the budget.
      const sampler = (async () => {
        while (racing) {
          const usage = await b.usage(scope);
          samples++;
          maxSeen = Math.max(maxSeen, usage.minute.requests);
          expect(race.counted(usage)).toBeLessThanOrEqual(race.budget);
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      const results = await Promise.allSettled(
        Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? a : b).reserve(race.request(i))),
      );
      racing = false;
      await sampler;
      const granted = results.filter(
        (result): result is PromiseFulfilledResult<Reservation> => result.status === 'fulfilled',
      );
      expect(granted).toHaveLength(10);
      for (const result of results) {
        if (result.status === 'rejected') {
          expect(result.reason).toBeInstanceOf(ProxyError);
          expect((result.reason as ProxyError).status).toBe(429);
        }
      }
      const usage = await a.usage(scope);
      expect(usage.minute.requests).toBe(10);
      expect(race.counted(usage)).toBeLessThanOrEqual(race.budget);
      expect(race.counted(usage)).toBeGreaterThan(race.budget * 0.9);
      expect(maxSeen).toBeLessThanOrEqual(10);
      expect(samples).toBeGreaterThan(0);
      if (race.limits.player?.concurrentRuns) expect(usage.activeRuns).toBe(10);
    });
  }

  it('keeps exact counters when 100 reserve-and-settle cycles race through two limiters', async () => {
    const [a, b] = backend.shared(testConfig({ player: { perMinute: { tokens: 5000 } } }), clockAt(NOON).now);
    open.push(a, b);
    const outcomes = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const limiter = i % 2 === 0 ? a : b;
        // Staggered starts, so that later reserves race with the settles of earlier ones.
        await new Promise((resolve) => setTimeout(resolve, (i % 10) * 3));
        try {
          const reservation = await limiter.reserve(ask('ann', 100, 400));
          await new Promise((resolve) => setTimeout(resolve, i % 7));
          if (i % 3 === 0) {
            await reservation.release();
            return { granted: true, tokens: 0 };
          }
          await reservation.settle({ promptTokens: 100, completionTokens: i % 50 });
          return { granted: true, tokens: 100 + (i % 50) };
        } catch (error) {
          expect((error as ProxyError).status).toBe(429);
          return { granted: false, tokens: 0 };
        }
      }),
    );
    const usage = await a.usage({ player: 'ann' });
    expect(usage.minute.tokens).toBe(outcomes.reduce((sum, outcome) => sum + outcome.tokens, 0));
    expect(usage.minute.tokens).toBeLessThanOrEqual(5000);
    expect(usage.activeRuns).toBe(0);
    // Settling frees budget that later reserves can use: more than 10 of 100 got through.
    expect(outcomes.filter((outcome) => outcome.granted).length).toBeGreaterThan(10);
  });
}
