import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode } from '@parley/protocol';
import { type Handler, type RouteMeta, STREAMED } from './api/context.js';
import { createRoutes } from './api/routes.js';
import { type AuthHook, createAuthenticator } from './auth/index.js';
import type { Principal } from './auth/principal.js';
import type { ProxyConfig } from './config.js';
import { ProxyError, toErrorBody, toProxyError } from './errors.js';
import { readJson } from './http/body.js';
import { createCors } from './http/cors.js';
import type { Router } from './http/router.js';
import { indexLore } from './knowledge/lore.js';
import { createKnowledge } from './knowledge/service.js';
import { createLimiter } from './limits/index.js';
import type { Limiter } from './limits/limiter.js';
import { estimateCostUsd } from './limits/prices.js';
import { createLogger, type Logger } from './log.js';
import { makeAssistant } from './objects.js';
import { Metrics, TTFT_BUCKETS } from './ops/metrics.js';
import { createModerator } from './ops/moderation.js';
import { GAME_OWNER, PolicyGuard } from './policy/policy.js';
import { type EngineGuards, RunEngine } from './runs/engine.js';
import { createSharedRunState, type SharedRunState } from './runs/shared-state.js';
import { withMemoryCache } from './store/cache.js';
import { createStore } from './store/index.js';
import type { Store } from './store/types.js';
import { createUpstream, type Upstream } from './upstream/upstream.js';

export interface Proxy {
  readonly config: ProxyConfig;
  readonly server: Server;
  readonly store: Store;
  readonly engine: RunEngine;
  readonly upstream: Upstream;
  readonly limiter: Limiter;
  readonly metrics: Metrics;
  /** Resolves to the base URL once listening (port 0 picks a free port). */
  listen(): Promise<string>;
  /** Stops accepting, ends runs in flight (they are recorded as cancelled), closes the store. */
  close(): Promise<void>;
}

export interface ProxyOptions {
  /** Replaces the upstream's fetch (tests point it at a fake server through a base URL instead). */
  fetch?: typeof fetch;
  logger?: Logger;
  /** Identifies players from requests when the proxy is embedded in a game server (see the README). */
  authenticate?: AuthHook;
}

/**
 * Builds a proxy from configuration: store (migrated), upstream, run engine (runs a previous process left
 * in flight are ended), HTTP server. Call `listen()` to serve.
 *
 * @example
 * const proxy = await createProxy(loadConfig());
 * console.log(await proxy.listen());
 */
export async function createProxy(config: ProxyConfig, options: ProxyOptions = {}): Promise<Proxy> {
  const log = options.logger ?? createLogger(config.logLevel);
  // First: a configuration that must not serve (dev mode on a public host, short secrets) is refused
  // before anything is opened, migrated or connected.
  const auth = createAuthenticator(config.auth, {
    host: config.host,
    ...(options.authenticate ? { hook: options.authenticate } : {}),
  });
  // The embedded store belongs to this process alone, so reads can be served from memory; a shared
  // PostgreSQL cannot (other instances write to it).
  const exclusive = !config.databaseUrl;
  const database = await createStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const store = exclusive ? withMemoryCache(database) : database;
  const upstream = createUpstream(config.upstream, options.fetch ? { fetch: options.fetch } : {});
  const guard = new PolicyGuard(config.policy, upstream.defaultModel, upstream.kind === 'offline');
  // Concurrency slots carry this instance's lease: a dead instance's slots free within it (with Redis).
  const limiter = createLimiter(config.limits, {
    instanceId: config.cluster.instanceId,
    slotLeaseMs: config.cluster.leaseMs,
  });
  const moderator = createModerator(config.moderation, upstream.moderationClient);
  const metrics = new Metrics();
  await defineGameAssistants(store, config, upstream.defaultModel);
  const assistantFor = async (owner: string, id: string) =>
    (await store.getAssistant(owner, id)) ?? (await store.getAssistant(GAME_OWNER, id));
  // Files and vector stores, indexed in the background on the store's own database.
  const knowledge = createKnowledge({ store, config, metrics, upstream, limiter });
  // Where live runs are known: this process alone, or PostgreSQL (+ Redis) shared with other instances.
  const shared = await createSharedRunState(config, log);
  const engine = createEngine(
    config,
    { store, upstream, guard, limiter, moderator, metrics, assistantFor, semantic: knowledge.semantic },
    shared,
  );
  const recovered = await engine.recover();
  if (recovered > 0) log.info('recovered runs left unfinished by a previous process', { count: recovered });
  await indexLore(knowledge, config.policy.lore, log);
  const router = createRoutes({
    knowledge,
    store,
    engine,
    upstream,
    guard,
    limiter,
    moderator,
    metrics,
    auth,
    assistantFor,
    config,
  });
  // Dev mode listens on loopback only: its callers' dev servers (any port) are allowed without setup.
  const cors = createCors({ origins: config.corsOrigins, loopback: config.auth.dev, log });
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    void handle(router, { config, log, auth, guard, metrics, cors }, req, res);
  });
  server.headersTimeout = 30_000;

  return served(
    { config, server, store, engine, upstream, limiter, metrics },
    async () => {
      await knowledge.indexer.idle(); // a file mid-indexing would otherwise be indexed again at the next start
    },
    async () => {
      await shared.close();
      await limiter.close();
      await store.close();
    },
  );
}

