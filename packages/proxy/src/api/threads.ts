import { notFound } from '../errors.js';
import { makeMessage, makeThread } from '../objects.js';
import { parse } from '../schemas/issues.js';
import { createThreadAndRun } from '../schemas/runs.js';
import { createThread, modifyThread } from '../schemas/threads.js';
import { graceOf, type Routes, type Services, streamRun } from './context.js';
import { checkAssistantFields, checkMessages, findAssistant, findThread } from './lookups.js';
import { checkAttachments } from './messages.js';

/**
 * Threads, and creating a thread with its first run. `POST /v1/threads/runs` is added first so that
 * "runs" is not read as a thread id.
 */
export function threadRoutes(router: Routes, services: Services): void {
  const { store, engine } = services;
  router
    .add('POST', '/v1/threads/runs', 'threads.createAndRun', async (ctx) => {
      const {
        thread: threadFields = {},
        tool_resources,
        reasoning_effort: _r,
        ...runFields
      } = parse(createThreadAndRun, await ctx.body());
      await findAssistant(services, ctx.owner, runFields.assistant_id, 'assistant_id');
      checkAssistantFields(services, runFields);
      await checkMessages(services, ctx.owner, undefined, threadFields.messages ?? []);
      const attach = await checkAttachments(
        services,
        ctx.owner,
        threadFields.messages ?? [],
        atMessage('thread.messages'),
      );
      const created = makeThread({
        metadata: threadFields.metadata ?? null,
        tool_resources: threadFields.tool_resources ?? tool_resources ?? null,
      });
      await store.createThread(
        ctx.owner,
        created,
        (threadFields.messages ?? []).map((input) => makeMessage(created.id, input)),
      );
      await attach(created);
      const started = await engine.createRun(
        ctx.owner,
        created,
        runFields,
        { thread: created },
        graceOf(ctx),
      );
      return runFields.stream
        ? streamRun(ctx, services.metrics, started.channel, started.after)
        : started.run;
    })
    .add('POST', '/v1/threads', 'threads.create', async (ctx) => {
      const fields = parse(createThread, await ctx.body());
      await checkMessages(services, ctx.owner, undefined, fields.messages ?? []);
      const attach = await checkAttachments(
        services,
        ctx.owner,
        fields.messages ?? [],
        atMessage('messages'),
      );
      const created = makeThread({
        metadata: fields.metadata ?? null,
        tool_resources: fields.tool_resources ?? null,
      });
      await store.createThread(
        ctx.owner,
        created,
        (fields.messages ?? []).map((input) => makeMessage(created.id, input)),
      );
      await attach(created);
      return created;
    })
    .add('GET', '/v1/threads/:thread_id', 'threads.retrieve', async (ctx) =>
      findThread(services, ctx.owner, ctx.params['thread_id']!),
    )
    .add('POST', '/v1/threads/:thread_id', 'threads.modify', async (ctx) => {
      const fields = parse(modifyThread, await ctx.body());
      const current = await findThread(services, ctx.owner, ctx.params['thread_id']!);
      if (fields.metadata !== undefined) current.metadata = fields.metadata ?? {};
      if (fields.tool_resources !== undefined) current.tool_resources = fields.tool_resources ?? {};
      await store.putThread(ctx.owner, current);
      return current;
    })
    .add('DELETE', '/v1/threads/:thread_id', 'threads.delete', async (ctx) => {
      const id = ctx.params['thread_id']!;
      await findThread(services, ctx.owner, id);
      const active = await engine.activeRun(ctx.owner, id);
      if (active) await engine.cancel(ctx.owner, id, active.id).catch(() => {});
      if (!(await store.deleteThread(ctx.owner, id))) throw notFound('thread', id);
      return { id, object: 'thread.deleted', deleted: true };
    });
}

/** The `param` of a message's attachments in a list of messages, e.g. `messages[0].attachments`. */
const atMessage = (list: string) => (index: number) => `${list}[${index}].attachments`;
