import { ErrorCode } from '@parley/protocol';
import { ProxyError } from '../errors.js';

export type Method = 'GET' | 'POST' | 'DELETE';

interface Route<H, M> {
  method: Method;
  segments: string[];
  meta: M;
  handler: H;
}

/** Path parameters by name, e.g. `{ thread_id: 'thread_abc' }`. */
export type Params = Record<string, string>;

/**
 * A small exact-segment router: `/v1/threads/:thread_id/runs`. Unknown paths are 404 and known paths
 * with another method are 405, both in OpenAI's error body.
 */
export class Router<H, M = undefined> {
  readonly #routes: Route<H, M>[] = [];

  add(method: Method, path: string, meta: M, handler: H): this {
    this.#routes.push({ method, segments: path.split('/').filter(Boolean), meta, handler });
    return this;
  }

  /** The metas of every route on `pathname`, whatever its method (to tell who may know the path exists). */
  metas(pathname: string): M[] {
    const parts = pathname.split('/').filter(Boolean);
    return this.#routes.filter((route) => matchSegments(route.segments, parts)).map((route) => route.meta);
  }

  match(method: string, pathname: string): { handler: H; params: Params; meta: M } {
    const parts = pathname.split('/').filter(Boolean);
    let pathMatched = false;
    for (const route of this.#routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      pathMatched = true;
      if (route.method === method) return { handler: route.handler, params, meta: route.meta };
    }
    if (pathMatched) {
      throw new ProxyError(ErrorCode.MethodNotAllowed, `Method ${method} is not allowed for ${pathname}.`);
    }
    throw new ProxyError(ErrorCode.NotFound, `Invalid URL (${method} ${pathname})`);
  }
}

function matchSegments(pattern: string[], parts: string[]): Params | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Params = {};
  for (let i = 0; i < pattern.length; i++) {
    const expected = pattern[i]!;
    const actual = parts[i]!;
    if (expected.startsWith(':')) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(actual);
      } catch {
        return undefined;
      }
      params[expected.slice(1)] = decoded;
    } else if (expected !== actual) {
      return undefined;
    }
  }
  return params;
}
