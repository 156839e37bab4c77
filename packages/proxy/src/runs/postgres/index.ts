import type { Logger } from '../../log.js';
import { PgRunConnection } from './connection.js';
import { PgEventLog, type PgEventLogOptions } from './event-log.js';
import { type LiveInstance, PgRunRegistry } from './registry.js';
import { PgRunSignals } from './signals.js';

export {
  EVENTS_CHANNEL,
  PgRunConnection,
  type PgRunConnectionOptions,
  SIGNALS_CHANNEL,
} from './connection.js';
export { PgEventLog, type PgEventLogOptions } from './event-log.js';
export { DEFAULT_LEASE_MS, type LiveInstance, PgRunRegistry, type PgRunRegistryOptions } from './registry.js';
export { PgRunSignals } from './signals.js';

export interface PostgresRunStateOptions {
  databaseUrl: string;
  /** This instance's id: unique among the instances on the database. */
  instanceId: string;
  /** How long this instance's runs stay held after its last heartbeat (default 15 s). */
  leaseMs?: number;
  /** Whether this instance also uses Redis (recorded for the several-instances-without-Redis warning). */
  redis: boolean;
  /** Event log retention and polling (defaults: 5 minutes, 1 s). */
  log?: PgEventLogOptions;
  /** Statement connections (default 10), plus one LISTEN connection. */
  poolSize?: number;
  logger?: Logger;
}

/** The run state of one instance on a shared PostgreSQL database, ready for `new RunEngine(…, state)`. */
export interface PostgresRunState {
  registry: PgRunRegistry;
  log: PgEventLog;
  signals: PgRunSignals;
  /** The instances on the database whose lease is live, this one included. */
  liveInstances(): Promise<LiveInstance[]>;
  /**
   * Closes all three and their connections (the engine's `close()` does the same through each; closing
   * twice is harmless).
   */
  close(): Promise<void>;
}

/**
 * Connects one instance's shared run state: registry with leases, event log and signals on one pool and
 * one LISTEN connection. Resolves once this instance is recorded and listening; rejects when the database
 * cannot be reached. Needs the tables of migration 3: create the store (which migrates) first.
 *
 * @example
 * ```ts
 * const store = await createStore({ databaseUrl });
 * const state = await createPostgresRunState({ databaseUrl, instanceId, redis: false });
 * const others = (await state.liveInstances()).filter((instance) => instance.id !== instanceId);
 * if (others.length > 0) logger.warn('several instances share this database without Redis');
 * const engine = new RunEngine(store, upstream, config, guards, state);
 * ```
 */
export async function createPostgresRunState(options: PostgresRunStateOptions): Promise<PostgresRunState> {
  const connection = new PgRunConnection(options.databaseUrl, {
    ...(options.poolSize === undefined ? {} : { poolSize: options.poolSize }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  const registry = new PgRunRegistry(connection, {
    instanceId: options.instanceId,
    redis: options.redis,
    ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
  });
  const log = new PgEventLog(connection, options.log);
  const signals = new PgRunSignals(connection);
  const close = async () => {
    await Promise.all([log.closed(), signals.close()]);
    await registry.close();
  };
  try {
    await Promise.all([connection.listen(), registry.register()]);
  } catch (error) {
    await close();
    throw error;
  }
  return { registry, log, signals, liveInstances: () => registry.liveInstances(), close };
}
