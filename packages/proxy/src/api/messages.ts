import type { Thread } from '@parley/protocol';
import { notFound } from '../errors.js';
import { attachToThread, fileSearchAttachments } from '../knowledge/attachments.js';
import { makeMessage } from '../objects.js';
import { parse } from '../schemas/issues.js';
import { parsePageQuery } from '../schemas/query.js';
import { createMessage, modifyMessage } from '../schemas/threads.js';
import type { Owner } from '../store/types.js';
import { list, type Routes, type Services } from './context.js';
import { checkMessages, findThread, noActiveRun } from './lookups.js';

/** A thread's messages. A player adds one only while no run is active on the thread. */
export function messageRoutes(router: Routes, services: Services): void {
  const { store } = services;
  router
    .add('POST', '/v1/threads/:thread_id/messages', 'messages.create', async (ctx) => {
      const input = parse(createMessage, await ctx.body());
      const threadId = ctx.params['thread_id']!;
      const thread = await findThread(services, ctx.owner, threadId);
      await noActiveRun(services, ctx.owner, threadId, 'add messages to');
      await checkMessages(services, ctx.owner, threadId, [input]);
      const attach = await checkAttachments(services, ctx.owner, [input], () => 'attachments');
      const message = makeMessage(threadId, input);
      await store.putMessage(ctx.owner, message);
      await attach(thread);
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

/**
 * Checks the `file_search` attachments of messages about to be added (each file the caller's own) before
 * anything is stored, and returns what puts those files in the thread's vector store once the thread and
 * its messages are stored (see {@link attachToThread}).
 *
 * @example
 * ```ts
 * const attach = await checkAttachments(services, owner, messages, (i) => `messages[${i}].attachments`);
 * await store.createThread(owner, thread, messages.map((input) => makeMessage(thread.id, input)));
 * await attach(thread);
 * ```
 */
export async function checkAttachments(
  services: Pick<Services, 'knowledge' | 'store'>,
  owner: Owner,
  inputs: ReadonlyArray<{ attachments?: readonly unknown[] | null | undefined }>,
  param: (message: number) => string,
): Promise<(thread: Thread) => Promise<void>> {
  const { knowledge, store } = services;
  const wanted = inputs.some((input) => (input.attachments?.length ?? 0) > 0);
  // createRoutes always gives the routes a knowledge service; without one there is nothing to attach to.
  if (!knowledge || !wanted) return async () => {};
  const files = await fileSearchAttachments(knowledge, owner, inputs, param);
  return (thread) => attachToThread(knowledge, store, owner, thread, files);
}
