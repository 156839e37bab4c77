/**
 * Assistants v2 objects, exactly as OpenAI emitted them before the API's sunset (2026-08-26) and as the
 * `openai` 7.x SDK types them. Parley's proxy serves these shapes; clients read them.
 */

/** Free-form string pairs attached to an object; at most 16 keys, 64-char keys, 512-char values. */
export type Metadata = Record<string, string>;

/** JSON Schema for a function tool's parameters (an object schema in practice). */
export type JsonSchema = { [key: string]: unknown };

/** A function the model may call; the game runs it and submits the output. */
export interface FunctionDefinition {
  name: string;
  description?: string;
  parameters?: JsonSchema;
  strict?: boolean | null;
}

/** A tool an assistant or run offers the model. Only `function` tools run in Parley. */
export type AssistantTool =
  | { type: 'function'; function: FunctionDefinition }
  | { type: 'code_interpreter' }
  | { type: 'file_search'; file_search?: Record<string, unknown> };

/** `auto`, or a JSON mode / JSON schema format. */
export type ResponseFormat =
  | 'auto'
  | { type: 'text' }
  | { type: 'json_object' }
  | {
      type: 'json_schema';
      json_schema: { name: string; description?: string; schema?: JsonSchema; strict?: boolean | null };
    };

/** An NPC persona: model, instructions, tools and sampling settings. */
export interface Assistant {
  id: string;
  object: 'assistant';
  created_at: number;
  name: string | null;
  description: string | null;
  model: string;
  instructions: string | null;
  tools: AssistantTool[];
  tool_resources: Record<string, unknown> | null;
  metadata: Metadata;
  temperature: number | null;
  top_p: number | null;
  response_format: ResponseFormat | null;
}

/** One player's conversation with one NPC. */
export interface Thread {
  id: string;
  object: 'thread';
  created_at: number;
  metadata: Metadata;
  tool_resources: Record<string, unknown> | null;
}

/**
 * A citation of a knowledge file in a reply: `text` is the marker the model wrote (`【0†chronicle.md】`),
 * found at `value.slice(start_index, end_index)` of its text part. Added by the `file_search` tool.
 */
export interface FileCitationAnnotation {
  type: 'file_citation';
  text: string;
  start_index: number;
  end_index: number;
  file_citation: { file_id: string };
}

export interface TextAnnotationList {
  value: string;
  annotations: FileCitationAnnotation[];
}

/** A message content part. Parley stores text; other parts pass through untouched. */
export type MessageContent =
  | { type: 'text'; text: TextAnnotationList }
  | { type: 'refusal'; refusal: string }
  | { type: 'image_url'; image_url: { url: string; detail?: 'auto' | 'low' | 'high' } }
  | { type: 'image_file'; image_file: { file_id: string; detail?: 'auto' | 'low' | 'high' } };

export type MessageStatus = 'in_progress' | 'incomplete' | 'completed';

export interface Message {
  id: string;
  object: 'thread.message';
  created_at: number;
  thread_id: string;
  role: 'user' | 'assistant';
  content: MessageContent[];
  status: MessageStatus;
  assistant_id: string | null;
  run_id: string | null;
  attachments: unknown[] | null;
  completed_at: number | null;
  incomplete_at: number | null;
  incomplete_details: {
    reason: 'content_filter' | 'max_tokens' | 'run_cancelled' | 'run_expired' | 'run_failed';
  } | null;
  metadata: Metadata;
}

export const RUN_STATUSES = [
  'queued',
  'in_progress',
  'requires_action',
  'cancelling',
  'cancelled',
  'failed',
  'completed',
  'incomplete',
  'expired',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Statuses a run never leaves. */
export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = [
  'cancelled',
  'failed',
  'completed',
  'incomplete',
  'expired',
];

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** A tool call the model asked for, as it appears in `required_action` and in steps. */
export interface FunctionToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string; output?: string | null };
}

export interface RequiredAction {
  type: 'submit_tool_outputs';
  submit_tool_outputs: { tool_calls: FunctionToolCall[] };
}

export type RunErrorCode = 'server_error' | 'rate_limit_exceeded' | 'invalid_prompt';

