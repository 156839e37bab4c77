import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config.js';
import {
  defaultLimitsConfig,
  LIMITS_ENV_VARIABLES,
  limitsConfigFromJson,
  loadLimitsConfig,
} from './config.js';

describe('loadLimitsConfig', () => {
  it('has safe defaults when nothing is set', () => {
    const config = loadLimitsConfig({});
    expect(config.player.perMinute).toEqual({ requests: 20, tokens: 20_000, costUsd: null });
    expect(config.player.perDay).toEqual({ requests: null, tokens: 200_000, costUsd: 0.5 });
    expect(config.player.concurrentRuns).toBe(2);
    expect(config.global.perMinute.tokens).toBe(200_000);
    expect(config.global.perDay.costUsd).toBe(20);
    expect(config.prices['parley-offline']).toEqual({ input: 0, output: 0 });
    expect(config.prices.default.input).toBeGreaterThan(0);
    expect(config).toMatchObject({ reservationTtlSeconds: 600, cannedReply: false, redisUrl: null });
    expect(config.redisPrefix).toBe('parley:');
  });

  it('reads every window limit, with off for unlimited', () => {
    const config = loadLimitsConfig({
      PARLEY_PLAYER_REQUESTS_PER_MINUTE: '5',
      PARLEY_PLAYER_TOKENS_PER_MINUTE: 'off',
      PARLEY_PLAYER_COST_PER_DAY_USD: '0.25',
      PARLEY_PLAYER_REQUESTS_PER_DAY: '300',
      PARLEY_GLOBAL_TOKENS_PER_MINUTE: '90000',
      PARLEY_GLOBAL_COST_PER_DAY_USD: '0',
      PARLEY_GLOBAL_COST_PER_MINUTE_USD: '0.5',
      PARLEY_PLAYER_CONCURRENT_RUNS: '1',
      PARLEY_RESERVATION_TTL_SECONDS: '120',
      PARLEY_BUDGET_CANNED_REPLY: '1',
      REDIS_URL: 'redis://cache:6379/2',
      PARLEY_REDIS_PREFIX: 'parley:game1:',
    });
    expect(config.player.perMinute).toEqual({ requests: 5, tokens: null, costUsd: null });
    expect(config.player.perDay).toEqual({ requests: 300, tokens: 200_000, costUsd: 0.25 });
    expect(config.global.perMinute).toEqual({ requests: null, tokens: 90_000, costUsd: 0.5 });
    expect(config.global.perDay.costUsd).toBe(0);
    expect(config).toMatchObject({
      reservationTtlSeconds: 120,
      cannedReply: true,
      redisUrl: 'redis://cache:6379/2',
      redisPrefix: 'parley:game1:',
    });
    expect(config.player.concurrentRuns).toBe(1);
  });

  it('names all twelve window variables', () => {
    expect(LIMITS_ENV_VARIABLES).toContain('PARLEY_GLOBAL_REQUESTS_PER_DAY');
    expect(LIMITS_ENV_VARIABLES).toContain('PARLEY_PLAYER_COST_PER_MINUTE_USD');
    expect(LIMITS_ENV_VARIABLES.filter((name) => /_PER_(MINUTE|DAY)/.test(name))).toHaveLength(12);
  });

  it('merges PARLEY_PRICES over the built-in table', () => {
    const config = loadLimitsConfig({ PARLEY_PRICES: '{"gpt-4o-mini":{"input":0.15,"output":0.6}}' });
    expect(config.prices['gpt-4o-mini']).toEqual({ input: 0.15, output: 0.6 });
    expect(config.prices.default).toEqual(defaultLimitsConfig().prices.default);
    expect(config.prices['parley-offline']).toEqual({ input: 0, output: 0 });
    const own = loadLimitsConfig({ PARLEY_PRICES: '{"default":{"input":3,"output":12}}' });
    expect(own.prices.default).toEqual({ input: 3, output: 12 });
  });

  it('refuses malformed values instead of falling back to a default', () => {
    const bad: Array<Record<string, string>> = [
      { PARLEY_PLAYER_REQUESTS_PER_MINUTE: 'twenty' },
      { PARLEY_PLAYER_REQUESTS_PER_MINUTE: '2.5' },
      { PARLEY_PLAYER_TOKENS_PER_DAY: '-1' },
      { PARLEY_PLAYER_COST_PER_DAY_USD: 'NaN' },
      { PARLEY_PLAYER_CONCURRENT_RUNS: 'off' },
      { PARLEY_RESERVATION_TTL_SECONDS: '0' },
      { PARLEY_PRICES: '{"gpt-4o":{"input":2.5}}' },
      { PARLEY_PRICES: '{"gpt-4o":{"input":2.5,"output":10,"cached":1}}' },
      { PARLEY_PRICES: 'gpt-4o=2.5' },
      { PARLEY_BUDGET_CANNED_REPLY: 'maybe' },
      { REDIS_URL: 'http://cache:6379' },
    ];
    for (const env of bad) expect(() => loadLimitsConfig(env), JSON.stringify(env)).toThrow(ConfigError);
  });

  it('lets environment variables override a config file', () => {
    const config = loadLimitsConfig(
      { PARLEY_PLAYER_COST_PER_DAY_USD: '1' },
      { player: { perDay: { costUsd: 0.1, tokens: 5000 } }, prices: { default: { input: 9, output: 9 } } },
    );
    expect(config.player.perDay).toEqual({ requests: null, tokens: 5000, costUsd: 1 });
    expect(config.prices.default).toEqual({ input: 9, output: 9 });
  });
});

describe('limitsConfigFromJson', () => {
  it('fills in defaults around what the file sets, null meaning unlimited', () => {
    const config = limitsConfigFromJson({
      player: { perMinute: { tokens: null }, concurrentRuns: 4 },
      global: { perDay: { costUsd: 50 } },
      cannedReply: true,
      redisUrl: 'rediss://user:secret@cache:6380',
    });
    expect(config.player.perMinute).toEqual({ requests: 20, tokens: null, costUsd: null });
    expect(config.player.concurrentRuns).toBe(4);
    expect(config.global.perDay.costUsd).toBe(50);
    expect(config.global.perMinute.tokens).toBe(200_000);
    expect(config.cannedReply).toBe(true);
    expect(config.redisUrl).toBe('rediss://user:secret@cache:6380');
  });

  it('refuses unknown keys and wrong types, naming the path', () => {
    expect(() => limitsConfigFromJson({ player: { perDay: { costUSD: 1 } } })).toThrow(
      /limits\.player\.perDay.*costUSD/,
    );
    expect(() => limitsConfigFromJson({ global: { concurrentRuns: 3 } })).toThrow(
      /unknown key 'concurrentRuns'/,
    );
    expect(() => limitsConfigFromJson({ player: { perMinute: { requests: '20' } } })).toThrow(ConfigError);
    expect(() => limitsConfigFromJson({ cannedReply: 1 })).toThrow(ConfigError);
    expect(() => limitsConfigFromJson([])).toThrow(ConfigError);
  });

  it('never shares the default price table between configs', () => {
    const a = limitsConfigFromJson({});
    a.prices.default.input = 999;
    expect(limitsConfigFromJson({}).prices.default.input).not.toBe(999);
  });
});
