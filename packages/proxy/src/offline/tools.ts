import type {
  ChatCompletionFunctionTool,
  ChatCompletionTool,
  ChatCompletionToolChoiceOption,
} from 'openai/resources/chat/completions';
import type { Act } from './acts.js';
import { type Fact, isGone, mentions } from './facts.js';
import { identifierWords, isStopWord, keyOf, numbers, quoted, type Word, words } from './words.js';

/** A function call the model decided to make; `arguments` is JSON text, as on the wire. */
export interface PlannedCall {
  readonly name: string;
  readonly arguments: string;
}

/** What tool planning looks at. */
export interface ToolPlanInput {
  readonly tools: readonly ChatCompletionTool[] | null | undefined;
  readonly toolChoice: ChatCompletionToolChoiceOption | null | undefined;
  /** `false` limits the model to one call; anything else allows several. */
  readonly parallel: boolean | null | undefined;
  /** The player's latest line. */
  readonly userText: string;
  /** Tools already called (and answered) in this turn; calling them again would loop. */
  readonly exclude: ReadonlySet<string>;
  /**
   * What the line does. In `auto` mode only a request or an agreement calls a tool: a question about
   * selling never sells. Absent: judged from the words alone.
   */
  readonly act?: Act | undefined;
  /** The NPC's instructions: "call give_quest when the player asks for work" adds words to that tool. */
  readonly instructions?: string | undefined;
  /** Earlier lines of the conversation, newest first: what "it" refers to, what the NPC just asked for. */
  readonly context?: readonly string[] | undefined;
  /** The game's facts: an item a fact says is gone is never sold or handed over again. */
  readonly facts?: readonly Fact[] | undefined;
}

/** What the model decided to do with its tools this turn. */
export interface ToolPlan {
  readonly calls: PlannedCall[];
  /** The request wanted this tool, but the player has not said what it needs (a password, say). */
  readonly missing?: { readonly tool: string; readonly param: string } | undefined;
  /** The request wanted this tool, but a fact says what it is about is gone. */
  readonly blocked?: Fact | undefined;
}

/** The most calls one reply makes, as a guard against a message that happens to mention every tool. */
const MAX_PARALLEL_CALLS = 3;

interface Scored {
  readonly tool: ChatCompletionFunctionTool;
  readonly score: number;
  /** Clear enough that small talk cannot produce it. */
  readonly clear: boolean;
  /** The player's word keys that matched this tool. */
  readonly matched: ReadonlySet<string>;
}

/**
 * Decides which function tools the player's line asks for, honouring `tool_choice` and
 * `parallel_tool_calls`, and fills each call's arguments from the line. Returns no calls for small talk.
 *
 * A tool matches when the player's words (stemmed, synonyms folded) cover its whole name, or its name's
 * verb starts the request ("open the gate"), or at least two words of its name, description and
 * parameters overlap the line. A single incidental word ("nice gate") never triggers a tool.
 *
 * @example
 * planToolCalls({ tools: [openGate], toolChoice: 'auto', parallel: true, userText: 'Open the north gate!', exclude: new Set() });
 * // [{ name: 'open_gate', arguments: '{"gate":"north"}' }]
 */
export function planToolCalls(input: ToolPlanInput): PlannedCall[] {
  return planTools(input).calls;
}

/**
 * {@link planToolCalls} with the reasons a wanted call was not made: a value only the player can give
 * (the NPC asks for it instead), or a fact that says the thing is gone (the NPC says so instead).
 */
