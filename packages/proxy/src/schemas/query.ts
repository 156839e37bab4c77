import { z } from 'zod';
import { integer } from './fields.js';
import { parse } from './issues.js';

/** A list's query string, as sent (strings); other parameters of the query are not its business. */
const pageQuery = z.object({
  limit: z
    .string()
    .transform(Number)
    .pipe(integer({ min: 1, max: 100 }))
    .default(20),
  order: z.enum(['asc', 'desc']).default('desc'),
  after: z.string().optional(),
  before: z.string().optional(),
});
export type PageQuery = z.output<typeof pageQuery>;

/**
 * The page a list request asks for: `limit` 1..100 (20 if absent), `order` (`desc` if absent) and the
 * `after`/`before` cursors. A bad `limit` or `order` is a 400 naming it.
 */
export function parsePageQuery(query: URLSearchParams): PageQuery {
  return parse(pageQuery, {
    limit: query.get('limit') ?? undefined,
    order: query.get('order') ?? undefined,
    after: query.get('after') ?? undefined,
    before: query.get('before') ?? undefined,
  });
}
