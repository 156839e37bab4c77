import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type Assistant,
  DONE_DATA,
  ErrorCode,
  type Health,
  LAST_EVENT_ID_HEADER,
  type ListPage,
  RESUME_QUERY_PARAM,
  StreamEvent,
  type Thread,
} from '@parley/protocol';
import { notFound, ProxyError, toErrorBody } from '../errors.js';
import { Router } from '../http/router.js';
import { drained, formatEvent, openEventStream } from '../http/sse.js';
import { makeAssistant, makeMessage, makeThread } from '../objects.js';
import type { RunChannel } from '../runs/channel.js';
import type { RunEngine, RunParams } from '../runs/engine.js';
import type { Owner, Page, Store } from '../store/types.js';
import type { ChatRequest, Upstream } from '../upstream/upstream.js';
import { parse } from '../validate.js';
import * as schema from './schemas.js';

/** What a handler gets: the request, its path parameters and query, the caller, and a body reader. */
export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  owner: Owner;
  body(): Promise<Record<string, unknown>>;
}

/** A handler returns a JSON value to send with 200, or {@link STREAMED} when it answered by itself. */
export type Handler = (ctx: RequestContext) => Promise<unknown>;
export const STREAMED = Symbol('streamed');

const POLL_AFTER_MS = '200';

export interface Services {
  store: Store;
  engine: RunEngine;
  upstream: Upstream;
}

function list<T extends { id: string }>(page: Page<T>): ListPage<T> {
  return {
    object: 'list',
    data: page.data,
    first_id: page.data[0]?.id ?? null,
    last_id: page.data.at(-1)?.id ?? null,
    has_more: page.has_more,
  };
}

