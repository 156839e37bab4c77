import { notFound } from '../errors.js';
import { includesContent, shownStep } from '../runs/file-search.js';
import { parsePageQuery } from '../schemas/query.js';
import { list, type Routes, type Services } from './context.js';
import { findRun } from './lookups.js';

/**
 * A run's steps (read-only). The passages' text of `file_search` steps is shown only when asked with
 * `include[]=step_details.tool_calls[*].file_search.results[*].content`, as OpenAI's.
 */
export function stepRoutes(router: Routes, services: Services): void {
  const { store } = services;
  router
    .add('GET', '/v1/threads/:thread_id/runs/:run_id/steps', 'steps.list', async (ctx) => {
      const threadId = ctx.params['thread_id']!;
      const runId = ctx.params['run_id']!;
      await findRun(services, ctx.owner, threadId, runId);
      const page = await store.listSteps(ctx.owner, threadId, runId, parsePageQuery(ctx.query));
      const content = includesContent(ctx.query);
      return list({ ...page, data: page.data.map((step) => shownStep(step, content)) });
    })
    .add('GET', '/v1/threads/:thread_id/runs/:run_id/steps/:step_id', 'steps.retrieve', async (ctx) => {
      const step = await store.getStep(
        ctx.owner,
        ctx.params['thread_id']!,
        ctx.params['run_id']!,
        ctx.params['step_id']!,
      );
      if (!step) throw notFound('step', ctx.params['step_id']!);
      return shownStep(step, includesContent(ctx.query));
    });
}
