import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRoutes, type Handler, STREAMED } from './api/routes.js';
import type { ProxyConfig } from './config.js';
import { type ProxyError, toErrorBody, toProxyError } from './errors.js';
import { readJson } from './http/body.js';
import type { Router } from './http/router.js';
import { createLogger, type Logger } from './log.js';
import { RunEngine } from './runs/engine.js';
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
  /** Resolves to the base URL once listening (port 0 picks a free port). */
  listen(): Promise<string>;
  /** Stops accepting, ends runs in flight (they are recorded as cancelled), closes the store. */
  close(): Promise<void>;
}

export interface ProxyOptions {
  /** Replaces the upstream's fetch (tests point it at a fake server through a base URL instead). */
  fetch?: typeof fetch;
  logger?: Logger;
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
  // The embedded store belongs to this process alone, so reads can be served from memory; a shared
  // PostgreSQL cannot (other instances write to it).
  const exclusive = !config.databaseUrl;
  const database = await createStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const store = exclusive ? withMemoryCache(database) : database;
  const upstream = createUpstream(config.upstream, options.fetch ? { fetch: options.fetch } : {});
  const engine = new RunEngine(store, upstream, { ...config, exclusive });
  const recovered = await engine.recover();
  if (recovered > 0) log.info('recovered runs left unfinished by a previous process', { count: recovered });
  const router = createRoutes({ store, engine, upstream });
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    void handle(router, config, log, req, res);
  });
  server.headersTimeout = 30_000;

  return {
    config,
    server,
    store,
    engine,
    upstream,
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
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      });
      await engine.close();
      await store.close();
    },
  };
}

const CORS_ALLOWED_HEADERS = 'Authorization, Content-Type, Last-Event-ID, OpenAI-Beta, X-Stainless-*';

async function handle(
  router: Router<Handler>,
  config: ProxyConfig,
  log: Logger,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const started = performance.now();
  const url = new URL(req.url ?? '/', 'http://proxy.invalid');
  const origin = req.headers.origin;
  if (origin && config.corsOrigins.includes(origin)) {
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Vary', 'Origin');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'Access-Control-Allow-Methods': 'GET, POST, DELETE, OPTIONS',
        'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] ?? CORS_ALLOWED_HEADERS,
        'Access-Control-Max-Age': '600',
      });
      res.end();
      return;
    }
  }
  try {
    const { handler, params } = router.match(req.method ?? 'GET', url.pathname);
    let bodyRead: Promise<Record<string, unknown>> | undefined;
    const result = await handler({
      req,
      res,
      params,
      query: url.searchParams,
      owner: '',
      body: () => {
        bodyRead ??= readJson(req, config.maxBodyBytes);
        return bodyRead;
      },
    });
    if (result !== STREAMED) sendJson(res, 200, result);
  } catch (error) {
    const failure = toProxyError(error);
    if (failure.status >= 500 && failure.code === 'server_error') {
      log.error('request failed', { method: req.method, path: url.pathname, error: describe(failure.cause) });
    }
    sendError(res, failure);
  } finally {
    log.debug('request', {
      method: req.method,
      path: url.pathname,
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
