// `@parley/dialogue/steps`: what a run did besides talking, read from its steps, for debugging tools such as
// the Phaser plugin's console. A subpath of its own, so a game that does not look bundles none of it.
import type { FileSearchToolCall, ListPage, RunStep } from '@parley/protocol';
import { createRequest, type HttpOptions } from './http.js';

/** The `include[]` value that asks for the passages' text in `file_search` steps. */
export const SEARCH_RESULTS_CONTENT = 'step_details.tool_calls[*].file_search.results[*].content';

/** A passage a `file_search` call found. */
export interface FileSearchPassage {
  fileId: string;
  filename: string;
  /** 0..1, higher is better. */
  score: number;
  /** The passage's text. */
  text: string;
}

/** One `file_search` call the proxy ran for the NPC within a run. */
export interface FileSearchCall {
  /** The tool call's id. */
  id: string;
  /** What the model searched for ('' from a server that does not say: OpenAI's steps did not). */
  query: string;
  /** Best first. */
  passages: FileSearchPassage[];
}

/**
 * The `file_search` calls of a run, in order, with their query, passages and scores (the steps are asked
 * for with `include[]=step_details.tool_calls[*].file_search.results[*].content`). Rejects with a
 * DialogueError, as every request of this package.
 *
 * @example
 * ```ts
 * const calls = await fileSearches({ url: '' }, turnStart.threadId, turnStart.runId);
 * for (const { query, passages } of calls) console.log(query, passages.map((p) => p.score));
 * ```
 */
export async function fileSearches(
  options: HttpOptions,
  threadId: string,
  runId: string,
  signal?: AbortSignal,
): Promise<FileSearchCall[]> {
  const query = `order=asc&limit=100&include[]=${encodeURIComponent(SEARCH_RESULTS_CONTENT)}`;
  const path = `/threads/${threadId}/runs/${runId}/steps?${query}`;
  const { data } = await createRequest(options)<ListPage<RunStep>>('GET', path, { signal });
  return data
    .flatMap((step) => (step.step_details.type === 'tool_calls' ? step.step_details.tool_calls : []))
    .filter((call): call is FileSearchToolCall => call.type === 'file_search')
    .map(({ id, file_search: { query, results = [] } }) => ({
      id,
      query: query ?? '',
      passages: results.map((result) => ({
        fileId: result.file_id,
        filename: result.file_name,
        score: result.score,
        text: (result.content ?? []).map((part) => part.text).join('\n'),
      })),
    }));
}
