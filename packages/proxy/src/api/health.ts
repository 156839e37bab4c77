import type { Health } from '@parley/protocol';
import type { Routes, Services } from './context.js';

/** `GET /healthz` (public) and `GET /v1/models` (the one model this proxy answers with). */
export function healthRoutes(router: Routes, { upstream }: Services): void {
  router
    .add('GET', '/healthz', 'public', async () => {
      const health: Health = { ok: true, upstream: upstream.kind, model: upstream.defaultModel };
      return health;
    })
    .add('GET', '/v1/models', 'models.list', async () => ({
      object: 'list',
      data: [{ id: upstream.defaultModel, object: 'model', created: 0, owned_by: 'parley' }],
    }));
}
