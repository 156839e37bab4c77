import {
  type Assistant,
  type AssistantTool,
  IdPrefix,
  type Message,
  type MessageContent,
  type Metadata,
  type ResponseFormat,
  type Run,
  type RunStep,
  type StepDetails,
  type Thread,
  type ToolChoice,
  type TruncationStrategy,
} from '@parley/protocol';
import { newId, nowSeconds } from './ids.js';

/** Fields a client may set on an assistant (create and modify). */
export interface AssistantFields {
  model?: string;
  name?: string | null;
  description?: string | null;
  instructions?: string | null;
  tools?: AssistantTool[];
  tool_resources?: Record<string, unknown> | null;
  metadata?: Metadata | null;
  temperature?: number | null;
  top_p?: number | null;
  response_format?: ResponseFormat | null;
}

export function makeAssistant(fields: AssistantFields & { model: string }): Assistant {
  return {
    id: newId(IdPrefix.Assistant),
    object: 'assistant',
    created_at: nowSeconds(),
    name: fields.name ?? null,
    description: fields.description ?? null,
    model: fields.model,
    instructions: fields.instructions ?? null,
    tools: fields.tools ?? [],
    tool_resources: fields.tool_resources ?? {},
    metadata: fields.metadata ?? {},
    temperature: fields.temperature ?? 1,
    top_p: fields.top_p ?? 1,
    response_format: fields.response_format ?? 'auto',
  };
}

export function makeThread(fields: {
  metadata?: Metadata | null;
  tool_resources?: Record<string, unknown> | null;
}): Thread {
  return {
    id: newId(IdPrefix.Thread),
    object: 'thread',
    created_at: nowSeconds(),
    metadata: fields.metadata ?? {},
    tool_resources: fields.tool_resources ?? {},
  };
}

/** What a client sends to add a message: a string or content parts. */
export interface MessageInput {
  role: 'user' | 'assistant';
  content: string | MessageContent[];
  attachments?: unknown[] | null;
  metadata?: Metadata | null;
}

export function makeMessage(threadId: string, input: MessageInput, extra: Partial<Message> = {}): Message {
  const content: MessageContent[] =
    typeof input.content === 'string'
      ? [{ type: 'text', text: { value: input.content, annotations: [] } }]
      : input.content;
  return {
    id: newId(IdPrefix.Message),
    object: 'thread.message',
    created_at: nowSeconds(),
    thread_id: threadId,
    role: input.role,
    content,
    status: 'completed',
    assistant_id: null,
    run_id: null,
    attachments: input.attachments ?? [],
    completed_at: null,
    incomplete_at: null,
    incomplete_details: null,
    metadata: input.metadata ?? {},
    ...extra,
  };
}

/** The plain text of a message (its text parts joined). */
export function messageText(message: Message): string {
  return message.content
    .map((part) => (part.type === 'text' ? part.text.value : part.type === 'refusal' ? part.refusal : ''))
    .join('');
}

export interface RunFields {
  model: string;
  instructions: string;
  tools: AssistantTool[];
  tool_choice?: ToolChoice | null;
  parallel_tool_calls?: boolean | null;
  response_format?: ResponseFormat | null;
  truncation_strategy?: TruncationStrategy | null;
  max_prompt_tokens?: number | null;
  max_completion_tokens?: number | null;
  metadata?: Metadata | null;
  temperature?: number | null;
  top_p?: number | null;
}

export function makeRun(
  thread: Thread,
  assistant: Assistant,
  fields: RunFields,
  expiresInSeconds: number,
): Run {
  const now = nowSeconds();
  return {
    id: newId(IdPrefix.Run),
    object: 'thread.run',
    created_at: now,
    thread_id: thread.id,
    assistant_id: assistant.id,
    status: 'queued',
    required_action: null,
    last_error: null,
    expires_at: now + expiresInSeconds,
    started_at: null,
    cancelled_at: null,
    failed_at: null,
    completed_at: null,
    incomplete_details: null,
    model: fields.model,
    instructions: fields.instructions,
    tools: fields.tools,
    tool_choice: fields.tool_choice ?? 'auto',
    parallel_tool_calls: fields.parallel_tool_calls ?? true,
    response_format: fields.response_format ?? assistant.response_format ?? 'auto',
    truncation_strategy: fields.truncation_strategy ?? { type: 'auto', last_messages: null },
    max_prompt_tokens: fields.max_prompt_tokens ?? null,
    max_completion_tokens: fields.max_completion_tokens ?? null,
    usage: null,
    metadata: fields.metadata ?? {},
    temperature: fields.temperature ?? assistant.temperature ?? 1,
    top_p: fields.top_p ?? assistant.top_p ?? 1,
  };
}

export function makeStep(run: Run, details: StepDetails): RunStep {
  return {
    id: newId(IdPrefix.Step),
    object: 'thread.run.step',
    created_at: nowSeconds(),
    run_id: run.id,
    thread_id: run.thread_id,
    assistant_id: run.assistant_id,
    type: details.type,
    status: 'in_progress',
    step_details: details,
    last_error: null,
    usage: null,
    completed_at: null,
    cancelled_at: null,
    failed_at: null,
    expired_at: null,
    metadata: {},
  };
}
