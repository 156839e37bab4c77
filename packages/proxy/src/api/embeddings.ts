import { ErrorCode, IdPrefix } from '@parley/protocol';
import type { ModerationCreateParams } from 'openai/resources/moderations';
import { ProxyError } from '../errors.js';
import { newId } from '../ids.js';
import { createModerator } from '../ops/moderation.js';
import { type CreateEmbedding, createEmbedding, createModeration } from '../schemas/embeddings.js';
import { parse } from '../schemas/issues.js';
import { estimateTokens } from '../tokens.js';
import type { RequestContext, Routes, Services } from './context.js';

/** What the local word list reports for: one category, as OpenAI's moderation shape requires all. */
const CATEGORIES = [
  'hate',
  'hate/threatening',
  'harassment',
  'harassment/threatening',
  'illicit',
  'illicit/violent',
  'self-harm',
  'self-harm/intent',
  'self-harm/instructions',
  'sexual',
  'sexual/minors',
  'violence',
  'violence/graphic',
] as const;

/** The model name local moderation answers with (no OpenAI model was asked). */
export const LOCAL_MODERATION_MODEL = 'parley-local-moderation';

/**
 * `/v1/embeddings` and `/v1/moderations` passed through to the upstream, under chat's rules: the policy's
 * models, the player's budget (embeddings are billed as prompt tokens), the upstream key never shown.
 * Offline there is no embedding model (a 400 says so) and moderation answers from the local word list.
 */
export function embeddingRoutes(router: Routes, services: Services): void {
  // Always the word list, whatever PARLEY_MODERATION says about players' lines: it is what was asked for.
  const local = createModerator({ ...services.config.moderation, mode: 'local' });
  router
    .add('POST', '/v1/embeddings', 'embeddings.create', async (ctx) => {
      const body = parse(createEmbedding, await ctx.body());
      checkEmbeddingModel(services, body.model);
      const texts = inputTexts(body.input);
      for (const text of texts) services.guard.messageText(text, 'input');
      const guards = services.engine.guards;
      const admission = await guards.admit({
        player: ctx.owner,
        model: body.model,
        promptTokens: texts.reduce((sum, text) => sum + estimateTokens(text), 0) + tokenIds(body.input),
        maxCompletionTokens: 0,
      });
      const reservation = admission.line === undefined ? admission.reservation : undefined;
      let usage: { prompt_tokens: number; completion_tokens: number } | undefined;
      try {
        const response = await upstreamCall(ctx, services, (signal) =>
          services.upstream.client.embeddings.create(body, { signal, maxRetries: 0 }),
        );
        usage = { prompt_tokens: response.usage?.prompt_tokens ?? 0, completion_tokens: 0 };
        return response;
      } finally {
        await guards.settle(reservation, { usage, produced: '' }, 0);
      }
    })
    .add('POST', '/v1/moderations', 'moderations.create', async (ctx) => {
      const body = parse(createModeration, await ctx.body());
      if (services.upstream.kind === 'openai') {
        return upstreamCall(ctx, services, (signal) =>
          // Multimodal parts are forwarded as the client wrote them (checked as JSON, not field by field).
          services.upstream.client.moderations.create(body as unknown as ModerationCreateParams, {
            signal,
            maxRetries: 0,
          }),
        );
      }
      const inputs = Array.isArray(body.input) ? body.input : [body.input];
      const results = [];
      for (const input of inputs) {
        const text =
          typeof input === 'string' ? input : typeof input['text'] === 'string' ? input['text'] : '';
        const { flagged } = await local.check(text);
        results.push(localResult(flagged, typeof input === 'string' || input['type'] === 'text'));
      }
      return { id: newId(IdPrefix.Moderation), model: LOCAL_MODERATION_MODEL, results };
    });
}

/** An embedding model this server offers: the configured one, or one the policy lists. */
function checkEmbeddingModel(services: Services, model: string): void {
  const configured = services.config.knowledge.embeddingModel;
  if (
    services.upstream.kind === 'offline' ||
    (configured === undefined && !services.guard.policy.models.has(model))
  ) {
    throw new ProxyError(
      ErrorCode.InvalidValue,
      services.upstream.kind === 'offline'
        ? 'No embedding model is configured: this server runs the offline model, which has none. Set OPENAI_API_KEY (or OPENAI_BASE_URL and PARLEY_EMBEDDING_MODEL) to embed text.'
        : 'No embedding model is configured on this server: set PARLEY_EMBEDDING_MODEL to the model your upstream serves.',
      { param: 'model' },
    );
  }
  if (model !== configured && !services.guard.policy.models.has(model)) {
    throw new ProxyError(
      ErrorCode.ModelNotAllowed,
      `The model '${model.slice(0, 64)}' is not allowed on this server${configured ? `; use '${configured}'` : ''}.`,
      { param: 'model' },
    );
  }
}

/** The strings of an embedding input (token-id inputs have none). */
function inputTexts(input: CreateEmbedding['input']): string[] {
  if (typeof input === 'string') return [input];
  return input.filter((entry): entry is string => typeof entry === 'string');
}

/** How many token ids an input sends as numbers (each is one token). */
function tokenIds(input: CreateEmbedding['input']): number {
  if (typeof input === 'string') return 0;
  return input.reduce<number>(
    (sum, entry) => sum + (typeof entry === 'number' ? 1 : Array.isArray(entry) ? entry.length : 0),
    0,
  );
}

/**
 * One upstream call under chat's watchdogs: aborted when the caller hangs up or the upstream is too slow;
 * its failure mapped as every upstream failure is (never the key, never a stack).
 */
async function upstreamCall<T>(
  ctx: RequestContext,
  services: Services,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const onClose = () => {
    if (!ctx.res.writableFinished) controller.abort();
  };
  ctx.res.on('close', onClose);
  const watchdog = services.engine.guards.watchdog(() => controller.abort());
  watchdog.arm('first');
  try {
    return await call(controller.signal);
  } catch (error) {
    if (watchdog.fired)
      throw new ProxyError(ErrorCode.UpstreamTimeout, 'The model upstream took too long to answer.');
    throw services.upstream.mapError(error);
  } finally {
    watchdog.stop();
    ctx.res.off('close', onClose);
  }
}

/** One input's verdict in OpenAI's shape; a flagged line counts as harassment (the list is of insults). */
function localResult(flagged: boolean, isText: boolean) {
  const categories: Record<string, boolean> = {};
  const scores: Record<string, number> = {};
  const applied: Record<string, string[]> = {};
  for (const category of CATEGORIES) {
    const hit = flagged && category === 'harassment';
    categories[category] = hit;
    scores[category] = hit ? 1 : 0;
    applied[category] = isText ? ['text'] : [];
  }
  return { flagged, categories, category_scores: scores, category_applied_input_types: applied };
}
