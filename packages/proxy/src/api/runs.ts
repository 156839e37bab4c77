import {
  DONE_DATA,
  ErrorCode,
  LAST_EVENT_ID_HEADER,
  RESUME_QUERY_PARAM,
  StreamEvent,
} from '@parley/protocol';
import { ProxyError } from '../errors.js';
import { formatEvent, openEventStream } from '../http/sse.js';
import { includesContent } from '../runs/file-search.js';
import { parse } from '../schemas/issues.js';
import { parsePageQuery } from '../schemas/query.js';
import { cancelRun, createRun, modifyRun, submitToolOutputs } from '../schemas/runs.js';
import {
  graceOf,
  list,
  type RequestContext,
  type Routes,
  type Services,
  STREAMED,
  streamRun,
} from './context.js';
import { checkAssistantFields, checkMessages, findRun, findThread } from './lookups.js';
import { checkAttachments } from './messages.js';

/** The SDK's *AndPoll helpers wait 5 s between polls unless told otherwise; a game cannot. */
const POLL_AFTER_MS = '200';

/** Runs: start one (streamed or not), read, change metadata, cancel, answer tool calls, resume a stream. */
export function runRoutes(router: Routes, services: Services): void {
  const { store, engine, guard, metrics } = services;
  router
    .add('POST', '/v1/threads/:thread_id/runs', 'runs.create', async (ctx) => {
      const params = parse(createRun, await ctx.body());
      const target = await findThread(services, ctx.owner, ctx.params['thread_id']!);
      checkAssistantFields(services, params);
      guard.instructions(params.additional_instructions, 'additional_instructions');
      // Lengths here; the thread's message cap is checked by the engine with the turn's one history read.
      await checkMessages(services, ctx.owner, undefined, params.additional_messages ?? []);
      const attach = await checkAttachments(
        services,
        ctx.owner,
        params.additional_messages ?? [],
        (i) => `additional_messages[${i}].attachments`,
      );
      await attach(target);
      const started = await engine.createRun(ctx.owner, target, params, undefined, {
        ...graceOf(ctx),
        searchContent: includesContent(ctx.query),
      });
      return params.stream ? streamRun(ctx, metrics, started.channel, started.after) : started.run;
    })
    .add('GET', '/v1/threads/:thread_id/runs', 'runs.list', async (ctx) => {
      const threadId = ctx.params['thread_id']!;
      await findThread(services, ctx.owner, threadId);
      const page = await store.listRuns(ctx.owner, threadId, parsePageQuery(ctx.query));
      return list({ ...page, data: page.data.map((stored) => engine.liveRun(stored.id) ?? stored) });
    })
    .add('GET', '/v1/threads/:thread_id/runs/:run_id', 'runs.retrieve', async (ctx) => {
      ctx.res.setHeader('openai-poll-after-ms', POLL_AFTER_MS);
      return findRun(services, ctx.owner, ctx.params['thread_id']!, ctx.params['run_id']!);
    })
    .add('POST', '/v1/threads/:thread_id/runs/:run_id', 'runs.modify', async (ctx) => {
      const fields = parse(modifyRun, await ctx.body());
      const current = await findRun(services, ctx.owner, ctx.params['thread_id']!, ctx.params['run_id']!);
      return engine.setMetadata(ctx.owner, current, fields.metadata ?? {});
    })
    .add('POST', '/v1/threads/:thread_id/runs/:run_id/cancel', 'runs.cancel', async (ctx) => {
      const { shown_characters: shown } = parse(cancelRun, await ctx.body());
      return engine.cancel(ctx.owner, ctx.params['thread_id']!, ctx.params['run_id']!, shown ?? undefined);
    })
    .add(
      'POST',
      '/v1/threads/:thread_id/runs/:run_id/submit_tool_outputs',
      'runs.submitToolOutputs',
      async (ctx) => {
        const fields = parse(submitToolOutputs, await ctx.body());
        const started = await engine.submitToolOutputs(
          ctx.owner,
          ctx.params['thread_id']!,
          ctx.params['run_id']!,
          fields.tool_outputs,
          fields.stream === true,
          graceOf(ctx),
        );
        return fields.stream ? streamRun(ctx, metrics, started.channel, started.after) : started.run;
      },
    )
    .add('GET', '/v1/threads/:thread_id/runs/:run_id/events', 'runs.events', async (ctx) =>
      resumeEvents(ctx, services),
    );
}

/**
 * Resumable streams (a Parley extension): replay after the client's last event id, then go live. When
 * the log is gone (an old run, or another process's), say how the run ended, then close.
 */
async function resumeEvents(ctx: RequestContext, services: Services): Promise<typeof STREAMED> {
  const threadId = ctx.params['thread_id']!;
  const runId = ctx.params['run_id']!;
  const raw = ctx.query.get(RESUME_QUERY_PARAM) ?? ctx.req.headers[LAST_EVENT_ID_HEADER.toLowerCase()];
  const after = raw === undefined ? 0 : Number(Array.isArray(raw) ? raw[0] : raw);
  if (!Number.isInteger(after) || after < 0) {
    throw new ProxyError(
      ErrorCode.InvalidValue,
      `Invalid '${RESUME_QUERY_PARAM}': expected a non-negative integer.`,
      { param: RESUME_QUERY_PARAM },
    );
  }
  const channel = await services.engine.channelFor(ctx.owner, threadId, runId);
  if (channel) return streamRun(ctx, services.metrics, channel, after);
  const finished = await findRun(services, ctx.owner, threadId, runId);
  openEventStream(ctx.res);
  ctx.res.write(formatEvent({ event: `thread.run.${finished.status}`, data: JSON.stringify(finished) }));
  ctx.res.end(formatEvent({ event: StreamEvent.Done, data: DONE_DATA }));
  return STREAMED;
}
