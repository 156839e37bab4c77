import type { ChatCompletionFunctionTool } from 'openai/resources/chat/completions';
import { isRecord, type Schema, schemaType } from './json-schema.js';
import { nameKeys } from './tool-matching.js';
import { identifierWords, isStopWord, keyOf, numbers, quoted, unique, type Word, words } from './words.js';

/** What argument filling draws from: the player's line, consumed as values are taken. */
export interface FillContext {
  readonly words: readonly Word[];
  readonly keys: ReadonlySet<string>;
  readonly numbers: number[];
  readonly quotes: string[];
  /** Where the tool's verb (or first name word) appears in the line, or -1. */
  readonly verbIndex: number;
  /** Keys of the tool's name: poor string values ("gate" for `open_gate`'s `which` is redundant). */
  readonly toolKeys: ReadonlySet<string>;
  /** The NPC's instructions, where a price the player did not name may be written ("a lantern for 12 coins"). */
  readonly instructions: string;
  /** String values filled so far (an item), which a price is looked up for. */
  readonly filled: string[];
}

/**
 * Builds arguments for `tool` from the player's line and the JSON Schema of its parameters: enums by
 * the words they share with the line, numbers from digits or number words, booleans `true`, strings from
 * quoted text, the word after the property's name, a word of the property's description, or the noun
 * after the tool's verb. Every `required` property is present; optional ones only with evidence.
 *
 * @example
 * fillArguments(giveItem, 'Give me two health potions'); // { item: 'health potions', quantity: 2 }
 */
export function fillArguments(
  tool: ChatCompletionFunctionTool,
  text: string,
  instructions = '',
): Record<string, unknown> {
  const parameters = tool.function.parameters;
  const value = fillObject(isRecord(parameters) ? parameters : {}, fillContext(tool, text, instructions));
  return isRecord(value) ? value : {};
}

/** The line read for filling `tool`'s arguments (also how tool planning looks for a value the player gave). */
export function fillContext(tool: ChatCompletionFunctionTool, text: string, instructions = ''): FillContext {
  const lineWords = words(text);
  const toolKeys = new Set(nameKeys(tool));
  return {
    words: lineWords,
    keys: new Set(lineWords.filter((w) => w.content).map((w) => w.key)),
    numbers: numbers(text),
    quotes: quoted(text),
    verbIndex: lineWords.findIndex((w) => w.content && toolKeys.has(w.key)),
    toolKeys,
    instructions,
    filled: [],
  };
}

function fillValue(schema: Schema, name: string, context: FillContext): unknown {
  if ('const' in schema) return schema['const'];
  const branches = schema['anyOf'] ?? schema['oneOf'];
  if (Array.isArray(branches)) {
    const branch = branches.find((b): b is Schema => isRecord(b) && schemaType(b) !== 'null');
    if (branch) return fillValue(branch, name, context);
  }
  const options = schema['enum'];
  if (Array.isArray(options) && options.length > 0) {
    const value = matchEnum(options, context) ?? options[0];
    if (typeof value === 'string') context.filled.push(value);
    return value;
  }
  switch (schemaType(schema)) {
    case 'object':
      return fillObject(schema, context);
    case 'array':
      return fillArray(schema, name, context);
    case 'integer':
      return Math.round(fillNumber(schema, context));
    case 'number':
      return fillNumber(schema, context);
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return fillString(schema, name, context);
  }
}

function fillObject(schema: Schema, context: FillContext): Record<string, unknown> {
  const properties = isRecord(schema['properties']) ? schema['properties'] : {};
  const required = Array.isArray(schema['required'])
    ? schema['required'].filter((key): key is string => typeof key === 'string')
    : [];
  const values = new Map<string, unknown>();
  // Required values first, so an optional property cannot take the number or quote a required one needs.
  for (const key of required) {
    const sub = properties[key];
    values.set(key, fillValue(isRecord(sub) ? sub : {}, key, context));
  }
  for (const [key, sub] of Object.entries(properties)) {
    if (values.has(key) || !isRecord(sub) || !hasEvidence(sub, key, context)) continue;
    values.set(key, fillValue(sub, key, context));
  }
  // Schema order reads naturally; keys only in `required` go last.
  const out: Record<string, unknown> = {};
  for (const key of [...Object.keys(properties), ...required])
    if (values.has(key)) out[key] = values.get(key);
  return out;
}

function fillArray(schema: Schema, name: string, context: FillContext): unknown[] {
  const items = isRecord(schema['items']) ? schema['items'] : {};
  const options = items['enum'];
  if (Array.isArray(options) && options.length > 0) {
    const hits = options.filter((option) => enumHits(option, context) > 0);
    return hits.length > 0 ? hits : [options[0]];
  }
  return [fillValue(items, name, context)];
}

function fillNumber(schema: Schema, context: FillContext): number {
  const min = typeof schema['minimum'] === 'number' ? schema['minimum'] : undefined;
  const max = typeof schema['maximum'] === 'number' ? schema['maximum'] : undefined;
  const value = context.numbers.shift() ?? writtenPrice(schema, context) ?? min ?? 1;
  return Math.min(max ?? Number.POSITIVE_INFINITY, Math.max(min ?? Number.NEGATIVE_INFINITY, value));
}