/**
 * The proxy's listen and close around its parts. `settle` runs once the runs have stopped (background
 * work finishing), `release` last (connections to shared state and the store).
 */
function served(
  parts: Omit<Proxy, 'listen' | 'close'>,
  settle: () => Promise<void>,
  release: () => Promise<void>,
): Proxy {
  const { config, server, engine } = parts;
  return {
    ...parts,
    listen() {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          const { port } = server.address() as AddressInfo;
          const host = config.host.includes(':') ? `[${config.host}]` : config.host;
          resolve(`http://${host}:${port}`);
        });
      });
    },
    /**
     * Stops taking requests, lets those in flight finish (a reply streaming now may end; a request cut
     * while its write still lands would be retried, and stored twice), then stops the runs still going after
     * `SHUTDOWN_DRAIN_MS` (their players see them cancelled) and closes what is left.
     */
    async close() {
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, SHUTDOWN_DRAIN_MS).unref())]);
      await engine.close();
      await settle();
      const force = setTimeout(() => server.closeAllConnections(), 2000);
      force.unref();
      await drained;
      clearTimeout(force);
      await release();
    },
  };
}

/** The run engine with the guards every turn passes (budget, moderation, policy, timeouts). */
function createEngine(
  config: ProxyConfig,
  parts: {
    store: Store;
    upstream: Upstream;
    guard: PolicyGuard;
    limiter: Limiter;
    moderator: EngineGuards['moderator'];
    metrics: Metrics;
    assistantFor: NonNullable<EngineGuards['assistant']>;
    semantic: EngineGuards['semantic'];
  },
  shared: SharedRunState,
): RunEngine {
  const { store, upstream, guard, limiter, moderator, metrics, assistantFor, semantic } = parts;
  return new RunEngine(
    store,
    upstream,
    { ...config, sweepMs: config.cluster.sweepMs },
    {
      assistant: assistantFor,
      semantic,
      limiter,
      moderator,
      policy: guard,
      cannedReplies: config.cannedReplies,
      timeouts: config.timeouts,
      onTurn: turnMetrics(metrics, config),
    },
    shared.state,
  );
}

/** How long a stopping proxy waits for the requests in flight (replies streaming included) to finish. */
const SHUTDOWN_DRAIN_MS = 5000;

/** The game's own assistants (from the config file): every player may use them, none may change them. */
async function defineGameAssistants(store: Store, config: ProxyConfig, defaultModel: string): Promise<void> {
  for (const defined of config.policy.assistants) {
    const { id, model, ...fields } = defined;
    await store.putAssistant(GAME_OWNER, {
      ...makeAssistant({ ...fields, model: model ?? defaultModel }),
      id,
    });
  }
}