export function planTools(input: ToolPlanInput): ToolPlan {
  const choice = input.toolChoice ?? 'auto';
  if (choice === 'none') return { calls: [] };
  let tools = (input.tools ?? []).filter(
    (tool): tool is ChatCompletionFunctionTool =>
      tool.type === 'function' && !input.exclude.has(tool.function.name),
  );
  let mode: 'auto' | 'required' = choice === 'required' ? 'required' : 'auto';
  if (typeof choice === 'object') {
    if (choice.type === 'function') {
      const forced = tools.find((tool) => tool.function.name === choice.function.name);
      return { calls: forced ? [call(forced, input.userText)] : [] };
    }
    if (choice.type === 'allowed_tools') {
      const allowed = new Set(
        choice.allowed_tools.tools.flatMap((entry) => {
          const fn = entry['function'];
          return isRecord(fn) && typeof fn['name'] === 'string' ? [fn['name']] : [];
        }),
      );
      tools = tools.filter((tool) => allowed.has(tool.function.name));
      mode = choice.allowed_tools.mode;
    } else return { calls: [] }; // A named custom tool: the offline model only calls functions.
  }
  if (tools.length === 0) return { calls: [] };

  const answer = mode === 'auto' ? answerToAsk(tools, input) : undefined;
  if (answer) return { calls: [answer] };
  const acting = input.act === undefined || input.act === 'request' || input.act === 'agreement';
  if (mode === 'auto' && !acting) return { calls: [] };

  const { text, item } = resolveReferences(input.userText, tools, input);
  const userWords = words(text);
  const clauses = splitClauses(text);
  // The first content word of each clause: where a request's verb stands ("…, and give me a potion").
  const leads = new Set(
    clauses.map((clause) => words(clause).find((w) => w.content)?.key).filter((k) => k !== undefined),
  );
  const scored = tools.map((tool) =>
    scoreTool(tool, userWords, leads, triggerKeys(tool, input.instructions), input.act === 'request'),
  );
  const ranked = scored.filter((s) => s.clear).sort((a, b) => b.score - a.score);
  if (ranked.length === 0) {
    if (mode !== 'required') return { calls: [] };
    const best = scored.reduce((a, b) => (b.score > a.score ? b : a));
    return { calls: [call(best.tool, withItem(text, item), input)] };
  }
  const chosen: Scored[] = [];
  const claimed = new Set<string>();
  for (const candidate of ranked) {
    if (chosen.length > 0 && (input.parallel === false || chosen.length >= MAX_PARALLEL_CALLS)) break;
    // A second call needs words of its own; otherwise two tools matched the same request.
    if (chosen.length > 0 && ![...candidate.matched].some((key) => !claimed.has(key))) continue;
    chosen.push(candidate);
    for (const key of candidate.matched) claimed.add(key);
  }
  const calls =
    chosen.length === 1
      ? [call(chosen[0]!.tool, withItem(text, item), input)]
      : chosen.map((s) => call(s.tool, clauseFor(clauses, s.matched) ?? text, input));
  if (mode === 'auto') {
    const first = chosen[0]!.tool;
    const missing = missingValue(first, text);
    if (missing) return { calls: [], missing: { tool: first.function.name, param: missing } };
    const blocked = goneFact(calls, input.facts ?? []);
    if (blocked) return { calls: [], blocked };
  }
  return { calls };
}

function splitClauses(text: string): string[] {
  return text.split(/\s*(?:[,;.!?]|\band then\b|\bthen\b|\band\b|\balso\b)\s*/i).filter(Boolean);
}

function call(tool: ChatCompletionFunctionTool, text: string, input?: ToolPlanInput): PlannedCall {
  return {
    name: tool.function.name,
    arguments: JSON.stringify(fillArguments(tool, text, input?.instructions)),
  };
}

/** A string parameter the player has to supply: "the password the player told you, as they said it". */
function playerSupplied(schema: unknown): boolean {
  if (!isRecord(schema) || schemaType(schema) !== 'string' || Array.isArray(schema['enum'])) return false;
  const description = typeof schema['description'] === 'string' ? schema['description'] : '';
  return /\b(?:player|they|user|traveller|traveler)\b[^.]*\b(?:told|tells?|said|says?|gave|gives?|typed|named|spoke)\b/i.test(
    description,
  );
}

/** The player-supplied parameter the line gives no value for, if any. */
function missingValue(tool: ChatCompletionFunctionTool, text: string): string | undefined {
  const properties = isRecord(tool.function.parameters) ? tool.function.parameters['properties'] : undefined;
  if (!isRecord(properties)) return undefined;
  for (const [name, schema] of Object.entries(properties)) {
    if (!playerSupplied(schema)) continue;
    const context: FillContext = fillContext(tool, text);
    if (context.quotes.length === 0 && afterName(name, context) === undefined) return name;
  }
  return undefined;
}

/**
 * The player answering what the NPC just asked for ("Password?" → "It's ember."): a short statement
 * after a question naming a player-supplied parameter is that parameter's value.
 */
