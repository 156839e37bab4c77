import type { LimitsConfig } from './config.js';
import type { Limiter } from './limiter.js';
import { createMemoryLimiter } from './memory.js';
import { createRedisLimiter, type RedisLimiterOptions } from './redis.js';

export type { CannedReason } from './canned.js';
export { cannedLine, cannedReasonFor } from './canned.js';
export type { LimitsConfig, LimitsConfigInput, ScopeLimits, WindowLimits } from './config.js';
export {
  defaultLimitsConfig,
  LIMITS_ENV_VARIABLES,
  limitsConfigFromJson,
  loadLimitsConfig,
} from './config.js';
export type {
  ActualUsage,
  BlockTarget,
  Limiter,
  LimiterOptions,
  Reservation,
  ReserveRequest,
  UsageReport,
  UsageScope,
  WindowUsage,
} from './limiter.js';
export { BLOCKED_RETRY_AFTER_SECONDS } from './limiter.js';
export { createMemoryLimiter, MemoryLimiter } from './memory.js';
export type { ModelPrice, PriceTable } from './prices.js';
export { DEFAULT_PRICES, estimateCostUsd, priceFor } from './prices.js';
export type { RedisLimiterOptions } from './redis.js';
export { createRedisLimiter, RedisLimiter } from './redis.js';

/**
 * The limiter the configuration asks for: shared through Redis when `redisUrl` (`REDIS_URL`) is set,
 * otherwise in this process. Nothing connects until this is called.
 *
 * @example
 * ```ts
 * const limiter = createLimiter(loadLimitsConfig(), { onError: (error) => log.warn('redis', { error: error.message }) });
 * ```
 */
export function createLimiter(config: LimitsConfig, options: RedisLimiterOptions = {}): Limiter {
  return config.redisUrl
    ? createRedisLimiter(config, config.redisUrl, options)
    : createMemoryLimiter(config, options);
}
