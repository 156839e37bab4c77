import type { Style } from './persona.js';

/** At least one phrasing. */
export type Phrases = readonly [string, ...string[]];

/**
 * One manner of speaking: a few phrasings per conversational move. Templates may use `{topic}` /
 * `{Topic}` (what the player talked about) and `{address}` (how the NPC addresses the player).
 */
export interface Voice {
  readonly hello: Phrases;
  readonly address: Phrases;
  readonly offer: Phrases;
  readonly bye: Phrases;
  readonly welcome: Phrases;
  readonly mood: Phrases;
  /** Answer to a question the NPC has no knowledge about. */
  readonly unsure: Phrases;
  /** Reaction to a statement the NPC has no knowledge about. */
  readonly note: Phrases;
  /** Opens the report of a tool call that worked. */
  readonly done: Phrases;
  /** Opens the report of a tool call that failed or was refused. */
  readonly refuse: Phrases;
  /** How many sentences the NPC says at most: terse NPCs say less. */
  readonly sentences: number;
}

/**
 * The whole phrase table. Deliberately small: the replies get their variety from the player's own words
 * and the NPC's instructions, not from canned lines.
 */
export const VOICES: Readonly<Record<Style, Voice>> = {
  neutral: {
    hello: ['Hello', 'Well met', 'Greetings'],
    address: ['traveler', 'friend'],
    offer: ['What can I do for you?', 'What brings you here?'],
    bye: ['Safe travels, {address}.', 'Farewell, {address}.'],
    welcome: ["You're welcome.", 'Glad to help.'],
    mood: ['Well enough, thank you.', "Can't complain."],
    unsure: ["I can't say I know much about {topic}.", 'Hard to say. {Topic} is not something I know well.'],
    note: ["{Topic}, you say? I'll keep that in mind.", 'Is that so? {Topic}, hm.'],
    done: ['Done.', 'There we are.'],
    refuse: ["I'm afraid that didn't work.", "No luck, I'm afraid."],
    sentences: 4,
  },
  terse: {
    hello: ['Hm', 'Aye'],
    address: ['stranger'],
    offer: ['State your business.', 'Make it quick.'],
    bye: ['Go on, then.', 'Move along.'],
    welcome: ['Hm.', 'Aye.'],
    mood: ['Fine.', 'Busy.'],
    unsure: ["Don't know about {topic}.", '{Topic}? Not my concern.'],
    note: ['{Topic}. Noted.', 'Hm. {Topic}.'],
    done: ['Done.', 'There.'],
    refuse: ['No.', "Can't."],
    sentences: 2,
  },
  cheerful: {
    hello: ['Oh, hello there', 'Hi there', 'Well, hello'],
    address: ['friend', 'dear'],
    offer: ['What can I do for you today?', 'Anything I can help you with?'],
    bye: ['Bye now, {address}, come back soon!', 'Take care, {address}!'],
    welcome: ['Oh, anytime!', 'My pleasure, truly!'],
    mood: ['Wonderful, thank you for asking!', 'Never better!'],
    unsure: ['Oh, {topic}! I wish I knew more about that.', "Ooh, {topic}? Now that's a good question!"],
    note: ['{Topic}? How exciting!', 'Oh, {topic}! Tell me more!'],
    done: ['All done!', 'There you go!'],
    refuse: ["Oh dear, that didn't work.", "Oh no, I'm so sorry!"],
    sentences: 4,
  },
  formal: {
    hello: ['Good day to you', 'Greetings'],
    address: ['my friend', 'good traveler'],
    offer: ['How may I be of service?', 'What is it you require?'],
    bye: ['Farewell, {address}, and fair travels.', 'Go well, {address}.'],
    welcome: ['You are most welcome.', 'It was my pleasure.'],
    mood: ['I am well, thank you.', 'Quite well, thank you for asking.'],
    unsure: ['I regret that I know little of {topic}.', 'Of {topic}, I cannot speak with certainty.'],
    note: ['{Topic}. I shall remember it.', 'Indeed? {Topic} is worth noting.'],
    done: ['It is done.', 'As you wish.'],
    refuse: ['I regret that this could not be done.', 'Alas, it was not possible.'],
    sentences: 3,
  },
  scholarly: {
    hello: ['Ah, a visitor', 'Greetings'],
    address: ['my curious friend', 'young scholar'],
    offer: ['What would you like to learn?', 'Have you a question for me?'],
    bye: ['Go well, {address}, and keep reading.', 'Farewell, {address}. Come back with questions.'],
    welcome: ['Knowledge is meant to be shared.', 'Not at all.'],
    mood: ['Quite well, between chapters.', 'Well, thank you. Busy with my studies.'],
    unsure: [
      '{Topic}? My books say little on that, I confess.',
      'A fine question. Alas, {topic} lies outside my studies.',
    ],
    note: ['{Topic}, you say? Fascinating.', 'Interesting. {Topic} deserves study.'],
    done: ['There, it is done.', 'Done, exactly as intended.'],
    refuse: ['Curious. It did not work.', 'Hm, that failed, I am afraid.'],
    sentences: 4,
  },
};

/** Fills `{topic}`, `{Topic}`, `{address}`, `{param}`, `{Param}` and `{clause}` in a template. */
export function fill(
  template: string,
  values: { topic?: string; address?: string; param?: string; clause?: string },
): string {
  return template
    .replace(/\{Topic\}/g, () => capitalizeFirst(values.topic ?? 'that'))
    .replace(/\{topic\}/g, () => values.topic ?? 'that')
    .replace(/\{Param\}/g, () => capitalizeFirst(values.param ?? 'that'))
    .replace(/\{param\}/g, () => values.param ?? 'that')
    .replace(/\{clause\}/g, () => values.clause ?? '')
    .replace(/\{address\}/g, () => values.address ?? 'friend');
}

function capitalizeFirst(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
