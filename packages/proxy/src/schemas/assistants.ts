import { z } from 'zod';
import { jsonObject, metadata, reasoningEffort, temperature, text, topP } from './fields.js';

/** A function's name, as OpenAI restricts it. */
export const functionName = text({ min: 1, max: 64, pattern: /^[a-zA-Z0-9_-]+$/ });

/** One tool an assistant or a run offers the model, chosen by `type`. */
export const tool = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('function'),
    function: z.strictObject({
      name: functionName,
      description: text({ max: 1024 }).optional(),
      parameters: jsonObject.optional(),
      strict: z.boolean().nullish(),
    }),
  }),
  z.strictObject({ type: z.literal('code_interpreter') }),
  z.strictObject({ type: z.literal('file_search'), file_search: jsonObject.optional() }),
]);

/**
 * The tools of an assistant or a run. The built-in `file_search` is offered to the model as a function of
 * that name, so a developer function may not also take it.
 */
export const tools = z
  .array(tool)
  .max(128)
  .superRefine((list, ctx) => {
    const builtIn = list.some((entry) => entry.type === 'file_search');
    if (builtIn && list.some((entry) => entry.type === 'function' && entry.function.name === 'file_search'))
      ctx.addIssue({ code: 'custom', params: { reason: 'reserved_tool_name', name: 'file_search' } });
  });

/** `auto`, or a text / JSON mode / JSON schema format chosen by `type`. */
export const responseFormat = z.union([
  z.literal('auto'),
  z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('text') }),
    z.strictObject({ type: z.literal('json_object') }),
    z.strictObject({
      type: z.literal('json_schema'),
      json_schema: z.strictObject({
        name: text({ min: 1, max: 64 }),
        description: text().optional(),
        schema: jsonObject.optional(),
        strict: z.boolean().nullish(),
      }),
    }),
  ]),
]);

const assistantShape = {
  model: text({ min: 1, max: 256 }).optional(),
  name: text({ max: 256 }).nullish(),
  description: text({ max: 512 }).nullish(),
  instructions: text({ max: 256_000 }).nullish(),
  tools: tools.optional(),
  tool_resources: jsonObject.nullish(),
  metadata: metadata.nullish(),
  temperature: temperature.nullish(),
  top_p: topP.nullish(),
  response_format: responseFormat.nullish(),
  reasoning_effort: reasoningEffort.nullish(),
};

/**
 * `POST /v1/assistants`. `model` is required by OpenAI; Parley also accepts its absence and uses the
 * configured default, so a game need not know which model the proxy runs.
 */
export const createAssistant = z.strictObject(assistantShape);
export type CreateAssistant = z.output<typeof createAssistant>;

/** `POST /v1/assistants/{id}`: the same fields, each optional; `null` clears one. */
export const modifyAssistant = z.strictObject(assistantShape);
export type ModifyAssistant = z.output<typeof modifyAssistant>;
