/**
 * Prompt building: what the model is sent for a turn. Pure functions of the assistant, the run's overrides,
 * the thread's history and the run's own earlier steps; nothing here reads the store or the network.
 */
import type { Assistant, Message, Run, RunStep, StepToolCall } from '@parley/protocol';
import type {
  ChatCompletionContentPart,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from 'openai/resources/chat/completions';
import { messageText, type RunFields } from '../objects.js';
import { estimateMessageTokens, estimateTokens } from '../tokens.js';
import type { ChatRequest } from '../upstream/upstream.js';
import { FILE_SEARCH, FILE_SEARCH_FUNCTION, passagesMessage } from './file-search.js';
import { memoryNote, memorySection } from './memory.js';

/** The overrides a run request may carry (a subset of `RunParams`). */
export interface RunOverrides extends Partial<Omit<RunFields, 'instructions' | 'model' | 'tools'>> {
  model?: string | null | undefined;
  instructions?: string | null | undefined;
  additional_instructions?: string | null | undefined;
  tools?: RunFields['tools'] | null | undefined;
}

/** A run's settings: the request's overrides over the assistant's own. */
export function runFields(
  assistant: Assistant,
  params: RunOverrides,
  resolveModel: (requested: string | null | undefined) => string,
): RunFields {
  const base = params.instructions ?? assistant.instructions ?? '';
  const instructions = params.additional_instructions
    ? `${base}${base ? '\n\n' : ''}${params.additional_instructions}`
    : base;
  return {
    model: resolveModel(params.model ?? assistant.model),
    instructions,
    tools: params.tools ?? assistant.tools,
    tool_choice: params.tool_choice ?? null,
    parallel_tool_calls: params.parallel_tool_calls ?? null,
    response_format: params.response_format ?? null,
    truncation_strategy: params.truncation_strategy ?? null,
    max_prompt_tokens: params.max_prompt_tokens ?? null,
    max_completion_tokens: params.max_completion_tokens ?? null,
    metadata: params.metadata ?? null,
    temperature: params.temperature ?? null,
    top_p: params.top_p ?? null,
  };
}

/** Whether a message was refused by moderation when it was written (it is kept, but never sent on). */
export function isRefused(message: Message): boolean {
  return message.role === 'user' && message.incomplete_details?.reason === 'content_filter';
}

/**
 * The thread's conversation before this run, as chat messages: the player's lines (with images) and the
 * NPC's replies as they were shown. Lines refused by moderation and replies with no text (a turn that failed
 * before its first word) are left out: the model never sees either.
 */
export function historyMessages(history: readonly Message[], runId: string): ChatCompletionMessageParam[] {
  const out: ChatCompletionMessageParam[] = [];
  for (const message of history) {
    if (message.run_id === runId || isRefused(message)) continue;
    if (message.role === 'user') {
      out.push(userMessage(message));
      continue;
    }
    const text = messageText(message);
    if (text.trim() !== '') out.push({ role: 'assistant', content: text });
  }
  return out;
}

/**
 * This run so far, replayed after tool outputs arrive or a search ran: its replies and tool calls with their
 * outputs (a search's passages), in step order. `replies` holds the run's own messages by id.
 */
export function replaySteps(
  steps: readonly RunStep[],
  replies: ReadonlyMap<string, Message>,
): ChatCompletionMessageParam[] {
  const tail: ChatCompletionMessageParam[] = [];
  for (const step of steps) {
    if (step.step_details.type === 'message_creation') {
      const reply = replies.get(step.step_details.message_creation.message_id);
      const text = reply ? messageText(reply) : '';
      if (text.trim() !== '') tail.push({ role: 'assistant', content: text });
    } else if (step.status === 'completed') {
      const calls = step.step_details.tool_calls.map(replayedCall);
      tail.push({
        role: 'assistant',
        content: null,
        tool_calls: calls.map(({ id, name, args }) => ({
          id,
          type: 'function',
          function: { name, arguments: args },
        })),
      });
      for (const call of calls) tail.push({ role: 'tool', tool_call_id: call.id, content: call.output });
    }
  }
  return tail;
}

/** A recorded call as the model made it, and what it was answered (a search: its passages, as sent). */
function replayedCall(call: StepToolCall): { id: string; name: string; args: string; output: string } {
  if (call.type === 'function')
    return {
      id: call.id,
      name: call.function.name,
      args: call.function.arguments,
      output: call.function.output ?? '',
    };
  const query = call.file_search.query ?? '';
  return {
    id: call.id,
    name: FILE_SEARCH,
    args: JSON.stringify({ query }),
    output: passagesMessage(query, call.file_search.results ?? []),
  };
}

/**
 * The chat-completions request for one segment of a run: its instructions, the newest history that fits the
 * context budget (and the run's truncation strategy), the run's own steps so far, its tools and sampling.
 * Lines that no longer fit leave a memory note (`turns/memory.ts`) in the system message; it is returned
 * too, for the thread to show.
 */
export function buildChatRequest(
  run: Run,
  parts: {
    history: ChatCompletionMessageParam[];
    tail: ChatCompletionMessageParam[];
    contextTokens: number;
    /**
     * Offer the built-in `file_search` tool (the run has it and a vector store to search); `force` when the
     * run's `tool_choice` asks for a search and none has run yet.
     */
    fileSearch?: 'offer' | 'force' | undefined;
    /** Makes the note of the lines that fell out (default: the extractive `memoryNote`; see `summary.ts`). */
    recall?: ((dropped: ChatCompletionMessageParam[]) => string | undefined) | undefined;
  },
): { request: ChatRequest; memory: string | undefined } {
  const limits = (system: ChatCompletionMessageParam[]) => ({
    budget:
      Math.min(parts.contextTokens, run.max_prompt_tokens ?? Number.POSITIVE_INFINITY) -
      estimateMessageTokens([...system, ...parts.tail]),
    lastMessages:
      run.truncation_strategy?.type === 'last_messages'
        ? (run.truncation_strategy.last_messages ?? null)
        : null,
  });
  const systemFor = (memory: string | undefined): ChatCompletionMessageParam[] => {
    const content = [run.instructions, memory && memorySection(memory)].filter(Boolean).join('\n\n');
    return content ? [{ role: 'system', content }] : [];
  };
  const recall = parts.recall ?? memoryNote;
  let kept = trimHistory(parts.history, limits(systemFor(undefined)));
  // Lines that fall out of the prompt leave what mattered in them as a note (long memory).
  let memory = recall(parts.history.slice(0, parts.history.length - kept.length));
  if (memory) {
    kept = trimHistory(parts.history, limits(systemFor(memory)));
    memory = recall(parts.history.slice(0, parts.history.length - kept.length));
  }
  const system = systemFor(memory);
  const tools: ChatCompletionTool[] = run.tools.flatMap((tool) =>
    tool.type === 'function' ? [{ type: 'function', function: tool.function } as ChatCompletionTool] : [],
  );
  if (parts.fileSearch) tools.push(FILE_SEARCH_FUNCTION);
  const request: ChatRequest = { model: run.model, messages: [...system, ...kept, ...parts.tail] };
  if (tools.length > 0) {
    request.tools = tools;
    request.tool_choice = upstreamToolChoice(run.tool_choice, parts.fileSearch);
    request.parallel_tool_calls = run.parallel_tool_calls;
  }
  if (run.temperature !== null) request.temperature = run.temperature;
  if (run.top_p !== null) request.top_p = run.top_p;
  if (run.max_completion_tokens !== null) request.max_completion_tokens = run.max_completion_tokens;
  if (run.response_format && run.response_format !== 'auto') {
    request.response_format = run.response_format as NonNullable<ChatRequest['response_format']>;
  }
  return { request, memory };
}

/**
 * The run's `tool_choice` as the upstream takes it: `{type: 'file_search'}` names the search function while
 * a search is still to be forced, and is `auto` after it (forcing it again would search forever).
 */
function upstreamToolChoice(
  choice: Run['tool_choice'],
  fileSearch: 'offer' | 'force' | undefined,
): NonNullable<ChatRequest['tool_choice']> {
  if (typeof choice === 'object' && choice.type === 'file_search')
    return fileSearch === 'force' ? { type: 'function', function: { name: FILE_SEARCH } } : 'auto';
  return choice;
}

/** A player's line as a chat message: plain text, or text and image parts. */
export function userMessage(message: Message): ChatCompletionMessageParam {
  const images = message.content.filter((part) => part.type === 'image_url');
  if (images.length === 0) return { role: 'user', content: messageText(message) };
  return {
    role: 'user',
    content: message.content.flatMap((part): ChatCompletionContentPart[] =>
      part.type === 'text'
        ? [{ type: 'text' as const, text: part.text.value }]
        : part.type === 'image_url'
          ? [
              {
                type: 'image_url' as const,
                image_url: {
                  url: part.image_url.url,
                  ...(part.image_url.detail ? { detail: part.image_url.detail } : {}),
                },
              },
            ]
          : [],
    ),
  };
}

/**
 * Keeps the newest messages that fit the token budget (and at most `lastMessages` of them), always
 * keeping the newest one so the player's line is never dropped.
 */
export function trimHistory(
  messages: ChatCompletionMessageParam[],
  limits: { budget: number; lastMessages: number | null },
): ChatCompletionMessageParam[] {
  const max = limits.lastMessages ?? messages.length;
  const kept: ChatCompletionMessageParam[] = [];
  let used = 0;
  for (let i = messages.length - 1; i >= 0 && kept.length < max; i--) {
    const message = messages[i]!;
    const cost = estimateMessageTokens([message]);
    if (kept.length > 0 && used + cost > limits.budget) break;
    used += cost;
    kept.push(message);
  }
  return kept.reverse();
}

/** The player's lines no turn has answered yet: those after the NPC's last reply. */
export function unscreened(history: readonly Message[]): Message[] {
  let last = -1;
  history.forEach((message, index) => {
    if (message.run_id !== null) last = index;
  });
  return history.slice(last + 1).filter((message) => message.run_id === null);
}

/** A rough count of the tokens a history costs in a prompt (for the budget's worst case), capped by the context. */
export function historyTokens(messages: readonly Message[], contextTokens: number): number {
  const total = messages.reduce((sum, message) => sum + estimateTokens(messageText(message)) + 4, 0);
  return Math.min(total, contextTokens);
}
