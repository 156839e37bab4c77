import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParams,
  ChatCompletionMessageFunctionToolCall,
} from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import { estimateTokens } from '../tokens.js';
import { type Rng, randomToken } from './random.js';
import type { OfflineReply } from './reply.js';

/** Marks every response as coming from the offline model, as OpenAI marks its backend configuration. */
export const SYSTEM_FINGERPRINT = 'fp_parley_offline';

/** OpenAI's error body, which the SDK turns into typed `APIError`s. */
export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** The request could not be served; `status` and `body` are what OpenAI would answer. */
export interface WireError {
  readonly status: number;
  readonly body: ErrorBody;
}

/** Builds an error in OpenAI's shape (`invalid_request_error` unless told otherwise). */
export function wireError(
  status: number,
  message: string,
  param: string | null,
  code: string | null,
): WireError {
  return { status, body: { error: { message, type: 'invalid_request_error', param, code } } };
}

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']);

/**
 * Checks a parsed request body the way OpenAI does for the fields the offline model reads, so the proxy
 * meets the same 400s offline as online (a tool message without its call, a forced tool that does not
 * exist, a zero token limit, …). Returns the request or the error to answer with.
 */
export function validateRequest(body: unknown): ChatCompletionCreateParams | WireError {
  if (!isRecord(body)) return wireError(400, 'The request body must be a JSON object.', null, 'invalid_type');
  if (typeof body['model'] !== 'string' || body['model'] === '') {
    return wireError(400, "Missing required parameter: 'model'.", 'model', 'missing_required_parameter');
  }
  const problem = checkMessages(body['messages']) ?? checkTools(body) ?? checkLimits(body);
  if (problem) return problem;
  // Checked above for every field the model reads; the rest is passed through untouched.
  return body as unknown as ChatCompletionCreateParams;
}

/** The messages: an array of known roles, each tool message answering a call made before it. */
function checkMessages(messages: unknown): WireError | undefined {
  if (!Array.isArray(messages)) {
    return wireError(
      400,
      "Missing required parameter: 'messages'.",
      'messages',
      'missing_required_parameter',
    );
  }
  if (messages.length === 0) {
    return wireError(
      400,
      "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
      'messages',
      'empty_array',
    );
  }
  const callIds = new Set<string>();
  for (const [i, message] of messages.entries()) {
    const role: unknown = isRecord(message) ? message['role'] : undefined;
    if (!isRecord(message) || typeof role !== 'string' || !ROLES.has(role)) {
      return wireError(
        400,
        `Invalid value: '${String(role)}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.`,
        `messages[${i}].role`,
        'invalid_value',
      );
    }
    const calls = message['tool_calls'];
    if (role === 'assistant' && Array.isArray(calls)) {
      for (const call of calls) if (isRecord(call) && typeof call['id'] === 'string') callIds.add(call['id']);
    }
    if (role === 'tool' && !callIds.has(String(message['tool_call_id']))) {
      return wireError(
        400,
        "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
        `messages.[${i}].role`,
        null,
      );
    }
  }
  return undefined;
}

/** The tools and `tool_choice`: named functions, and a forced choice only among them. */
function checkTools(body: Record<string, unknown>): WireError | undefined {
  const tools = body['tools'];
  if (tools !== undefined && tools !== null && !Array.isArray(tools)) {
    return wireError(400, "Invalid type for 'tools': expected an array.", 'tools', 'invalid_type');
  }
  const names = new Set<string>();
  for (const [i, tool] of (Array.isArray(tools) ? tools : []).entries()) {
    const fn = isRecord(tool) ? tool['function'] : undefined;
    if (isRecord(tool) && tool['type'] === 'function' && !(isRecord(fn) && typeof fn['name'] === 'string')) {
      return wireError(
        400,
        `Missing required parameter: 'tools[${i}].function.name'.`,
        `tools[${i}].function.name`,
        'missing_required_parameter',
      );
    }
    if (isRecord(fn) && typeof fn['name'] === 'string') names.add(fn['name']);
  }
  const choice = body['tool_choice'];
  if ((choice === 'required' || isRecord(choice)) && names.size === 0) {
    return wireError(
      400,
      "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
      'tool_choice',
      null,
    );
  }
  if (isRecord(choice) && choice['type'] === 'function') {
    const fn = choice['function'];
    const name = isRecord(fn) ? fn['name'] : undefined;
    if (typeof name !== 'string' || !names.has(name)) {
      return wireError(
        400,
        `Tool choice 'function' with name '${String(name)}' not found in 'tools' parameter.`,
        'tool_choice',
        null,
      );
    }
  }
  return undefined;
}

