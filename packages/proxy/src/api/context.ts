import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Assistant, ListPage } from '@parley/protocol';
import type { Authenticator } from '../auth/authenticate.js';
import type { Principal } from '../auth/principal.js';
import type { ProxyConfig } from '../config.js';
import type { Router } from '../http/router.js';
import { openEventStream } from '../http/sse.js';
import type { Knowledge } from '../knowledge/service.js';
import type { Limiter } from '../limits/limiter.js';
import type { Metrics } from '../ops/metrics.js';
import type { Moderator } from '../ops/moderation.js';
import type { PolicyGuard, RouteName } from '../policy/policy.js';
import type { RunEngine } from '../runs/engine.js';
import type { Owner, Page, Store } from '../store/types.js';
import type { Upstream } from '../upstream/upstream.js';

/** What a handler gets: the request, its path parameters and query, the caller, and a body reader. */
export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  owner: Owner;
  /** Who is calling (undefined on public and admin routes). */
  principal: Principal | undefined;
  body(): Promise<Record<string, unknown>>;
}

/** A route's name for the policy's endpoint allowlist, or who may call it when it is not a player route. */
export type RouteMeta = RouteName | 'public' | 'admin';

/** A handler returns a JSON value to send with 200, or {@link STREAMED} when it answered by itself. */
export type Handler = (ctx: RequestContext) => Promise<unknown>;
export const STREAMED = Symbol('streamed');

/** The router every resource module adds its routes to. */
export type Routes = Router<Handler, RouteMeta>;

/** Everything the routes use, built once by `createProxy`. */
export interface Services {
  store: Store;
  engine: RunEngine;
  upstream: Upstream;
  guard: PolicyGuard;
  limiter: Limiter;
  moderator: Moderator;
  metrics: Metrics;
  auth: Authenticator;
  /** A player's own assistant, or one the game defines. */
  assistantFor(owner: Owner, id: string): Promise<Assistant | undefined>;
  config: Pick<ProxyConfig, 'cannedReplies' | 'limits' | 'policy' | 'timeouts' | 'knowledge' | 'moderation'>;
  /** Files, vector stores and their index; `createRoutes` builds one when none is given. */
  knowledge?: Knowledge | undefined;
}

/** Header a resuming client (such as `@parley/dialogue`) sends to keep its run alive across a drop. */
export const RESUME_GRACE_HEADER = 'parley-resume-grace-ms';

/** How long the caller asks its run to outlive a dropped stream (0 when it does not ask). */
export function graceOf(ctx: { req: IncomingMessage }): { graceMs: number } {
  const raw = Number(ctx.req.headers[RESUME_GRACE_HEADER]);
  return { graceMs: Number.isFinite(raw) && raw > 0 ? raw : 0 };
}

/** A store page as OpenAI's list object. */
export function list<T extends { id: string }>(page: Page<T>): ListPage<T> {
  return {
    object: 'list',
    data: page.data,
    first_id: page.data[0]?.id ?? null,
    last_id: page.data.at(-1)?.id ?? null,
    has_more: page.has_more,
  };
}

/** Answers with a run's events from log position `after` on, live until the run ends. */
export async function streamRun(
  ctx: RequestContext,
  metrics: Metrics,
  channel: { pipe(res: ServerResponse, after: number): Promise<void> },
  after: number,
): Promise<typeof STREAMED> {
  openEventStream(ctx.res);
  metrics.gauge('parley_streams_open', 'Event streams open now.', {}, 1);
  try {
    await channel.pipe(ctx.res, after);
  } finally {
    metrics.gauge('parley_streams_open', 'Event streams open now.', {}, -1);
  }
  return STREAMED;
}

/**
 * An abort for the upstream call a request makes, fired when the client goes away before its answer is
 * written (nobody would read the rest, and it costs tokens). `release` stops listening once the call is over.
 */
export function abortOnClientClose(res: ServerResponse): { controller: AbortController; release(): void } {
  const controller = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) controller.abort();
  };
  res.on('close', onClose);
  return { controller, release: () => res.off('close', onClose) };
}
