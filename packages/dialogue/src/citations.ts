/** A passage of the knowledge files the NPC's reply cites (a `file_citation` annotation). */
export interface Citation {
  /** The cited file's id (`file-…`). */
  fileId: string;
  /** Its name, as the marker `【0†chronicle.md】` gives it. */
  filename: string;
  /** The sentence of the reply that cites it, without markers. */
  quote: string;
}

/**
 * The reply's text as a player should read it: without the citation markers (`【0†chronicle.md】`) the
 * model writes after a sentence it draws from the knowledge files, also a marker cut off at the end of a
 * streamed text. Show the sources from `turn.end`'s `citations` instead.
 *
 * @example
 * ```ts
 * stripCitations('The tower is 200 years old 【0†chronicle.md】.'); // 'The tower is 200 years old.'
 * ```
 */
export const stripCitations = (text: string): string => text.replace(/\s*【[^】]*(】|$)/g, '');

/**
 * The citations of a message delta's content parts (annotations other than `file_citation` are skipped);
 * `text` holds the message from `start` on (annotation indexes count from there).
 */
export const readCitations = (
  text: string,
  parts: Array<{ text?: { annotations?: unknown[] } }> = [],
  start = 0,
): Citation[] =>
  parts.flatMap((part) =>
    ((part.text?.annotations ?? []) as Annotation[]).flatMap((a) =>
      a.file_citation
        ? {
            fileId: a.file_citation.file_id,
            filename: a.text.slice(a.text.indexOf('†') + 1, -1),
            // The sentence before the marker: from the end of the one before it (a stop, a line break or an
            // earlier marker) to the marker.
            quote: /[^.!?\n】]*[.!?]?\s*$/.exec(text.slice(0, start + a.start_index))![0].trim(),
          }
        : [],
    ),
  );

interface Annotation {
  text: string;
  start_index: number;
  /** Only on a `file_citation` annotation. */
  file_citation?: { file_id: string };
}
