/**
 * Long memory: when a conversation outgrows the context budget, the oldest lines fall out of the prompt.
 * What mattered in them (the player's name, promises either side made, items and facts the player stated)
 * is kept as a short note sent with every later turn, so an NPC told a name in the first line still uses it
 * a hundred lines later. The note here is extractive: the player's own words, picked by plain patterns, so it
 * costs no model call and cannot invent anything. It is all the offline model gets; with a network upstream
 * the lines are also summarised by the model after the turn (`summary.ts`), and that summary replaces the
 * extractive note for the lines it covers (docs/memory.md).
 */
import { createHash } from 'node:crypto';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';

/** Thread metadata key that shows a conversation's memory note, as its last turn carried it (the debug console reads it). */
export const MEMORY_METADATA_KEY = 'parley_memory';
/**
 * Thread metadata key that keeps the upstream's summary of the oldest lines: `<lines>:<fingerprint>`, a
 * newline, then the summary. Kept on the thread so that every proxy instance, and a restarted one, finds it.
 */
export const SUMMARY_METADATA_KEY = 'parley_memory_summary';
/** The longest summary kept (metadata values hold 512 characters, and the note rides along with every turn). */
export const MAX_SUMMARY_CHARS = 400;

/** At most this many remembered lines, and this many characters in all (it rides along with every turn). */
const MAX_LINES = 8;
export const MAX_NOTE_CHARS = 500;

const NAME = /\b(?:my name is|my name's|i am called|call me|i'm called|name's)\s+([A-Z][\p{L}'-]{1,30})/iu;
const INTRODUCTION = /\b(?:[Ii] am|[Ii]'m)\s+([A-Z][\p{L}'-]{1,30})(?=[\s.,!?]|$)/u;
const PROMISE = /\b(?:i will|i'll|i promise|i shall|i swear)\b/i;
const HOLDING = /\b(?:i have|i've got|i carry|i'm carrying|i bought|i found|i own)\b/i;
const ABOUT_ME =
  /\b(?:my (?:sister|brother|mother|father|home|village|quest|horse|friend|wife|husband|son|daughter)|i come from|i'm from|i live in|i work as)\b/i;

/**
 * The note for lines that fell out of the prompt, or undefined when nothing in them is worth keeping.
 *
 * @example
 * ```ts
 * memoryNote([{ role: 'user', content: 'Hello, my name is Ada.' }]);
 * // "- The player's name is Ada."
 * ```
 */
export function memoryNote(dropped: readonly ChatCompletionMessageParam[]): string | undefined {
  const lines: string[] = [];
  const seen = new Set<string>();
  const add = (line: string) => {
    if (seen.has(line) || lines.length >= MAX_LINES) return;
    seen.add(line);
    lines.push(line);
  };
  for (const message of dropped) {
    const text = textOf(message);
    if (!text) continue;
    for (const sentence of sentences(text)) {
      if (message.role === 'user') {
        const name = NAME.exec(sentence)?.[1] ?? INTRODUCTION.exec(sentence)?.[1];
        if (name) add(`The player's name is ${name}.`);
        if (PROMISE.test(sentence)) add(`The player promised: "${clip(sentence)}"`);
        else if (HOLDING.test(sentence) || ABOUT_ME.test(sentence))
          add(`The player said: "${clip(sentence)}"`);
      } else if (message.role === 'assistant' && PROMISE.test(sentence)) {
        add(`You promised: "${clip(sentence)}"`);
      }
    }
  }
  if (lines.length === 0) return undefined;
  let note = '';
  for (const line of lines) {
    const next = note ? `${note}\n- ${line}` : `- ${line}`;
    if (next.length > MAX_NOTE_CHARS) break;
    note = next;
  }
  return note || undefined;
}

/** The note as the system message carries it. */
export function memorySection(note: string): string {
  return `Earlier in this conversation (older lines are no longer shown), you learned:\n${note}`;
}

function textOf(message: ChatCompletionMessageParam): string {
  const content = message.content;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => ('text' in part && typeof part.text === 'string' ? part.text : '')).join(' ');
}

function sentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+/)
    .map((sentence) => sentence.trim())
    .filter(Boolean);
}

function clip(sentence: string): string {
  const flat = sentence.replace(/\s+/g, ' ').replace(/"/g, "'");
  return flat.length > 120 ? `${flat.slice(0, 117)}...` : flat;
}

/**
 * The upstream's summary of a conversation's first `lines` lines (as `historyMessages` lists them). The
 * fingerprint of the last line it covers tells whether the history it was made from is still the history
 * (a line deleted or cut since shifts the lines, and the summary is then set aside).
 */
export interface Summary {
  lines: number;
  fingerprint: string;
  /** The note; empty when the model found nothing worth keeping. */
  text: string;
}

/** A short fingerprint of one line: its role and text. */
export function lineFingerprint(message: ChatCompletionMessageParam): string {
  return createHash('sha256')
    .update(`${message.role}\n${textOf(message)}`)
    .digest('hex')
    .slice(0, 12);
}

/** A summary as thread metadata keeps it (see {@link SUMMARY_METADATA_KEY}). */
export function formatSummary(summary: Summary): string {
  return `${summary.lines}:${summary.fingerprint}\n${summary.text}`;
}

/** The summary kept in thread metadata, or undefined when there is none (or it is not one). */
export function parseSummary(value: string | undefined): Summary | undefined {
  const match = value === undefined ? null : /^(\d{1,6}):([0-9a-f]{12})\n([\s\S]*)$/.exec(value);
  if (!match) return undefined;
  return { lines: Number(match[1]), fingerprint: match[2]!, text: match[3]! };
}

/**
 * The note for a turn whose first `dropped` lines of `history` fell out of the prompt: the upstream's summary
 * when it still matches the history, with an extractive note of the lines dropped since it was made (the
 * next summary takes them in); without a summary, the extractive note of all of them.
 *
 * @example
 * ```ts
 * recallNote(history, 6, { lines: 4, fingerprint: lineFingerprint(history[3]!), text: '- The player is Ada.' });
 * // "- The player is Ada." and what lines 5 and 6 add, extractively
 * ```
 */
export function recallNote(
  history: readonly ChatCompletionMessageParam[],
  dropped: number,
  summary: Summary | undefined,
): string | undefined {
  if (!summary || !summaryMatches(history, summary)) return memoryNote(history.slice(0, dropped));
  const since = memoryNote(history.slice(summary.lines, dropped));
  return [summary.text, since].filter(Boolean).join('\n') || undefined;
}

/** Whether `summary` was made from the first lines of this very history. */
export function summaryMatches(history: readonly ChatCompletionMessageParam[], summary: Summary): boolean {
  const last = history[summary.lines - 1];
  return summary.lines > 0 && last !== undefined && lineFingerprint(last) === summary.fingerprint;
}
