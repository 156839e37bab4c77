import type { FileCitationAnnotation } from '@parley/protocol';
import { z } from 'zod';
import { jsonObject, metadata, text } from './fields.js';

/** A stored text part (`MessageContent`'s text case, written out so declarations can name it). */
export interface TextPart {
  type: 'text';
  text: { value: string; annotations: FileCitationAnnotation[] };
}

const imageDetail = z.enum(['auto', 'low', 'high']);

/** A content part as a client sends it; a text part is stored in the shape OpenAI answers with. */
const contentPart = z.discriminatedUnion('type', [
  z
    .strictObject({ type: z.literal('text'), text: text({ max: 256_000 }) })
    .transform((part): TextPart => ({ type: 'text', text: { value: part.text, annotations: [] } })),
  z.strictObject({
    type: z.literal('image_url'),
    image_url: z.strictObject({ url: text({ max: 8192 }), detail: imageDetail.optional() }),
  }),
  z.strictObject({
    type: z.literal('image_file'),
    image_file: z.strictObject({ file_id: text({ max: 256 }), detail: imageDetail.optional() }),
  }),
]);

/** What a client sends to add a message: a string, or content parts. */
export const messageInput = z.strictObject({
  role: z.enum(['user', 'assistant']),
  content: z.union([text({ max: 256_000 }), z.array(contentPart).min(1).max(64)]),
  attachments: z.array(jsonObject).max(20).nullish(),
  metadata: metadata.nullish(),
});
export type MessageInput = z.output<typeof messageInput>;

/** `POST /v1/threads/{id}/messages`. */
export const createMessage = messageInput;

/** `POST /v1/threads/{id}/messages/{id}`. */
export const modifyMessage = z.strictObject({ metadata: metadata.nullish() });

/** A thread's fields; `POST /v1/threads/runs` takes the same under `thread`. */
export const threadShape = {
  messages: z.array(messageInput).max(32).optional(),
  metadata: metadata.nullish(),
  tool_resources: jsonObject.nullish(),
};

/** `POST /v1/threads`. */
export const createThread = z.strictObject(threadShape);
export type CreateThread = z.output<typeof createThread>;

/** `POST /v1/threads/{id}`. */
export const modifyThread = z.strictObject({
  metadata: metadata.nullish(),
  tool_resources: jsonObject.nullish(),
});