function answerToAsk(
  tools: readonly ChatCompletionFunctionTool[],
  input: ToolPlanInput,
): PlannedCall | undefined {
  const previous = input.context?.[0];
  if (!previous?.includes('?') || input.act === 'question' || input.act === 'hostile') return undefined;
  const value = input.userText
    .trim()
    .replace(/^(?:it['’]?s|it is|that['’]?s|that is|the \w+ is|try|how about)\s+/i, '')
    .replace(/^["“'‘]|["”'’]?[.!]*$/g, '')
    .trim();
  const valueWords = words(value);
  if (valueWords.length === 0 || valueWords.length > 3 || valueWords.every((w) => !w.content))
    return undefined;
  for (const tool of tools) {
    const properties = isRecord(tool.function.parameters)
      ? tool.function.parameters['properties']
      : undefined;
    if (!isRecord(properties)) continue;
    for (const [name, schema] of Object.entries(properties)) {
      const asked = identifierWords(name).every((w) => new RegExp(String.raw`\b${w}\b`, 'i').test(previous));
      if (playerSupplied(schema) && asked)
        return { name: tool.function.name, arguments: JSON.stringify({ [name]: value }) };
    }
  }
  return undefined;
}

/** The first call whose item a fact says is gone ("lantern: sold to the traveller"). */
function goneFact(calls: readonly PlannedCall[], facts: readonly Fact[]): Fact | undefined {
  const gone = facts.filter(isGone);
  if (gone.length === 0) return undefined;
  for (const planned of calls) {
    let values: string[] = [];
    try {
      const args: unknown = JSON.parse(planned.arguments);
      if (isRecord(args)) values = Object.values(args).filter((v): v is string => typeof v === 'string');
    } catch {
      continue;
    }
    const fact = gone.find((f) => values.some((v) => mentions(f, identifierWords(v).join(' '))));
    if (fact) return fact;
  }
  return undefined;
}

/**
 * Makes the line say what it means for matching: "I'll take it" to a seller is buying it, and "it" is
 * the last item of the tools' lists the conversation mentioned. `item` is that last item when the line
 * names none: the thing a request without one is about ("Can you give me a discount?").
 */
function resolveReferences(
  line: string,
  tools: readonly ChatCompletionFunctionTool[],
  input: ToolPlanInput,
): { text: string; item: string | undefined } {
  let text = line;
  const sells = tools.some((tool) =>
    [...nameKeys(tool), ...descriptionKeys(tool).main].includes(keyOf('buy')),
  );
  if (sells)
    text = text.replace(
      /\bI(?:['’]ll| will|['’]d| would)?(?: like to| love to| want to)?\s+(?:take|have)\b/gi,
      'I buy',
    );
  const options = tools.flatMap((tool) => enumValues(tool.function.parameters));
  if (options.length === 0) return { text, item: undefined };
  const keys = new Set(
    words(text)
      .filter((w) => w.content)
      .map((w) => w.key),
  );
  const named = options.some((option) => identifierWords(option).some((w) => keys.has(keyOf(w))));
  if (named) return { text, item: undefined };
  for (const earlier of input.context ?? []) {
    const earlierKeys = new Set(words(earlier).map((w) => w.key));
    const found = options.find((option) => identifierWords(option).every((w) => earlierKeys.has(keyOf(w))));
    if (!found) continue;
    const item = identifierWords(found).join(' ');
    // Only "it", "that one" and the like make the earlier item part of what is asked.
    return /\b(?:it|that|this|them|those|these|one)\b/i.test(line)
      ? { text: withItem(text, item), item }
      : { text, item };
  }
  return { text, item: undefined };
}

function withItem(text: string, item: string | undefined): string {
  return item && !text.endsWith(`(${item})`) ? `${text} (${item})` : text;
}

function enumValues(schema: unknown): string[] {
  if (!isRecord(schema)) return [];
  const own = Array.isArray(schema['enum'])
    ? schema['enum'].filter((v): v is string => typeof v === 'string')
    : [];
  const properties = isRecord(schema['properties']) ? Object.values(schema['properties']) : [];
  return [...own, ...properties.flatMap(enumValues), ...enumValues(schema['items'])];
}

/**
 * Words the instructions attach to a tool: "Call give_quest when the player asks for work, a quest or a
 * way to help" makes "work" and "help" ask for it.
 */
function triggerKeys(tool: ChatCompletionFunctionTool, instructions: string | undefined): Set<string> {
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

/** The clause of the line that mentions this tool most, so parallel calls take their own arguments. */
function clauseFor(clauses: readonly string[], matched: ReadonlySet<string>): string | undefined {
  let best: string | undefined;
  let bestHits = 0;
  for (const clause of clauses) {
    const hits = words(clause).filter((w) => w.content && matched.has(w.key)).length;
    if (hits > bestHits) {
      best = clause;
      bestHits = hits;
    }
  }
  return best;
}

function nameKeys(tool: ChatCompletionFunctionTool): string[] {
  return unique(
    identifierWords(tool.function.name)
      .filter((w) => !isStopWord(w))
      .map(keyOf),
  );
}

function scoreTool(
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
function descriptionKeys(tool: ChatCompletionFunctionTool): { main: string[]; params: string[] } {
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

/** What argument filling draws from: the player's line, consumed as values are taken. */
interface FillContext {
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

function fillContext(tool: ChatCompletionFunctionTool, text: string, instructions = ''): FillContext {
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

type Schema = Readonly<Record<string, unknown>>;

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
function afterName(name: string, context: FillContext): string | undefined {
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

function schemaType(schema: Schema): string {
  const type = schema['type'];
  if (typeof type === 'string') return type;
  if (Array.isArray(type)) {
    const first = type.find((t): t is string => typeof t === 'string' && t !== 'null');
    if (first) return first;
  }
  if (isRecord(schema['properties'])) return 'object';
  if (schema['items'] !== undefined) return 'array';
  return 'string';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
