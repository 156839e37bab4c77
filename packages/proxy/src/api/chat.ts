import { DONE_DATA, ErrorCode } from '@parley/protocol';
import { ProxyError, toErrorBody } from '../errors.js';
import { drained, openEventStream } from '../http/sse.js';
import type { PolicyGuard } from '../policy/policy.js';
import { type ChatCompletion, chatCompletion } from '../schemas/chat.js';
import { parse } from '../schemas/issues.js';
import { estimateMessageTokens } from '../tokens.js';
import type { ChatRequest } from '../upstream/upstream.js';
import { abortOnClientClose, type RequestContext, type Routes, type Services, STREAMED } from './context.js';

/** Chat Completions pass-through, for stateless NPC lines. */
export function chatRoutes(router: Routes, services: Services): void {
  router.add('POST', '/v1/chat/completions', 'chat.completions', async (ctx) => {
    const fields = parse(chatCompletion, await ctx.body());
    const { request, texts } = policedRequest(fields, services.guard);
    return guardedTurn(ctx, services, { model: fields.model, request, texts }, (turn) =>
      fields.stream
        ? relay(ctx, services, request, turn, fields.stream_options?.include_usage === true)
        : complete(services, request, turn),
    );
  });
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

/**
 * The policy on a pass-through request (model allowlist, message length, output-token cap) and the
 * request to send upstream. Every message of a pass-through request is the player's: strings and text
 * parts alike are what moderation reads.
 */
function policedRequest(
  fields: ChatCompletion,
  guard: PolicyGuard,
): { request: ChatRequest; texts: string[] } {
  const { stream: _stream, stream_options: _options, max_tokens, ...rest } = fields;
  guard.model(fields.model);
  const texts = fields.messages.map((message) => chatText(message['content']));
  fields.messages.forEach((message, index) => {
    if (message['role'] === 'user') guard.messageText(texts[index]!, 'messages');
  });
  // A pass-through: messages and tools are forwarded as the client wrote them (checked as JSON, not
  // field by field), so they are the SDK's types only by the upstream's say-so.
  const request = {
    ...rest,
    max_completion_tokens: guard.outputTokens(fields.max_completion_tokens ?? max_tokens ?? null),
  } as unknown as ChatRequest;
  return { request, texts };
}

/** What the guards hand the upstream call: its signal, and hooks for the watchdog and the budget. */
interface Turn {
  readonly signal: AbortSignal;
  /** Whether the watchdog, not the player, aborted the call. */
  readonly timedOut: boolean;
  /** The error to answer with for `error`: a timeout when the watchdog caused it. */
  failure(error: unknown): unknown;
  timeoutError(): ProxyError;
  /** A token arrived: the first one switches the watchdog from first-token to idle time. */
  token(): void;
  /** Bytes went to the player: from now on an unfinished turn keeps its worst-case reservation. */
  opened(): void;
  usage(reported: { prompt_tokens: number; completion_tokens: number }): void;
}

/**
 * The turn guards around one upstream call: moderation of the player's text, the budget reserved for the
 * worst case before the upstream is asked and settled from the usage it reports, the player hanging up,
 * and the same watchdogs as runs (no first token in time, a long gap, or too long in all → give up).
 */
async function guardedTurn(
  ctx: RequestContext,
  services: Services,
  turnRequest: { model: string; request: ChatRequest; texts: string[] },
  call: (turn: Turn) => Promise<unknown>,
): Promise<unknown> {
  // The same guards as runs (turns/guards.ts); a pass-through has no NPC to answer in character, so a
  // refusal or a spent budget is an error for the caller.
  const guards = services.engine.guards;
  const { request, texts } = turnRequest;
  if (await guards.refuses(texts.filter(Boolean).join('\n'))) {
    throw new ProxyError(
      ErrorCode.Moderation,
      'The input was flagged by moderation and was not sent to the model.',
      { param: 'messages' },
    );
  }
  const admission = await guards.admit({
    player: ctx.owner,
    model: services.upstream.resolveModel(turnRequest.model),
    promptTokens: estimateMessageTokens(request.messages),
    maxCompletionTokens: request.max_completion_tokens ?? null,
  });
  const reservation = admission.line === undefined ? admission.reservation : undefined;
  let usage: { prompt_tokens: number; completion_tokens: number } | undefined;
  let opened = false;
  const { controller, release } = abortOnClientClose(ctx.res);
  const watchdog = guards.watchdog(() => controller.abort());
  watchdog.arm('first');
  const turn: Turn = {
    signal: controller.signal,
    get timedOut() {
      return watchdog.fired;
    },
    failure: (error) => (watchdog.fired ? timeoutError() : error),
    timeoutError,
    token: () => watchdog.arm('idle'),
    opened: () => {
      opened = true;
    },
    usage: (reported) => {
      usage = reported;
    },
  };
  try {
    return await call(turn);
  } finally {
    watchdog.stop();
    release();
    // No usage reported after tokens flowed (the player hung up early): keep the worst case, so
    // leaving before the end is never a way to spend without paying. Nothing sent: refund it whole.
    if (usage || !opened)
      await guards.settle(reservation, { usage, produced: '' }, request.max_completion_tokens ?? null);
  }
}

const timeoutError = () =>
  new ProxyError(ErrorCode.UpstreamTimeout, 'The model upstream took too long to answer.');

/** A whole completion, answered as JSON. */
async function complete(services: Services, request: ChatRequest, turn: Turn): Promise<unknown> {
  try {
    const completion = await services.upstream.complete(request, turn.signal);
    if (completion.usage) turn.usage(completion.usage);
    return completion;
  } catch (error) {
    throw turn.failure(error);
  }
}

/** The upstream's events relayed untouched; a drop or stall mid-stream ends with an error event. */
async function relay(
  ctx: RequestContext,
  services: Services,
  request: ChatRequest,
  turn: Turn,
  keepUsage: boolean,
): Promise<typeof STREAMED> {
  const { upstream, metrics } = services;
  let events: AsyncIterable<string>;
  try {
    events = await upstream.relay(request, turn.signal, { keepUsage, onUsage: turn.usage });
  } catch (error) {
    throw turn.failure(error);
  }
  openEventStream(ctx.res);
  turn.opened();
  metrics.gauge('parley_streams_open', 'Event streams open now.', {}, 1);
  try {
    for await (const text of events) {
      turn.token();
      if (text && !ctx.res.write(text)) await drained(ctx.res);
      if (ctx.res.destroyed) return STREAMED;
    }
    ctx.res.end();
  } catch {
    if (ctx.res.destroyed || (turn.signal.aborted && !turn.timedOut)) return STREAMED;
    // The upstream dropped or stalled mid-stream: finish the event in progress, then say so.
    const failure = turn.timedOut
      ? turn.timeoutError()
      : new ProxyError(ErrorCode.Upstream, 'The model upstream ended the stream unexpectedly.');
    ctx.res.end(`\n\ndata: ${JSON.stringify(toErrorBody(failure))}\n\ndata: ${DONE_DATA}\n\n`);
  } finally {
    metrics.gauge('parley_streams_open', 'Event streams open now.', {}, -1);
  }
  return STREAMED;
}
