/**
 * The `file_search` tool as the offline model uses it (see docs/decisions/0012-file-search-in-runs.md, "The contract with the model"):
 * the proxy offers it as a function tool, the model calls it with the player's question as `query`, and
 * answers from the passages the proxy sends back, citing the passage it used by its marker.
 */
import type {
  ChatCompletionTool,
  ChatCompletionToolChoiceOption,
  ChatCompletionToolMessageParam,
} from 'openai/resources/chat/completions';
import { type Act, asksForWork, readAct } from './acts.js';
import { type Fact, mentions } from './facts.js';
import { asksAboutPlayer } from './memory-note.js';
import { splitSentences } from './persona.js';
import { readLineIntents } from './small-talk.js';
import type { AddPart, Speaker } from './speaker.js';
import type { PlannedCall } from './tool-decisions.js';
import { asksAdvice, loreScore, sayOnce } from './topic-answers.js';
import { asSentence, capitalize, contentKeys } from './words.js';

/** The function name the proxy gives the tool. */
export const FILE_SEARCH = 'file_search';

/** How the proxy's tool result opens when it found passages, and the whole of it when it found none. */
const PASSAGES_HEADER = 'Passages from the knowledge files.';
const NO_PASSAGE = /^No passage in the knowledge files matches\b/;
/** One passage line: `【0†chronicle.md】 text`. */
const PASSAGE_LINE = /^【(\d+)†([^】]+)】\s*(.*)$/;

/** One passage of a `file_search` result, with the marker that cites it. */
export interface Passage {
  /** Rank in the search, from 0 (best). */
  readonly index: number;
  readonly filename: string;
  readonly text: string;
  /** `【index†filename】`, written right after the sentence that uses the passage. */
  readonly marker: string;
}

/** Whether the request offers a function tool named `file_search` that `tool_choice` lets the model call. */
export function offersFileSearch(
  tools: readonly ChatCompletionTool[] | null | undefined,
  choice: ChatCompletionToolChoiceOption | null | undefined,
): boolean {
  const offered = (tools ?? []).some((t) => t.type === 'function' && t.function.name === FILE_SEARCH);
  if (!offered || choice === 'none') return false;
  if (typeof choice !== 'object' || choice === null) return true;
  if (choice.type === 'function') return choice.function.name === FILE_SEARCH;
  if (choice.type === 'allowed_tools')
    return choice.allowed_tools.tools.some((entry) => {
      const fn = entry['function'];
      return typeof fn === 'object' && fn !== null && (fn as { name?: unknown }).name === FILE_SEARCH;
    });
  return false;
}

