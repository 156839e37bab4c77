/**
 * The offline model's whole "understanding" of English: words, crude stems, stop words, a few synonym
 * groups and numbers. Crude on purpose; it only has to notice which words of a player's line matter and
 * whether they overlap the NPC's instructions or a tool's description.
 */

/** One word of a text, with what matching needs. */
export interface Word {
  /** As written (for echoing it back). */
  readonly raw: string;
  readonly lower: string;
  /** Synonym-folded stem: what matching compares. */
  readonly key: string;
  /** Not a stop word. */
  readonly content: boolean;
  /** Position among the words of the text. */
  readonly index: number;
  /** Punctuation between the previous word and this one (e.g. `,` or `?`), trimmed. */
  readonly before: string;
}

const STOP_WORDS = new Set(
  `a an the and or but if then so of to in on at by for with from into onto about over under up down out off
  is are was were be been being am do does did done doing have has had having i me my mine myself you your
  yours yourself we us our ours he him his she her hers it its they them their theirs this that these those
  there here what which who whom whose when where why how can could will would shall should may might must
  across around near behind before after between without within along upon  please just really very too also not no nor yes yeah oh ah hm hmm well hey hi hello greetings hail howdy
  okay ok now some any all each every much many more most other such own same than as get got getting let
  lets make go going gone want wanted need like know tell say said says think see look bit thing things
  something anything nothing everything one ever again still even only maybe perhaps sure thanks thank
  bye goodbye farewell good morning evening afternoon day met cheers yo dear sir madam ma'am friend
  i'm you're it's that's what's don't can't won't isn't i'd i'll i've you'll you've im dont cant`.split(
    /\s+/,
  ),
);

/** Words that mean the same thing to a player asking for something; the first of each group is the key. */
const SYNONYM_GROUPS: ReadonlyArray<readonly string[]> = [
  // "Let me through", "passage": what a player asks of whoever keeps a door or gate.
  ['open', 'unlock', 'unbar', 'unseal', 'through', 'passage'],
  ['close', 'shut', 'lock'],
  ['buy', 'purchase', 'sell', 'trade', 'shop', 'barter', 'vend', 'wares'],
  ['give', 'hand', 'gift', 'lend', 'provide', 'spare'],
  ['attack', 'fight', 'strike', 'duel', 'battle'],
  ['heal', 'cure', 'mend', 'restore'],
  ['follow', 'accompany', 'escort', 'join'],
  ['show', 'reveal', 'display'],
  ['find', 'locate', 'search', 'seek'],
  ['price', 'cost', 'fee', 'charge', 'discount', 'cheap', 'cheaper', 'cheapest', 'expensive'],
  // Asking for work, a job or a way to help all ask for the same thing.
  ['quest', 'task', 'job', 'mission', 'errand', 'work', 'help', 'chore'],
  ['rumour', 'rumor', 'gossip', 'news', 'whisper', 'tidings'],
  ['choose', 'chose', 'chosen', 'pick', 'select'],
  ['found', 'founded', 'built', 'established', 'old', 'age'],
  ['travel', 'journey', 'ride', 'voyage'],
];

/**
 * Strips common English suffixes (plural, past, gerund, trailing e) so that `opens`, `opened`,
 * `opening` and `open`, or `gates` and `gate`, compare equal. Not a real stemmer; just consistent.
 */