/** Token limits of at least 1, and `stream_options` only with `stream`. */
function checkLimits(body: Record<string, unknown>): WireError | undefined {
  for (const key of ['max_completion_tokens', 'max_tokens']) {
    const limit = body[key];
    if (limit === undefined || limit === null) continue;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) {
      return wireError(
        400,
        `Invalid '${key}': integer below minimum value. Expected a value >= 1, but got ${JSON.stringify(limit)} instead.`,
        key,
        'integer_below_min_value',
      );
    }
  }
  if (body['stream_options'] !== undefined && body['stream_options'] !== null && body['stream'] !== true) {
    return wireError(
      400,
      "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
      'stream_options',
      null,
    );
  }
  return undefined;
}

/** Type guard for the result of `validateRequest`. */
export function isWireError(value: ChatCompletionCreateParams | WireError): value is WireError {
  return 'status' in value && 'body' in value && !('messages' in value);
}

/** One function call as the stream sends it: a header, then argument fragments. */
export interface OutputCall {
  readonly id: string;
  readonly name: string;
  readonly fragments: readonly string[];
}

/** A reply cut to the request's limits, in the pieces a stream sends. */
export type Output =
  | {
      readonly kind: 'text';
      readonly pieces: readonly string[];
      readonly finishReason: 'stop' | 'length';
      readonly completionTokens: number;
    }
  | {
      readonly kind: 'tool_calls';
      readonly calls: readonly OutputCall[];
      readonly finishReason: 'tool_calls' | 'length';
      readonly completionTokens: number;
    };

/**
 * Applies `stop` sequences and the token limit to a reply and splits it for streaming: text word by word
 * (each word with its leading space, as models stream), tool arguments after each `:` and `,`. A reply
 * cut by the limit ends with `finish_reason: 'length'`, its last tool arguments left as invalid JSON,
 * exactly what a real model does.
 */
export function planOutput(
  reply: OfflineReply,
  limits: { maxTokens: number | undefined; stop: readonly string[] },
  idRng: Rng,
): Output {
  const budget = limits.maxTokens ?? Number.POSITIVE_INFINITY;
  if (reply.kind === 'text') {
    let text = reply.text;
    for (const stop of limits.stop) {
      const at = stop ? text.indexOf(stop) : -1;
      if (at >= 0) text = text.slice(0, at);
    }
    const pieces: string[] = [];
    let used = 0;
    for (const piece of text.match(/\s*\S+/g) ?? []) {
      const cost = estimateTokens(piece);
      if (used + cost > budget)
        return { kind: 'text', pieces, finishReason: 'length', completionTokens: used };
      pieces.push(piece);
      used += cost;
    }
    return { kind: 'text', pieces, finishReason: 'stop', completionTokens: used };
  }
  const calls: OutputCall[] = [];
  let used = 0;
  for (const planned of reply.calls) {
    const id = `call_${randomToken(idRng, 24)}`;
    used += estimateTokens(planned.name);
    if (used > budget && calls.length > 0)
      return { kind: 'tool_calls', calls, finishReason: 'length', completionTokens: used };
    const fragments: string[] = [];
    for (const fragment of planned.arguments.match(/[^,:]*[,:]|[^,:]+$/g) ?? []) {
      const cost = estimateTokens(fragment);
      if (used + cost > budget) {
        calls.push({ id, name: planned.name, fragments });
        return { kind: 'tool_calls', calls, finishReason: 'length', completionTokens: used };
      }
      fragments.push(fragment);
      used += cost;
    }
    calls.push({ id, name: planned.name, fragments });
  }
  return { kind: 'tool_calls', calls, finishReason: 'tool_calls', completionTokens: used };
}

