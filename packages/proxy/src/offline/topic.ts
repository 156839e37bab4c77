import type { Word } from './words.js';

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
