/**
 * The `file_search` tool as the model sees it (see docs/decisions/0012-file-search-in-runs.md): upstreams only
 * speak Chat Completions, so the built-in tool is offered as a function, and its results go back as one
 * plain-text tool message whose passages carry the markers (`【0†chronicle.md】`) the model cites them by.
 * Pure functions; the search itself runs in `runs/file-search.ts`.
 */
import type { AssistantTool, FileSearchResult } from '@parley/protocol';
import type { ChatCompletionTool } from 'openai/resources/chat/completions';

/** The function name the built-in tool is offered under (a developer function may not take it). */
export const FILE_SEARCH = 'file_search';

/** The function offered upstream when a run can search knowledge files. */
export const FILE_SEARCH_FUNCTION: ChatCompletionTool = {
  type: 'function',
  function: {
    name: FILE_SEARCH,
    description:
      "Search the knowledge files for passages that answer the player's question. Call it before answering a question about the world, its history, people or things.",
    parameters: {
      type: 'object',
      properties: { query: { type: 'string', description: 'What to look up' } },
      required: ['query'],
      additionalProperties: false,
    },
  },
};

/**
 * The vector stores a run searches: those named in each `tool_resources.file_search.vector_store_ids`
 * given (the assistant's, then the thread's), each once.
 *
 * @example
 * ```ts
 * vectorStoreIds(assistant.tool_resources, thread.tool_resources); // ['vs_lore_library', 'vs_abc']
 * ```
 */
export function vectorStoreIds(
  ...resources: ReadonlyArray<Record<string, unknown> | null | undefined>
): string[] {
  const ids = new Set<string>();
  for (const resource of resources) {
    const fileSearch = resource?.['file_search'];
    if (typeof fileSearch !== 'object' || fileSearch === null) continue;
    const named = (fileSearch as Record<string, unknown>)['vector_store_ids'];
    if (!Array.isArray(named)) continue;
    for (const id of named) if (typeof id === 'string' && id !== '') ids.add(id);
  }
  return [...ids];
}

/** The run's `file_search` tool, when it has one. */
export function fileSearchTool(
  tools: readonly AssistantTool[],
): Extract<AssistantTool, { type: 'file_search' }> | undefined {
  return tools.find(
    (tool): tool is Extract<AssistantTool, { type: 'file_search' }> => tool.type === 'file_search',
  );
}

/**
 * The query in a `file_search` call's arguments: `{"query": …}` as offered; arguments that are not that
 * JSON (a model that wrote plain text) are taken as the query themselves.
 */
export function searchQuery(args: string): string {
  try {
    const parsed: unknown = JSON.parse(args);
    if (typeof parsed === 'object' && parsed !== null) {
      const query = (parsed as Record<string, unknown>)['query'];
      if (typeof query === 'string') return query.trim();
    }
    if (typeof parsed === 'string') return parsed.trim();
  } catch {
    // not JSON: the text is the query
  }
  return args.trim();
}

/**
 * A citation marker: `【` index `†` file name `】`. The file name loses the brackets and line breaks that
 * would end a marker early.
 */
export function citationMarker(index: number, fileName: string): string {
  return `【${index}†${fileName.replace(/[【】\r\n]/g, ' ')}】`;
}

/**
 * The tool message for one search: the passages, best first, each after its marker on one line, with
 * how to cite them; or a line saying nothing matched.
 *
 * @example
 * ```ts
 * passagesMessage('Who founded Varn?', [{ file_id: 'file-1', file_name: 'chronicle.md', score: 0.4,
 *   content: [{ type: 'text', text: 'Varn was founded\nby Queen Ysolde.' }] }]);
 * // 'Passages from the knowledge files. Cite a passage …\n【0†chronicle.md】 Varn was founded by Queen Ysolde.'
 * ```
 */
export function passagesMessage(query: string, results: readonly FileSearchResult[]): string {
  if (results.length === 0) return `No passage in the knowledge files matches ${JSON.stringify(query)}.`;
  const lines = results.map((result, index) => {
    const text = (result.content ?? []).map((part) => part.text).join(' ');
    return `${citationMarker(index, result.file_name)} ${text.replace(/\s+/g, ' ').trim()}`;
  });
  return [
    'Passages from the knowledge files. Cite a passage by writing its marker right after the sentence that uses it, e.g. 【0†chronicle.md】.',
    ...lines,
  ].join('\n');
}
