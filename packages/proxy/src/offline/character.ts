/**
 * An NPC's own small talk: the lines it falls back on (greetings, brush-offs, moods, goodbyes, answers to
 * rudeness) drawn from its trade, so a merchant and an innkeeper who both speak cheerfully still sound like
 * two people, and from the time of day its instructions (or the game's facts) give, so no one praises a
 * lovely day at dusk. NPCs of no known trade use their manner's lines (voice.ts).
 */
import type { Persona } from './persona.js';
import type { Phrases, Voice } from './voice.js';

/** The trades the offline model has small talk for. */
export type Trade = 'guard' | 'merchant' | 'innkeeper' | 'scholar';

/** When the scene is set, if the instructions say. */
export type TimeOfDay = 'night' | 'day';

/** Every move an NPC makes when its instructions have nothing to say. Templates as in voice.ts. */
export interface Lines {
  readonly hello: Phrases;
  readonly address: Phrases;
  readonly offer: Phrases;
  readonly smallTalk: Phrases;
  readonly mood: Phrases;
  readonly welcome: Phrases;
  readonly bye: Phrases;
  /** About something it knows nothing of; `{topic}` is the player's. */
  readonly unsure: Phrases;
  /** About something the player said it has no knowledge of. */
  readonly note: Phrases;
  readonly hostile: Phrases;
  /** Asking for what a tool needs from the player; `{param}` is its name ("password"). */
  readonly ask: Phrases;
  /** Coming back to something already said; `{clause}` is a piece of it. */
  readonly again: Phrases;
  /** Opens the report of a tool call that worked. */
  readonly done: Phrases;
  /** Opens the report of a tool call that failed or was refused. */
  readonly refuse: Phrases;
}

const TRADES: ReadonlyArray<readonly [Trade, RegExp]> = [
  [
    'innkeeper',
    /\b(?:innkeeper|inn|tavern|taverner|barkeep|barmaid|bartender|alehouse|publican|landlady|landlord)\b/i,
  ],
  ['merchant', /\b(?:merchant|trader|shopkeeper|shop|stall|vendor|peddler|pedlar|haggle|wares|market)\b/i],
  ['guard', /\b(?:guard|guardsman|watchman|sentry|sentinel|soldier|gatekeeper|warden|captain)\b/i],
  ['scholar', /\b(?:scholar|librarian|library|sage|archivist|historian|professor|loremaster|bookish)\b/i],
];

/** The NPC's trade: from its role first ("the gate guard"), else from its instructions' opening. */
export function readTrade(persona: Persona, instructions: string): Trade | undefined {
  for (const source of [persona.role ?? '', instructions.split(/(?<=[.!?])\s/)[0] ?? '']) {
    const found = TRADES.find(([, pattern]) => pattern.test(source));
    if (found) return found[0];
  }
  return undefined;
}

/** The time of day, when the instructions or facts set the scene ("shut for the night", "time: dusk"). */
export function readTime(text: string): TimeOfDay | undefined {
  if (
    /\b(?:tonight|for the night|at this hour|it is (?:night|dusk|evening|late|dark)|night has fallen|after nightfall|time(?: of day)?:\s*(?:night|dusk|evening|midnight))\b/i.test(
      text,
    )
  )
    return 'night';
  if (
    /\b(?:this morning|it is (?:morning|noon|day)|time(?: of day)?:\s*(?:morning|noon|day|afternoon))\b/i.test(
      text,
    )
  )
    return 'day';
  return undefined;
}

type TradeLines = Omit<Lines, 'hello' | 'smallTalk'> & {
  readonly hello: Readonly<Record<TimeOfDay | 'any', Phrases>>;
  readonly smallTalk: Readonly<Record<TimeOfDay | 'any', Phrases>>;
};

