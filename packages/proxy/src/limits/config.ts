import { ConfigError } from '../config-error.js';
import { DEFAULT_PRICES, type ModelPrice, type PriceTable } from './prices.js';

/**
 * Limits of one window (a minute or a UTC day). `null` means unlimited; `0` means nothing is allowed.
 * Cost is the estimated upstream cost in US dollars, from the price table.
 */
export interface WindowLimits {
  requests: number | null;
  tokens: number | null;
  costUsd: number | null;
}

/** Limits of one scope: a single player, or the whole game (every player together). */
export interface ScopeLimits {
  perMinute: WindowLimits;
  perDay: WindowLimits;
}

/** Budgets and rate limits. JSON-compatible: a config file holds the same shape (see {@link limitsConfigFromJson}). */
export interface LimitsConfig {
  player: ScopeLimits & {
    /** Upstream calls one player may have in flight at once. */
    concurrentRuns: number;
  };
  global: ScopeLimits;
  /** USD per million tokens by model; `default` prices every model not listed. */
  prices: PriceTable;
  /**
   * Seconds after which a reservation that was never settled (the proxy crashed, a bug) gives its
   * concurrency slot back. Longer than any upstream call including retries; its worst-case usage stays
   * counted.
   */
  reservationTtlSeconds: number;
  /** Answer over-limit turns with an in-character line (see `cannedLine`) instead of a 429. */
  cannedReply: boolean;
  /** Share budgets between instances through this Redis; unset keeps them in this process. */
  redisUrl: string | null;
  /** Prefix of every Redis key, so that several games can share one Redis. */
  redisPrefix: string;
}

/** A config with every field optional, one level deep inside each object: what a config file holds. */
export interface LimitsConfigInput {
  player?: { perMinute?: Partial<WindowLimits>; perDay?: Partial<WindowLimits>; concurrentRuns?: number };
  global?: { perMinute?: Partial<WindowLimits>; perDay?: Partial<WindowLimits> };
  /** Merged over the built-in table, so listing one model keeps `default` and `parley-offline`. */
  prices?: Record<string, ModelPrice>;
  reservationTtlSeconds?: number;
  cannedReply?: boolean;
  redisUrl?: string | null;
  redisPrefix?: string;
}

/**
 * The defaults: enough for a player to chat freely (20 turns a minute) while capping what one player
 * (50 cents a day) and the whole game (20 dollars a day) can cost. Global tokens per minute sits near
 * OpenAI's lower rate-limit tiers, so Parley answers 429 before the upstream does.
 */
export function defaultLimitsConfig(): LimitsConfig {
  return {
    player: {
      perMinute: { requests: 20, tokens: 20_000, costUsd: null },
      perDay: { requests: null, tokens: 200_000, costUsd: 0.5 },
      concurrentRuns: 2,
    },
    global: {
      perMinute: { requests: null, tokens: 200_000, costUsd: null },
      perDay: { requests: null, tokens: null, costUsd: 20 },
    },
    prices: structuredClone(DEFAULT_PRICES),
    reservationTtlSeconds: 600,
    cannedReply: false,
    redisUrl: null,
    redisPrefix: 'parley:',
  };
}

type Env = Record<string, string | undefined>;

/** Environment variable → path into the config, for the twelve window limits. */
const WINDOW_VARIABLES: ReadonlyArray<
  [variable: string, scope: 'player' | 'global', window: 'perMinute' | 'perDay', measure: keyof WindowLimits]
> = (['player', 'global'] as const).flatMap((scope) =>
  (['perMinute', 'perDay'] as const).flatMap((window) =>
    (['requests', 'tokens', 'costUsd'] as const).map(
      (measure) =>
        [
          `PARLEY_${scope.toUpperCase()}_${measure === 'costUsd' ? 'COST' : measure.toUpperCase()}_PER_${
            window === 'perMinute' ? 'MINUTE' : 'DAY'
          }${measure === 'costUsd' ? '_USD' : ''}`,
          scope,
          window,
          measure,
        ] as [string, 'player' | 'global', 'perMinute' | 'perDay', keyof WindowLimits],
    ),
  ),
);

