import { ErrorCode } from '@parley/protocol';
import { Redis } from 'ioredis';
import { ProxyError } from '../../errors.js';

/** How the run state reaches Redis. */
export interface RedisConnectionOptions {
  /** `redis://…` (`REDIS_URL`). */
  redisUrl: string;
  /** This proxy instance; names its connections in `CLIENT LIST`. */
  instanceId: string;
  /** Starts every key and channel (default `parley:`, as the limiter's). */
  prefix?: string;
  /**
   * Milliseconds a command may take before its caller is told Redis is unavailable (default 2000). An
   * append that times out is still sent, and counted once: a late append beats a lost one.
   */
  commandTimeoutMs?: number;
  /** How long a channel stays subscribed after its last listener leaves (default 2000 ms). */
  lingerMs?: number;
  /** Told about connection errors and failed fire-and-forget commands (nobody else awaits them). */
  onError?: (error: Error) => void;
}

/**
 * Called with each message on a channel, and with `undefined` when the subscriber has reconnected:
 * messages may have been missed in between, so whoever waits on the channel should look again.
 */
export type ChannelHandler = (message: string | undefined) => void;

/** One listener's hold on a channel. */
export interface Subscription {
  /** Resolves once Redis has acknowledged the subscription (at once when it already had). */
  ready: Promise<void>;
  stop(): void;
}

/**
 * The two connections of an instance's run state: one for commands, pipelined (many in flight, so one
 * instance's appends reach Redis in the order they were made, and after a dropped connection are resent in
 * that order), and one subscriber that every channel shares, counting its
 * listeners. A channel stays subscribed a moment after its last listener leaves: a stream that waits
 * after each batch of events then pays for one SUBSCRIBE, not one per batch.
 *
 * Shared by the event log and the signals of one instance; closes once both have let go of it.
 */
export class RedisConnections {
  readonly redis: Redis;
  readonly prefix: string;
  readonly instanceId: string;
  readonly onError: (error: Error) => void;
  readonly #subscriber: Redis;
  readonly #lingerMs: number;
  readonly #handlers = new Map<string, Set<ChannelHandler>>();
  /** Channels subscribed or being subscribed, with the server's acknowledgement. */
  readonly #subscribed = new Map<string, Promise<void>>();
  readonly #lingering = new Map<string, NodeJS.Timeout>();
  #users = 0;
  #closing: Promise<void> | undefined;

  constructor(options: RedisConnectionOptions) {
    this.prefix = options.prefix ?? 'parley:';
    this.instanceId = options.instanceId;
    this.#lingerMs = options.lingerMs ?? 2000;
    this.onError = (error) => options.onError?.(error);
    const timeout = options.commandTimeoutMs ?? 2000;
    const common = {
      connectTimeout: timeout,
      retryStrategy: (times: number) => Math.min(times * 100, 2000),
    };
    this.redis = new Redis(options.redisUrl, {
      ...common,
      commandTimeout: timeout,
      // Commands are written as they are made, many in flight at once; not batched (auto-pipelining),
      // because ioredis aborts a batch cut by a dropped connection, where it resends single commands in order.
      enableAutoPipelining: false,
      connectionName: `parley-runs:${options.instanceId}`,
    });
    this.#subscriber = new Redis(options.redisUrl, {
      ...common,
      connectionName: `parley-runs-sub:${options.instanceId}`,
    });
    this.redis.on('error', this.onError);
    this.#subscriber.on('error', this.onError);
    this.#subscriber.on('message', (channel: string, message: string) => {
      for (const handler of [...(this.#handlers.get(channel) ?? [])]) handler(message);
    });
    let connectedBefore = false;
    this.#subscriber.on('ready', () => {
      if (connectedBefore)
        for (const handlers of this.#handlers.values())
          for (const handler of [...handlers]) handler(undefined);
      connectedBefore = true;
    });
  }

  /** Calls `handler` with the messages on `channel` until the subscription stops. */
  subscribe(channel: string, handler: ChannelHandler): Subscription {
    let handlers = this.#handlers.get(channel);
    if (!handlers) {
      handlers = new Set();
      this.#handlers.set(channel, handlers);
    }
    handlers.add(handler);
    clearTimeout(this.#lingering.get(channel));
    this.#lingering.delete(channel);
    let ready = this.#subscribed.get(channel);
    if (!ready) {
      const subscribing = this.#subscriber.subscribe(channel).then(() => {});
      // A failed subscription is tried again by the next listener.
      subscribing.catch(() => {
        if (this.#subscribed.get(channel) === subscribing) this.#subscribed.delete(channel);
      });
      this.#subscribed.set(channel, subscribing);
      ready = subscribing;
    }
    const own = handlers;
    let stopped = false;
    return {
      ready,
      stop: () => {
        if (stopped) return;
        stopped = true;
        own.delete(handler);
        if (own.size > 0 || this.#handlers.get(channel) !== own) return;
        this.#handlers.delete(channel);
        this.#linger(channel);
      },
    };
  }

  /** Takes a share of the connections (each user calls {@link release} once). */
  acquire(): this {
    this.#users++;
    return this;
  }

  /** Lets go of a share; the last one closes the connections. Resolves once they are closed. */
  release(): Promise<void> {
    this.#users = Math.max(0, this.#users - 1);
    if (this.#users > 0) return Promise.resolve();
    return this.close();
  }

  /** Closes both connections (after the commands already made are sent). Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const timer of this.#lingering.values()) clearTimeout(timer);
      this.#lingering.clear();
      this.#handlers.clear();
      await Promise.all([quit(this.redis), quit(this.#subscriber)]);
    })();
    return this.#closing;
  }

  #linger(channel: string): void {
    const timer = setTimeout(() => {
      this.#lingering.delete(channel);
      if (this.#handlers.has(channel)) return;
      this.#subscribed.delete(channel);
      this.#subscriber.unsubscribe(channel).catch(() => {});
    }, this.#lingerMs);
    timer.unref();
    this.#lingering.set(channel, timer);
  }
}

async function quit(redis: Redis): Promise<void> {
  if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
  else redis.disconnect();
}

/** The 503 for run state that Redis cannot give right now. */
export function unavailable(cause: unknown): ProxyError {
  return new ProxyError(
    ErrorCode.Unavailable,
    "The proxy cannot reach its runs' shared state right now; try again shortly.",
    {
      headers: { 'Retry-After': '2' },
      cause,
    },
  );
}

/** An Error from anything thrown. */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
