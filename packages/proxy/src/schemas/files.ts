import { z } from 'zod';
import { integer } from './fields.js';

/**
 * The text fields of `POST /v1/files` (multipart), as the SDK sends them: `purpose`, and `expires_after`
 * flattened into bracketed keys. Only `assistants` files are kept here.
 */
export const uploadFields = z.strictObject({
  purpose: z.enum(['assistants']),
  'expires_after[anchor]': z.literal('created_at').optional(),
  'expires_after[seconds]': z
    .string()
    .transform(Number)
    .pipe(integer({ min: 3600, max: 2_592_000 }))
    .optional(),
});
export type UploadFields = z.output<typeof uploadFields>;

/** `GET /v1/files`: OpenAI pages files up to 10,000 at a time and filters them by purpose. */
export const fileListQuery = z.object({
  limit: z
    .string()
    .transform(Number)
    .pipe(integer({ min: 1, max: 10_000 }))
    .default(10_000),
  order: z.enum(['asc', 'desc']).default('desc'),
  after: z.string().optional(),
  purpose: z.string().optional(),
});
