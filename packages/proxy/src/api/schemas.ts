import type {
  AssistantTool,
  MessageContent,
  ResponseFormat,
  ToolChoice,
  TruncationStrategy,
} from '@parley/protocol';
import type { MessageInput } from '../objects.js';
import {
  array,
  boolean,
  type Check,
  jsonObject,
  literal,
  metadata,
  nullable,
  number,
  object,
  string,
  tagged,
} from '../validate.js';

const functionName = string({ min: 1, max: 64, pattern: /^[a-zA-Z0-9_-]+$/ });

export const tool: Check<AssistantTool> = tagged<AssistantTool>({
  function: object(
    {
      type: literal('function'),
      function: object(
        {
          name: functionName,
          description: string({ max: 1024 }),
          parameters: jsonObject,
          strict: nullable(boolean),
        },
        { required: ['name'] },
      ),
    },
    { required: ['function'] },
  ) as Check<AssistantTool>,
  code_interpreter: object({ type: literal('code_interpreter') }) as Check<AssistantTool>,
  file_search: object({ type: literal('file_search'), file_search: jsonObject }) as Check<AssistantTool>,
});

export const tools = array(tool, { max: 128 });

export const responseFormat: Check<ResponseFormat> = (value, path) => {
  if (value === 'auto') return 'auto';
  return tagged<ResponseFormat>({
    text: object({ type: literal('text') }) as Check<ResponseFormat>,
    json_object: object({ type: literal('json_object') }) as Check<ResponseFormat>,
    json_schema: object(
      {
        type: literal('json_schema'),
        json_schema: object(
          {
            name: string({ min: 1, max: 64 }),
            description: string(),
            schema: jsonObject,
            strict: nullable(boolean),
          },
          { required: ['name'] },
        ),
      },
      { required: ['json_schema'] },
    ) as Check<ResponseFormat>,
  })(value, path);
};

const temperature = nullable(number({ min: 0, max: 2 }));
const topP = nullable(number({ min: 0, max: 1 }));

const assistantShape = {
  model: string({ min: 1, max: 256 }),
  name: nullable(string({ max: 256 })),
  description: nullable(string({ max: 512 })),
  instructions: nullable(string({ max: 256_000 })),
  tools,
  tool_resources: nullable(jsonObject),
  metadata: nullable(metadata),
  temperature,
  top_p: topP,
  response_format: nullable(responseFormat),
  reasoning_effort: nullable(literal('none', 'minimal', 'low', 'medium', 'high', 'xhigh')),
};

/**
 * `model` is required by OpenAI; Parley also accepts its absence and uses the configured default, so a
 * game need not know which model the proxy runs.
 */
export const createAssistant = object(assistantShape);
export const modifyAssistant = object(assistantShape);

const contentPart: Check<MessageContent> = tagged<MessageContent>({
  text: ((value, path) => {
    const part = object({ type: literal('text'), text: string({ max: 256_000 }) }, { required: ['text'] })(
      value,
      path,
    );
    return { type: 'text', text: { value: part.text, annotations: [] } };
  }) as Check<MessageContent>,
  image_url: object(
    {
      type: literal('image_url'),
      image_url: object(
        { url: string({ max: 8192 }), detail: literal('auto', 'low', 'high') },
        { required: ['url'] },
      ),
    },
    { required: ['image_url'] },
  ) as Check<MessageContent>,
  image_file: object(
    {
      type: literal('image_file'),
      image_file: object(
        { file_id: string({ max: 256 }), detail: literal('auto', 'low', 'high') },
        { required: ['file_id'] },
      ),
    },
    { required: ['image_file'] },
  ) as Check<MessageContent>,
});

const content: Check<string | MessageContent[]> = (value, path) =>
  typeof value === 'string'
    ? string({ max: 256_000 })(value, path)
    : array(contentPart, { min: 1, max: 64 })(value, path);

export const messageInput: Check<MessageInput> = object(
  {
    role: literal('user', 'assistant'),
    content,
    attachments: nullable(array(jsonObject, { max: 20 })),
    metadata: nullable(metadata),
  },
  { required: ['role', 'content'] },
) as Check<MessageInput>;

export const createMessage = messageInput;
export const modifyMessage = object({ metadata: nullable(metadata) });

const threadShape = {
  messages: array(messageInput, { max: 32 }),
  metadata: nullable(metadata),
  tool_resources: nullable(jsonObject),
};
export const createThread = object(threadShape);
export const modifyThread = object({ metadata: nullable(metadata), tool_resources: nullable(jsonObject) });