/** Counts each turn's outcome, time to first token, tokens and estimated cost. */
function turnMetrics(metrics: Metrics, config: ProxyConfig): NonNullable<EngineGuards['onTurn']> {
  return ({ model, ttftMs, usage, status }) => {
    metrics.inc('parley_turns_total', 'Turns (run segments) by outcome.', { status });
    if (ttftMs !== null)
      metrics.observe('parley_ttft_seconds', 'Time to first token of a turn.', ttftMs / 1000, TTFT_BUCKETS);
    if (!usage) return;
    metrics.inc('parley_tokens_total', 'Tokens used.', { kind: 'prompt' }, usage.prompt_tokens);
    metrics.inc('parley_tokens_total', 'Tokens used.', { kind: 'completion' }, usage.completion_tokens);
    const cost = estimateCostUsd(config.limits.prices, model, {
      promptTokens: usage.prompt_tokens,
      completionTokens: usage.completion_tokens,
    });
    metrics.inc('parley_cost_usd_total', 'Estimated cost of the tokens used, USD.', {}, cost);
  };
}

interface Edge {
  config: ProxyConfig;
  log: Logger;
  auth: ReturnType<typeof createAuthenticator>;
  guard: PolicyGuard;
  metrics: Metrics;
  cors: ReturnType<typeof createCors>;
}

async function handle(
  router: Router<Handler, RouteMeta>,
  edge: Edge,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { config, log, auth, guard, metrics } = edge;
  const started = performance.now();
  const url = new URL(req.url ?? '/', 'http://proxy.invalid');
  let route = 'unmatched';
  if (edge.cors(req, res)) return;
  const noSuchRoute = () => new ProxyError(ErrorCode.NotFound, `Invalid URL (${req.method} ${url.pathname})`);
  try {
    let matched: ReturnType<typeof router.match>;
    try {
      matched = router.match(req.method ?? 'GET', url.pathname);
    } catch (error) {
      // A 405 would betray a path whose every route is hidden from this caller (admin, or left out of
      // the policy): to them it does not exist.
      const visible = (meta: RouteMeta) =>
        meta === 'public' || (meta === 'admin' ? auth.isAdmin(req) : guard.policy.endpoints.has(meta));
      if (error instanceof ProxyError && error.status === 405 && !router.metas(url.pathname).some(visible))
        throw noSuchRoute();
      throw error;
    }
    const { handler, params, meta } = matched;
    route = meta;
    let principal: Principal | undefined;
    if (meta === 'admin') {
      // Admin routes do not exist for anyone without the admin token.
      if (!auth.isAdmin(req)) throw noSuchRoute();
    } else if (meta !== 'public') {
      // Before identity: a route the policy leaves out does not exist, even for anonymous callers.
      guard.route(meta, req.method ?? 'GET', url.pathname);
      principal = await auth.authenticate(req);
      if (principal.player.startsWith('parley:')) {
        throw new ProxyError(ErrorCode.Unauthorized, 'That player id is reserved.');
      }
    }
    let bodyRead: Promise<Record<string, unknown>> | undefined;
    const result = await handler({
      req,
      res,
      params,
      query: url.searchParams,
      owner: principal?.player ?? '',
      principal,
      body: () => {
        bodyRead ??= readJson(req, config.maxBodyBytes);
        return bodyRead;
      },
    });
    if (result !== STREAMED) sendJson(res, 200, result);
  } catch (error) {
    const failure = toProxyError(error);
    metrics.inc('parley_errors_total', 'Failed requests by error code.', { code: String(failure.code) });
    if (failure.status >= 500 && failure.code === 'server_error') {
      log.error('request failed', { method: req.method, route, error: describe(failure.cause) });
    }
    sendError(res, failure);
  } finally {
    metrics.inc('parley_requests_total', 'Requests by route and status.', {
      route,
      status: String(res.statusCode),
    });
    log.debug('request', {
      method: req.method,
      route,
      status: res.statusCode,
      ms: +(performance.now() - started).toFixed(2),
    });
  }
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** The one place an error becomes HTTP: OpenAI's error body, the right status, no stack traces. */
function sendError(res: ServerResponse, error: ProxyError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  sendJson(res, error.status, toErrorBody(error));
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
