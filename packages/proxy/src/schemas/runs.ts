import { z } from 'zod';
import { functionName, responseFormat, tools } from './assistants.js';
import { integer, jsonObject, metadata, reasoningEffort, temperature, text, topP } from './fields.js';
import { messageInput, threadShape } from './threads.js';

const toolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.strictObject({ type: z.literal('function'), function: z.strictObject({ name: functionName }) }),
  z.strictObject({ type: z.literal('file_search') }),
]);

const truncationStrategy = z.strictObject({
  type: z.enum(['auto', 'last_messages']),
  last_messages: integer({ min: 1 }).nullish(),
});

/** What a run may override of its assistant, and how it is asked for (streamed or not). */
const runFields = {
  assistant_id: text({ min: 1, max: 64 }),
  model: text({ min: 1, max: 256 }).nullish(),
  instructions: text({ max: 256_000 }).nullish(),
  tools: tools.nullish(),
  metadata: metadata.nullish(),
  temperature: temperature.nullish(),
  top_p: topP.nullish(),
  stream: z.boolean().nullish(),
  max_prompt_tokens: integer({ min: 256 }).nullish(),
  max_completion_tokens: integer({ min: 1 }).nullish(),
  truncation_strategy: truncationStrategy.nullish(),
  tool_choice: toolChoice.nullish(),
  parallel_tool_calls: z.boolean().optional(),
  response_format: responseFormat.nullish(),
  reasoning_effort: reasoningEffort.nullish(),
};

/** `POST /v1/threads/{id}/runs`. */
export const createRun = z.strictObject({
  ...runFields,
  additional_instructions: text({ max: 256_000 }).nullish(),
  additional_messages: z.array(messageInput).max(32).nullish(),
});

/**
 * What `POST /v1/threads/{id}/runs` accepts (the thread comes from the path): the run engine's input.
 * `reasoning_effort` is accepted for the SDK's sake and ignored.
 */
export type RunParams = z.output<typeof createRun>;

/** `POST /v1/threads/runs`: a run's fields, plus the thread to create. */
export const createThreadAndRun = z.strictObject({
  ...runFields,
  thread: z.strictObject(threadShape).optional(),
  tool_resources: jsonObject.nullish(),
});
export type CreateThreadAndRun = z.output<typeof createThreadAndRun>;

/**
 * `POST /v1/threads/{id}/runs/{id}/cancel`: OpenAI's takes no body; Parley reads one extension field (how
 * much of the reply the player saw: `SHOWN_CHARACTERS_PARAM` in `@parley/protocol`) and ignores the rest, as
 * it always has.
 */
export const cancelRun = z.object({ shown_characters: integer({ min: 0 }).nullish() });

/** `POST /v1/threads/{id}/runs/{id}`. */
export const modifyRun = z.strictObject({ metadata: metadata.nullish() });

/** `POST /v1/threads/{id}/runs/{id}/submit_tool_outputs`. */
export const submitToolOutputs = z.strictObject({
  tool_outputs: z
    .array(z.strictObject({ tool_call_id: text({ max: 64 }), output: text({ max: 512_000 }).optional() }))
    .max(128),
  stream: z.boolean().nullish(),
});
