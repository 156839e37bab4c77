import type { Routes, Services } from './context.js';

/** Player identity (see the auth module): anonymous sessions for games without accounts. */
export function sessionRoutes(router: Routes, { auth }: Services): void {
  router
    .add('POST', '/v1/sessions', 'public', async (ctx) => auth.issueSession(ctx.req))
    .add('POST', '/v1/sessions/refresh', 'public', async (ctx) => auth.refreshSession(ctx.req));
}
