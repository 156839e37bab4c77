/**
 * The long-memory note as the offline model reads it. When a conversation outgrows its context budget the
 * proxy drops the oldest lines and appends to the system message what mattered in them (turns/memory.ts):
 *
 * ```
 * Earlier in this conversation (older lines are no longer shown), you learned:
 * - The player's name is Ada.
 * - The player promised: "I'll bring your lantern back."
 * ```
 *
 * The note is what the NPC remembers, not who it is: it is taken out of the instructions before they are
 * read as the NPC's persona and lore, and the player's name in it is used like a name told in the visible
 * lines.
 */
import type { AddPart, Speaker } from './speaker.js';

/** What the note says about the player, and its lines as written. */
export interface MemoryNote {
  /** The player's name, when the note gives it ("The player's name is Ada.", "The player is Ada."). */
  readonly playerName: string | undefined;
  readonly lines: readonly string[];
}

/** The note's opening line; the note runs from there to the next blank line or the end. */
const HEADER = /^Earlier in this conversation\b[^\n]*:[ \t]*$/;
const NAME =
  /\bplayer(?:['’]s name is| is called| is named| calls (?:themselves|himself|herself)| is) (\p{Lu}[\p{L}'’-]{1,30})\b/u;

/**
 * Splits the memory note off the system text: `text` is the rest (instructions and facts), `note` what
 * the NPC learned in lines no longer shown.
 *
 * @example
 * splitMemoryNote('You are Brom.\n\nEarlier in this conversation (…), you learned:\n- The player\'s name is Ada.');
 * // { text: 'You are Brom.', note: { playerName: 'Ada', lines: ["The player's name is Ada."] } }
 */
export function splitMemoryNote(system: string): { text: string; note: MemoryNote } {
  const paragraphs = system.split(/\n[ \t]*\n/);
  const at = paragraphs.findIndex((p) => HEADER.test(p.split('\n')[0]?.trim() ?? ''));
  if (at < 0) return { text: system, note: { playerName: undefined, lines: [] } };
  const lines = (paragraphs[at] ?? '')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().replace(/^[-*•]\s*/, ''))
    .filter(Boolean);
  const playerName = lines.map((line) => NAME.exec(line)?.[1]).find((name) => name !== undefined);
  const text = paragraphs.filter((_, i) => i !== at).join('\n\n');
  return { text, note: { playerName, lines } };
}

/** "What's my name?", "Do you remember me?", "Who am I?": the player asks what the NPC knows of them. */
export function asksAboutPlayer(userText: string): boolean {
  return /\b(?:what(?:['’]s| is| was) my name|(?:know|remember|recall) (?:me|my name|who i am)|who am i|say my name|you know my name)\b/i.test(
    userText,
  );
}

/**
 * The answer to "What's my name?" and the like: the name, in the NPC's manner, or that the player never
 * gave one.
 */
export function addPlayerRecall(s: Speaker, add: AddPart): void {
  const name = s.playerName;
  const terse = s.persona.style === 'terse';
  if (name)
    add(
      s.say(
        terse
          ? [`${name}.`, `You're ${name}.`]
          : [`You're ${name}.`, `You told me yourself: ${name}.`, `${name}, if memory serves.`],
      ),
      0,
    );
  else
    add(
      s.say(
        terse
          ? ['Never said your name.', "Didn't catch your name."]
          : ["You haven't told me your name yet.", "I don't believe you ever told me your name."],
      ),
      0,
    );
}
