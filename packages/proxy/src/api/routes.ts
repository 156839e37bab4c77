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
import type { Authenticator } from '../auth/authenticate.js';
import type { Principal } from '../auth/principal.js';
import type { ProxyConfig } from '../config.js';
import { notFound, ProxyError, toErrorBody } from '../errors.js';
import { Router } from '../http/router.js';
import { drained, formatEvent, openEventStream } from '../http/sse.js';
import type { Limiter, Reservation } from '../limits/limiter.js';
import { makeAssistant, makeMessage, makeThread, messageText } from '../objects.js';
import type { Metrics } from '../ops/metrics.js';
import type { Moderator } from '../ops/moderation.js';
import type { PolicyGuard, RouteName } from '../policy/policy.js';
import type { RunStream as RunChannel } from '../runs/stream.js';
import type { RunEngine, RunParams } from '../runs/engine.js';
import type { Owner, Page, Store } from '../store/types.js';
import { estimateMessageTokens } from '../tokens.js';
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
  /** Who is calling (undefined on public and admin routes). */
  principal: Principal | undefined;
  body(): Promise<Record<string, unknown>>;
}

/** A route's name for the policy's endpoint allowlist, or who may call it when it is not a player route. */
export type RouteMeta = RouteName | 'public' | 'admin';

/** Owner of the assistants the game defines in its config file. */
export const GAME_OWNER = 'parley:game';

/** Header a resuming client (such as `@parley/dialogue`) sends to keep its run alive across a drop. */
export const RESUME_GRACE_HEADER = 'parley-resume-grace-ms';

/** A handler returns a JSON value to send with 200, or {@link STREAMED} when it answered by itself. */
export type Handler = (ctx: RequestContext) => Promise<unknown>;
export const STREAMED = Symbol('streamed');

const POLL_AFTER_MS = '200';

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
  config: Pick<ProxyConfig, 'cannedReplies' | 'limits' | 'policy' | 'timeouts'>;
}

function graceOf(ctx: { req: IncomingMessage }): { graceMs: number } {
  const raw = Number(ctx.req.headers[RESUME_GRACE_HEADER]);
  return { graceMs: Number.isFinite(raw) && raw > 0 ? raw : 0 };
}

