import type {
  ChatCompletionMessageParam,
  ChatCompletionToolMessageParam,
} from 'openai/resources/chat/completions';
import { isRecord } from './json-schema.js';
import { functionCalls, messageText } from './messages.js';
import { splitSentences } from './persona.js';
import { keepBest, type Part, type Speaker } from './speaker.js';
import { asSentence, identifierWords } from './words.js';

/** What a tool result says: whether it worked, and the words it gave for that. */
export interface Outcome {
  readonly ok: boolean;
  readonly detail: string | undefined;
}

/**
 * Reads what a tool returned: JSON like `{"ok":true,"message":…}` or `{"error":"…"}`, a bare JSON value,
 * or plain text ("Error: …" reads as a failure).
 */
export function readOutcome(output: string): Outcome {
  let parsed: unknown;
  try {
    parsed = JSON.parse(output);
  } catch {
    return readPlainOutcome(output);
  }
  if (typeof parsed === 'boolean') return { ok: parsed, detail: undefined };
  if (typeof parsed === 'string') return readPlainOutcome(parsed);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return { ok: true, detail: undefined };
  const o = parsed as Record<string, unknown>;
  const error = o['error'];
  const failed =
    (error !== undefined && error !== null && error !== false && error !== '') ||
    o['ok'] === false ||
    o['success'] === false ||
    onlyFalseFlags(o) ||
    /^(?:error|fail|failed|failure|denied|refused|rejected)$/i.test(
      typeof o['status'] === 'string' ? o['status'] : '',
    );
  const errorText =
    typeof error === 'string' ? error : isRecord(error) ? textField(error, ['message', 'reason']) : undefined;
  const detail = failed
    ? (errorText ?? textField(o, ['reason', 'message', 'detail']))
    : textField(o, ['message', 'result', 'detail', 'text', 'description']);
  return { ok: !failed, detail };
}

/**
 * `{"opened": false, "reason": "…"}`: a result whose yes/no fields all say no reads as a refusal, the way a
 * model would read it, whatever the flag is called.
 */
function onlyFalseFlags(o: Record<string, unknown>): boolean {
  const flags = Object.values(o).filter((value) => typeof value === 'boolean');
  return flags.length > 0 && flags.every((value) => value === false);
}

function textField(o: Record<string, unknown>, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const value = o[key];
    if (typeof value === 'string' && value.trim()) return value.trim();
  }
  return undefined;
}

function readPlainOutcome(text: string): Outcome {
  const trimmed = text.trim().slice(0, 200);
  const failed =
    /^(?:error|fail|failed|failure|cannot|can['’]t|could not|couldn['’]t|denied|refused|rejected|not allowed|unable|forbidden|invalid)\b/i.test(
      trimmed,
    );
  return { ok: !failed, detail: trimmed ? trimmed.replace(/^(?:error|failure)\s*:\s*/i, '') : undefined };
}

/**
 * The NPC's report on the tool results that end the conversation: done or refused, what each call did or
 * why it failed (the game's own words where it gave some), and an offer of more help after a success.
 */