/** Names of every environment variable {@link loadLimitsConfig} reads, for documentation and tests. */
export const LIMITS_ENV_VARIABLES: readonly string[] = [
  ...WINDOW_VARIABLES.map(([variable]) => variable),
  'PARLEY_PLAYER_CONCURRENT_RUNS',
  'PARLEY_RESERVATION_TTL_SECONDS',
  'PARLEY_PRICES',
  'PARLEY_BUDGET_CANNED_REPLY',
  'PARLEY_REDIS_PREFIX',
  'REDIS_URL',
];

/**
 * Reads budgets and rate limits from environment variables over an optional config-file object (both
 * optional; the defaults are {@link defaultLimitsConfig}). Precedence: defaults, then `file`, then `env`.
 *
 * Window limits are `PARLEY_{PLAYER|GLOBAL}_{REQUESTS|TOKENS}_PER_{MINUTE|DAY}` and
 * `PARLEY_{PLAYER|GLOBAL}_COST_PER_{MINUTE|DAY}_USD`; a number sets the limit and `off` removes it.
 * `PARLEY_PRICES` is JSON (`{ "gpt-4o-mini": { "input": 0.15, "output": 0.6 } }`, USD per million
 * tokens) merged over the built-in table. Throws {@link ConfigError} on anything malformed: a typo in a
 * budget must stop the proxy, not silently fall back to a default.
 *
 * @example
 * ```ts
 * const limits = loadLimitsConfig(process.env, JSON.parse(await readFile('parley.json', 'utf8')).limits);
 * ```
 */
export function loadLimitsConfig(env: Env = process.env, file?: unknown): LimitsConfig {
  const config = file === undefined ? defaultLimitsConfig() : limitsConfigFromJson(file);
  for (const [variable, scope, window, measure] of WINDOW_VARIABLES) {
    const raw = env[variable]?.trim();
    if (raw === undefined || raw === '') continue;
    config[scope][window][measure] =
      raw.toLowerCase() === 'off' ? null : limitNumber(Number(raw), variable, measure !== 'costUsd', raw);
  }
  const concurrent = env['PARLEY_PLAYER_CONCURRENT_RUNS']?.trim();
  if (concurrent) {
    config.player.concurrentRuns = limitNumber(
      Number(concurrent),
      'PARLEY_PLAYER_CONCURRENT_RUNS',
      true,
      concurrent,
    );
  }
  const ttl = env['PARLEY_RESERVATION_TTL_SECONDS']?.trim();
  if (ttl) config.reservationTtlSeconds = ttlNumber(Number(ttl), 'PARLEY_RESERVATION_TTL_SECONDS', ttl);
  const prices = env['PARLEY_PRICES']?.trim();
  if (prices) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(prices);
    } catch (cause) {
      throw new ConfigError(`PARLEY_PRICES must be JSON, got '${prices}'`, { cause });
    }
    config.prices = { ...config.prices, ...priceTable(parsed, 'PARLEY_PRICES') };
  }
  const canned = env['PARLEY_BUDGET_CANNED_REPLY']?.trim().toLowerCase();
  if (canned) {
    if (!['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'].includes(canned))
      throw new ConfigError(`PARLEY_BUDGET_CANNED_REPLY must be 1 or 0, got '${canned}'`);
    config.cannedReply = ['1', 'true', 'yes', 'on'].includes(canned);
  }
  const prefix = env['PARLEY_REDIS_PREFIX']?.trim();
  if (prefix) config.redisPrefix = prefix;
  const url = env['REDIS_URL']?.trim();
  if (url) config.redisUrl = redisUrl(url, 'REDIS_URL');
  return config;
}

/**
 * Validates a config-file object (see {@link LimitsConfigInput}) and fills in the defaults. Unknown keys
 * are errors, so that `costUSD` for `costUsd` does not leave a budget unset.
 *
 * @example
 * ```ts
 * limitsConfigFromJson({ player: { perDay: { costUsd: 0.25 } }, prices: { 'gpt-4o-mini': { input: 0.15, output: 0.6 } } });
 * ```
 */