/** The text of a chat message's content: a string, or the text of its text parts. */
function chatText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: unknown) =>
      typeof part === 'object' && part !== null && typeof (part as { text?: unknown }).text === 'string'
        ? (part as { text: string }).text
        : '',
    )
    .filter(Boolean)
    .join('\n');
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
export function createRoutes(services: Services): Router<Handler, RouteMeta> {
  const { store, engine, upstream, guard, limiter, moderator, metrics, auth, assistantFor } = services;
  const router = new Router<Handler, RouteMeta>();

  const thread = async (owner: Owner, id: string): Promise<Thread> => {
    const found = await store.getThread(owner, id);
    if (!found) throw notFound('thread', id);
    return found;
  };
  const assistant = async (owner: Owner, id: string, param?: string): Promise<Assistant> => {
    const found = await assistantFor(owner, id);
    if (!found) throw notFound('assistant', id, param);
    return found;
  };
  /** An assistant the player owns and may change (the game's own are read-only). */
  const ownAssistant = async (owner: Owner, id: string): Promise<Assistant> => {
    const found = await store.getAssistant(owner, id);
    if (found) return found;
    if (await store.getAssistant(GAME_OWNER, id)) {
      throw new ProxyError(
        ErrorCode.PermissionDenied,
        'This assistant is defined by the game and is read-only.',
      );
    }
    throw notFound('assistant', id);
  };
  /** Policy on new messages: length of each, and how many a thread may hold. */
  const checkMessages = async (
    owner: Owner,
    threadId: string | undefined,
    inputs: Array<{ content: unknown }>,
  ) => {
    for (const [index, input] of inputs.entries()) {
      const text =
        typeof input.content === 'string'
          ? input.content
          : messageText({ content: input.content } as Parameters<typeof messageText>[0]);
      guard.messageText(text, inputs.length > 1 ? `messages[${index}].content` : 'content');
    }
    const existing = threadId ? (await store.allMessages(owner, threadId)).length : 0;
    if (existing + inputs.length > guard.policy.maxMessagesPerThread) {
      throw new ProxyError(
        ErrorCode.InvalidValue,
        `A thread holds at most ${guard.policy.maxMessagesPerThread} messages on this server; start a new one.`,
        { param: 'thread_id' },
      );
    }
  };
  const checkAssistantFields = (fields: {
    model?: string | null;
    instructions?: string | null;
    tools?: unknown[] | null;
  }) => {
    guard.model(fields.model);
    guard.instructions(fields.instructions);
    guard.tools(fields.tools);
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
    metrics.gauge('parley_streams_open', 'Event streams open now.', {}, 1);
    try {
      await channel.pipe(ctx.res, after);
    } finally {
      metrics.gauge('parley_streams_open', 'Event streams open now.', {}, -1);
    }
    return STREAMED;
  };

  router
    .add('GET', '/healthz', 'public', async () => {
      const health: Health = { ok: true, upstream: upstream.kind, model: upstream.defaultModel };
      return health;
    })
    .add('GET', '/v1/models', 'models.list', async () => ({
      object: 'list',
      data: [{ id: upstream.defaultModel, object: 'model', created: 0, owned_by: 'parley' }],
    }))

    // Player identity (see the auth module): anonymous sessions for games without accounts.
    .add('POST', '/v1/sessions', 'public', async (ctx) => auth.issueSession(ctx.req))
    .add('POST', '/v1/sessions/refresh', 'public', async (ctx) => auth.refreshSession(ctx.req))

    // Usage: a player reads their own; operators read anyone's and can cut players off.
    .add('GET', '/v1/usage', 'usage.read', async (ctx) => limiter.usage({ player: ctx.owner }))
    .add('GET', '/v1/admin/usage', 'admin', async (ctx) => {
      const player = ctx.query.get('player') ?? undefined;
      const npc = ctx.query.get('npc') ?? undefined;
      return limiter.usage({ ...(player ? { player } : {}), ...(npc ? { npc } : {}) });
    })
    .add('POST', '/v1/admin/block', 'admin', async (ctx) => {
      const fields = parse(schema.block, await ctx.body());
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
    })

    // Assistants
    .add('POST', '/v1/assistants', 'assistants.create', async (ctx) => {
      const fields = parse(schema.createAssistant, await ctx.body());
      if (!guard.policy.playerAssistants) {
        throw new ProxyError(ErrorCode.NotFound, 'Invalid URL (POST /v1/assistants)');
      }
      checkAssistantFields(fields);
      const created = makeAssistant({ ...fields, model: fields.model ?? upstream.defaultModel });
      await store.putAssistant(ctx.owner, created);
      return created;
    })
    .add('GET', '/v1/assistants', 'assistants.list', async (ctx) =>
      list(await store.listAssistants(ctx.owner, schema.pageQuery(ctx.query))),
    )
    .add('GET', '/v1/assistants/:assistant_id', 'assistants.retrieve', async (ctx) =>
      assistant(ctx.owner, ctx.params['assistant_id']!),
    )
    .add('POST', '/v1/assistants/:assistant_id', 'assistants.modify', async (ctx) => {
      const fields = parse(schema.modifyAssistant, await ctx.body());
      const current = await ownAssistant(ctx.owner, ctx.params['assistant_id']!);
      checkAssistantFields(fields);
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
      await ownAssistant(ctx.owner, id);
      if (!(await store.deleteAssistant(ctx.owner, id))) throw notFound('assistant', id);
      return { id, object: 'assistant.deleted', deleted: true };
    })

    // Create thread and run (before /v1/threads/:thread_id so "runs" is not read as a thread id)
    .add('POST', '/v1/threads/runs', 'threads.createAndRun', async (ctx) => {
      const {
        thread: threadFields = {},
        tool_resources,
        reasoning_effort: _r,
        ...runFields
      } = parse(schema.createThreadAndRun, await ctx.body());
      await assistant(ctx.owner, runFields.assistant_id, 'assistant_id');
      checkAssistantFields(runFields);
      await checkMessages(ctx.owner, undefined, threadFields.messages ?? []);
      const created = makeThread({
        metadata: threadFields.metadata ?? null,
        tool_resources: threadFields.tool_resources ?? tool_resources ?? null,
      });
      await store.createThread(
        ctx.owner,
        created,
        (threadFields.messages ?? []).map((input) => makeMessage(created.id, input)),
      );
      const started = await engine.createRun(
        ctx.owner,
        created,
        runFields as RunParams,
        { thread: created },
        graceOf(ctx),
      );
      return runFields.stream ? streamRun(ctx, started.channel, started.after) : started.run;
    })

    // Threads
    .add('POST', '/v1/threads', 'threads.create', async (ctx) => {
      const fields = parse(schema.createThread, await ctx.body());
      await checkMessages(ctx.owner, undefined, fields.messages ?? []);
      const created = makeThread({
        metadata: fields.metadata ?? null,
        tool_resources: fields.tool_resources ?? null,
      });
      await store.createThread(
        ctx.owner,
        created,
        (fields.messages ?? []).map((input) => makeMessage(created.id, input)),
      );
      return created;
    })
    .add('GET', '/v1/threads/:thread_id', 'threads.retrieve', async (ctx) =>
      thread(ctx.owner, ctx.params['thread_id']!),
    )
    .add('POST', '/v1/threads/:thread_id', 'threads.modify', async (ctx) => {
      const fields = parse(schema.modifyThread, await ctx.body());
      const current = await thread(ctx.owner, ctx.params['thread_id']!);
      if (fields.metadata !== undefined) current.metadata = fields.metadata ?? {};
      if (fields.tool_resources !== undefined) current.tool_resources = fields.tool_resources ?? {};
      await store.putThread(ctx.owner, current);
      return current;
    })
    .add('DELETE', '/v1/threads/:thread_id', 'threads.delete', async (ctx) => {
      const id = ctx.params['thread_id']!;
      await thread(ctx.owner, id);
      const active = await engine.activeRun(ctx.owner, id);
      if (active) await engine.cancel(ctx.owner, id, active.id).catch(() => {});
      if (!(await store.deleteThread(ctx.owner, id))) throw notFound('thread', id);
      return { id, object: 'thread.deleted', deleted: true };
    })

    // Messages
    .add('POST', '/v1/threads/:thread_id/messages', 'messages.create', async (ctx) => {
      const input = parse(schema.createMessage, await ctx.body());
      const threadId = ctx.params['thread_id']!;
      await thread(ctx.owner, threadId);
      await noActiveRun(ctx.owner, threadId, 'add messages to');
      await checkMessages(ctx.owner, threadId, [input]);
      const message = makeMessage(threadId, input);
      await store.putMessage(ctx.owner, message);
      return message;
    })
    .add('GET', '/v1/threads/:thread_id/messages', 'messages.list', async (ctx) => {
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
    .add('GET', '/v1/threads/:thread_id/messages/:message_id', 'messages.retrieve', async (ctx) => {
      const found = await store.getMessage(ctx.owner, ctx.params['thread_id']!, ctx.params['message_id']!);
      if (!found) throw notFound('message', ctx.params['message_id']!);
      return found;
    })
    .add('POST', '/v1/threads/:thread_id/messages/:message_id', 'messages.modify', async (ctx) => {
      const fields = parse(schema.modifyMessage, await ctx.body());
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
    })

    // Runs
    .add('POST', '/v1/threads/:thread_id/runs', 'runs.create', async (ctx) => {
      const params = parse(schema.createRun, await ctx.body());
      const target = await thread(ctx.owner, ctx.params['thread_id']!);
      checkAssistantFields(params);
      guard.instructions(params.additional_instructions, 'additional_instructions');
      await checkMessages(ctx.owner, target.id, params.additional_messages ?? []);
      const started = await engine.createRun(ctx.owner, target, params as RunParams, undefined, graceOf(ctx));
      return params.stream ? streamRun(ctx, started.channel, started.after) : started.run;
    })
    .add('GET', '/v1/threads/:thread_id/runs', 'runs.list', async (ctx) => {
      const threadId = ctx.params['thread_id']!;
      await thread(ctx.owner, threadId);
      const page = await store.listRuns(ctx.owner, threadId, schema.pageQuery(ctx.query));
      return list({ ...page, data: page.data.map((stored) => engine.liveRun(stored.id) ?? stored) });
    })
    .add('GET', '/v1/threads/:thread_id/runs/:run_id', 'runs.retrieve', async (ctx) => {
      // The SDK's *AndPoll helpers wait 5 s between polls unless told otherwise; a game cannot.
      ctx.res.setHeader('openai-poll-after-ms', POLL_AFTER_MS);
      return run(ctx.owner, ctx.params['thread_id']!, ctx.params['run_id']!);
    })
    .add('POST', '/v1/threads/:thread_id/runs/:run_id', 'runs.modify', async (ctx) => {
      const fields = parse(schema.modifyRun, await ctx.body());
      const threadId = ctx.params['thread_id']!;
      const runId = ctx.params['run_id']!;
      const current = await run(ctx.owner, threadId, runId);
      return engine.setMetadata(ctx.owner, current, fields.metadata ?? {});
    })
    .add('POST', '/v1/threads/:thread_id/runs/:run_id/cancel', 'runs.cancel', async (ctx) => {
      await ctx.body();
      return engine.cancel(ctx.owner, ctx.params['thread_id']!, ctx.params['run_id']!);
    })
    .add(
      'POST',
      '/v1/threads/:thread_id/runs/:run_id/submit_tool_outputs',
      'runs.submitToolOutputs',
      async (ctx) => {
        const fields = parse(schema.submitToolOutputs, await ctx.body());
        const started = await engine.submitToolOutputs(
          ctx.owner,
          ctx.params['thread_id']!,
          ctx.params['run_id']!,
          fields.tool_outputs,
          fields.stream === true,
          graceOf(ctx),
        );
        return fields.stream ? streamRun(ctx, started.channel, started.after) : started.run;
      },
    )
    .add('GET', '/v1/threads/:thread_id/runs/:run_id/events', 'runs.events', async (ctx) => {
      // Resumable streams (a Parley extension): replay after the client's last event id, then go live.
      const threadId = ctx.params['thread_id']!;
      const runId = ctx.params['run_id']!;
      const raw = ctx.query.get(RESUME_QUERY_PARAM) ?? ctx.req.headers[LAST_EVENT_ID_HEADER.toLowerCase()];
      const after = raw === undefined ? 0 : Number(Array.isArray(raw) ? raw[0] : raw);
      if (!Number.isInteger(after) || after < 0) {
        throw new ProxyError(
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
    .add('GET', '/v1/threads/:thread_id/runs/:run_id/steps', 'steps.list', async (ctx) => {
      const threadId = ctx.params['thread_id']!;
      const runId = ctx.params['run_id']!;
      await run(ctx.owner, threadId, runId);
      return list(await store.listSteps(ctx.owner, threadId, runId, schema.pageQuery(ctx.query)));
    })
    .add('GET', '/v1/threads/:thread_id/runs/:run_id/steps/:step_id', 'steps.retrieve', async (ctx) => {
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
    .add('POST', '/v1/chat/completions', 'chat.completions', async (ctx) => {
      const fields = parse(schema.chatCompletion, await ctx.body());
      const { stream, stream_options, max_tokens, ...rest } = fields;
      guard.model(fields.model);
      const messages = fields.messages as Array<{ role?: unknown; content?: unknown }>;
      // Every message of a pass-through request is the player's: strings and text parts alike.
      const texts = messages.map((message) => chatText(message.content));
      messages.forEach((message, index) => {
        if (message.role === 'user') guard.messageText(texts[index]!, 'messages');
      });
      const request = {
        ...rest,
        max_completion_tokens: guard.outputTokens(fields.max_completion_tokens ?? max_tokens ?? null),
      } as unknown as ChatRequest;
      if ((await moderator.check(texts.filter(Boolean).join('\n'))).flagged) {
        throw new ProxyError(
          ErrorCode.Moderation,
          'The input was flagged by moderation and was not sent to the model.',
          {
            param: 'messages',
          },
        );
      }
      // Reserve the worst case before the upstream is asked; settle from the usage it reports.
      const reservation: Reservation = await limiter.reserve({
        player: ctx.owner,
        model: upstream.resolveModel(fields.model),
        promptTokens: estimateMessageTokens(request.messages),
        maxCompletionTokens: request.max_completion_tokens ?? 1024,
      });
      let usage: { prompt_tokens: number; completion_tokens: number } | undefined;
      let opened = false;
      const controller = new AbortController();
      const onClose = () => {
        if (!ctx.res.writableFinished) controller.abort();
      };
      ctx.res.on('close', onClose);
      // The same watchdogs as runs: no first token in time, a long gap, or too long in all → give up.
      const { timeouts } = services.config;
      let timedOut = false;
      const expire = () => {
        timedOut = true;
        controller.abort();
      };
      const total = setTimeout(expire, timeouts.totalMs);
      let idle = setTimeout(expire, timeouts.firstTokenMs);
      const timeout = () =>
        new ProxyError(ErrorCode.UpstreamTimeout, 'The model upstream took too long to answer.');
      try {
        if (!stream) {
          try {
            const completion = await upstream.complete(request, controller.signal);
            if (completion.usage) usage = completion.usage;
            return completion;
          } catch (error) {
            throw timedOut ? timeout() : error;
          }
        }
        let events: AsyncIterable<string>;
        try {
          events = await upstream.relay(request, controller.signal, {
            keepUsage: stream_options?.include_usage === true,
            onUsage: (reported) => {
              usage = reported;
            },
          });
        } catch (error) {
          throw timedOut ? timeout() : error;
        }
        openEventStream(ctx.res);
        opened = true;
        metrics.gauge('parley_streams_open', 'Event streams open now.', {}, 1);
        try {
          let first = true;
          for await (const text of events) {
            if (first) {
              first = false;
              clearTimeout(idle);
              idle = setTimeout(expire, timeouts.idleMs);
            } else idle.refresh();
            if (text && !ctx.res.write(text)) await drained(ctx.res);
            if (ctx.res.destroyed) return STREAMED;
          }
          ctx.res.end();
        } catch {
          if (ctx.res.destroyed || (controller.signal.aborted && !timedOut)) return STREAMED;
          // The upstream dropped or stalled mid-stream: finish the event in progress, then say so.
          const failure = timedOut
            ? timeout()
            : new ProxyError(ErrorCode.Upstream, 'The model upstream ended the stream unexpectedly.');
          ctx.res.end(`\n\ndata: ${JSON.stringify(toErrorBody(failure))}\n\ndata: ${DONE_DATA}\n\n`);
        } finally {
          metrics.gauge('parley_streams_open', 'Event streams open now.', {}, -1);
        }
        return STREAMED;
      } finally {
        clearTimeout(total);
        clearTimeout(idle);
        ctx.res.off('close', onClose);
        // No usage reported after tokens flowed (the player hung up early): keep the worst case, so
        // leaving before the end is never a way to spend without paying.
        const spent = usage;
        if (spent) {
          await reservation
            .settle({ promptTokens: spent.prompt_tokens, completionTokens: spent.completion_tokens })
            .catch(() => {});
        } else if (!opened) {
          await reservation.release().catch(() => {});
        }
      }
    });

  return router;
}
