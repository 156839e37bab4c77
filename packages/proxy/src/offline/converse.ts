import { addCitedAnswer, type Passage } from './file-search.js';
import { addPlayerRecall, asksAboutPlayer } from './memory-note.js';
import { addClosing, addSmallTalk, readLineIntents } from './small-talk.js';
import { type AddPart, keepBest, type Part, type Speaker } from './speaker.js';
import { findTopic } from './topic.js';
import { addToolShortfall, addTopicAnswer, addUnanswered } from './topic-answers.js';
import { words } from './words.js';

/**
 * The NPC's answer to the player's latest line when no game tool result is waiting: small talk first, then
 * what the tools could not do, else an answer about the line's topic (from `passages` when the model looked
 * the line up with `file_search`), then a closing; cut to as many sentences as the NPC's manner allows.
 */
export function converse(userText: string, s: Speaker, passages?: readonly Passage[]): string {
  const intents = readLineIntents(userText, s.persona);
  const found = findTopic(words(userText), s.properNouns);
  // The NPC's own name is who the player talks to, not what about.
  const topic = found && found.toLowerCase() === s.persona.name?.toLowerCase() ? undefined : found;
  const opening = userText.trim() === '';
  const parts: Part[] = [];
  const add: AddPart = (text, rank) => {
    if (text) parts.push({ text, rank });
  };

  addSmallTalk(userText, intents, opening, s, add);
  let answered = addToolShortfall(s, add);
  if (!answered && !passages && asksAboutPlayer(userText)) {
    addPlayerRecall(s, add);
    answered = true;
  }
  if (!answered && passages) answered = addCitedAnswer(userText, passages, topic, s, add);
  // Nothing in the knowledge files: what the NPC knows itself still answers, else it says it does not know.
  if (!answered && s.act !== 'hostile' && !intents.farewell)
    answered = addTopicAnswer(userText, intents, topic, s, add);
  if (!answered && passages) add(s.say(s.lines.unsure, { topic }), 0);
  else if (!answered) addUnanswered(intents, topic, s, add);
  addClosing(intents, opening, parts, s, add);
  return keepBest(parts, s.voice.sentences);
}
