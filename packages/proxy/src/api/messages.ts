import { notFound } from '../errors.js';
import { makeMessage } from '../objects.js';
import { parse } from '../schemas/issues.js';
import { parsePageQuery } from '../schemas/query.js';
import { createMessage, modifyMessage } from '../schemas/threads.js';
import { list, type Routes, type Services } from './context.js';
import { checkMessages, findThread, noActiveRun } from './lookups.js';

/** A thread's messages. A player adds one only while no run is active on the thread. */
export function messageRoutes(router: Routes, services: Services): void {
  const { store } = services;
  router
    .add('POST', '/v1/threads/:thread_id/messages', 'messages.create', async (ctx) => {
      const input = parse(createMessage, await ctx.body());
      const threadId = ctx.params['thread_id']!;
      await findThread(services, ctx.owner, threadId);
      await noActiveRun(services, ctx.owner, threadId, 'add messages to');
      await checkMessages(services, ctx.owner, threadId, [input]);
      const message = makeMessage(threadId, input);
      await store.putMessage(ctx.owner, message);
      return message;
    })
    .add('GET', '/v1/threads/:thread_id/messages', 'messages.list', async (ctx) => {
      const threadId = ctx.params['thread_id']!;
      await findThread(services, ctx.owner, threadId);
      const runId = ctx.query.get('run_id') ?? undefined;
      return list(
        await store.listMessages(
          ctx.owner,
          threadId,
          parsePageQuery(ctx.query),
          runId ? { runId } : undefined,
        ),
      );
    })
    .add('GET', '/v1/threads/:thread_id/messages/:message_id', 'messages.retrieve', async (ctx) => {
      const found = await store.getMessage(ctx.owner, ctx.params['thread_id']!, ctx.params['message_id']!);
      if (!found) throw notFound('message', ctx.params['message_id']!);
      return found;
    })
    .add('POST', '/v1/threads/:thread_id/messages/:message_id', 'messages.modify', async (ctx) => {
      const fields = parse(modifyMessage, await ctx.body());
      const found = await store.getMessage(ctx.owner, ctx.params['thread_id']!, ctx.params['message_id']!);
      if (!found) throw notFound('message', ctx.params['message_id']!);
      if (fields.metadata !== undefined) found.metadata = fields.metadata ?? {};
      await store.putMessage(ctx.owner, found);
      return found;
    })
    .add('DELETE', '/v1/threads/:thread_id/messages/:message_id', 'messages.delete', async (ctx) => {
      const id = ctx.params['message_id']!;
      if (!(await store.deleteMessage(ctx.owner, ctx.params['thread_id']!, id)))
        throw notFound('message', id);
      return { id, object: 'thread.message.deleted', deleted: true };
    });
}