/** "Tell me…", "I'd like to know…": a line that asks to be told something without a question mark. */
const ASKS_TO_BE_TOLD =
  /\b(?:tell me|i(?: want| would like|['’]d like| wish) to (?:know|hear|learn)|i wonder|do you know|teach me)\b/i;

/**
 * Whether the player's line is a question about the world worth looking up: a question or a request to be
 * told something, about something (not "who are you", "how are you", "what should I do now", "any work?",
 * the NPC itself or the player, a threat, or a thing the game's facts already settle).
 */
export function asksToLookUp(
  userText: string,
  s: Pick<Speaker, 'persona'>,
  facts: readonly Fact[],
  act: Act = readAct(userText),
): boolean {
  const intents = readLineIntents(userText, s.persona);
  if (!intents.question && !ASKS_TO_BE_TOLD.test(userText)) return false;
  if (intents.identity || intents.role || intents.mood || act === 'hostile') return false;
  if (asksAdvice(userText) || asksForWork(userText)) return false;
  if (asksAboutPlayer(userText) || asksAboutNpc(userText)) return false;
  if (facts.some((f) => mentions(f, userText))) return false;
  const keys = contentKeys(userText);
  for (const own of contentKeys(s.persona.name ?? '')) keys.delete(own);
  return keys.size > 0;
}

/**
 * "Do you have a lantern?", "What do you study?": a question about the NPC itself, which it answers from
 * what it is, not from the books. "Can you tell me…" and "Do you know…" are only courtesy.
 */
function asksAboutNpc(userText: string): boolean {
  const rest = userText.replace(
    /\b(?:(?:can|could|would|will) you (?:please )?(?:tell|explain|describe|say|show)|do you know|have you heard|you know)\b/gi,
    ' ',
  );
  return /\b(?:you|your|yours|yourself)\b/i.test(rest);
}

/** The call the model makes: the player's line, as they said it, is the query. */
export function searchCall(userText: string): PlannedCall {
  return { name: FILE_SEARCH, arguments: JSON.stringify({ query: userText.trim() }) };
}

/** Whether a tool message is a `file_search` result: by the call it answers, or by its shape. */
export function isSearchResult(
  result: ChatCompletionToolMessageParam,
  callName: string | undefined,
): boolean {
  if (callName !== undefined) return callName === FILE_SEARCH;
  const text = typeof result.content === 'string' ? result.content : '';
  return text.startsWith(PASSAGES_HEADER) || NO_PASSAGE.test(text);
}

/** The passages of a `file_search` result; none for "No passage … matches". */
export function readPassages(text: string): Passage[] {
  const out: Passage[] = [];
  for (const line of text.split('\n')) {
    const match = PASSAGE_LINE.exec(line.trim());
    if (!match?.[3]) continue;
    const [, index = '0', filename = ''] = match;
    out.push({ index: Number(index), filename, text: match[3], marker: `【${index}†${filename}】` });
  }
  return out;
}

/** The sentence of the passages that answers the line, and the passage it came from. */
export interface Citation {
  readonly sentence: string;
  readonly passage: Passage;
  /** How many of the line's words the sentence shares. */
  readonly score: number;
}

/**
 * The sentence of the passages with the most words in common with the player's line; on a tie one not
 * said yet in this conversation, then the better-ranked passage, then the earlier sentence. None when no
 * sentence shares a word with the line: a passage about something else is no answer, and an NPC quoting
 * it would talk past the player.
 */
export function bestCitation(
  userText: string,
  passages: readonly Passage[],
  s: Pick<Speaker, 'isFresh' | 'persona'>,
): Citation | undefined {
  const keys = contentKeys(userText);
  for (const own of contentKeys(s.persona.name ?? '')) keys.delete(own);
  let best: (Citation & { score: number; fresh: boolean; rank: number }) | undefined;
  for (const passage of passages) {
    for (const sentence of splitSentences(plainText(passage.text))) {
      const score = [...contentKeys(sentence)].filter((k) => keys.has(k)).length;
      if (score === 0) continue;
      const fresh = s.isFresh(sentence);
      const better =
        !best ||
        score > best.score ||
        (score === best.score && fresh && !best.fresh) ||
        (score === best.score && fresh === best.fresh && passage.index < best.rank);
      if (better) best = { sentence: asSentence(sentence), passage, score, fresh, rank: passage.index };
    }
  }
  return best && { sentence: best.sentence, passage: best.passage, score: best.score };
}

/**
 * The answer to a line the model looked up: the best sentence of the passages with its marker right after
 * it (the topic named first, "The mill? …", when the sentence does not say it). Returns whether a passage
 * answered; when none did, or the NPC's own lore shares more words with the line, it answers from what it
 * knows itself, or says it does not know.
 */
export function addCitedAnswer(
  userText: string,
  passages: readonly Passage[],
  topic: string | undefined,
  s: Speaker,
  add: AddPart,
): boolean {
  const cited = bestCitation(userText, passages, s);
  // The NPC's own knowledge answers better: a passage that merely shares a word is no better an answer.
  if (!cited || cited.score < loreScore(userText, s)) return false;
  const { sentence, passage } = cited;
  const fresh = s.isFresh(sentence);
  const echo =
    fresh &&
    topic !== undefined &&
    topic.split(' ').length <= 2 &&
    !sentence.toLowerCase().includes(topic.toLowerCase());
  const said = fresh ? sentence : sayOnce(s, sentence);
  add(`${echo ? `${capitalize(topic)}? ` : ''}${said}${passage.marker}`, 0);
  return true;
}

/** Passage text without the Markdown marks a knowledge file may carry (`# Heading`, `**bold**`, `> quote`). */
function plainText(text: string): string {
  return text
    .replace(/(^|\s)(?:#{1,6}|>|[-*+])\s+/g, '$1')
    .replace(/(\*\*|__|`)/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}
