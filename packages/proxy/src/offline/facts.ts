/**
 * Game facts: what the game says is true now, sent with a turn (the run's `additional_instructions`,
 * which reach the model inside its system message). Written as a "Facts:" block of `key: value` entries
 * ("Facts: lantern: sold to the traveller; gate: open", or one entry a line), or as plain sentences after
 * the heading. Facts overrule the NPC's instructions: lore that mentions a fact's subject is dropped or
 * cut, and an item a fact says is gone is never offered or sold again.
 */
import { splitSentences } from './persona.js';

/** One thing the game says is true now. */
export interface Fact {
  /** What it is about ("lantern", "gate"); absent for a plain sentence. */
  readonly key: string | undefined;
  /** What is true of it ("sold to the traveller", "open"), or the whole sentence. */
  readonly value: string;
}

/** Instructions with the facts taken out, and the facts. */
export interface FactSheet {
  /** The instructions without the facts block, for reading the persona. */
  readonly instructions: string;
  readonly facts: readonly Fact[];
}

/** "Facts:", "Current facts:", "Facts (true now):" opening a line. */
const HEADING = /^\s*(?:current\s+|game\s+)?facts\b[^:\n]{0,40}:\s*/i;
/** Values that mean the thing is no longer there to offer. */
const GONE =
  /\b(?:sold|sold out|gone|none left|no more|out of stock|given (?:away|to)|taken|used up|lost|broken|spent)\b/i;

/**
 * Splits the facts block off the instructions. A block runs from its heading to the next blank line;
 * its entries are separated by `;` or new lines, and a leading `-` or `*` is ignored.
 *
 * @example
 * readFacts('You are Tilda.\n\nFacts: lantern: sold to the traveller; rope: 1 left').facts;
 * // [{ key: 'lantern', value: 'sold to the traveller' }, { key: 'rope', value: '1 left' }]
 */
export function readFacts(text: string): FactSheet {
  const lines = text.split('\n');
  const kept: string[] = [];
  const facts: Fact[] = [];
  let inBlock = false;
  for (const line of lines) {
    const heading = HEADING.exec(line);
    if (heading) {
      inBlock = true;
      facts.push(...entries(line.slice(heading[0].length)));
      continue;
    }
    if (inBlock && line.trim() === '') {
      inBlock = false;
      continue;
    }
    if (inBlock) facts.push(...entries(line));
    else kept.push(line);
  }
  return { instructions: kept.join('\n'), facts };
}

function entries(text: string): Fact[] {
  return text
    .split(/;|\n/)
    .map((part) => part.trim().replace(/^[-*•]\s+/, ''))
    .filter(Boolean)
    .map((part) => {
      const pair = /^([\p{L}\p{N}' -]{1,40}?)\s*[:=]\s*(.+)$/u.exec(part);
      return pair?.[1] && pair[2]
        ? { key: pair[1].trim().toLowerCase(), value: pair[2].trim().replace(/[.!]+$/, '') }
        : { key: undefined, value: part };
    });
}

/** Whether a fact says its subject is no longer there to offer (sold, given away, gone). */
export function isGone(fact: Fact): boolean {
  return fact.key !== undefined && GONE.test(fact.value);
}

/** Whether `text` mentions the fact's subject (all of its words). */
export function mentions(fact: Fact, text: string): boolean {
  if (!fact.key) return false;
  const lower = text.toLowerCase();
  return fact.key
    .split(/\s+/)
    .every((word) => new RegExp(String.raw`\b${escapeRegExp(word)}(?:s|es)?\b`).test(lower));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The NPC's lore with the facts applied: a sentence about a subject a fact now decides is dropped,
 * except a list ("a lantern for 12 coins, a coil of rope for 4 coins and …"), which only loses the entry
 * naming that subject. Plain-sentence facts are added as lore.
 */
export function applyFacts(lore: readonly string[], facts: readonly Fact[]): string[] {
  const keyed = facts.filter((f) => f.key !== undefined);
  const out: string[] = [];
  for (const sentence of lore) {
    const about = keyed.filter(
      (f) =>
        mentions(f, sentence) &&
        (isList(sentence) ||
          (mentions(f, sentence.split(/\s+/).slice(0, 5).join(' ')) && STATE.test(sentence))),
    );
    if (about.length === 0) {
      out.push(sentence);
      continue;
    }
    const cut = withoutListEntries(sentence, about);
    if (cut) out.push(cut);
  }
  return out;
}

/** Words of a sentence about how things stand now (which a fact may change), not about history. */
const STATE =
  /\b(?:is|are|stays?) (?:shut|closed|open|locked|broken|lost|missing|gone|empty)\b|\b(?:broke|broken|lost|last one|left|need|needs|without|cannot|can't|sells?|shut)\b|\bfor \d+ coins?\b/i;

function isList(sentence: string): boolean {
  return sentence.split(/,\s*(?:and\s+)?|\s+and\s+/).length >= 3;
}

/** A list sentence without the entries that name one of the facts' subjects; undefined if nothing is left. */
function withoutListEntries(sentence: string, facts: readonly Fact[]): string | undefined {
  const body = sentence.replace(/[.!]+$/, '');
  const items = body.split(/,\s*(?:and\s+)?|\s+and\s+/);
  if (items.length < 3) return undefined;
  // The sentence's head ("My stall sells ") stays with whichever entry comes first.
  const head = /^(.*?\b)(?:a|an|the|one|some|\d+)\s/i.exec(items[0] ?? '')?.[1] ?? '';
  const first = (items[0] ?? '').slice(head.length);
  const kept = [first, ...items.slice(1)].filter((item) => !facts.some((f) => mentions(f, item)));
  if (kept.length === 0 || kept.length === items.length) return kept.length === 0 ? undefined : sentence;
  const list = kept.length === 1 ? kept[0] : `${kept.slice(0, -1).join(', ')} and ${kept[kept.length - 1]}`;
  return `${head}${list}.`;
}

/**
 * A fact as the NPC says it to the player: the game's "the traveller" is the player it is talking to, and
 * the NPC's own name is "me".
 *
 * @example
 * sayFact({ key: 'lantern', value: 'given to Odo by the traveller' }, 'Odo'); // 'The lantern was given to me by you.'
 */
export function sayFact(fact: Fact, name: string | undefined): string {
  const value = fact.value
    .replace(/\bthe (?:traveller|traveler|player|hero|stranger|visitor)\b/gi, 'you')
    .replace(name ? new RegExp(String.raw`\b${escapeRegExp(name)}\b`, 'g') : /$^/, 'me');
  if (!fact.key) return sentence(value);
  const subject = /^(?:the|a|an|my|your)\s/i.test(fact.key) ? fact.key : `the ${fact.key}`;
  const verb = /^(?:sold|given|taken|told|opened|closed|bought|lost|broken|found|done|paid)\b/i.test(value)
    ? 'was'
    : /^(?:is|are|was|were|has|have)\b/i.test(value)
      ? ''
      : 'is';
  return sentence(`${subject}${verb ? ` ${verb}` : ''} ${value}`);
}

function sentence(text: string): string {
  const trimmed = text.trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/** Plain-sentence facts, as lore lines. */
export function factSentences(facts: readonly Fact[]): string[] {
  return facts.filter((f) => f.key === undefined).flatMap((f) => splitSentences(f.value));
}
