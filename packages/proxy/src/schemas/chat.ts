import { z } from 'zod';
import { integer, jsonObject, metadata, reasoningEffort, temperature, text, topP } from './fields.js';

const penalty = z.number().min(-2).max(2);
const stopWord = text({ max: 256 });

/**
 * `POST /v1/chat/completions` pass-through: the fields Parley forwards; anything else is refused by
 * name. Messages are passed on as JSON objects (copied, depth-limited), not checked field by field.
 */
export const chatCompletion = z.strictObject({
  model: text({ min: 1, max: 256 }),
  messages: z.array(jsonObject).min(1).max(1024),
  stream: z.boolean().nullish(),
  stream_options: z
    .strictObject({ include_usage: z.boolean().optional(), include_obfuscation: z.boolean().optional() })
    .nullish(),
  temperature: temperature.nullish(),
  top_p: topP.nullish(),
  max_tokens: integer({ min: 1 }).nullish(),
  max_completion_tokens: integer({ min: 1 }).nullish(),
  n: integer({ min: 1, max: 1 }).nullish(),
  stop: z.union([stopWord, z.array(stopWord).max(4)]).nullish(),
  presence_penalty: penalty.nullish(),
  frequency_penalty: penalty.nullish(),
  seed: integer().nullish(),
  tools: z.array(jsonObject).max(128).optional(),
  tool_choice: z.union([z.enum(['none', 'auto', 'required']), jsonObject]).optional(),
  parallel_tool_calls: z.boolean().optional(),
  response_format: jsonObject.nullish(),
  user: text({ max: 256 }).optional(),
  reasoning_effort: reasoningEffort.nullish(),
  metadata: metadata.nullish(),
});
export type ChatCompletion = z.output<typeof chatCompletion>;
