import { type RedisConnectionOptions, RedisConnections } from './connections.js';
import { RedisEventLog, type RedisEventLogOptions } from './event-log.js';
import { RedisRunSignals } from './signals.js';

export type { ChannelHandler, RedisConnectionOptions, Subscription } from './connections.js';
export { RedisConnections } from './connections.js';
export type { RedisEventLogOptions } from './event-log.js';
export { RedisEventLog } from './event-log.js';
export { RedisRunSignals } from './signals.js';

/** Options of {@link createRedisRunState}. */
export interface RedisRunStateOptions extends RedisConnectionOptions {
  log?: RedisEventLogOptions;
}

/** The run state one instance keeps in Redis. */
export interface RedisRunState {
  log: RedisEventLog;
  signals: RedisRunSignals;
  /** Closes the log, the signals and their connections (after the engine has closed). Safe to call twice. */
  close(): Promise<void>;
}

/**
 * The event log and signals of one proxy instance, shared with every instance on the same Redis, over two
 * connections (commands, and one subscriber). Connects at once and reconnects by itself.
 *
 * @example
 * ```ts
 * const shared = createRedisRunState({ redisUrl: process.env.REDIS_URL, instanceId, onError: (e) => log.warn(e.message) });
 * const engine = new RunEngine(store, upstream, config, guards, { registry, log: shared.log, signals: shared.signals });
 * // on shutdown
 * await engine.close();
 * await shared.close();
 * ```
 */
export function createRedisRunState(options: RedisRunStateOptions): RedisRunState {
  const connections = new RedisConnections(options);
  const log = new RedisEventLog(connections, options.log);
  const signals = new RedisRunSignals(connections);
  return {
    log,
    signals,
    close: async () => {
      log.close();
      await signals.close();
      await connections.close();
    },
  };
}
