// The debug console's view of `file_search`: what the NPC looked up in its knowledge files during a run, the
// passages it was given and their scores. Read from the run's steps once the run has ended.
import { type FileSearchCall, fileSearches } from '@parley/dialogue/steps';
import type { ConsoleModel, RunRecord } from './console-model.js';

/** Where the proxy is, as `connect()` was told. */
export type SearchHttpOptions = Parameters<typeof fileSearches>[0];

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/**
 * Reads the `file_search` calls of an ended run (its steps, with the passages' text) into the console's
 * model. A failure is shown in the console, never thrown: it is a debugging aid.
 */
export async function loadFileSearches(
  model: ConsoleModel,
  run: RunRecord,
  options: SearchHttpOptions,
): Promise<void> {
  if (!run.runId || !run.threadId) return;
  try {
    model.setSearches(run, await fileSearches(options, run.threadId, run.runId));
  } catch (error) {
    model.setSearches(run, [], error instanceof Error ? error.message : String(error));
  }
}

/**
 * The console's "File searches" section of a run: each call's query, then its passages best first with
 * score, file name and text. Nothing for a run without any (or not yet read).
 */
export function fileSearchSection(doc: Document, run: RunRecord): HTMLElement[] {
  const { searches, searchesError } = run;
  if (!searches || (searches.length === 0 && !searchesError)) return [];
  const el = (tag: string, attributes: Record<string, string>, ...children: Array<Node | string>) => {
    const element = doc.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
    element.append(...children);
    return element;
  };
  const calls = searches.map((call: FileSearchCall) =>
    el(
      'div',
      { 'data-field': 'file-search' },
      el('div', {}, 'query ', el('code', { 'data-field': 'query' }, JSON.stringify(call.query))),
      el(
        'ol',
        { 'data-field': 'passages' },
        ...(call.passages.length
          ? call.passages.map((passage) =>
              el(
                'li',
                { 'data-file': passage.filename },
                el('span', { class: 't', 'data-field': 'score' }, passage.score.toFixed(3)),
                el('span', { class: 'k' }, passage.filename),
                // Whole (a passage is up to ~800 tokens), scrolling in its box: the sentence that answered
                // may be anywhere in it.
                el('pre', { 'data-field': 'passage' }, clip(passage.text.trim() || '(no text)', 4000)),
              ),
            )
          : [el('li', {}, '(no passage matched)')]),
      ),
    ),
  );
  return [
    el('h3', {}, `File searches (${searches.length})`),
    ...calls,
    ...(searchesError
      ? [el('div', { class: 'error', 'data-field': 'file-search-error' }, searchesError)]
      : []),
  ];
}
