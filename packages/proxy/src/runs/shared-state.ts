import type { ProxyConfig } from '../config.js';
import type { Logger } from '../log.js';
import { createPostgresRunState } from './postgres/index.js';
import { createRedisRunState } from './redis/index.js';
import type { RunState } from './types.js';

/** The run state an instance shares with others, and how to let go of it after the engine closed. */
export interface SharedRunState {
  state: RunState;
  close(): Promise<void>;
}

/**
 * Picks where run state lives from the configuration:
 * - no `DATABASE_URL`: this process alone (the embedded default): in memory;
 * - `DATABASE_URL`: the registry (one active run per thread, leases) in PostgreSQL, and the event log and
 *   signals in Redis when `REDIS_URL` is set, else in PostgreSQL too (LISTEN/NOTIFY: correct, slower).
 * Several instances on one database without Redis also keep budgets per instance: that is said out loud.
 */
export async function createSharedRunState(
  config: Pick<ProxyConfig, 'databaseUrl' | 'cluster' | 'limits'>,
  log: Logger,
): Promise<SharedRunState> {
  const { databaseUrl, cluster } = config;
  const redisUrl = config.limits.redisUrl ?? undefined;
  if (!databaseUrl) return { state: {}, close: async () => {} };
  const pg = await createPostgresRunState({
    databaseUrl,
    instanceId: cluster.instanceId,
    leaseMs: cluster.leaseMs,
    redis: redisUrl !== undefined,
    logger: log,
  });
  const redis = redisUrl
    ? createRedisRunState({
        redisUrl,
        instanceId: cluster.instanceId,
        prefix: config.limits.redisPrefix,
        onError: (error) => log.warn('redis: run state', { error: error.message }),
      })
    : undefined;
  if (!redis) {
    const others = (await pg.liveInstances()).filter((instance) => instance.id !== cluster.instanceId);
    if (others.length > 0) {
      log.warn(
        'several proxy instances share this DATABASE_URL without REDIS_URL: budgets and rate limits are kept per instance (each allows the whole budget) and run events follow through PostgreSQL; set REDIS_URL on every instance (docs/deploy.md)',
        { instances: others.length + 1 },
      );
    }
  }
  return {
    state: { registry: pg.registry, log: redis?.log ?? pg.log, signals: redis?.signals ?? pg.signals },
    close: async () => {
      await redis?.close();
      await pg.close();
    },
  };
}