const toolChoice: Check<ToolChoice> = (value, path) => {
  if (value === 'none' || value === 'auto' || value === 'required') return value;
  return object(
    { type: literal('function'), function: object({ name: functionName }, { required: ['name'] }) },
    { required: ['type', 'function'] },
  )(value, path) as ToolChoice;
};

const truncation: Check<TruncationStrategy> = object(
  { type: literal('auto', 'last_messages'), last_messages: nullable(number({ integer: true, min: 1 })) },
  { required: ['type'] },
) as Check<TruncationStrategy>;

const runShape = {
  assistant_id: string({ min: 1, max: 64 }),
  model: nullable(string({ min: 1, max: 256 })),
  instructions: nullable(string({ max: 256_000 })),
  additional_instructions: nullable(string({ max: 256_000 })),
  additional_messages: nullable(array(messageInput, { max: 32 })),
  tools: nullable(tools),
  metadata: nullable(metadata),
  temperature,
  top_p: topP,
  stream: nullable(boolean),
  max_prompt_tokens: nullable(number({ integer: true, min: 256 })),
  max_completion_tokens: nullable(number({ integer: true, min: 1 })),
  truncation_strategy: nullable(truncation),
  tool_choice: nullable(toolChoice),
  parallel_tool_calls: boolean,
  response_format: nullable(responseFormat),
  reasoning_effort: nullable(literal('none', 'minimal', 'low', 'medium', 'high', 'xhigh')),
};
export const createRun = object(runShape, { required: ['assistant_id'] });

const { additional_instructions: _a, additional_messages: _b, ...threadRunShape } = runShape;
export const createThreadAndRun = object(
  { ...threadRunShape, thread: object(threadShape), tool_resources: nullable(jsonObject) },
  { required: ['assistant_id'] },
);

export const modifyRun = object({ metadata: nullable(metadata) });

export const submitToolOutputs = object(
  {
    tool_outputs: array(
      object(
        { tool_call_id: string({ max: 64 }), output: string({ max: 512_000 }) },
        { required: ['tool_call_id'] },
      ),
      {
        max: 128,
      },
    ),
    stream: nullable(boolean),
  },
  { required: ['tool_outputs'] },
);

/** Chat Completions pass-through: the fields Parley forwards; anything else is refused by name. */
export const chatCompletion = object(
  {
    model: string({ min: 1, max: 256 }),
    messages: array(jsonObject, { min: 1, max: 1024 }),
    stream: nullable(boolean),
    stream_options: nullable(object({ include_usage: boolean, include_obfuscation: boolean })),
    temperature,
    top_p: topP,
    max_tokens: nullable(number({ integer: true, min: 1 })),
    max_completion_tokens: nullable(number({ integer: true, min: 1 })),
    n: nullable(number({ integer: true, min: 1, max: 1 })),
    stop: nullable((value, path) =>
      typeof value === 'string'
        ? string({ max: 256 })(value, path)
        : array(string({ max: 256 }), { max: 4 })(value, path),
    ),
    presence_penalty: nullable(number({ min: -2, max: 2 })),
    frequency_penalty: nullable(number({ min: -2, max: 2 })),
    seed: nullable(number({ integer: true })),
    tools: array(jsonObject, { max: 128 }),
    tool_choice: jsonToolChoice(),
    parallel_tool_calls: boolean,
    response_format: nullable(jsonObject),
    user: string({ max: 256 }),
    reasoning_effort: nullable(literal('none', 'minimal', 'low', 'medium', 'high', 'xhigh')),
    metadata: nullable(metadata),
  },
  { required: ['model', 'messages'] },
);

function jsonToolChoice(): Check<unknown> {
  return (value, path) =>
    typeof value === 'string' ? literal('none', 'auto', 'required')(value, path) : jsonObject(value, path);
}

export const pageQuery = (query: URLSearchParams) => {
  const limitRaw = query.get('limit');
  const orderRaw = query.get('order');
  const limit = limitRaw === null ? 20 : Number(limitRaw);
  const check = object({ limit: number({ integer: true, min: 1, max: 100 }), order: literal('asc', 'desc') });
  const parsed = check({ limit, order: orderRaw ?? 'desc' }, '');
  return {
    limit: parsed.limit ?? 20,
    order: parsed.order ?? 'desc',
    after: query.get('after') ?? undefined,
    before: query.get('before') ?? undefined,
  } as const;
};

/** Admin kill switch: one player, or everyone. */
export const block = object(
  { player: string({ min: 1, max: 256 }), everyone: boolean, blocked: boolean },
  { required: ['blocked'] },
);
