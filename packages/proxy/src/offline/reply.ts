import type {
  ChatCompletionCreateParams,
  ChatCompletionMessageParam,
  ChatCompletionToolMessageParam,
} from 'openai/resources/chat/completions';
import { readAct } from './acts.js';
import { converse } from './converse.js';
import { readFacts } from './facts.js';
import {
  asksToLookUp,
  FILE_SEARCH,
  isSearchResult,
  offersFileSearch,
  readPassages,
  searchCall,
} from './file-search.js';
import { splitMemoryNote } from './memory-note.js';
import { findLastIndex, functionCalls, messageText, trailingToolResults } from './messages.js';
import { parsePersona } from './persona.js';
import { hash32, mulberry32 } from './random.js';
import { createSpeaker, type Speaker } from './speaker.js';
import { type PlannedCall, planTools, type ToolPlan } from './tool-decisions.js';
import { reportToolResults } from './tool-results.js';

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
  // What the NPC remembers of lines no longer shown is not who it is: the note never becomes lore.
  const { text: sheet, note } = splitMemoryNote(system);
  // The game's facts overrule the instructions, and are never read as the NPC's own lore.
  const { instructions, facts } = readFacts(sheet);
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

  const tools = Array.isArray(request.tools) ? request.tools : undefined;
  const canSearch = offersFileSearch(tools, choice) && !calledThisTurn.has(FILE_SEARCH);
  let plan: ToolPlan = { calls: [] };
  if (results.length === 0 || forced) {
    plan = planTools({
      tools,
      toolChoice: choice,
      parallel: request.parallel_tool_calls,
      userText,
      // file_search is the proxy's lookup, not a game action: words never pick it like a game tool.
      exclude: new Set([...calledThisTurn, FILE_SEARCH]),
      act,
      instructions,
      context: earlier,
      facts,
    });
    if (plan.calls.length > 0) return { kind: 'tool_calls', calls: plan.calls };
    const wanted =
      !plan.missing && !plan.blocked && (forced || asksToLookUp(userText, { persona }, facts, act));
    if (canSearch && wanted) return { kind: 'tool_calls', calls: [searchCall(userText)] };
  }

  const temperature = typeof request.temperature === 'number' ? request.temperature : 1;
  const rng = mulberry32(
    hash32(seed, temperature, JSON.stringify(messages), JSON.stringify(request.tools ?? [])),
  );
  const speaker = createSpeaker({
    messages,
    instructions,
    facts,
    persona,
    plan,
    act,
    rng,
    temperature,
    rememberedName: note.playerName,
  });
  const text = answer(userText, results, messages, speaker);
  return { kind: 'text', text };
}

/**
 * What the NPC says once no more calls are wanted: an answer from the passages when a `file_search` result
 * is waiting, a report when game tool results are, else its answer to the player's line.
 */
function answer(
  userText: string,
  results: readonly ChatCompletionToolMessageParam[],
  messages: readonly ChatCompletionMessageParam[],
  speaker: Speaker,
): string {
  if (results.length === 0) return converse(userText, speaker);
  const callNames = new Map(messages.flatMap((m) => functionCalls(m).map((c) => [c.id, c.name] as const)));
  const searches = results.filter((r) => isSearchResult(r, callNames.get(r.tool_call_id)));
  if (searches.length === 0) return reportToolResults(results, messages, speaker);
  const passages = searches.flatMap((r) => readPassages(messageText(r)));
  const others = results.filter((r) => !searches.includes(r));
  const cited = converse(userText, speaker, passages);
  return others.length > 0 ? `${cited} ${reportToolResults(others, messages, speaker)}` : cited;
}
