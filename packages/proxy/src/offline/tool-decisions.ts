import type {
  ChatCompletionFunctionTool,
  ChatCompletionTool,
  ChatCompletionToolChoiceOption,
} from 'openai/resources/chat/completions';
import type { Act } from './acts.js';
import { afterName, type FillContext, fillArguments, fillContext } from './arguments.js';
import { type Fact, isGone, mentions } from './facts.js';
import { isRecord, schemaType } from './json-schema.js';
import { isSocial, readIntents } from './small-talk.js';
import { descriptionKeys, nameKeys, type Scored, scoreTool, triggerKeys } from './tool-matching.js';
import { identifierWords, keyOf, words } from './words.js';

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
  // "Thank you, Odo" or "Goodbye" after a question is courtesy, not the password (or oil) asked for.
  if (isSocial(readIntents(input.userText))) return undefined;
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
