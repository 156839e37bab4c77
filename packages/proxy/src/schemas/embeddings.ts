import { z } from 'zod';
import { integer, jsonObject, text } from './fields.js';

const MAX_INPUT_CHARS = 100_000;

/** `POST /v1/embeddings`: text (or token ids), one or many, for the upstream's embedding model. */
export const createEmbedding = z.strictObject({
  input: z.union([
    text({ min: 1, max: MAX_INPUT_CHARS }),
    z
      .array(text({ min: 1, max: MAX_INPUT_CHARS }))
      .min(1)
      .max(2048),
    z
      .array(integer({ min: 0 }))
      .min(1)
      .max(8192),
    z
      .array(
        z
          .array(integer({ min: 0 }))
          .min(1)
          .max(8192),
      )
      .min(1)
      .max(2048),
  ]),
  model: text({ min: 1, max: 256 }),
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: integer({ min: 1, max: 65_536 }).optional(),
  user: text({ max: 256 }).optional(),
});
export type CreateEmbedding = z.output<typeof createEmbedding>;

/** `POST /v1/moderations`: text, several texts, or multimodal parts (only text parts are read locally). */
export const createModeration = z.strictObject({
  input: z.union([
    text({ max: MAX_INPUT_CHARS }),
    z
      .array(text({ max: MAX_INPUT_CHARS }))
      .min(1)
      .max(64),
    z.array(jsonObject).min(1).max(64),
  ]),
  model: text({ min: 1, max: 256 }).optional(),
});
export type CreateModeration = z.output<typeof createModeration>;