export interface TruncationStrategy {
  type: 'auto' | 'last_messages';
  last_messages?: number | null;
}

/** `{type: 'file_search'}` makes the model search the knowledge files before it answers. */
export type ToolChoice =
  | 'none'
  | 'auto'
  | 'required'
  | { type: 'function'; function: { name: string } }
  | { type: 'file_search' };

/** One turn: the model reads the thread and answers, possibly calling tools on the way. */
export interface Run {
  id: string;
  object: 'thread.run';
  created_at: number;
  thread_id: string;
  assistant_id: string;
  status: RunStatus;
  required_action: RequiredAction | null;
  last_error: { code: RunErrorCode; message: string } | null;
  expires_at: number | null;
  started_at: number | null;
  cancelled_at: number | null;
  failed_at: number | null;
  completed_at: number | null;
  incomplete_details: { reason: 'max_completion_tokens' | 'max_prompt_tokens' } | null;
  model: string;
  instructions: string;
  tools: AssistantTool[];
  tool_choice: ToolChoice;
  parallel_tool_calls: boolean;
  response_format: ResponseFormat | null;
  truncation_strategy: TruncationStrategy | null;
  max_prompt_tokens: number | null;
  max_completion_tokens: number | null;
  usage: Usage | null;
  metadata: Metadata;
  temperature: number | null;
  top_p: number | null;
}

export type RunStepStatus = 'in_progress' | 'cancelled' | 'failed' | 'completed' | 'expired';

/** One passage a `file_search` call found; `content` only when the request asked for it with `include`. */
export interface FileSearchResult {
  file_id: string;
  file_name: string;
  /** 0..1, higher is better. */
  score: number;
  content?: Array<{ type: 'text'; text: string }>;
}

/** A `file_search` call the proxy ran itself (the client never answers it). */
export interface FileSearchToolCall {
  id: string;
  type: 'file_search';
  file_search: {
    ranking_options?: { ranker: 'auto' | 'default_2024_08_21'; score_threshold: number };
    results?: FileSearchResult[];
    /** What the model searched for (a Parley extension: OpenAI's step did not say). */
    query?: string;
  };
}

/** A tool call recorded in a `tool_calls` step. */
export type StepToolCall = FunctionToolCall | FileSearchToolCall;

export type StepDetails =
  | { type: 'message_creation'; message_creation: { message_id: string } }
  | { type: 'tool_calls'; tool_calls: StepToolCall[] };

export interface RunStep {
  id: string;
  object: 'thread.run.step';
  created_at: number;
  run_id: string;
  thread_id: string;
  assistant_id: string;
  type: 'message_creation' | 'tool_calls';
  status: RunStepStatus;
  step_details: StepDetails;
  last_error: { code: 'server_error' | 'rate_limit_exceeded'; message: string } | null;
  usage: Usage | null;
  completed_at: number | null;
  cancelled_at: number | null;
  failed_at: number | null;
  expired_at: number | null;
  metadata: Metadata;
}

/** `thread.message.delta` payload: text is delta-encoded by content `index`. */
export interface MessageDeltaEvent {
  id: string;
  object: 'thread.message.delta';
  delta: {
    role?: 'assistant';
    content?: Array<{
      index: number;
      type: 'text';
      text?: { value?: string; annotations?: Array<FileCitationAnnotation & { index: number }> };
    }>;
  };
}

/** `thread.run.step.delta` payload: tool-call argument fragments keyed by `index`. */
export interface RunStepDeltaEvent {
  id: string;
  object: 'thread.run.step.delta';
  delta: {
    step_details: {
      type: 'tool_calls';
      tool_calls: Array<
        | {
            index: number;
            id?: string;
            type: 'function';
            function?: { name?: string; arguments?: string; output?: string | null };
          }
        | { index: number; id?: string; type: 'file_search'; file_search: FileSearchToolCall['file_search'] }
      >;
    };
  };
}

/** A page of a list endpoint. */
export interface ListPage<T> {
  object: 'list';
  data: T[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

export interface DeletedObject<Kind extends string> {
  id: string;
  object: Kind;
  deleted: true;
}