export function limitsConfigFromJson(value: unknown): LimitsConfig {
  const config = defaultLimitsConfig();
  const root = object(value, 'limits');
  known(root, 'limits', [
    'player',
    'global',
    'prices',
    'reservationTtlSeconds',
    'cannedReply',
    'redisUrl',
    'redisPrefix',
  ]);
  for (const scope of ['player', 'global'] as const) {
    if (root[scope] === undefined) continue;
    const scopeObject = object(root[scope], `limits.${scope}`);
    known(
      scopeObject,
      `limits.${scope}`,
      scope === 'player' ? ['perMinute', 'perDay', 'concurrentRuns'] : ['perMinute', 'perDay'],
    );
    for (const window of ['perMinute', 'perDay'] as const) {
      if (scopeObject[window] === undefined) continue;
      const path = `limits.${scope}.${window}`;
      const windowObject = object(scopeObject[window], path);
      known(windowObject, path, ['requests', 'tokens', 'costUsd']);
      for (const measure of ['requests', 'tokens', 'costUsd'] as const) {
        const limit = windowObject[measure];
        if (limit === undefined) continue;
        config[scope][window][measure] =
          limit === null ? null : limitNumber(limit, `${path}.${measure}`, measure !== 'costUsd');
      }
    }
    if (scope === 'player' && scopeObject['concurrentRuns'] !== undefined) {
      config.player.concurrentRuns = limitNumber(
        scopeObject['concurrentRuns'],
        'limits.player.concurrentRuns',
        true,
      );
    }
  }
  if (root['prices'] !== undefined)
    config.prices = { ...config.prices, ...priceTable(root['prices'], 'limits.prices') };
  if (root['reservationTtlSeconds'] !== undefined)
    config.reservationTtlSeconds = ttlNumber(root['reservationTtlSeconds'], 'limits.reservationTtlSeconds');
  if (root['cannedReply'] !== undefined) {
    if (typeof root['cannedReply'] !== 'boolean')
      throw new ConfigError('limits.cannedReply must be true or false');
    config.cannedReply = root['cannedReply'];
  }
  if (root['redisUrl'] !== undefined && root['redisUrl'] !== null) {
    if (typeof root['redisUrl'] !== 'string') throw new ConfigError('limits.redisUrl must be a string');
    config.redisUrl = redisUrl(root['redisUrl'], 'limits.redisUrl');
  }
  if (root['redisPrefix'] !== undefined) {
    if (typeof root['redisPrefix'] !== 'string' || root['redisPrefix'] === '')
      throw new ConfigError('limits.redisPrefix must be a non-empty string');
    config.redisPrefix = root['redisPrefix'];
  }
  return config;
}

function object(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ConfigError(`${path} must be an object`);
  return value as Record<string, unknown>;
}

function known(value: Record<string, unknown>, path: string, keys: readonly string[]): void {
  const unknown = Object.keys(value).find((key) => !keys.includes(key));
  if (unknown !== undefined)
    throw new ConfigError(`${path} has an unknown key '${unknown}' (expected one of ${keys.join(', ')})`);
}

function limitNumber(value: unknown, path: string, integer: boolean, raw?: string): number {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < 0 ||
    (integer && !Number.isInteger(value))
  ) {
    const shown = raw ?? JSON.stringify(value);
    throw new ConfigError(
      `${path} must be ${integer ? 'an integer' : 'a number'} ≥ 0${raw === undefined ? ' or null' : " or 'off'"}, got ${shown}`,
    );
  }
  return value;
}

function ttlNumber(value: unknown, path: string, raw?: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    throw new ConfigError(`${path} must be an integer ≥ 1, got ${raw ?? JSON.stringify(value)}`);
  return value;
}

/** The entries of a price table as written; the caller merges them over the table in force. */
function priceTable(value: unknown, path: string): Record<string, ModelPrice> {
  const table = object(value, path);
  const result: Record<string, ModelPrice> = {};
  for (const [model, entry] of Object.entries(table)) {
    const price = object(entry, `${path}.${model}`);
    known(price, `${path}.${model}`, ['input', 'output']);
    const input = price['input'];
    const output = price['output'];
    for (const [side, amount] of [
      ['input', input],
      ['output', output],
    ] as const) {
      if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0)
        throw new ConfigError(`${path}.${model}.${side} must be a number ≥ 0 (USD per million tokens)`);
    }
    result[model] = { input: input as number, output: output as number };
  }
  return result;
}

function redisUrl(value: string, path: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch (cause) {
    throw new ConfigError(`${path} must be a redis:// or rediss:// URL`, { cause });
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    throw new ConfigError(`${path} must be a redis:// or rediss:// URL`);
  return value;
}