export function reportToolResults(
  results: readonly ChatCompletionToolMessageParam[],
  messages: readonly ChatCompletionMessageParam[],
  s: Speaker,
): string {
  const calls = new Map(messages.flatMap((m) => functionCalls(m).map((c) => [c.id, c] as const)));
  const outcomes = results.map((result) => {
    const call = calls.get(result.tool_call_id);
    return { call, outcome: readOutcome(messageText(result)) };
  });
  const parts: Part[] = [
    { text: s.say(outcomes.every((o) => o.outcome.ok) ? s.lines.done : s.lines.refuse), rank: 0 },
  ];
  for (const { call, outcome } of outcomes) {
    const action = call ? describeAction(call.name, call.arguments) : undefined;
    let text: string | undefined;
    if (outcome.ok) text = outcome.detail ? asSentence(outcome.detail) : action && `I've ${action.done}.`;
    else {
      const reason = outcome.detail?.replace(/[.!]+$/, '');
      const clause = reason ? reason.charAt(0).toLowerCase() + reason.slice(1) : undefined;
      if (action) text = `I couldn't ${action.todo}${clause ? `: ${clause}` : ''}.`;
      else if (reason) text = asSentence(reason);
    }
    // The game's own words, less any sentence of them already said in this conversation.
    const fresh = text && splitSentences(text).filter((sentence) => s.isFresh(sentence));
    if (fresh && fresh.length > 0) parts.push({ text: fresh.join(' '), rank: 1 });
  }
  const closer = s.say(s.lines.offer);
  if (outcomes.every((o) => o.outcome.ok) && s.isFresh(closer)) parts.push({ text: closer, rank: 2 });
  return keepBest(parts, s.voice.sentences);
}

const PAST_PARTICIPLES: Readonly<Record<string, string>> = {
  buy: 'bought',
  sell: 'sold',
  give: 'given',
  take: 'taken',
  show: 'shown',
  make: 'made',
  find: 'found',
  send: 'sent',
  tell: 'told',
  pay: 'paid',
  lend: 'lent',
  hold: 'held',
  set: 'set',
  get: 'got',
  put: 'put',
  let: 'let',
  do: 'done',
  bring: 'brought',
  teach: 'taught',
  write: 'written',
  hide: 'hidden',
  steal: 'stolen',
  fight: 'fought',
  keep: 'kept',
  lead: 'led',
  leave: 'left',
  shut: 'shut',
  begin: 'begun',
  draw: 'drawn',
  throw: 'thrown',
  feed: 'fed',
  grant: 'granted',
};
/** Verbs that take the player as indirect object: "I've given you the sword." */
const TO_PLAYER = new Set([
  'give',
  'hand',
  'send',
  'sell',
  'lend',
  'show',
  'offer',
  'bring',
  'pay',
  'teach',
  'tell',
  'grant',
]);
const GENERIC_OBJECT = /^(?:item|items|thing|object|target|entity|value|goods|product|stuff)?$/;

/** `open_gate` + `{"gate":"north"}` → "opened the north gate" / "open the north gate". */
function describeAction(name: string, args: string): { done: string; todo: string } {
  const [verb = 'do', ...rest] = identifierWords(name);
  const object = rest.join(' ');
  const value = firstStringArgument(args);
  let phrase: string;
  if (GENERIC_OBJECT.test(object)) phrase = value ? `the ${value}` : object ? `the ${object}` : '';
  else if (value && !object.includes(value.toLowerCase()) && value.split(' ').length <= 2)
    phrase = `the ${value} ${object}`;
  else phrase = `the ${object}`;
  const indirect = TO_PLAYER.has(verb) && phrase ? 'you ' : '';
  const tail = phrase ? ` ${indirect}${phrase}` : '';
  return { done: `${pastParticiple(verb)}${tail}`, todo: `${verb}${tail}` };
}

function firstStringArgument(args: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(args);
    if (!isRecord(parsed)) return undefined;
    const value = Object.values(parsed).find((v): v is string => typeof v === 'string' && v.trim() !== '');
    return value && value.split(/\s+/).length <= 3 ? identifierWords(value).join(' ') || value : undefined;
  } catch {
    return undefined;
  }
}

function pastParticiple(verb: string): string {
  const irregular = PAST_PARTICIPLES[verb];
  if (irregular) return irregular;
  if (verb.endsWith('e')) return `${verb}d`;
  if (/[^aeiou]y$/.test(verb)) return `${verb.slice(0, -1)}ied`;
  // stop → stopped, but open → opened: double only one-vowel words ending consonant-vowel-consonant.
  if (/^[^aeiou]*[aeiou][^aeiouwxy]$/.test(verb)) return `${verb}${verb.slice(-1)}ed`;
  return `${verb}ed`;
}
