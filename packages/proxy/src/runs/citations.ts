/**
 * Citation markers in a reply become `file_citation` annotations (docs/decisions/0012-file-search-in-runs.md):
 * the model writes `【k†filename】` after a sentence that uses passage `k` of a search; the marker stays in
 * the text (as OpenAI kept it) and an annotation points at it. Replies stream, so markers arrive split
 * across deltas: the scanner is fed each delta and reports each marker once, when it completes.
 */
import type { FileCitationAnnotation, FileSearchToolCall } from '@parley/protocol';

/** A marker: index, dagger, a file name without brackets or line breaks, closing bracket. */
const MARKER = /【(\d{1,4})†([^【】\r\n]{1,255})】/g;
/** The longest a marker can be: an open bracket further back than this is not the start of one. */
const MAX_MARKER_CHARS = 1 + 4 + 1 + 255 + 1;

/** Which file a marker cites (its `file_id`), or undefined when it cites nothing this run found. */
export type CitationResolver = (index: number, fileName: string) => string | undefined;

/**
 * Resolves markers against a run's searches: passage `index` of a search, with that file name. Markers
 * number each search's passages from 0, so with several searches the newest that has such a passage wins.
 */
export function resolverFor(searches: readonly FileSearchToolCall[]): CitationResolver {
  return (index, fileName) => {
    for (let i = searches.length - 1; i >= 0; i--) {
      const result = searches[i]!.file_search.results?.[index];
      if (result && result.file_name === fileName) return result.file_id;
    }
    return undefined;
  };
}

/**
 * Finds the markers in a streaming text. `add` takes the next piece and returns the annotations of the
 * markers it completed; `annotations` holds all of them. Only the unscanned tail is kept and searched (at
 * most a marker's length when no marker is open): searching the whole reply on every delta would make a
 * long reply quadratic.
 *
 * @example
 * ```ts
 * const scanner = new CitationScanner(resolverFor(searches));
 * scanner.add('Queen Ysolde founded it.【0†chro'); // []
 * scanner.add('nicle.md】'); // [{ type: 'file_citation', start_index: 24, … }]
 * ```
 */
export class CitationScanner {
  readonly #found: FileCitationAnnotation[] = [];
  /** The text not yet settled: from where a marker may still start to the end. */
  #tail = '';
  /** Where `#tail` starts in the whole text. */
  #offset = 0;

  constructor(private readonly resolve: CitationResolver) {}

  get annotations(): readonly FileCitationAnnotation[] {
    return this.#found;
  }

  add(piece: string): FileCitationAnnotation[] {
    const text = this.#tail + piece;
    const fresh: FileCitationAnnotation[] = [];
    const pattern = new RegExp(MARKER.source, 'g');
    let end = 0;
    for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
      end = match.index + match[0].length;
      const fileId = this.resolve(Number(match[1]), match[2]!);
      if (fileId === undefined) continue;
      fresh.push({
        type: 'file_citation',
        text: match[0],
        start_index: this.#offset + match.index,
        end_index: this.#offset + end,
        file_citation: { file_id: fileId },
      });
    }
    // A marker can contain no open bracket, so only the last one after the last marker may be unfinished.
    let open = -1;
    const from = Math.max(end, text.length - MAX_MARKER_CHARS + 1);
    for (let at = text.indexOf('【', from); at !== -1; at = text.indexOf('【', at + 1)) open = at;
    const keep = open === -1 ? text.length : open;
    this.#tail = text.slice(keep);
    this.#offset += keep;
    this.#found.push(...fresh);
    return fresh;
  }
}

/**
 * The annotations of a whole text.
 *
 * @example
 * ```ts
 * citationsIn('It was Ysolde.【0†chronicle.md】', () => 'file-abc');
 * // [{ type: 'file_citation', text: '【0†chronicle.md】', start_index: 14, end_index: 30, file_citation: { file_id: 'file-abc' } }]
 * ```
 */
export function citationsIn(text: string, resolve: CitationResolver): FileCitationAnnotation[] {
  return new CitationScanner(resolve).add(text);
}
