/**
 * Reads who the NPC is from its instructions (the system/developer messages): a name, a role, a manner
 * of speaking, and the lore sentences it may repeat as its own knowledge. Game writers phrase these in a
 * handful of ways ("You are Brom, the gruff gate guard…", "Your name is Mira.", "Odo is a scholar…");
 * anything not understood simply leaves a field empty and the NPC speaks plainly.
 */

/** How the NPC talks; picks its phrasings and how much it says. */
export type Style = 'neutral' | 'terse' | 'cheerful' | 'formal' | 'scholarly';

/** What the offline model knows about the NPC it plays. */
export interface Persona {
  readonly name: string | undefined;
  /** With its article, style words removed: "the gate guard of Eastwatch", "a baker". */
  readonly role: string | undefined;
  readonly style: Style;
  /** Instruction sentences turned into first-person statements the NPC can make. */
  readonly lore: readonly string[];
}

/** Word beginnings that signal a manner of speaking; earlier styles win ties. */
const STYLE_CUES: ReadonlyArray<readonly [Style, readonly string[]]> = [
  [
    'terse',
    [
      'gruff',
      'terse',
      'curt',
      'blunt',
      'brusque',
      'laconic',
      'taciturn',
      'grump',
      'stern',
      'surly',
      'impatient',
    ],
  ],
  [
    'cheerful',
    ['cheer', 'friendly', 'warm', 'bubbl', 'jolly', 'merry', 'kind', 'upbeat', 'enthusias', 'chatty', 'happ'],
  ],
  [
    'formal',
    ['formal', 'polite', 'courteous', 'noble', 'regal', 'dignified', 'refined', 'stately', 'elegant'],
  ],
  [
    'scholarly',
    ['scholar', 'learned', 'wise', 'sage', 'erudite', 'academic', 'bookish', 'verbose', 'studious'],
  ],
];

const NAME_WORD = String.raw`[A-Z][\p{L}'’-]*`;
const NAME = String.raw`${NAME_WORD}(?:\s+${NAME_WORD}){0,2}`;
/** Capitalised words that start sentences but are not names. */
const NOT_NAMES = new Set([
  'A',
  'An',
  'The',
  'This',
  'That',
  'You',
  'Your',
  'I',
  'It',
  'There',
  'He',
  'She',
  'They',
]);
/** Roles that describe the chat setup rather than the character. */
const META_ROLE = /\b(?:npc|character|assistant|ai|bot|chatbot|model|game|helpful)\b/i;

