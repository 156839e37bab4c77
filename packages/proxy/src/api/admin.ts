import { ErrorCode } from '@parley/protocol';
import { ProxyError } from '../errors.js';
import { block } from '../schemas/admin.js';
import { parse } from '../schemas/issues.js';
import { type Routes, type Services, STREAMED } from './context.js';

/** Usage: a player reads their own; operators read anyone's, cut players off and scrape metrics. */
export function adminRoutes(router: Routes, { limiter, metrics }: Services): void {
  router
    .add('GET', '/v1/usage', 'usage.read', async (ctx) => limiter.usage({ player: ctx.owner }))
    .add('GET', '/v1/admin/usage', 'admin', async (ctx) => {
      const player = ctx.query.get('player') ?? undefined;
      const npc = ctx.query.get('npc') ?? undefined;
      return limiter.usage({ ...(player ? { player } : {}), ...(npc ? { npc } : {}) });
    })
    .add('POST', '/v1/admin/block', 'admin', async (ctx) => {
      const fields = parse(block, await ctx.body());
      if (!fields.player && fields.everyone !== true) {
        throw new ProxyError(ErrorCode.MissingParameter, "Give 'player', or 'everyone': true.", {
          param: 'player',
        });
      }
      await limiter.setBlocked(fields.player ? { player: fields.player } : 'everyone', fields.blocked);
      return { ok: true, target: fields.player ?? 'everyone', blocked: fields.blocked };
    })
    .add('GET', '/metrics', 'admin', async (ctx) => {
      const body = metrics.render();
      ctx.res.writeHead(200, {
        'Content-Type': 'text/plain; version=0.0.4',
        'Content-Length': Buffer.byteLength(body),
      });
      ctx.res.end(body);
      return STREAMED;
    });
}