export function stem(word: string): string {
  let w = word
    .toLowerCase()
    .replace(/['’]s$/, '')
    .replace(/['’]/g, '');
  if (w.length <= 3) return w;
  if (w.endsWith('ies') && w.length > 4) w = `${w.slice(0, -3)}y`;
  else if (/(?:ss|x|z|ch|sh)es$/.test(w)) w = w.slice(0, -2);
  else if (w.endsWith('s') && !/(?:ss|us|is)$/.test(w)) w = w.slice(0, -1);
  else if (w.endsWith('ing') && w.length > 5 && /[aeiouy]/.test(w.slice(0, -3))) w = undouble(w.slice(0, -3));
  else if (w.endsWith('ed') && w.length > 4 && !w.endsWith('eed')) w = undouble(w.slice(0, -2));
  if (w.endsWith('e') && w.length > 3) w = w.slice(0, -1);
  return w;
}

function undouble(w: string): string {
  return /([^aeioulsz])\1$/.test(w) ? w.slice(0, -1) : w;
}

const SYNONYMS: ReadonlyMap<string, string> = new Map(
  SYNONYM_GROUPS.flatMap((group) => group.map((member) => [stem(member), stem(group[0] ?? member)] as const)),
);

/** The matching key of a word: its stem, folded onto its synonym group. */
export function keyOf(word: string): string {
  const stemmed = stem(word);
  return SYNONYMS.get(stemmed) ?? stemmed;
}

/** Whether a (lowercase) word carries no meaning of its own for matching. */
export function isStopWord(lower: string): boolean {
  return STOP_WORDS.has(lower.replace(/’/g, "'"));
}

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu;

/**
 * Splits text into words, keeping the punctuation between them so callers can find phrase boundaries.
 *
 * @example
 * words('Open the gate, please!').filter((w) => w.content).map((w) => w.key); // ['open', 'gat']
 */
export function words(text: string): Word[] {
  const out: Word[] = [];
  let last = 0;
  for (const match of text.matchAll(WORD)) {
    const raw = match[0];
    const lower = raw.toLowerCase();
    out.push({
      raw,
      lower,
      key: keyOf(raw),
      content: !isStopWord(lower),
      index: out.length,
      before: text.slice(last, match.index).trim(),
    });
    last = match.index + raw.length;
  }
  return out;
}

/** The set of matching keys of the content words of `text`. */
export function contentKeys(text: string): Set<string> {
  return new Set(
    words(text)
      .filter((w) => w.content)
      .map((w) => w.key),
  );
}

/** Splits an identifier (`give_item`, `openGate`, `set-mood`) into lowercase words. */
export function identifierWords(identifier: string): string[] {
  return identifier
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part.toLowerCase());
}

const NUMBER_WORDS: ReadonlyMap<string, number> = new Map([
  ['zero', 0],
  ['one', 1],
  ['single', 1],
  ['two', 2],
  ['couple', 2],
  ['pair', 2],
  ['three', 3],
  ['few', 3],
  ['four', 4],
  ['five', 5],
  ['six', 6],
  ['seven', 7],
  ['eight', 8],
  ['nine', 9],
  ['ten', 10],
  ['eleven', 11],
  ['twelve', 12],
  ['dozen', 12],
  ['twenty', 20],
  ['fifty', 50],
  ['hundred', 100],
]);

/**
 * Numbers in order of appearance, from digits (`3`, `2.5`, `-4`) and small number words
 * (`two`, `a dozen`).
 *
 * @example
 * numbers('Sell me 3 apples and two pears'); // [3, 2]
 */
export function numbers(text: string): number[] {
  const out: number[] = [];
  for (const match of text.matchAll(/-?\d+(?:\.\d+)?|[\p{L}]+/gu)) {
    const token = match[0];
    if (/\d/.test(token)) out.push(Number(token));
    else {
      const value = NUMBER_WORDS.get(token.toLowerCase());
      if (value !== undefined) out.push(value);
    }
  }
  return out;
}

/** Text the player put in quotes ("…", “…”, or '…' standing apart from apostrophes), in order. */
export function quoted(text: string): string[] {
  const out: string[] = [];
  for (const match of text.matchAll(/"([^"]+)"|“([^”]+)”|(?<![\p{L}\p{N}])'([^']+)'(?![\p{L}\p{N}])/gu)) {
    const value = (match[1] ?? match[2] ?? match[3] ?? '').trim();
    if (value) out.push(value);
  }
  return out;
}

/** Upper-cases the first letter. */
export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Ends `text` with sentence punctuation unless it already has some. */
export function asSentence(text: string): string {
  const trimmed = text.trim();
  if (!trimmed) return trimmed;
  return /[.!?…]["'”’)]?$/.test(trimmed) ? capitalize(trimmed) : `${capitalize(trimmed)}.`;
}

/** The values without repeats, in first-seen order. */
export function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
