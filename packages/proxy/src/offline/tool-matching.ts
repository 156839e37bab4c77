import type { ChatCompletionFunctionTool } from 'openai/resources/chat/completions';
import { isRecord } from './json-schema.js';
import { identifierWords, isStopWord, keyOf, unique, type Word, words } from './words.js';

/** How well one tool matches the player's line. */
export interface Scored {
  readonly tool: ChatCompletionFunctionTool;
  readonly score: number;
  /** Clear enough that small talk cannot produce it. */
  readonly clear: boolean;
  /** The player's word keys that matched this tool. */
  readonly matched: ReadonlySet<string>;
}

/**
 * Words the instructions attach to a tool: "Call give_quest when the player asks for work, a quest or a
 * way to help" makes "work" and "help" ask for it.
 */
export function triggerKeys(tool: ChatCompletionFunctionTool, instructions: string | undefined): Set<string> {
  const name = tool.function.name;
  const out = new Set<string>();
  if (!instructions?.includes(name)) return out;
  for (const sentence of instructions.split(/(?<=[.!?;])\s+/)) {
    if (!sentence.includes(name)) continue;
    const condition = /\b(?:when|if|whenever|once)\b([^:;.]*)/i.exec(sentence)?.[1] ?? '';
    for (const w of words(condition.replace(new RegExp(`\\b${name}\\b`, 'g'), ' ')))
      if (w.content && !/^(?:player|user|call|ask|asks|tells?|you)$/.test(w.lower)) out.add(w.key);
  }
  for (const key of nameKeys(tool)) out.delete(key);
  return out;
}

/** Keys of the words of a tool's name, less stop words ("give_item" → give, item). */
export function nameKeys(tool: ChatCompletionFunctionTool): string[] {
  return unique(
    identifierWords(tool.function.name)
      .filter((w) => !isStopWord(w))
      .map(keyOf),
  );
}

/**
 * Scores a tool against the player's words: its name counts most, then its description and the words the
 * instructions attach to it, then its parameters; `clear` says whether that is enough to call it.
 */
export function scoreTool(
  tool: ChatCompletionFunctionTool,
  userWords: readonly Word[],
  leads: ReadonlySet<string>,
  triggers: ReadonlySet<string>,
  request: boolean,
): Scored {
  const names = nameKeys(tool);
  const { main, params } = descriptionKeys(tool);
  const mainSet = new Set([...main, ...triggers].filter((key) => !names.includes(key)));
  const paramSet = new Set(params.filter((key) => !names.includes(key) && !mainSet.has(key)));
  const content = userWords.filter((w) => w.content);
  const userKeys = new Set(content.map((w) => w.key));
  const nameHits = names.filter((key) => userKeys.has(key));
  const mainHits = [...mainSet].filter((key) => userKeys.has(key));
  const paramHits = [...paramSet].filter((key) => userKeys.has(key));
  // "Open the gate" / "Please, could you open…": the tool's verb leads the request.
  const verbFirst = names.length > 1 && names[0] !== undefined && leads.has(names[0]);
  const score = 2 * nameHits.length + mainHits.length + 0.5 * paramHits.length + (verbFirst ? 1 : 0);
  const clear =
    (names.length > 0 && nameHits.length === names.length) ||
    nameHits.length + mainHits.length + paramHits.length >= 2 ||
    verbFirst ||
    // A plain request needs less evidence: the act already says the player wants something done.
    (request && nameHits.length + mainHits.length > 0);
  return { tool, score, clear, matched: new Set([...nameHits, ...mainHits, ...paramHits]) };
}

/** Keys of the words in a tool's description (`main`) and its parameters (names, descriptions, enum values). */
export function descriptionKeys(tool: ChatCompletionFunctionTool): { main: string[]; params: string[] } {
  const texts: string[] = [];
  const visit = (schema: unknown, name: string | undefined): void => {
    if (!isRecord(schema)) return;
    if (name) texts.push(identifierWords(name).join(' '));
    if (typeof schema['description'] === 'string') texts.push(schema['description']);
    if (Array.isArray(schema['enum'])) {
      for (const value of schema['enum'])
        if (typeof value === 'string') texts.push(identifierWords(value).join(' '));
    }
    const properties = schema['properties'];
    if (isRecord(properties)) for (const [key, sub] of Object.entries(properties)) visit(sub, key);
    visit(schema['items'], undefined);
  };
  visit(tool.function.parameters, undefined);
  const keys = (text: string) =>
    words(text)
      .filter((w) => w.content)
      .map((w) => w.key);
  return { main: unique(keys(tool.function.description ?? '')), params: unique(texts.flatMap(keys)) };
}
