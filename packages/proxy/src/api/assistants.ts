import { type Assistant, ErrorCode } from '@parley/protocol';
import { notFound, ProxyError } from '../errors.js';
import { makeAssistant } from '../objects.js';
import { createAssistant, modifyAssistant } from '../schemas/assistants.js';
import { parse } from '../schemas/issues.js';
import { parsePageQuery } from '../schemas/query.js';
import { list, type Routes, type Services } from './context.js';
import { checkAssistantFields, findAssistant, ownAssistant } from './lookups.js';

/** Assistants: players create and change their own; the game's are read-only to them. */
export function assistantRoutes(router: Routes, services: Services): void {
  const { store, upstream, guard } = services;
  router
    .add('POST', '/v1/assistants', 'assistants.create', async (ctx) => {
      const fields = parse(createAssistant, await ctx.body());
      if (!guard.policy.playerAssistants) {
        throw new ProxyError(ErrorCode.NotFound, 'Invalid URL (POST /v1/assistants)');
      }
      checkAssistantFields(services, fields);
      const created = makeAssistant({ ...fields, model: fields.model ?? upstream.defaultModel });
      await store.putAssistant(ctx.owner, created);
      return created;
    })
    .add('GET', '/v1/assistants', 'assistants.list', async (ctx) =>
      list(await store.listAssistants(ctx.owner, parsePageQuery(ctx.query))),
    )
    .add('GET', '/v1/assistants/:assistant_id', 'assistants.retrieve', async (ctx) =>
      findAssistant(services, ctx.owner, ctx.params['assistant_id']!),
    )
    .add('POST', '/v1/assistants/:assistant_id', 'assistants.modify', async (ctx) => {
      const fields = parse(modifyAssistant, await ctx.body());
      const current = await ownAssistant(services, ctx.owner, ctx.params['assistant_id']!);
      checkAssistantFields(services, fields);
      const { reasoning_effort: _ignored, ...rest } = fields;
      const updated: Assistant = { ...current };
      for (const [key, value] of Object.entries(rest)) {
        if (value !== undefined) (updated as unknown as Record<string, unknown>)[key] = value;
      }
      updated.metadata = fields.metadata === null ? {} : (fields.metadata ?? current.metadata);
      await store.putAssistant(ctx.owner, updated);
      return updated;
    })
    .add('DELETE', '/v1/assistants/:assistant_id', 'assistants.delete', async (ctx) => {
      const id = ctx.params['assistant_id']!;
      await ownAssistant(services, ctx.owner, id);
      if (!(await store.deleteAssistant(ctx.owner, id))) throw notFound('assistant', id);
      return { id, object: 'assistant.deleted', deleted: true };
    });
}
