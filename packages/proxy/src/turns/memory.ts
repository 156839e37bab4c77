/**
 * Long memory: when a conversation outgrows the context budget, the oldest lines fall out of the prompt.
 * What mattered in them (the player's name, promises either side made, items and facts the player stated)
 * is kept as a short note sent with every later turn, so an NPC told a name in the first line still uses it
 * a hundred lines later. The note is extractive: the player's own words, picked by plain patterns, so it is
 * the same for every upstream (the offline model included), costs no model call and cannot invent anything.
 */
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';

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
