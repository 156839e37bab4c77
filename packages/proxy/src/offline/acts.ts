/**
 * What a player's line does, as a dialogue act. Only a request (or an offer, or agreeing to a deal) may
 * make the NPC act through a tool: "Do you check my coins before you sell?" asks about selling, it does not
 * ask to buy, and "Any rumours about the lantern?" asks for talk, not for the errand.
 */

/** The act of a player's line. */
export type Act = 'request' | 'agreement' | 'question' | 'hostile' | 'statement';

/** Verbs that start an imperative ("Open the gate.", "Sell me bread.", "Let me through."). */
const IMPERATIVE = new Set(
  `open unlock unbar give sell show take let bring hand help lend make find lead follow close shut get buy
  pay teach heal write send lower fetch carry guide grant accept trade fix mend drop cut knock raise
  cast call ring light wrap pour spare offer suggest propose`.split(/\s+/),
);
/** Words that may precede the verb of an imperative. */
const LEAD_IN =
  /^(?:(?:please|kindly|now|then|so|ok|okay|here|well|alright|right|just|go on|come on)\b[\s,]*)+/;
/** "Can you tell me …" asks for talk, not action. */
const TALK_VERBS =
  /^(?:tell|say|explain|describe|remind|recall|think|know|remember|ever|really|still|always|usually|often|even|also|do|read|see|hear|speak|feel|sing|dance|swim|believe|imagine|guess|recommend|be)\b/;
const INSULT =
  /\b(?:idiot|oaf|fool|stupid|useless|worthless|cheat|thief|liar|coward|pathetic|ugly|smells?|stinks?|stale|vinegar|shut up|get lost|out of my way|or else|i'?ll (?:kill|burn|break|smash|hurt)|burn (?:this|it|the)|hate you|go away|waste of|(?:is|are) a joke|rubbish|garbage|scum|moron|old fool|damn|bloody)\b/;
const AGREE =
  /^(?:yes|yeah|yep|aye|deal|agreed|ok|okay|sure|fine|done|very well|alright|all right|it'?s a deal|sounds good|you have a deal|that works|i accept)\b/;
/** Asking for what the NPC may hand out ("Is there any work?", "Got a job for me?", "I need work."). */
const ASKING_FOR =
  /\b(?:(?:is there|are there|do you have|have you got|got|you got|any)\s+(?:any\s+|some\s+|a\s+)?(?:work|jobs?|quests?|tasks?|errands?|chores?)|(?:i need|i want|i'?m looking for|looking for|give me)\s+(?:some\s+|a\s+)?(?:work|jobs?|quests?|tasks?|errands?)|(?:can|could|may|how can) i (?:help|be of help|lend a hand|be useful|assist))\b/;
/** First-person requests and offers: "I want to buy …", "I'll take it", "I offer 9 coins", "I give you …". */
const FIRST_PERSON =
  /\bi(?:'ll| will|'d| would| shall)?(?: like to| love to| want to| wish to| need to)?\s+(?:buy|purchase|take|have|offer|give|pay|hand|bring|sell|trade|accept|order)\b|\bi want\b|\bhere(?:'s| is| are)?\b.*\b(?:for you|take)\b|\bthe password is\b/;
/** "Can you / could you / would you / will you <verb>": a polite request unless it asks for talk. */
const POLITE = /^(?:can|could|would|will|won'?t)\s+(?:you|ye)\s+(?:please\s+)?(\w+)/;
/** "Can I have / may I buy …": asking for something. */
const MAY_I = /^(?:can|could|may)\s+i\s+(?:please\s+)?(?:have|get|buy|take|purchase|borrow|order)\b/;

/**
 * Reads the act of a player's line.
 *
 * @example
 * readAct('Do you check my coins before you sell?'); // 'question'
 * readAct('Can you give me a discount?'); // 'request'
 * readAct('Is there any work for a traveller?'); // 'request'
 */
export function readAct(line: string): Act {
  const text = line.toLowerCase().replace(/[’‘]/g, "'").trim();
  if (INSULT.test(text)) return 'hostile';
  if (
    /\b(?:don'?t|do not|won'?t|will not|never|no longer)\s+(?:want|need|buy|open|give|take|sell|like)\b/.test(
      text,
    )
  )
    return 'statement';
  const clauses = text
    .split(/(?<=[.!?;])\s+|,\s*(?:and\s+)?|\s+and\s+(?:then\s+)?/)
    .map((c) => c.trim())
    .filter(Boolean);
  let question = false;
  for (const clause of clauses) {
    if (ASKING_FOR.test(clause) || FIRST_PERSON.test(clause) || MAY_I.test(clause)) return 'request';
    const polite = POLITE.exec(clause);
    if (polite?.[1] && !TALK_VERBS.test(polite[1]) && !/\bif\b/.test(clause)) return 'request';
    const bare = clause.replace(LEAD_IN, '');
    const verb = /^(\w+)/.exec(bare)?.[1];
    if (verb && IMPERATIVE.has(verb) && !clause.endsWith('?')) return 'request';
    if (isQuestion(clause)) question = true;
  }
  if (AGREE.test(text)) return 'agreement';
  return question ? 'question' : 'statement';
}

function isQuestion(clause: string): boolean {
  return (
    clause.endsWith('?') ||
    /^(?:who|what|what's|when|where|where's|why|how|which|whose|do|does|did|can|could|will|would|is|are|was|were|have|has|should|shall|may|might|any)\b/.test(
      clause,
    )
  );
}

/** Whether the line asks for work or a way to help (whatever tool, if any, the NPC has for it). */
export function asksForWork(line: string): boolean {
  const text = line.toLowerCase().replace(/[’‘]/g, "'");
  return (
    ASKING_FOR.test(text) ||
    /\b(?:work|job|quest|task|errand|chore)s?\b/.test(text) ||
    /\b(?:need|want) (?:anything|something|help|a hand)\b|\bcan i help\b|\banything i can do\b/.test(text)
  );
}