/**
 * A price the player did not name: the one the instructions give for the item being filled ("a lantern
 * for 12 coins"), a little lower when the player asks for a discount, as a haggler opens.
 */
function writtenPrice(schema: Schema, context: FillContext): number | undefined {
  const description = typeof schema['description'] === 'string' ? schema['description'] : '';
  if (!/\b(?:price|coins?|cost|gold|pay|amount)\b/i.test(description)) return undefined;
  for (const item of context.filled) {
    const name = identifierWords(item).join(' ');
    const match = new RegExp(
      String.raw`\b${name}s?\b[^.;,]{0,30}?\b(\d+)\s*(?:coins?|gold|silver|copper|crowns?)`,
      'i',
    ).exec(context.instructions);
    if (!match?.[1]) continue;
    const price = Number(match[1]);
    return context.keys.has(keyOf('discount')) ? Math.max(1, Math.round(price * 0.85)) : price;
  }
  return undefined;
}

function fillString(schema: Schema, name: string, context: FillContext): string {
  const value =
    context.quotes.shift() ??
    afterName(name, context) ??
    fromDescription(schema, name, context) ??
    nounAfterVerb(name, context) ??
    fallbackWord(context) ??
    identifierWords(name).join(' ');
  const maxLength = schema['maxLength'];
  const result = typeof maxLength === 'number' ? value.slice(0, maxLength) : value;
  context.filled.push(result);
  return result;
}

/** "password is swordfish", "name: Aria", "called Aria" → the word after the property's name. */
export function afterName(name: string, context: FillContext): string | undefined {
  const nameKeys = identifierWords(name).map(keyOf);
  const last = nameKeys[nameKeys.length - 1];
  const at = context.words.findIndex((w) => w.key === last);
  if (at < 0) return undefined;
  for (const w of context.words.slice(at + 1, at + 4)) {
    if (/^(?:is|=|of|called|named|to|be|should|will)$/.test(w.lower)) continue;
    return isStopWord(w.lower) ? undefined : w.raw;
  }
  return undefined;
}

/** A word of the line that the property's description (or name) mentions, e.g. a town it lists. */
function fromDescription(schema: Schema, name: string, context: FillContext): string | undefined {
  const described = new Set(
    words(
      `${typeof schema['description'] === 'string' ? schema['description'] : ''} ${identifierWords(name).join(' ')}`,
    )
      .filter((w) => w.content)
      .map((w) => w.key),
  );
  const nameKeySet = new Set(identifierWords(name).map(keyOf));
  return context.words.find(
    (w) => w.content && described.has(w.key) && !context.toolKeys.has(w.key) && !nameKeySet.has(w.key),
  )?.raw;
}

/** "give me the old sword" → "old sword"; "open the north gate" → "north". */
function nounAfterVerb(name: string, context: FillContext): string | undefined {
  if (context.verbIndex < 0) return undefined;
  const run: Word[] = [];
  for (const w of context.words.slice(context.verbIndex + 1)) {
    const isNumber = numbers(w.raw).length > 0;
    if (run.length === 0) {
      if (w.content && !isNumber) run.push(w);
      continue;
    }
    if (w.before !== '' || !w.content || isNumber) break;
    run.push(w);
    if (run.length === 3) break;
  }
  const ownKeys = new Set([...context.toolKeys, ...identifierWords(name).map(keyOf)]);
  while (run.length > 1 && ownKeys.has(run[run.length - 1]!.key)) run.pop();
  return run.length > 0 ? run.map((w) => w.raw).join(' ') : undefined;
}

function fallbackWord(context: FillContext): string | undefined {
  const content = context.words.filter((w) => w.content && !/^\d/.test(w.raw));
  return (content.filter((w) => !context.toolKeys.has(w.key)).pop() ?? content.pop())?.raw;
}

function hasEvidence(schema: Schema, name: string, context: FillContext): boolean {
  const options = schema['enum'];
  if (Array.isArray(options)) return options.some((option) => enumHits(option, context) > 0);
  const named = identifierWords(name).some((w) => !isStopWord(w) && context.keys.has(keyOf(w)));
  switch (schemaType(schema)) {
    case 'integer':
    case 'number':
      return context.numbers.length > 0;
    case 'string':
      return context.quotes.length > 0 || (named && afterName(name, context) !== undefined);
    case 'boolean':
      return named;
    default:
      return false;
  }
}

/** The enum value sharing the most words with the line; undefined when none shares any. */
function matchEnum(options: readonly unknown[], context: FillContext): unknown {
  let best: unknown;
  let bestScore = 0;
  for (const option of options) {
    const score = enumHits(option, context);
    if (score > bestScore) {
      best = option;
      bestScore = score;
    }
  }
  return best;
}

/** How well an enum value matches the line: words in common, less a little per word not said. */
function enumHits(option: unknown, context: FillContext): number {
  if (typeof option === 'number') return context.numbers.includes(option) ? 1 : 0;
  if (typeof option !== 'string') return 0;
  const keys = unique(identifierWords(option).map(keyOf));
  const hits = keys.filter((key) => context.keys.has(key)).length;
  return hits === 0 ? 0 : hits - 0.01 * (keys.length - hits);
}
