import type { Persona } from './persona.js';
import type { AddPart, Part, Speaker } from './speaker.js';
import { capitalize } from './words.js';

/** What the player's line does socially; `question` also marks a line that wants something told. */
export interface Intents {
  readonly greeting: boolean;
  readonly farewell: boolean;
  readonly thanks: boolean;
  readonly identity: boolean;
  readonly role: boolean;
  readonly mood: boolean;
  readonly question: boolean;
}

/**
 * The line's intents, with "Are you the guard?" (the NPC's name or role after "are you") read as asking
 * who the NPC is.
 */
export function readLineIntents(userText: string, persona: Persona): Intents {
  const base = readIntents(userText);
  const asksWho =
    /\bare you\b/i.test(userText) &&
    [persona.name, persona.role && withoutArticle(persona.role)].some(
      (word) => word && userText.toLowerCase().includes(word.toLowerCase().split(' ').pop() ?? '-'),
    );
  return asksWho ? { ...base, identity: true } : base;
}

/** Whether the line is small talk: a greeting, goodbye, thanks, or a question about the NPC itself. */
export function isSocial(intents: Intents): boolean {
  return (
    intents.greeting || intents.farewell || intents.thanks || intents.identity || intents.role || intents.mood
  );
}

/** The line's intents from its words alone (see {@link readLineIntents} for the NPC-aware reading). */
export function readIntents(text: string): Intents {
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

/**
 * The small-talk sentences of a reply: a greeting when the conversation opens (or the player greets),
 * who the NPC is or what it does when asked, the player's name when they give it, and answers to a
 * threat, "how are you" and thanks.
 */
export function addSmallTalk(
  userText: string,
  intents: Intents,
  opening: boolean,
  s: Speaker,
  add: AddPart,
): void {
  const { lines } = s;
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
}

/**
 * How a reply ends: a goodbye to a goodbye, an offer of help when the reply would otherwise say (next to)
 * nothing, or after a greeting an offer not made yet.
 */
export function addClosing(
  intents: Intents,
  opening: boolean,
  parts: readonly Part[],
  s: Speaker,
  add: AddPart,
): void {
  const { lines } = s;
  if (intents.farewell) add(s.say(lines.bye), 0);
  else if (parts.length === 0 || (parts.length === 1 && s.first && parts[0]?.rank === 1))
    add(s.say(s.first ? lines.offer : [...lines.smallTalk, ...lines.offer]), 0);
  else if ((intents.greeting || opening) && s.isFresh(s.say(lines.offer))) add(s.say(lines.offer), 4);
}

/** "I'm Brom, the gate guard of …", for saying who it is a second time. */
function selfClause(s: Speaker): string {
  const { name, role } = s.persona;
  if (name && role) return `I'm ${name}, ${role}`;
  return name ? `I'm ${name}` : role ? `I'm ${role}` : 'I told you who I am';
}

function withoutArticle(role: string): string {
  return role.replace(/^(?:the|a|an)\s+/i, '');
}

/** Who the NPC is, in its manner ("Brom. Gate guard." or "I am Odo, the scholar."). */
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

/** What the NPC does, in its manner ("Gate guard." or "I'm the gate guard of Eastwatch."). */
function describeRole(s: Speaker): string {
  const { role, style } = s.persona;
  if (!role) return style === 'terse' ? 'This and that.' : 'A little of this, a little of that.';
  if (style === 'terse') return `${capitalize(withoutArticle(role))}.`;
  return `${style === 'formal' || style === 'scholarly' ? 'I am' : "I'm"} ${role}.`;
}