/** The whole Assistants v2 surface plus chat pass-through, health and models. */
export function createRoutes({ store, engine, upstream }: Services): Router<Handler> {
  const router = new Router<Handler>();

  const thread = async (owner: Owner, id: string): Promise<Thread> => {
    const found = await store.getThread(owner, id);
    if (!found) throw notFound('thread', id);
    return found;
  };
  const assistant = async (owner: Owner, id: string, param?: string): Promise<Assistant> => {
    const found = await store.getAssistant(owner, id);
    if (!found) throw notFound('assistant', id, param);
    return found;
  };
  const run = async (owner: Owner, threadId: string, id: string) => {
    const stored = await store.getRun(owner, threadId, id);
    if (!stored) throw notFound('run', id);
    return engine.liveRun(id) ?? stored; // the live copy is fresher between persistence boundaries
  };
  const noActiveRun = async (owner: Owner, threadId: string, doing: string) => {
    const active = await engine.activeRun(owner, threadId);
    if (active) {
      throw new ProxyError(
        400,
        ErrorCode.ThreadBusy,
        `Can't ${doing} ${threadId} while a run ${active.id} is active.`,
        {
          param: 'thread_id',
        },
      );
    }
  };

  const streamRun = async (ctx: RequestContext, channel: RunChannel, after: number) => {
    openEventStream(ctx.res);
    await channel.pipe(ctx.res, after);
    return STREAMED;
  };

  router
    .add('GET', '/healthz', async () => {
      const health: Health = { ok: true, upstream: upstream.kind, model: upstream.defaultModel };
      return health;
    })
    .add('GET', '/v1/models', async () => ({
      object: 'list',
      data: [{ id: upstream.defaultModel, object: 'model', created: 0, owned_by: 'parley' }],
    }))

    // Assistants
    .add('POST', '/v1/assistants', async (ctx) => {
      const fields = parse(schema.createAssistant, await ctx.body());
      const created = makeAssistant({ ...fields, model: fields.model ?? upstream.defaultModel });
      await store.putAssistant(ctx.owner, created);
      return created;
    })
    .add('GET', '/v1/assistants', async (ctx) =>
      list(await store.listAssistants(ctx.owner, schema.pageQuery(ctx.query))),
    )
    .add('GET', '/v1/assistants/:assistant_id', async (ctx) =>
      assistant(ctx.owner, ctx.params['assistant_id']!),
    )
    .add('POST', '/v1/assistants/:assistant_id', async (ctx) => {
      const fields = parse(schema.modifyAssistant, await ctx.body());
      const current = await assistant(ctx.owner, ctx.params['assistant_id']!);
      const { reasoning_effort: _ignored, ...rest } = fields;
      const updated: Assistant = { ...current };
      for (const [key, value] of Object.entries(rest)) {
        if (value !== undefined) (updated as unknown as Record<string, unknown>)[key] = value;
      }
      updated.metadata = fields.metadata === null ? {} : (fields.metadata ?? current.metadata);
      await store.putAssistant(ctx.owner, updated);
      return updated;
    })
    .add('DELETE', '/v1/assistants/:assistant_id', async (ctx) => {
      const id = ctx.params['assistant_id']!;
      if (!(await store.deleteAssistant(ctx.owner, id))) throw notFound('assistant', id);
      return { id, object: 'assistant.deleted', deleted: true };
    })

    // Create thread and run (before /v1/threads/:thread_id so "runs" is not read as a thread id)
    .add('POST', '/v1/threads/runs', async (ctx) => {
      const {
        thread: threadFields = {},
        tool_resources,
        reasoning_effort: _r,
        ...runFields
      } = parse(schema.createThreadAndRun, await ctx.body());
      await assistant(ctx.owner, runFields.assistant_id, 'assistant_id');
      const created = makeThread({
        metadata: threadFields.metadata ?? null,
        tool_resources: threadFields.tool_resources ?? tool_resources ?? null,
      });
      await store.putThread(ctx.owner, created);
      for (const input of threadFields.messages ?? [])
        await store.putMessage(ctx.owner, makeMessage(created.id, input));
      const started = await engine.createRun(ctx.owner, created, runFields as RunParams, { thread: created });
      return runFields.stream ? streamRun(ctx, started.channel, started.after) : started.run;
    })

    // Threads
    .add('POST', '/v1/threads', async (ctx) => {
      const fields = parse(schema.createThread, await ctx.body());
      const created = makeThread({
        metadata: fields.metadata ?? null,
        tool_resources: fields.tool_resources ?? null,
      });
      await store.putThread(ctx.owner, created);
      for (const input of fields.messages ?? [])
        await store.putMessage(ctx.owner, makeMessage(created.id, input));
      return created;
    })
    .add('GET', '/v1/threads/:thread_id', async (ctx) => thread(ctx.owner, ctx.params['thread_id']!))
    .add('POST', '/v1/threads/:thread_id', async (ctx) => {
      const fields = parse(schema.modifyThread, await ctx.body());
      const current = await thread(ctx.owner, ctx.params['thread_id']!);
      if (fields.metadata !== undefined) current.metadata = fields.metadata ?? {};
      if (fields.tool_resources !== undefined) current.tool_resources = fields.tool_resources ?? {};
      await store.putThread(ctx.owner, current);
      return current;
    })
    .add('DELETE', '/v1/threads/:thread_id', async (ctx) => {
      const id = ctx.params['thread_id']!;
      await thread(ctx.owner, id);
      const active = await engine.activeRun(ctx.owner, id);
      if (active) await engine.cancel(ctx.owner, id, active.id).catch(() => {});
      if (!(await store.deleteThread(ctx.owner, id))) throw notFound('thread', id);
      return { id, object: 'thread.deleted', deleted: true };
    })

    // Messages
    .add('POST', '/v1/threads/:thread_id/messages', async (ctx) => {
      const input = parse(schema.createMessage, await ctx.body());
      const threadId = ctx.params['thread_id']!;
      await thread(ctx.owner, threadId);
      await noActiveRun(ctx.owner, threadId, 'add messages to');
      const message = makeMessage(threadId, input);
      await store.putMessage(ctx.owner, message);
      return message;
    })
    .add('GET', '/v1/threads/:thread_id/messages', async (ctx) => {
      const threadId = ctx.params['thread_id']!;
      await thread(ctx.owner, threadId);
      const runId = ctx.query.get('run_id') ?? undefined;
      return list(
        await store.listMessages(
          ctx.owner,
          threadId,
          schema.pageQuery(ctx.query),
          runId ? { runId } : undefined,
        ),
      );
    })
    .add('GET', '/v1/threads/:thread_id/messages/:message_id', async (ctx) => {
      const found = await store.getMessage(ctx.owner, ctx.params['thread_id']!, ctx.params['message_id']!);
      if (!found) throw notFound('message', ctx.params['message_id']!);
      return found;
    })
    .add('POST', '/v1/threads/:thread_id/messages/:message_id', async (ctx) => {
      const fields = parse(schema.modifyMessage, await ctx.body());
      const found = await store.getMessage(ctx.owner, ctx.params['thread_id']!, ctx.params['message_id']!);
      if (!found) throw notFound('message', ctx.params['message_id']!);
      if (fields.metadata !== undefined) found.metadata = fields.metadata ?? {};
      await store.putMessage(ctx.owner, found);
      return found;
    })
    .add('DELETE', '/v1/threads/:thread_id/messages/:message_id', async (ctx) => {
      const id = ctx.params['message_id']!;
      if (!(await store.deleteMessage(ctx.owner, ctx.params['thread_id']!, id)))
        throw notFound('message', id);
      return { id, object: 'thread.message.deleted', deleted: true };
    })

    // Runs
    .add('POST', '/v1/threads/:thread_id/runs', async (ctx) => {
      const params = parse(schema.createRun, await ctx.body());
      const target = await thread(ctx.owner, ctx.params['thread_id']!);
      const started = await engine.createRun(ctx.owner, target, params as RunParams);
      return params.stream ? streamRun(ctx, started.channel, started.after) : started.run;
    })
    .add('GET', '/v1/threads/:thread_id/runs', async (ctx) => {
      const threadId = ctx.params['thread_id']!;
      await thread(ctx.owner, threadId);
      const page = await store.listRuns(ctx.owner, threadId, schema.pageQuery(ctx.query));
      return list({ ...page, data: page.data.map((stored) => engine.liveRun(stored.id) ?? stored) });
    })
    .add('GET', '/v1/threads/:thread_id/runs/:run_id', async (ctx) => {
      // The SDK's *AndPoll helpers wait 5 s between polls unless told otherwise; a game cannot.
      ctx.res.setHeader('openai-poll-after-ms', POLL_AFTER_MS);
      return run(ctx.owner, ctx.params['thread_id']!, ctx.params['run_id']!);
    })
    .add('POST', '/v1/threads/:thread_id/runs/:run_id', async (ctx) => {
      const fields = parse(schema.modifyRun, await ctx.body());
      const threadId = ctx.params['thread_id']!;
      const runId = ctx.params['run_id']!;
      const current = await run(ctx.owner, threadId, runId);
      return engine.setMetadata(ctx.owner, current, fields.metadata ?? {});
    })
    .add('POST', '/v1/threads/:thread_id/runs/:run_id/cancel', async (ctx) => {
      await ctx.body();
      return engine.cancel(ctx.owner, ctx.params['thread_id']!, ctx.params['run_id']!);
    })
    .add('POST', '/v1/threads/:thread_id/runs/:run_id/submit_tool_outputs', async (ctx) => {
      const fields = parse(schema.submitToolOutputs, await ctx.body());
      const started = await engine.submitToolOutputs(
        ctx.owner,
        ctx.params['thread_id']!,
        ctx.params['run_id']!,
        fields.tool_outputs,
        fields.stream === true,
      );
      return fields.stream ? streamRun(ctx, started.channel, started.after) : started.run;
    })
    .add('GET', '/v1/threads/:thread_id/runs/:run_id/events', async (ctx) => {
      // Resumable streams (a Parley extension): replay after the client's last event id, then go live.
      const threadId = ctx.params['thread_id']!;
      const runId = ctx.params['run_id']!;
      const raw = ctx.query.get(RESUME_QUERY_PARAM) ?? ctx.req.headers[LAST_EVENT_ID_HEADER.toLowerCase()];
      const after = raw === undefined ? 0 : Number(Array.isArray(raw) ? raw[0] : raw);
      if (!Number.isInteger(after) || after < 0) {
        throw new ProxyError(
          400,
          ErrorCode.InvalidValue,
          `Invalid '${RESUME_QUERY_PARAM}': expected a non-negative integer.`,
          {
            param: RESUME_QUERY_PARAM,
          },
        );
      }
      const channel = await engine.channelFor(ctx.owner, threadId, runId);
      if (channel) return streamRun(ctx, channel, after);
      // The log is gone (old run, or another process): say how the run ended, then close.
      const finished = await run(ctx.owner, threadId, runId);
      openEventStream(ctx.res);
      ctx.res.write(formatEvent({ event: `thread.run.${finished.status}`, data: JSON.stringify(finished) }));
      ctx.res.end(formatEvent({ event: StreamEvent.Done, data: DONE_DATA }));
      return STREAMED;
    })

    // Run steps
    .add('GET', '/v1/threads/:thread_id/runs/:run_id/steps', async (ctx) => {
      const threadId = ctx.params['thread_id']!;
      const runId = ctx.params['run_id']!;
      await run(ctx.owner, threadId, runId);
      return list(await store.listSteps(ctx.owner, threadId, runId, schema.pageQuery(ctx.query)));
    })
    .add('GET', '/v1/threads/:thread_id/runs/:run_id/steps/:step_id', async (ctx) => {
      const step = await store.getStep(
        ctx.owner,
        ctx.params['thread_id']!,
        ctx.params['run_id']!,
        ctx.params['step_id']!,
      );
      if (!step) throw notFound('step', ctx.params['step_id']!);
      return step;
    })

    // Chat Completions pass-through, for stateless NPC lines
    .add('POST', '/v1/chat/completions', async (ctx) => {
      const fields = parse(schema.chatCompletion, await ctx.body());
      const { stream, stream_options, ...rest } = fields;
      const request = rest as unknown as ChatRequest;
      const controller = new AbortController();
      const onClose = () => {
        if (!ctx.res.writableFinished) controller.abort();
      };
      ctx.res.on('close', onClose);
      try {
        if (!stream) {
          const completion = await upstream.complete(request, controller.signal);
          return completion;
        }
        const events = await upstream.relay(request, controller.signal, {
          includeUsage: stream_options?.include_usage === true,
        });
        openEventStream(ctx.res);
        try {
          for await (const text of events) {
            if (!ctx.res.write(text)) await drained(ctx.res);
            if (ctx.res.destroyed) return STREAMED;
          }
          ctx.res.end();
        } catch {
          if (controller.signal.aborted || ctx.res.destroyed) return STREAMED;
          // The upstream dropped mid-stream: finish the event in progress, then say so in OpenAI's shape.
          const failure = new ProxyError(
            502,
            ErrorCode.Upstream,
            'The model upstream ended the stream unexpectedly.',
          );
          ctx.res.end(`\n\ndata: ${JSON.stringify(toErrorBody(failure))}\n\ndata: ${DONE_DATA}\n\n`);
        }
        return STREAMED;
      } finally {
        ctx.res.off('close', onClose);
      }
    });

  return router;
}
