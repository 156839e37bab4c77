import type {
  ChatCompletionCreateParams,
  ChatCompletionMessageParam,
  ChatCompletionToolMessageParam,
} from 'openai/resources/chat/completions';
import { type Act, asksForWork, readAct } from './acts.js';
import { type Lines, linesFor, readTime, readTrade } from './character.js';
import { applyFacts, type Fact, factSentences, mentions, readFacts, sayFact } from './facts.js';
import { type Persona, parsePersona, splitSentences, toFirstPerson } from './persona.js';
import { hash32, mulberry32, pick } from './random.js';
import { type PlannedCall, planTools, type ToolPlan } from './tools.js';
import { fill, type Phrases, VOICES, type Voice } from './voice.js';
import {
  asSentence,
  capitalize,
  contentKeys,
  identifierWords,
  isStopWord,
  keyOf,
  type Word,
  words,
} from './words.js';

/** What the offline model says for one request: text, or the function calls it wants made. */
export type OfflineReply =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'tool_calls'; readonly calls: readonly PlannedCall[] };

/**
 * The offline model itself: a pure function from a Chat Completions request and a seed to a reply.
 * The same request and seed always give the same reply; a different player line gives a different one.
 *
 * It plays the NPC its system/developer messages describe (name, role, manner, lore), answers the
 * latest user message (greetings, farewells, thanks, "who are you", questions and statements about
 * what the player mentioned), calls function tools when the player clearly asks for what one offers,
 * and reports on tool results in character.
 *
 * @example
 * generateReply({ model: 'parley-offline', messages: [
 *   { role: 'system', content: 'You are Brom, the gruff gate guard of Eastwatch.' },
 *   { role: 'user', content: 'Hello! Who are you?' },
 * ] }, 0);
 * // { kind: 'text', text: 'Hm, stranger. Brom. Gate guard of Eastwatch.' } (phrasing varies with the seed)
 */
