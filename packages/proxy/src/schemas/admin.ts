import { z } from 'zod';
import { text } from './fields.js';

/** `POST /v1/admin/block`: the kill switch, for one player or everyone. */
export const block = z.strictObject({
  player: text({ min: 1, max: 256 }).optional(),
  everyone: z.boolean().optional(),
  blocked: z.boolean(),
});
