import { asksForWork } from './acts.js';
import { type Fact, mentions, sayFact } from './facts.js';
import { type Intents, isSocial } from './small-talk.js';
import type { AddPart, Speaker } from './speaker.js';
import { capitalize, contentKeys, identifierWords, keyOf } from './words.js';

/**
 * What the tools could not do, said instead of doing it: the NPC asks for the value only the player can
 * give, or says what the game's facts say is gone. Returns whether that answered the line.
 */
export function addToolShortfall(s: Speaker, add: AddPart): boolean {
  const { missing, blocked } = s.plan;
  if (missing) {
    add(s.say(s.lines.ask, { param: identifierWords(missing.param).join(' ') }), 0);
    add(freshLore(s, contentKeys(missing.param), undefined), 1);
    return true;
  }
  if (blocked) {
    add(sayOnce(s, sayFact(blocked, s.persona.name)), 0);
    return true;
  }
  return false;
}

/**
 * The answer to what the line is about, from what the NPC knows: a game fact the line mentions or asks
 * about, else the lore sentence that answers it best. Returns whether there was one.
 */
export function addTopicAnswer(
  userText: string,
  intents: Intents,
  topic: string | undefined,
  s: Speaker,
  add: AddPart,
): boolean {
  const keys = lineKeys(userText, s);
  const fact =
    s.facts.find((f) => mentions(f, userText)) ??
    (asksAdvice(userText) ? undefined : factAnswering(keys, s.facts, intents.question));
  if (fact) {
    add(sayOnce(s, sayFact(fact, s.persona.name)), 0);
    return true;
  }
  const lore = bestLore(s, keys, userText);
  // Something already said is worth coming back to only when asked.
  if (!lore || !(lore.fresh || intents.question || s.act === 'request')) return false;
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
  return true;
}

/**
 * What the NPC says when it knows nothing about the line: that it is unsure about (or takes note of) the
 * topic, or, asked who it is, something it says about itself.
 */
export function addUnanswered(intents: Intents, topic: string | undefined, s: Speaker, add: AddPart): void {
  if (
    topic &&
    s.act !== 'hostile' &&
    (!isSocial(intents) || (intents.question && !intents.identity && !intents.role && !intents.mood))
  ) {
    add(s.say(intents.question || s.act === 'request' ? s.lines.unsure : s.lines.note, { topic }), 0);
  } else if (intents.identity && s.persona.style !== 'terse') {
    const self = s.lore.find((l) => /^(?:I|My)\b/.test(l) && s.isFresh(l));
    add(self, 2);
  }
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** The text, or (already said) a short "as I said" of it. */
export function sayOnce(s: Speaker, text: string): string {
  return s.isFresh(text) ? text : again(s, text, new Set());
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
export function asksAdvice(userText: string): boolean {
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
): { text: string; fresh: boolean; score: number } | undefined {
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

/** How well the NPC's own lore answers the line: about the words its best sentence shares with it (0: none). */
export function loreScore(userText: string, s: Speaker): number {
  return Math.floor(bestLore(s, lineKeys(userText, s), userText)?.score ?? 0);
}

/** A relevant lore sentence not said yet, if there is one. */
function freshLore(s: Speaker, keys: ReadonlySet<string>, userText: string | undefined): string | undefined {
  const lore = bestLore(s, keys, userText ?? '');
  return lore?.fresh ? lore.text : undefined;
}