export function generateReply(request: ChatCompletionCreateParams, seed: number): OfflineReply {
  const messages = Array.isArray(request.messages) ? request.messages : [];
  const system = messages
    .filter((m) => m.role === 'system' || m.role === 'developer')
    .map(messageText)
    .join('\n');
  // The game's facts overrule the instructions, and are never read as the NPC's own lore.
  const { instructions, facts } = readFacts(system);
  const persona = parsePersona(instructions);
  const lastUser = findLastIndex(messages, (m) => m.role === 'user');
  const userMessage = messages[lastUser];
  const userText = userMessage ? messageText(userMessage) : '';
  const turn = messages.slice(lastUser + 1);
  const results = trailingToolResults(messages);
  const calledThisTurn = new Set(turn.flatMap((m) => functionCalls(m).map((c) => c.name)));
  const choice = request.tool_choice;
  const forced = choice === 'required' || typeof choice === 'object';
  // What was said before this line, newest first: what "it" means, what the NPC just asked for.
  const earlier = messages
    .slice(0, Math.max(0, lastUser))
    .filter((m) => m.role === 'user' || m.role === 'assistant' || m.role === 'tool')
    .map((m) => [messageText(m), ...functionCalls(m).map((c) => c.arguments)].join(' '))
    .filter((text) => text.trim() !== '' && !text.startsWith('[event]'))
    .reverse();
  const act = readAct(userText);

  let plan: ToolPlan = { calls: [] };
  if (results.length === 0 || forced) {
    plan = planTools({
      tools: Array.isArray(request.tools) ? request.tools : undefined,
      toolChoice: choice,
      parallel: request.parallel_tool_calls,
      userText,
      exclude: calledThisTurn,
      act,
      instructions,
      context: earlier,
      facts,
    });
    if (plan.calls.length > 0) return { kind: 'tool_calls', calls: plan.calls };
  }

  const temperature = typeof request.temperature === 'number' ? request.temperature : 1;
  const rng = mulberry32(
    hash32(seed, temperature, JSON.stringify(messages), JSON.stringify(request.tools ?? [])),
  );
  const voice = VOICES[persona.style];
  const said = messages.filter((m) => m.role === 'assistant').map(messageText);
  const saidSentences = new Set(said.flatMap((text) => splitSentences(text).map(normalize)));
  const isFresh = (text: string) => splitSentences(text).every((s) => !saidSentences.has(normalize(s)));
  const trade = readTrade(persona, instructions);
  const lines = linesFor(trade, voice, readTime(`${instructions}\n${facts.map(factText).join('\n')}`));
  const speaker: Speaker = {
    persona,
    voice,
    lines,
    facts,
    lore: [...applyFacts(persona.lore, facts), ...factSentences(facts).map(toFirstPerson)],
    say: (phrases, values = {}) => {
      const filled = phrases.map((p) => fill(p, { address: values.address ?? addressOf(), ...values }));
      const fresh = filled.filter(isFresh);
      const pool = (fresh.length > 0 ? fresh : filled) as [string, ...string[]];
      return pick(rng, pool, temperature);
    },
    isFresh,
    playerName: playerName(messages),
    properNouns: new Set(instructions.match(/\b\p{Lu}\p{L}+/gu) ?? []),
    midNouns: new Set(
      [...instructions.matchAll(/[\p{L},;’'] (\p{Lu}\p{L}+)/gu)].map((m) => m[1] ?? '').filter(Boolean),
    ),
    said,
    first: said.every((text) => text.trim() === ''),
    plan,
    act,
  };
  function addressOf(): string {
    return speaker.playerName ?? pick(rng, lines.address, temperature);
  }
  const text =
    results.length > 0 ? reportToolResults(results, messages, speaker) : converse(userText, speaker);
  return { kind: 'text', text };
}

/** Everything a reply is built from. */
interface Speaker {
  readonly persona: Persona;
  readonly voice: Voice;
  /** The NPC's own fallback lines (its trade's, or its manner's). */
  readonly lines: Lines;
  readonly facts: readonly Fact[];
  /** What the NPC knows, with the game's facts applied. */
  readonly lore: readonly string[];
  /** One of the phrasings, filled in, preferring one not said yet in this conversation. */
  readonly say: (
    phrases: Phrases,
    values?: { topic?: string; param?: string; clause?: string; address?: string },
  ) => string;
  /** Whether none of the text's sentences was said yet in this conversation. */
  readonly isFresh: (text: string) => boolean;
  readonly playerName: string | undefined;
  /** Capitalised words of the instructions: names the player may mention. */
  readonly properNouns: ReadonlySet<string>;
  /** Capitalised words met inside sentences: names, which stay capitalised wherever they are said. */
  readonly midNouns: ReadonlySet<string>;
  /** What the NPC already said in this conversation, so it does not repeat itself. */
  readonly said: readonly string[];
  /** No earlier reply in this conversation: the NPC greets. */
  readonly first: boolean;
  /** What tool planning decided (a value to ask for, a fact in the way). */
  readonly plan: ToolPlan;
  readonly act: Act;
}

function normalize(sentence: string): string {
  return sentence.toLowerCase().replace(/[’‘]/g, "'").replace(/\s+/g, ' ').trim();
}

function factText(fact: Fact): string {
  return fact.key ? `${fact.key}: ${fact.value}` : fact.value;
}

/** The plain text of any message (text parts joined; images and audio have none). */
export function messageText(message: ChatCompletionMessageParam): string {
  const { content } = message;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => ('text' in part ? part.text : 'refusal' in part ? part.refusal : ''))
    .filter(Boolean)
    .join('\n');
}

function findLastIndex<T>(items: readonly T[], test: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (test(items[i]!)) return i;
  return -1;
}

function functionCalls(
  message: ChatCompletionMessageParam,
): Array<{ id: string; name: string; arguments: string }> {
  if (message.role !== 'assistant') return [];
  return (message.tool_calls ?? []).flatMap((c) =>
    c.type === 'function' ? [{ id: c.id, name: c.function.name, arguments: c.function.arguments }] : [],
  );
}

/** The `tool` messages that end the conversation, i.e. results the model has not answered yet. */
function trailingToolResults(
  messages: readonly ChatCompletionMessageParam[],
): ChatCompletionToolMessageParam[] {
  const out: ChatCompletionToolMessageParam[] = [];
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i]!;
    if (message.role !== 'tool') break;
    out.unshift(message);
  }
  return out;
}