const LINES: Readonly<Record<Trade, TradeLines>> = {
  guard: {
    hello: { night: ['Evening', 'Hm. Evening'], day: ['Hail', 'Morning'], any: ['Hail', 'Aye, hello'] },
    address: ['stranger'],
    offer: ['State your business.', 'Make it quick.', 'What do you want?'],
    smallTalk: {
      night: ['Quiet watch so far.', 'Cold on the wall tonight.', 'Long night. Longer with chatter.'],
      day: ['Quiet watch so far.', 'Nothing to report.', 'Long shift.'],
      any: ['Quiet watch so far.', 'Nothing to report.', 'Long shift.'],
    },
    mood: ['Tired. Still standing.', 'Could be worse.', 'Busy.'],
    welcome: ['Hm.', 'Aye.', 'Mind how you go.'],
    bye: ['Go on, then.', 'Move along.'],
    unsure: [
      '{Topic}? Not my concern. I keep watch.',
      "Don't know about {topic}. Ask someone else.",
      '{Topic}? No idea.',
    ],
    note: ['{Topic}. Noted.', 'Hm. {Topic}.', "{Topic}? Doesn't change my orders."],
    hostile: [
      'Watch your tongue.',
      'Careful, stranger. Long night, short temper.',
      'Say that again. I dare you.',
    ],
    ask: ['{Param}?', 'Not without the {param}.', 'Tell me the {param}, then.'],
    again: ['Told you already: {clause}.', 'Like I said, {clause}.', 'Again: {clause}.'],
    done: ['Done.', 'There.'],
    refuse: ['No.', "Can't."],
  },
  merchant: {
    hello: {
      night: ['Good evening', 'Evening, evening'],
      day: ['Hello there', 'Good day'],
      any: ['Hello there', 'Welcome, welcome'],
    },
    address: ['friend', 'neighbour'],
    offer: ['Anything catch your eye?', 'Looking for something in particular?', 'Care to haggle?'],
    smallTalk: {
      night: [
        'Still open for a late customer, of course!',
        'Trade is trade, even after dark.',
        'A coin earned late spends just as well!',
      ],
      day: ['Trade is brisk today!', 'Every coin earned fair and square.', 'Busy, busy, just how I like it!'],
      any: [
        'Every coin earned fair and square.',
        'Busy, busy, just how I like it!',
        'Trade keeps me young, you know.',
      ],
    },
    mood: ['Busy and happy, the best way to be!', 'Never better, trade is good!', 'Grand, thank you kindly!'],
    welcome: ['Anytime, friend!', 'My pleasure, truly!', 'Glad to be of use!'],
    bye: ['Come back soon, {address}!', 'Mind your purse on the way, {address}!', 'Safe roads, {address}!'],
    unsure: [
      "{Topic}? Can't help you there. I know my wares, not much else.",
      'Oh, {topic}? Not my trade, {address}.',
      '{Topic}? Better ask someone else; I just sell things.',
    ],
    note: [
      '{Topic}? Well, fancy that!',
      'Is that so? {Topic}, eh?',
      '{Topic}! You hear all sorts at a stall.',
    ],
    hostile: [
      'No need for that! My prices are fair.',
      'Harsh words for an honest trader.',
      'Tut! Keep that up and my prices go up too.',
    ],
    ask: ['And the {param}?', 'What {param} did you have in mind?', 'Name your {param}, then!'],
    again: ['As I told you, {clause}.', 'Like I said, {address}: {clause}.', 'Remember, {clause}.'],
    done: ['There you go!', 'Lovely, done!', 'Done and dusted!', 'A pleasure!'],
    refuse: ['Ah, no, sorry!', "Oh dear, that won't do.", 'Sorry, friend, no.'],
  },
  innkeeper: {
    hello: {
      night: ['Good evening', 'Evening, evening'],
      day: ['Morning', 'Hello, hello'],
      any: ['Hello, hello', 'Well, hello'],
    },
    address: ['love', 'dear'],
    offer: ['Can I pour you a cider?', "Warm yourself by the fire, won't you?", "What'll it be?"],
    smallTalk: {
      night: [
        'Busy night in the common room.',
        "The fire's lit and the cider's warm.",
        'Everyone passes through my door sooner or later.',
      ],
      day: [
        'Quiet before the evening rush.',
        "The fire's lit and the cider's warm.",
        'Everyone passes through my door sooner or later.',
      ],
      any: [
        "The fire's lit and the cider's warm.",
        'Everyone passes through my door sooner or later.',
        'Never a dull moment in an inn.',
      ],
    },
    mood: [
      'Run off my feet, but happy!',
      "Can't complain, the cider is flowing!",
      'Busy as ever, thank you, love!',
    ],
    welcome: ['Anytime, love!', "Don't mention it!", "That's what I'm here for!"],
    bye: [
      'Take care, {address}, come back soon!',
      'Mind the step on your way out, {address}!',
      'Off you go, {address}, and stay warm!',
    ],
    unsure: [
      "{Topic}? Haven't heard a whisper about that, {address}.",
      "Oh, {topic}! Nobody's gossiped about that under my roof yet.",
      "{Topic}? You've stumped me there, {address}.",
    ],
    note: [
      '{Topic}? Ooh, I must remember that one!',
      'Well I never! {Topic}, you say?',
      '{Topic}! That will get the regulars talking.',
    ],
    hostile: [
      'Mind your manners under my roof!',
      "Oi! Any more of that and you're out on your ear.",
      'Charming. The door is right behind you, love.',
    ],
    ask: ['And the {param}, love?', 'What {param} do you mean, dear?', "Tell me the {param} and we'll see."],
    again: ['Like I said, {address}, {clause}.', 'As I told you, {clause}.', 'Remember, {clause}.'],
    done: ['Right you are!', 'All settled, love!', 'There, all done!'],
    refuse: ['Oh, love, no.', 'Sorry, dear!', 'Not this time, love.'],
  },
  scholar: {
    hello: {
      night: ['Ah, good evening', 'Good evening, good evening'],
      day: ['Ah, good morning', 'Greetings'],
      any: ['Ah, greetings', 'Hello, hello'],
    },
    address: ['my curious friend', 'young scholar'],
    offer: ['What would you like to learn?', 'Have you a question for me?', 'Ask, and I shall look it up.'],
    smallTalk: {
      night: [
        'So many books, so little light.',
        'Night is the best time for reading, if one has a lamp.',
        'History is never as dull as people think.',
      ],
      day: [
        'Every page here holds a small wonder.',
        'History is never as dull as people think.',
        'So many books, so little time.',
      ],
      any: [
        'Every page here holds a small wonder.',
        'History is never as dull as people think.',
        'So many books, so little time.',
      ],
    },
    mood: [
      'Quite well, between chapters.',
      'Well, thank you. Busy with my studies.',
      'Old, but still reading.',
    ],
    welcome: ['Knowledge is meant to be shared.', 'Not at all, not at all.', 'A pleasure to be of use.'],
    bye: ['Go well, {address}, and keep reading.', 'Farewell, {address}. Come back with questions.'],
    unsure: [
      '{Topic}? My books say little on that, I confess.',
      'A fine question. Alas, {topic} lies outside my studies.',
      '{Topic}? I would have to look that up.',
    ],
    note: [
      '{Topic}, you say? Fascinating.',
      'Interesting. {Topic} deserves study.',
      '{Topic}? I shall make a note of it.',
    ],
    hostile: [
      'Rudeness is the refuge of the unread.',
      'Tut. Manners cost nothing, young one.',
      'I have outlived ruder people than you.',
    ],
    ask: ['And the {param}?', 'Which {param}, my friend?', 'You will have to tell me the {param}.'],
    again: ['As I mentioned, {clause}.', 'As I said before, {clause}.', 'To repeat myself, {clause}.'],
    done: ['There, it is done.', 'Done, exactly as intended.', 'Splendid.'],
    refuse: ['Curious. It did not work.', 'Hm, that failed, I am afraid.', 'Alas, no.'],
  },
};

/** The lines an NPC of this trade (or, without one, of this manner) falls back on. */
export function linesFor(trade: Trade | undefined, voice: Voice, time: TimeOfDay | undefined): Lines {
  if (trade) {
    const lines = LINES[trade];
    return { ...lines, hello: lines.hello[time ?? 'any'], smallTalk: lines.smallTalk[time ?? 'any'] };
  }
  return {
    hello: voice.hello,
    address: voice.address,
    offer: voice.offer,
    smallTalk: voice.offer,
    mood: voice.mood,
    welcome: voice.welcome,
    bye: voice.bye,
    unsure: voice.unsure,
    note: voice.note,
    hostile: voice.refuse,
    ask: ['And the {param}?', 'What {param}?'],
    again: ['As I said, {clause}.', 'Like I told you, {clause}.'],
    done: voice.done,
    refuse: voice.refuse,
  };
}