/** What every chunk and completion of one response shares. */
export interface ResponseMeta {
  readonly id: string;
  readonly created: number;
  readonly model: string;
  readonly promptTokens: number;
  /** Stream only: add `usage: null` to every chunk and a usage chunk at the end. */
  readonly includeUsage: boolean;
}

/** Usage as OpenAI reports it: prompt from the request messages, completion from what was generated. */
export function usageOf(meta: ResponseMeta, output: Output): CompletionUsage {
  return {
    prompt_tokens: meta.promptTokens,
    completion_tokens: output.completionTokens,
    total_tokens: meta.promptTokens + output.completionTokens,
    prompt_tokens_details: { cached_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0 },
  };
}

/** The non-streaming answer: one `chat.completion` object. */
export function completionOf(meta: ResponseMeta, output: Output): ChatCompletion {
  const toolCalls: ChatCompletionMessageFunctionToolCall[] =
    output.kind === 'tool_calls'
      ? output.calls.map((c) => ({
          id: c.id,
          type: 'function',
          function: { name: c.name, arguments: c.fragments.join('') },
        }))
      : [];
  return {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    choices: [
      {
        index: 0,
        message:
          output.kind === 'text'
            ? { role: 'assistant', content: output.pieces.join(''), refusal: null, annotations: [] }
            : { role: 'assistant', content: null, refusal: null, tool_calls: toolCalls, annotations: [] },
        logprobs: null,
        finish_reason: output.finishReason,
      },
    ],
    usage: usageOf(meta, output),
    service_tier: 'default',
    system_fingerprint: SYSTEM_FINGERPRINT,
  };
}

/** One SSE event of the stream; `delayed` events wait one token delay first. */
export interface StreamEvent {
  readonly data: string;
  readonly delayed: boolean;
}

/**
 * The stream in the exact order and shapes of OpenAI's chat-completions SSE: a role chunk, one chunk
 * per word or argument fragment, a `finish_reason` chunk with an empty delta, the usage chunk (when
 * asked for) and `[DONE]`.
 */
export function streamEventsOf(meta: ResponseMeta, output: Output): StreamEvent[] {
  const chunk = (choice: ChatCompletionChunk.Choice | undefined, usage?: CompletionUsage): string => {
    const value: ChatCompletionChunk = {
      id: meta.id,
      object: 'chat.completion.chunk',
      created: meta.created,
      model: meta.model,
      service_tier: 'default',
      system_fingerprint: SYSTEM_FINGERPRINT,
      choices: choice ? [choice] : [],
      ...(meta.includeUsage ? { usage: usage ?? null } : {}),
    };
    return `data: ${JSON.stringify(value)}\n\n`;
  };
  const delta = (
    d: ChatCompletionChunk.Choice.Delta,
    finish: ChatCompletionChunk.Choice['finish_reason'] = null,
  ) => chunk({ index: 0, delta: d, logprobs: null, finish_reason: finish });
  const events: StreamEvent[] = [];
  if (output.kind === 'text') {
    events.push({ data: delta({ role: 'assistant', content: '', refusal: null }), delayed: false });
    for (const piece of output.pieces) events.push({ data: delta({ content: piece }), delayed: true });
  } else {
    output.calls.forEach((call, index) => {
      const header = {
        index,
        id: call.id,
        type: 'function' as const,
        function: { name: call.name, arguments: '' },
      };
      events.push({
        data: delta(
          index === 0
            ? { role: 'assistant', content: null, tool_calls: [header], refusal: null }
            : { tool_calls: [header] },
        ),
        delayed: index > 0,
      });
      for (const fragment of call.fragments) {
        events.push({
          data: delta({ tool_calls: [{ index, function: { arguments: fragment } }] }),
          delayed: true,
        });
      }
    });
  }
  events.push({ data: delta({}, output.finishReason), delayed: false });
  if (meta.includeUsage) events.push({ data: chunk(undefined, usageOf(meta, output)), delayed: false });
  events.push({ data: 'data: [DONE]\n\n', delayed: false });
  return events;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