const DIRECTIVE_START =
  /^(?:speak|talk|keep|never|always|do|don['’]t|respond|reply|answer|use|stay|be|avoid|only|call|if|when|write|act|play|role-?play|pretend|limit|refuse|remain|ask|address|greet|mention|say|describe|give|note|remember to)\b/i;
const DIRECTIVE_YOU =
  /^you\s+(?:speak|talk|sound|answer|reply|respond|must|should|will|never|always|only|may|can|cannot|can['’]t)\b/i;
const META_WORDS =
  /\b(?:player|user|tool|tools|function|json|assistant|npc|in character|sentences?|role-?play|ai|words?|the game)\b|\b\w+_\w+\b/i;

/**
 * Builds the persona from the NPC's instructions.
 *
 * @example
 * const brom = parsePersona('You are Brom, the gruff gate guard of Eastwatch. The gate closes at dusk.');
 * brom.name; // 'Brom'
 * brom.role; // 'the gate guard of Eastwatch'
 * brom.style; // 'terse'
 * brom.lore; // ['The gate closes at dusk.']
 */
export function parsePersona(instructions: string): Persona {
  const sentences = splitSentences(instructions);
  const style = readStyle(instructions);
  let name: string | undefined;
  let role: string | undefined;
  let thirdPerson = false;
  const personaSentences = new Set<number>();

  sentences.forEach((sentence, index) => {
    const before = `${name}|${role}`;
    const addressed = /\byou(?:r|['’]re)?\b/i.test(sentence);
    const youAre = YOU_ARE_NAME.exec(sentence);
    if (!name && youAre?.[1] && !NOT_NAMES.has(firstWord(youAre[1]))) {
      name = youAre[1];
      role ??= rolePhrase(/^\s*[,—–-]?\s*(a|an|the)\s+(.*)$/i.exec(youAre[2] ?? ''));
    }
    const called = CALLED.exec(sentence);
    if (!name && addressed && called?.[1] && !NOT_NAMES.has(firstWord(called[1]))) name = called[1];
    const youAreA = /\b(?:you\s+are|you['’]re|you\s+play)\s+(a|an|the)\s+(.*)$/i.exec(sentence);
    if (!role && youAreA) role = rolePhrase(youAreA);
    const third = index === 0 && !name ? THIRD_PERSON.exec(sentence) : null;
    if (third?.[1] && !NOT_NAMES.has(firstWord(third[1]))) {
      name = third[1];
      role ??= rolePhrase([third[0], third[2] ?? 'a', third[3] ?? '']);
      thirdPerson = true;
    }
    if (`${name}|${role}` !== before) personaSentences.add(index);
  });

  const lore = sentences
    .filter((s, i) => !personaSentences.has(i) && isLore(s))
    .map((s) => toFirstPerson(thirdPerson && name ? thirdToFirstPerson(s, name) : s));
  return { name, role, style, lore };
}

/** "You are Brom, …", "You're Captain Ilsa Varn of …": the capitalised words after the trigger. */
const YOU_ARE_NAME = new RegExp(
  String.raw`\b(?:[Yy]ou\s+are|[Yy]ou['’]re|[Yy]ou\s+play|[Aa]ct\s+as|[Rr]ole-?play\s+as)\s+(?:(?:called|named)\s+)?(${NAME})(.*)$`,
  'u',
);
/** "Your name is Mira", "a baker named Mira". */
const CALLED = new RegExp(
  String.raw`\b(?:[Yy]our\s+name\s+is|named|called|[Gg]o(?:es)?\s+by)\s+(${NAME})`,
  'u',
);
/** "Odo is a scholar of the old tongue." opening the instructions. */
const THIRD_PERSON = new RegExp(String.raw`^(${NAME})\s+is\s+(a|an|the)\s+(.*)$`, 'u');

/** Instructions written about the NPC ("He keeps the library.") become its own words ("I keep the library."). */
function thirdToFirstPerson(sentence: string, name: string): string {
  const subject = new RegExp(String.raw`^(?:${name}|He|She)\s+(\p{L}+)`, 'u').exec(sentence);
  let out = sentence;
  if (subject?.[1]) out = `I ${baseVerb(subject[1])}${sentence.slice(subject[0].length)}`;
  const possessive = subject && /^She\b/.test(sentence) ? /\bher\b/g : /\bhis\b/g;
  if (subject) out = out.replace(possessive, 'my');
  return out.replace(new RegExp(String.raw`\b${name}['’]s\b`, 'g'), 'my');
}

function baseVerb(verb: string): string {
  const irregular: Record<string, string> = { is: 'am', has: 'have', does: 'do', goes: 'go', was: 'was' };
  const lower = verb.toLowerCase();
  if (irregular[lower]) return irregular[lower];
  if (/ies$/.test(lower)) return `${lower.slice(0, -3)}y`;
  if (/(?:ss|sh|ch|x|z|o)es$/.test(lower)) return lower.slice(0, -2);
  if (/[^s]s$/.test(lower)) return lower.slice(0, -1);
  return lower;
}

function firstWord(text: string): string {
  return text.split(/\s+/)[0] ?? '';
}

/** Sentences of the instructions, trimmed, in order. */
export function splitSentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+|\n+/)
    .map((s) => s.trim().replace(/^[-*•]\s+/, ''))
    .filter(Boolean);
}

function readStyle(instructions: string): Style {
  const lowerWords = instructions.toLowerCase().match(/\p{L}+/gu) ?? [];
  let best: Style = 'neutral';
  let bestHits = 0;
  for (const [style, cues] of STYLE_CUES) {
    const hits = lowerWords.filter((w) => cues.some((cue) => w.startsWith(cue))).length;
    if (hits > bestHits) {
      best = style;
      bestHits = hits;
    }
  }
  return best;
}

function isStyleWord(word: string): boolean {
  const lower = word.toLowerCase();
  return STYLE_CUES.some(([, cues]) => cues.some((cue) => lower.startsWith(cue)));
}

/** "the gruff gate guard of Eastwatch, who…" → "the gate guard of Eastwatch". */
function rolePhrase(
  match: readonly [string, string?, string?, ...unknown[]] | RegExpExecArray | null,
): string | undefined {
  if (!match) return undefined;
  const article = (match[1] ?? 'a').toLowerCase();
  const body = (match[2] ?? '')
    .split(/[.,;:!?()—–]|\s(?:who|that|which|named|called|and|but|with|whose)\s/i)[0]
    ?.split(/\s+/)
    .filter(Boolean)
    // Drop manner words that modify the next word ("gruff gate guard"), never the head noun ("scholar of").
    .filter(
      (w, i, all) =>
        !(isStyleWord(w) || /^(?:very|rather|quite|somewhat)$/i.test(w)) ||
        i === all.length - 1 ||
        /^(?:of|in|from|at|for|to|with|on)$/i.test(all[i + 1] ?? ''),
    )
    .slice(0, 8)
    .join(' ');
  if (!body || META_ROLE.test(body)) return undefined;
  if (article === 'the') return `the ${body}`;
  return `${/^[aeiou]/i.test(body) ? 'an' : 'a'} ${body}`;
}

function isLore(sentence: string): boolean {
  if (sentence.split(/\s+/).length < 3) return false;
  return !DIRECTIVE_START.test(sentence) && !DIRECTIVE_YOU.test(sentence) && !META_WORDS.test(sentence);
}

const SUBJECT_BEFORE = new Set([
  '',
  'and',
  'but',
  'or',
  'that',
  'because',
  'when',
  'if',
  'so',
  'where',
  'while',
  'unless',
  'although',
  'since',
  'as',
  'then',
  'once',
]);

/**
 * Turns an instruction written to the NPC into something the NPC says: "You guard the east gate." →
 * "I guard the east gate."; "The mayor pays you." → "The mayor pays me.". A pronoun after a conjunction,
 * a comma or at the start is taken as the subject.
 *
 * @example
 * toFirstPerson("You lost your brother in the war, and you're still angry."); // "I lost my brother in the war, and I'm still angry."
 */
export function toFirstPerson(sentence: string): string {
  return sentence.replace(
    /\b(?:you['’](?:re|ve|ll|d)|you\s+(?:are|were)|yourself|yours|your|you)\b/giu,
    (pronoun: string, offset: number) => {
      const before = sentence.slice(0, offset);
      const previous = /(\p{L}*)([^\p{L}]*)$/u.exec(before);
      const subject =
        SUBJECT_BEFORE.has((previous?.[1] ?? '').toLowerCase()) || /[,;:]/.test(previous?.[2] ?? '');
      const lower = pronoun.toLowerCase().replace(/\s+/g, ' ').replace('’', "'");
      const swapped = FIRST_PERSON[lower] ?? (subject ? 'I' : 'me');
      return before.trim() === '' ? swapped.charAt(0).toUpperCase() + swapped.slice(1) : swapped;
    },
  );
}

const FIRST_PERSON: Readonly<Record<string, string>> = {
  "you're": "I'm",
  "you've": "I've",
  "you'll": "I'll",
  "you'd": "I'd",
  'you are': 'I am',
  'you were': 'I was',
  yourself: 'myself',
  yours: 'mine',
  your: 'my',
};
