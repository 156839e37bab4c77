import { Client, Pool } from 'pg';
import type { Logger } from '../../log.js';

/** The channel carrying "run X has events up to seq N" (payload `N X`). */
export const EVENTS_CHANNEL = 'parley_run_events';
/** The channel carrying signals to runs (payload: JSON `{ runId, signal }`). */
export const SIGNALS_CHANNEL = 'parley_run_signals';

const CHANNELS = [EVENTS_CHANNEL, SIGNALS_CHANNEL] as const;
type Channel = (typeof CHANNELS)[number];

export interface PgRunConnectionOptions {
  /** Connections in the pool for statements (default 10); the LISTEN client is one more. */
  poolSize?: number;
  /** Shown in `pg_stat_activity` (default `parley-run-state`; the LISTEN client adds `-listen`). */
  applicationName?: string;
  logger?: Logger;
}

const quiet: Logger = { info() {}, warn() {}, error() {}, debug() {} };

/**
 * One instance's connections for shared run state: a pool for statements and one dedicated client that
 * LISTENs on Parley's channels (a pooled connection cannot: LISTEN belongs to a session). The client
 * reconnects by itself; notifications sent while it was away are lost, so whoever depends on them is told
 * when it is back ({@link onReconnect}) and must not rely on them alone.
 *
 * Shared by the registry, the event log and the signals of one instance: each {@link retain}s it and
 * {@link release}s it when closed, and the last release closes the connections.
 */
export class PgRunConnection {
  readonly pool: Pool;
  readonly logger: Logger;
  readonly #url: string;
  readonly #name: string;
  readonly #handlers = new Map<Channel, Set<(payload: string) => void>>();
  readonly #reconnected = new Set<() => void>();
  #client: Client | undefined;
  #connecting: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryMs = 0;
  #users = 0;
  #closed = false;
  #ending: Promise<void> | undefined;

  constructor(databaseUrl: string, options: PgRunConnectionOptions = {}) {
    this.#url = databaseUrl;
    this.#name = options.applicationName ?? 'parley-run-state';
    this.logger = options.logger ?? quiet;
    this.pool = new Pool({
      connectionString: databaseUrl,
      max: options.poolSize ?? 10,
      application_name: this.#name,
    });
    // A pooled idle connection that breaks is reported here; without a listener Node would crash the proxy.
    // The pool drops that client and the next query reconnects.
    this.pool.on('error', () => {});
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Whether the LISTEN client is connected and listening now. */
  get listening(): boolean {
    return this.#client !== undefined && this.#connecting === undefined;
  }

  /** Counts one more user; the connections stay open until every user has released them. */
  retain(): void {
    this.#users++;
  }

  /** One user is done; the last one closes the pool and the LISTEN client. */
  async release(): Promise<void> {
    this.#users--;
    if (this.#users <= 0) await this.close();
  }

  /**
   * Connects the LISTEN client (once; later calls wait for the same attempt). Rejects when the server cannot
   * be reached, so start-up fails loudly; after that first success, connection losses are retried quietly.
   */
  listen(): Promise<void> {
    if (this.#client && !this.#connecting) return Promise.resolve();
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  /** Calls `handler` with the payload of every notification on `channel`; returns the function that stops it. */
  subscribe(channel: Channel, handler: (payload: string) => void): () => void {
    let handlers = this.#handlers.get(channel);
    if (!handlers) {
      handlers = new Set();
      this.#handlers.set(channel, handlers);
    }
    handlers.add(handler);
    // Listening starts with the first subscriber; a failure here is retried in the background.
    if (!this.#client && !this.#connecting && !this.#closed) this.listen().catch(() => this.#retry());
    return () => handlers.delete(handler);
  }

  /** Calls `handler` each time the LISTEN client is back after a loss (notifications may have been missed). */
  onReconnect(handler: () => void): () => void {
    this.#reconnected.add(handler);
    return () => this.#reconnected.delete(handler);
  }

  /** Closes the pool and the LISTEN client (idempotent). */
  close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#ending ??= (async () => {
      await this.#connecting?.catch(() => {});
      const client = this.#client;
      this.#client = undefined;
      await Promise.allSettled([client?.end(), this.pool.end()]);
    })();
    return this.#ending;
  }

  async #connect(): Promise<void> {
    if (this.#closed) throw new Error('The run state connection is closed.');
    const client = new Client({ connectionString: this.#url, application_name: `${this.#name}-listen` });
    let lost = false;
    const onLost = (error?: Error) => {
      if (lost) return;
      lost = true;
      if (this.#client === client) this.#client = undefined;
      client.end().catch(() => {});
      if (this.#closed) return;
      this.logger.warn('run state: LISTEN connection lost; reconnecting', { error: error?.message });
      this.#retry();
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (message) => {
      const handlers = this.#handlers.get(message.channel as Channel);
      if (!handlers || message.payload === undefined) return;
      for (const handler of [...handlers]) {
        try {
          handler(message.payload);
        } catch (error) {
          this.logger.error('run state: a notification handler failed', { error: String(error) });
        }
      }
    });
    try {
      await client.connect();
      await client.query(CHANNELS.map((channel) => `LISTEN ${channel}`).join('; '));
    } catch (error) {
      lost = true;
      client.end().catch(() => {});
      throw error;
    }
    if (this.#closed) {
      lost = true;
      await client.end().catch(() => {});
      return;
    }
    const wasLost = this.#retryMs > 0;
    this.#client = client;
    this.#retryMs = 0;
    if (wasLost) for (const handler of [...this.#reconnected]) handler();
  }

  /** Tries again after a growing pause (0.1 s doubling to 5 s), until connected or closed. */
  #retry(): void {
    if (this.#closed || this.#retryTimer !== undefined) return;
    this.#retryMs = Math.min(Math.max(this.#retryMs * 2, 100), 5000);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.listen().catch((error: unknown) => {
        this.logger.debug('run state: LISTEN reconnect failed', { error: String(error) });
        this.#retry();
      });
    }, this.#retryMs);
    this.#retryTimer.unref();
  }
}