/** The name the player gave ("my name is Aria", "call me Aria", "I'm Aria"), latest first. */
function playerName(messages: readonly ChatCompletionMessageParam[]): string | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i]!;
    if (message.role !== 'user') continue;
    const match = /\b(?:my name is|my name's|call me|i am|i['’]m)\s+(\p{Lu}[\p{L}'’-]+)/iu.exec(
      messageText(message),
    );
    const name = match?.[1];
    if (name && /^\p{Lu}/u.test(name) && !isStopWord(name.toLowerCase())) return name;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Conversation

interface Intents {
  readonly greeting: boolean;
  readonly farewell: boolean;
  readonly thanks: boolean;
  readonly identity: boolean;
  readonly role: boolean;
  readonly mood: boolean;
  readonly question: boolean;
}

function readIntents(text: string): Intents {
  const t = text.toLowerCase().replace(/’/g, "'");
  return {
    greeting:
      /^\W*(?:hi|hello|hey|hail|greetings|howdy|good (?:morning|afternoon|evening|day)|evening|morning|well met|yo)\b/.test(
        t,
      ),
    farewell:
      /\b(?:bye|goodbye|farewell|see you|see ya|take care|so long|i must go|i should go|gotta go|good ?night)\b/.test(
        t,
      ),
    thanks: /\b(?:thanks|thank you|thank ye|much obliged|i appreciate|grateful)\b/.test(t),
    identity:
      /\b(?:who are you|who might you be|who're you|your name|who is this|introduce yourself|what are you called)\b/.test(
        t,
      ),
    role: /\b(?:what do you do|what is your (?:job|work|trade|role)|what's your (?:job|work|trade|role)|your (?:job|work|trade|duty|duties)|what do you sell)\b/.test(
      t,
    ),
    mood: /\b(?:how are you|how're you|how do you do|how goes it|how's it going|how have you been)\b/.test(t),
    question:
      t.includes('?') ||
      /(?:^|[.!,;]\s*)(?:tell me|explain|describe|what about)\b/.test(t.trim()) ||
      /(?:^|[.!,;]\s*)(?:who|what|what's|when|where|where's|why|how|which|whose|do|does|did|can|could|will|would|is|are|was|were|have|has|should|shall|may|might)\b/.test(
        t.trim(),
      ),
  };
}

/** One sentence of a reply; lower `rank` survives when a terse NPC cuts its reply short. */
interface Part {
  readonly text: string;
  readonly rank: number;
}

function converse(userText: string, s: Speaker): string {
  const { lines, persona } = s;
  const base = readIntents(userText);
  const asksWho =
    /\bare you\b/i.test(userText) &&
    [persona.name, persona.role && withoutArticle(persona.role)].some(
      (word) => word && userText.toLowerCase().includes(word.toLowerCase().split(' ').pop() ?? '-'),
    );
  const intents = asksWho ? { ...base, identity: true } : base;
  const line = words(userText);
  const found = findTopic(line, s.properNouns);
  // The NPC's own name is who the player talks to, not what about.
  const topic = found && found.toLowerCase() === persona.name?.toLowerCase() ? undefined : found;
  const opening = userText.trim() === '';
  const social =
    intents.greeting ||
    intents.farewell ||
    intents.thanks ||
    intents.identity ||
    intents.role ||
    intents.mood;
  const parts: Part[] = [];
  const add = (text: string | undefined, rank: number) => {
    if (text) parts.push({ text, rank });
  };

  // A conversation opens with a greeting, whatever the player's first line is (but a goodbye).
  if ((s.first || intents.greeting || opening) && !intents.farewell) {
    add(`${s.say(lines.hello)}, ${s.playerName ?? s.say(lines.address)}.`, s.first ? 1 : 3);
  }
  if (((intents.greeting && s.first) || intents.identity || opening) && s.isFresh(introduce(s)))
    add(introduce(s), intents.identity ? 0 : 3);
  else if (intents.identity) add(s.say(lines.again, { clause: selfClause(s) }), 0);
  else if (intents.role && s.isFresh(describeRole(s))) add(describeRole(s), 0);
  const introduced = /\b(?:my name is|my name's|call me)\s/i.test(userText) ? s.playerName : undefined;
  if (introduced) add(`${introduced}, is it?`, 1);
  if (s.act === 'hostile') add(s.say(lines.hostile), 0);
  if (intents.mood) add(s.say(lines.mood), 1);
  if (intents.thanks) add(s.say(lines.welcome), 1);

  // What the tools could not do: ask for what is missing, or say what the game says is gone.
  const { missing, blocked } = s.plan;
  let answered = false;
  if (missing) {
    add(s.say(lines.ask, { param: identifierWords(missing.param).join(' ') }), 0);
    add(freshLore(s, contentKeys(missing.param), undefined), 1);
    answered = true;
  } else if (blocked) {
    add(sayOnce(s, sayFact(blocked, persona.name)), 0);
    answered = true;
  }

  if (!answered && s.act !== 'hostile' && !intents.farewell) {
    const keys = lineKeys(userText, s);
    const fact =
      s.facts.find((f) => mentions(f, userText)) ??
      (asksAdvice(userText) ? undefined : factAnswering(keys, s.facts, intents.question));
    if (fact) {
      add(sayOnce(s, sayFact(fact, persona.name)), 0);
      answered = true;
    }
    const lore = answered ? undefined : bestLore(s, keys, userText);
    // Something already said is worth coming back to only when asked.
    if (lore && (lore.fresh || intents.question || s.act === 'request')) {
      // Name the topic first ("The gate? …") when it is short and the lore does not say it already.
      const echo =
        lore.fresh &&
        !asksAdvice(userText) &&
        intents.question &&
        topic &&
        topic.split(' ').length <= 2 &&
        !lore.text.toLowerCase().includes(topic.toLowerCase());
      add(
        lore.fresh
          ? echo
            ? `${capitalize(topic)}? ${lore.text}`
            : lore.text
          : again(s, lore.text, keys, userText),
        0,
      );
      answered = true;
    }
  }
  if (
    !answered &&
    topic &&
    s.act !== 'hostile' &&
    (!social || (intents.question && !intents.identity && !intents.role && !intents.mood))
  ) {
    add(s.say(intents.question || s.act === 'request' ? lines.unsure : lines.note, { topic }), 0);
  } else if (!answered && intents.identity && persona.style !== 'terse') {
    const self = s.lore.find((l) => /^(?:I|My)\b/.test(l) && s.isFresh(l));
    add(self, 2);
  }
  if (intents.farewell) add(s.say(lines.bye), 0);
  else if (parts.length === 0 || (parts.length === 1 && s.first && parts[0]?.rank === 1))
    add(s.say(s.first ? lines.offer : [...lines.smallTalk, ...lines.offer]), 0);
  else if ((intents.greeting || opening) && s.isFresh(s.say(lines.offer))) add(s.say(lines.offer), 4);

  return keepBest(parts, s.voice.sentences);
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** The text, or (already said) a short "as I said" of it. */
function sayOnce(s: Speaker, text: string): string {
  return s.isFresh(text) ? text : again(s, text, new Set());
}

/** "I'm Brom, the gate guard of …", for saying who it is a second time. */
function selfClause(s: Speaker): string {
  const { name, role } = s.persona;
  if (name && role) return `I'm ${name}, ${role}`;
  return name ? `I'm ${name}` : role ? `I'm ${role}` : 'I told you who I am';
}

/**
 * Coming back to something already said, without saying it word for word: the clause of it that shares
 * the most with the player's line (the cheapest or dearest entry of a list, when that is what was asked),
 * after an "as I said".
 */
function again(s: Speaker, text: string, keys: ReadonlySet<string>, userText = ''): string {
  const clauses = text
    .replace(/[.!?]+$/, '')
    .split(/,\s*(?:and\s+|but\s+)?|;\s*|:\s*|\s+and\s+/u)
    .map((c) => c.trim())
    .filter((c) => c.split(/\s+/).length >= 3);
  let best = clauses[0] ?? text.replace(/[.!?]+$/, '');
  const amount = (clause: string) => Number(/\d+/.exec(clause)?.[0] ?? Number.NaN);
  const priced = clauses.filter((c) => !Number.isNaN(amount(c)));
  if (/\bcheapest\b/i.test(userText) && priced.length > 1)
    best = priced.reduce((a, b) => (amount(b) < amount(a) ? b : a));
  else if (/\b(?:expensive|dearest|priciest)\b/i.test(userText) && priced.length > 1)
    best = priced.reduce((a, b) => (amount(b) > amount(a) ? b : a));
  else if (clauses.every((c) => [...contentKeys(c)].every((k) => !keys.has(k))))
    best = text.replace(/[.!?]+$/, '');
  else {
    let bestScore = -1;
    for (const clause of clauses) {
      const score = [...contentKeys(clause)].filter((k) => keys.has(k)).length;
      // On a tie the longer clause, which says more.
      if (score > bestScore || (score === bestScore && clause.length > best.length)) {
        best = clause;
        bestScore = score;
      }
    }
  }
  const first = best.split(/\s+/)[0] ?? '';
  const clause = s.midNouns.has(first) || first === 'I' || first.startsWith("I'") ? best : lowerFirst(best);
  return s.say(s.lines.again, { clause });
}

/** "What should I do next?": the player asks where the story stands. */
function asksAdvice(userText: string): boolean {
  return /\bwhat (?:should|do|can|must) i do\b|\bwhat now\b|\bwhat next\b|\bsupposed to\b|\bwhere (?:should|do) i go\b/i.test(
    userText,
  );
}

/** Keys of what the line is about, with the common paraphrases of what instructions talk about. */
function lineKeys(userText: string, s: Speaker): Set<string> {
  const keys = contentKeys(userText);
  for (const own of contentKeys(s.persona.name ?? '')) keys.delete(own);
  const t = userText.toLowerCase();
  if (/\bhow much\b|\bprice|\bcost|\bcheap|\bexpensive|\bafford|\bdiscount|\bpay\b/.test(t)) {
    keys.add(keyOf('coin'));
    keys.add(keyOf('price'));
  }
  if (asksAdvice(userText)) {
    for (const fact of s.facts) for (const key of contentKeys(fact.key ?? '')) keys.add(key);
    keys.add(keyOf('quest'));
  }
  return keys;
}

/** A fact whose value answers the line ("Can I go through?" → "gate: open"). */
function factAnswering(
  keys: ReadonlySet<string>,
  facts: readonly Fact[],
  question: boolean,
): Fact | undefined {
  if (!question) return undefined;
  return facts.find((f) => f.key && [...contentKeys(f.value)].some((k) => keys.has(k)));
}

/** Sentences about a need or trouble of the NPC's: what it offers when asked for work or help. */
const NEED =
  /\b(?:broke|broken|lost|need|needs|cannot|can't|without|missing|stolen|short of|looking for|who needs)\b/i;

/**
 * The lore sentence that answers the line best: most words in common (paraphrases folded), a need when
 * asked for work, anything fresh when asked for rumours. Prefers one not said yet; `fresh` says which.
 */
function bestLore(
  s: Speaker,
  keys: ReadonlySet<string>,
  userText: string,
): { text: string; fresh: boolean } | undefined {
  const work = asksForWork(userText);
  const rumours =
    keys.has(keyOf('rumour')) || /\bany news\b|\bwhat'?s new\b|\blatest\b|\bheard anything\b/i.test(userText);
  const general = new Set(['rumour', 'quest', 'latest', 'heard', 'hear', 'new', 'around'].map(keyOf));
  const specific = [...keys].filter((k) => !general.has(k));
  const price = keys.has(keyOf('price'));
  let best: { text: string; score: number; fresh: boolean } | undefined;
  for (const text of s.lore) {
    const loreKeys = contentKeys(text);
    let score = [...loreKeys].filter((key) => keys.has(key) && key !== keyOf('rumour')).length;
    if (score > 0 && price && /\d/.test(text)) score += 1;
    if (work && NEED.test(text)) score += 1;
    // Asked for rumours in general, any story will do; one about someone is better.
    if (rumours && specific.length === 0) score += /\b\p{Lu}\p{L}+/u.test(text.slice(1)) ? 1 : 0.5;
    if (score === 0) continue;
    // Ties go to a sentence not said yet, then to the one more about the question (shorter).
    score += 0.5 / Math.max(1, text.split(/\s+/).length);
    const fresh = s.isFresh(text);
    if (
      !best ||
      Math.floor(score) > Math.floor(best.score) ||
      (Math.floor(score) === Math.floor(best.score) &&
        ((fresh && !best.fresh) || (fresh === best.fresh && score > best.score)))
    )
      best = { text, score, fresh };
  }
  return best;
}

/** A relevant lore sentence not said yet, if there is one. */
function freshLore(s: Speaker, keys: ReadonlySet<string>, userText: string | undefined): string | undefined {
  const lore = bestLore(s, keys, userText ?? '');
  return lore?.fresh ? lore.text : undefined;
}

/** The `max` best-ranked parts, in their original order. */
function keepBest(parts: readonly Part[], max: number): string {
  const kept = new Set(
    parts
      .map((part, index) => ({ part, index }))
      .sort((a, b) => a.part.rank - b.part.rank || a.index - b.index)
      .slice(0, max)
      .map((entry) => entry.index),
  );
  return parts
    .filter((_, index) => kept.has(index))
    .map((part) => part.text)
    .join(' ');
}

function withoutArticle(role: string): string {
  return role.replace(/^(?:the|a|an)\s+/i, '');
}

function introduce(s: Speaker): string {
  const { name, role, style } = s.persona;
  if (style === 'terse') {
    const bits = [name, role && capitalize(withoutArticle(role))].filter(Boolean);
    return bits.length > 0 ? bits.map((b) => `${b}.`).join(' ') : 'Nobody you need to know.';
  }
  const iAm = style === 'formal' || style === 'scholarly' ? 'I am' : "I'm";
  if (name && role) return `${iAm} ${name}, ${role}.`;
  if (name) return `${iAm} ${name}.`;
  if (role) return `${iAm} ${role}.`;
  return s.say(['Just someone passing the time.', 'Nobody of note, I assure you.']);
}

function describeRole(s: Speaker): string {
  const { role, style } = s.persona;
  if (!role) return style === 'terse' ? 'This and that.' : 'A little of this, a little of that.';
  if (style === 'terse') return `${capitalize(withoutArticle(role))}.`;
  return `${style === 'formal' || style === 'scholarly' ? 'I am' : "I'm"} ${role}.`;
}

const DETERMINERS = new Set([
  'the',
  'a',
  'an',
  'this',
  'that',
  'these',
  'those',
  'my',
  'your',
  'his',
  'her',
  'our',
  'their',
  'some',
]);
const ABOUT = new Set(['about', 'regarding', 'concerning', 'of']);
/** Words after which a content word is probably a verb: "can I *buy* bread", "to *find* the mill". */
const BEFORE_VERB = new Set([
  'i',
  'you',
  'we',
  'they',
  'to',
  'can',
  'could',
  'will',
  'would',
  'should',
  'please',
  'lets',
  "let's",
]);
/** The player's "my sword" is the NPC's "your sword", and the other way round. */
const SWAP: Readonly<Record<string, string>> = { my: 'your', your: 'my', our: 'your' };

/**
 * What the player is talking about, as a phrase to echo: the noun phrase after "about", else after a
 * determiner ("the gate"), else the last run of content words. Perspective is swapped ("my" → "your").
 */
export function findTopic(line: readonly Word[], properNouns: ReadonlySet<string>): string | undefined {
  const runs: Array<{ words: Word[]; determiner: Word | undefined; about: boolean; sentence: number }> = [];
  let current: Word[] = [];
  let sentence = 0;
  const close = () => {
    const first = current[0];
    if (first) {
      const before = line[first.index - 1];
      const determiner = before && first.before === '' && DETERMINERS.has(before.lower) ? before : undefined;
      const lead = determiner ? line[determiner.index - 1] : before;
      const about = !!lead && ABOUT.has(lead.lower) && (determiner ?? first).before === '';
      // "can I buy bread" → "bread": drop a leading verb when a noun follows it.
      const words =
        !determiner && before && BEFORE_VERB.has(before.lower) && current.length > 1
          ? current.slice(1)
          : current;
      runs.push({ words, determiner, about, sentence });
    }
    current = [];
  };
  for (const w of line) {
    if (current.length > 0 && (w.before !== '' || !w.content)) close();
    if (/[.!?]/.test(w.before)) sentence++;
    if (w.content) current.push(w);
  }
  close();
  // The player's last sentence is what they want answered ("My name is Aria. Where is the inn?").
  const last = runs[runs.length - 1]?.sentence;
  const candidates = runs.filter((r) => r.sentence === last);
  const best =
    candidates.find((r) => r.about) ??
    candidates.find((r) => r.determiner) ??
    candidates[candidates.length - 1];
  if (!best) return undefined;
  // Two words are enough to say what it is about; more would read as the question echoed back.
  const phrase = best.words.slice(0, 2).map((w, i) => {
    // A capital only because a sentence starts with it ("Dragons?") is not part of the topic.
    const atStart = i === 0 && (w.index === 0 || /[.!?]/.test(w.before)) && !properNouns.has(w.raw);
    return atStart ? w.raw.charAt(0).toLowerCase() + w.raw.slice(1) : w.raw;
  });
  const determiner = best.determiner ? (SWAP[best.determiner.lower] ?? best.determiner.lower) : undefined;
  return [determiner, ...phrase].filter(Boolean).join(' ');
}

// ---------------------------------------------------------------------------------------------------
// Tool results

interface Outcome {
  readonly ok: boolean;
  readonly detail: string | undefined;
}

/**
 * Reads what a tool returned: JSON like `{"ok":true,"message":…}` or `{"error":"…"}`, a bare JSON value,
 * or plain text ("Error: …" reads as a failure).
 */
/**
 * `{"opened": false, "reason": "…"}`: a result whose yes/no fields all say no reads as a refusal, the way a
 * model would read it, whatever the flag is called.
 */
function onlyFalseFlags(o: Record<string, unknown>): boolean {
  const flags = Object.values(o).filter((value) => typeof value === 'boolean');
  return flags.length > 0 && flags.every((value) => value === false);
}

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
    typeof error === 'string' ? error : isObject(error) ? textField(error, ['message', 'reason']) : undefined;
  const detail = failed
    ? (errorText ?? textField(o, ['reason', 'message', 'detail']))
    : textField(o, ['message', 'result', 'detail', 'text', 'description']);
  return { ok: !failed, detail };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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

function reportToolResults(
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
    if (!isObject(parsed)) return undefined;
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
