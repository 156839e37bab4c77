// The dialogue suite (issue #21): scripted conversations with the four villagers of the Eastwatch demo,
// played through a running proxy exactly as the game plays them (an assistant per villager with the demo's
// own instructions and tools, one thread per conversation, the player's line as `additional_messages`, the
// game's facts as `additional_instructions`, tool calls answered by the demo's real tool code). Every player
// line carries an expectation; a line passes when its reply meets all of it. Used by `pnpm bench dialogue`
// (prints the rate and the failures) and by test/unit/dialogue.test.ts (asserts a floor).
import OpenAI from 'openai';
import { CAST, type CastMember, type NpcId, type ToolAnswer } from '../../demo-game/src/cast.ts';
import { GameState } from '../../demo-game/src/state.ts';

/** What a player line is, for the report. */
export type LineKind = 'question' | 'request' | 'paraphrase' | 'small-talk' | 'off-topic' | 'hostile';

/** One player line and what its reply must do. */
export interface Line {
  readonly say: string;
  readonly kind: LineKind;
  /** The one tool the reply must call (with these arguments at least); absent: it must call none. */
  readonly tool?: { readonly name: string; readonly args?: Readonly<Record<string, unknown>> };
  /** The reply refers to the line: it says something matching this. */
  readonly refers?: RegExp;
  /** The reply must not say this (a sold-out item offered, a secret, a contradiction of a fact). */
  readonly avoid?: RegExp;
}

/** A conversation: one fresh thread with one villager, in a given game state. */
export interface Conversation {
  readonly npc: NpcId;
  readonly title: string;
  /** Sent as the run's `additional_instructions`, as the game sends its facts. */
  readonly facts?: string;
  /** Puts the game in the state this conversation starts from. */
  readonly setup?: (state: GameState) => void;
  readonly lines: readonly Line[];
}

const q = (say: string, refers?: RegExp, avoid?: RegExp): Line => ({ say, kind: 'question', refers, avoid });
const para = (say: string, refers?: RegExp, avoid?: RegExp): Line => ({
  say,
  kind: 'paraphrase',
  refers,
  avoid,
});
const talk = (say: string, refers?: RegExp, avoid?: RegExp): Line => ({
  say,
  kind: 'small-talk',
  refers,
  avoid,
});
const off = (say: string, refers?: RegExp): Line => ({ say, kind: 'off-topic', refers });
const rude = (say: string, refers?: RegExp): Line => ({ say, kind: 'hostile', refers });
const ask = (say: string, name: string, args?: Record<string, unknown>, refers?: RegExp): Line => ({
  say,
  kind: 'request',
  tool: { name, args },
  refers,
});
/** A request the villager has no tool for, or that it must not act on. */
const plea = (say: string, refers?: RegExp, avoid?: RegExp): Line => ({
  say,
  kind: 'request',
  refers,
  avoid,
});

const SOLD_LANTERN = 'Facts: lantern: sold to the traveller';

/** The conversations. At least 120 player lines across the four villagers. */
export const CONVERSATIONS: readonly Conversation[] = [
  // Brom, the gruff gate guard: one tool (open_gate), which needs the password.
  {
    npc: 'brom',
    title: 'Brom, no password yet',
    lines: [
      talk('Hello there.'),
      q('Who are you?', /Brom|guard/i),
      q('Why is the gate shut?', /night|password|shut/i),
      q('How do I get through the gate?', /password/i),
      q('Where can I find the password?', /Odo|library/i),
      q('What is the password?', /password|Odo/i, /ember/i),
      plea('Can you open the gate for me?', /password/i),
      para('Is there any work for a traveller?', /Marta|Goose|hand/i),
      q('Do you open the gate at dawn?', /gate|dawn|password|night/i),
      talk('Long night, is it?'),
      rude('Out of my way, you oaf.'),
      off('What do you think of dragons?'),
      talk('Goodbye.'),
    ],
  },
  {
    npc: 'brom',
    title: 'Brom, the password told',
    setup: (state) => state.setQuest('password'),
    lines: [
      talk('Evening, guard.'),
      ask('The password is ember, open the gate.', 'open_gate', { password: 'ember' }, /open|through/i),
      talk('Thanks!'),
      q('Is the road north safe?', /road|north|safe|wolves|Greyfell/i),
    ],
  },
  {
    npc: 'brom',
    title: 'Brom, a wrong password, then the right one',
    setup: (state) => state.setQuest('password'),
    lines: [
      talk('Good evening.'),
      ask('The password is turnip. Open up.', 'open_gate', { password: 'turnip' }, /shut|not|password/i),
      q('Would you open the gate if I paid you?', /password|gate/i),
      q('Do you let merchants through?', /password|gate|merchant/i),
      plea('Open the gate.', /password/i),
      ask("It's ember.", 'open_gate', { password: 'ember' }, /open|through/i),
    ],
  },
  {
    npc: 'brom',
    title: 'Brom, small talk and trouble',
    lines: [
      talk('Hi.'),
      talk('How are you?'),
      q('What do you do all night?', /gate|watch|guard|night/i),
      q('Who is Marta?', /Marta|Goose|hand/i),
      q('Who is Odo?', /Odo|scholar|library|password/i),
      q('Any rumours around here?'),
      rude("I'll break down the gate myself."),
      rude('You are a useless guard.'),
      off('Tell me a joke.'),
      off("What's your favourite colour?"),
      plea('Let me through, please.', /password/i),
      q('Can you tell me where the library is?', /library|east wall|Odo/i),
    ],
  },
  {
    npc: 'brom',
    title: 'Brom, the gate already open',
    facts: 'Facts: gate: open; the traveller gave the night password',
    setup: (state) => {
      state.setQuest('gate');
      state.openGate();
    },
    lines: [
      talk('Hello again, Brom.'),
      q('Can I go through now?', /open|through|go/i, /no password, no passage|shut for the night/i),
      q('Is the gate still shut?', /open/i, /gate is shut|gate stays shut/i),
      talk('Farewell, guard.'),
    ],
  },

  // Tilda, the friendly merchant: offer_item (haggle) and complete_sale (buy).
  {
    npc: 'tilda',
    title: 'Tilda, haggling for the lantern',
    setup: (state) => state.setQuest('lantern'),
    lines: [
      talk('Hi!'),
      q('What do you sell?', /lantern|rope|bread|apple/i),
      q('How much is the lantern?', /12/),
      q('Do you check my coins before you sell?', /coin/i),
      q('Is the lantern any good?', /brass|Harrowmere|chimney|lantern/i),
      { ...ask('Can you give me a discount?', 'offer_item', { item: 'lantern' }), kind: 'paraphrase' },
      ask('I offer 9 coins for the lantern.', 'offer_item', { item: 'lantern', price: 9 }, /9|deal/i),
      ask("Deal, I'll take it.", 'complete_sale', { item: 'lantern' }, /sold|lantern/i),
      talk('Thank you!'),
    ],
  },
  {
    npc: 'tilda',
    title: 'Tilda, buying plainly',
    lines: [
      talk('Good evening.'),
      ask('I want to buy the lantern.', 'complete_sale', { item: 'lantern' }, /sold|lantern/i),
      q('Is the rope any good?', /rope/i),
      ask('Would you sell me an apple?', 'complete_sale', { item: 'apple' }, /apple|sold/i),
      q("What's the cheapest thing you have?", /apple|1 coin/i),
      q('Any rumours about Odo?', /Odo/i),
      rude("You're a cheat and a thief!"),
      off("What's the weather like?", undefined),
      talk('Bye now.'),
    ],
  },
  {
    npc: 'tilda',
    title: 'Tilda, questions that must not sell',
    lines: [
      talk('Hello, Tilda.'),
      q('Do you sell bread?', /bread/i),
      q('How much does the rope cost?', /4|rope/i),
      q('Do you ever sell lanterns cheaper?', /lantern|price|haggl/i),
      q('Can I pay you later?', /coin|pay|price/i),
      q('Where do your lanterns come from?', /Harrowmere|brass|lantern/i),
      para("What's your best price on the rope?", /rope|3|4/i),
      {
        ...ask('Could you lower the price of the lantern?', 'offer_item', { item: 'lantern' }),
        kind: 'paraphrase',
      },
      q('Are you open late?', undefined),
      talk('How is business?'),
      off('Do you know any songs?'),
      rude('Your bread is stale and your prices are a joke.'),
      ask('Sell me a loaf of bread.', 'complete_sale', { item: 'bread' }, /bread|sold/i),
    ],
  },
  {
    npc: 'tilda',
    title: 'Tilda, the lantern already sold',
    facts: SOLD_LANTERN,
    setup: (state) => {
      state.addItem('lantern', 1);
      state.takeStock('lantern');
    },
    lines: [
      talk('Hello again.'),
      q('What do you sell?', /rope|bread|apple/i, /lantern for|lantern is my last|last one/i),
      q('How much for the lantern?', /sold|gone|no more|none left|out of/i, /12 coins/i),
      plea("I'll buy the lantern.", /sold|gone|no more|none left|out of/i),
      ask("Then I'll take an apple.", 'complete_sale', { item: 'apple' }, /apple|sold/i),
      talk('Have a good night.'),
    ],
  },
  {
    npc: 'tilda',
    title: 'Tilda, small talk',
    lines: [
      talk('Hey there.'),
      talk('How are you today?'),
      q('Who are you?', /Tilda|merchant/i),
      q('What do you do here?', /merchant|stall|sell/i),
      q('Where is the inn?', undefined),
      off('Have you ever seen a dragon?'),
      talk('Nice stall you have.'),
      q('Do you like haggling?', /haggl/i),
      talk('See you later.'),
    ],
  },

  // Marta, the cheerful innkeeper who hears every rumour: give_quest.
  {
    npc: 'marta',
    title: 'Marta, rumours before work',
    lines: [
      talk('Hello!'),
      q('Any rumours about Odo and his lantern?', /lantern|Odo/i),
      {
        ...ask('Is there any work for a traveller?', 'give_quest', undefined, /lantern|Tilda|Odo/i),
        kind: 'paraphrase',
      },
      talk('Thanks, Marta.'),
    ],
  },
  {
    npc: 'marta',
    title: 'Marta, the talk of the village',
    lines: [
      talk('Good evening, Marta.'),
      para("What's the latest gossip?", /Odo|Tilda|password|Brom|cider|lantern/i),
      para('Heard any rumours?', /Odo|Tilda|password|Brom|cider|lantern/i),
      q('Tell me about Brom.', /Brom|gate|password|stranger/i),
      q('How do I get past the gate?', /password|Brom|Odo/i),
      q('Where is the password kept?', /Odo|library/i),
      q("What's in the cider?", /apple|Silverrun|orchard/i),
      q('Who sells lanterns?', /Tilda/i),
      {
        ...ask('Can I help with anything?', 'give_quest', undefined, /lantern|Tilda|Odo/i),
        kind: 'paraphrase',
      },
      talk('Goodbye, Marta.'),
    ],
  },
  {
    npc: 'marta',
    title: 'Marta, questions about the errand',
    lines: [
      talk('Hi there.'),
      q('Who are you?', /Marta|innkeeper|Goose/i),
      q('Do you give out quests?', /lantern|Odo|errand|work/i),
      q('Is Odo really without a lantern?', /lantern|Odo|candle/i),
      { ...ask('I need work.', 'give_quest', undefined, /lantern|Tilda|Odo/i), kind: 'paraphrase' },
      q('Where does Tilda keep her stall?', /market|square|Tilda/i),
      talk('How are you?'),
      off('What is two plus two?'),
      rude('This inn smells like a stable.'),
      rude('Give me a free room or else.'),
      q('Can I get a room for the night?', undefined),
    ],
  },
  {
    npc: 'marta',
    title: 'Marta, the errand already given',
    facts: 'Facts: lantern errand: given to the traveller',
    setup: (state) => state.setQuest('lantern'),
    lines: [
      talk('Evening, Marta.'),
      q('What was I supposed to do again?', /lantern|Tilda|Odo/i),
      q('Any news?', undefined),
      talk('Lovely inn you have.'),
      off('Do you believe in ghosts?'),
      talk('Take care.'),
    ],
  },
  {
    npc: 'marta',
    title: 'Marta, asking for work plainly',
    lines: [
      talk('Greetings.'),
      ask('Give me a quest.', 'give_quest', undefined, /lantern|Tilda|Odo/i),
      q('Where do I find Odo?', /Odo|library/i),
      q('What does Brom guard?', /gate|Brom/i),
      rude('Your cider tastes like vinegar.'),
      talk('Bye!'),
    ],
  },

  // Odo, the learned scholar with the library: take_item.
  {
    npc: 'odo',
    title: 'Odo, history lessons',
    lines: [
      talk('Hello, sir.'),
      q('Who founded Eastwatch?', /Alda Venn/i),
      q('Why is the river so cold?', /Greyfell|glacier/i),
      q('Tell me about the north wall.', /Long Winter|wolves/i),
      q('Where does the north road go?', /Harrowmere|Greyfell/i),
      q('What is the password?', /password/i, /ember/i),
      q('Do you need anything?', /lantern/i),
      q('Who carved the sign of the Gilded Goose?', /Alda Venn/i),
      q('When is the fair?', /autumn|fair/i),
      talk('Goodbye, Odo.'),
    ],
  },
  {
    npc: 'odo',
    title: 'Odo, the lantern delivered',
    setup: (state) => {
      state.setQuest('lantern');
      state.addItem('lantern', 1);
    },
    lines: [
      talk('Good evening, Odo.'),
      q('Do you have a lantern?', /lantern|broke/i),
      ask('Here, take this lantern.', 'take_item', { item: 'lantern' }, /lantern|password/i),
      talk('Thank you, Odo.'),
    ],
  },
  {
    npc: 'odo',
    title: 'Odo, the lantern given as the quest log says',
    setup: (state) => {
      state.setQuest('lantern');
      state.addItem('lantern', 1);
    },
    lines: [
      q('Are you Odo the scholar?', /Odo|scholar/i),
      ask('I give you the lantern.', 'take_item', { item: 'lantern' }, /lantern|password/i),
      q('Where is Brom?', /gate|Brom/i),
    ],
  },
  {
    npc: 'odo',
    title: 'Odo, small talk and rudeness',
    lines: [
      talk('Hi.'),
      talk('How are you?'),
      q('Who are you?', /Odo|scholar/i),
      q('What do you study?', undefined),
      q('How old is Eastwatch?', /two hundred|Alda Venn/i),
      para('Is there any work for a traveller?', /lantern|Marta/i),
      off('Can you do magic?'),
      rude('Shut up, old man.'),
      rude('Your books are worthless.'),
      talk('Nice library.'),
      q('Who chooses the night password?', /scholar|season/i),
      talk('Farewell.'),
    ],
  },
  {
    npc: 'odo',
    title: 'Odo, with his lantern already',
    facts: 'Facts: lantern: given to Odo by the traveller; night password: told to the traveller',
    setup: (state) => state.setQuest('password'),
    lines: [
      talk('Hello again, Odo.'),
      q('How is your new lantern?', /lantern/i, /broke|cannot read/i),
      q('Can you read now?', undefined, /cannot read/i),
      q('What should I do next?', /Brom|gate/i),
      talk('Good night.'),
    ],
  },
];

/** Sentences that only make sense in instructions, never in a villager's mouth. */
const LEAK =
  /\b(?:the game|the player|player['’]?s?|instructions?|in character|tool|function|assistant|language model|AI|JSON|the user|sentences?)\b|\b[a-z]+_[a-z_]+\b/i;
/** How a villager opens a conversation. */
const GREETING =
  /\b(?:hello|hi|hey|greetings|well met|welcome|evening|good (?:day|evening|morning|night)|ho)\b/i;
/** Daytime small talk; Eastwatch is played at night. */
const DAYTIME = /\b(?:lovely day|sunny|this morning|good morning|fine day|beautiful day)\b/i;
const NAMES = CAST.map((member) => member.name);

/** What happened on one line. */
export interface LineResult {
  readonly conversation: string;
  readonly npc: NpcId;
  readonly line: Line;
  readonly reply: string;
  readonly calls: ReadonlyArray<{ name: string; args: Record<string, unknown> }>;
  /** Why the line failed; empty when it passed. */
  readonly problems: string[];
}

/** The suite's outcome. */
export interface SuiteResult {
  readonly lines: readonly LineResult[];
  readonly passed: number;
  readonly total: number;
  /** passed / total. */
  readonly rate: number;
}

/** Runs every conversation through the proxy at `baseUrl` (without `/v1`) and grades each line. */
export async function runDialogueSuite(
  baseUrl: string,
  conversations: readonly Conversation[] = CONVERSATIONS,
): Promise<SuiteResult> {
  const client = new OpenAI({
    baseURL: `${baseUrl}/v1`,
    apiKey: 'unused',
    maxRetries: 0,
    defaultHeaders: { 'x-parley-player': 'dialogue-suite' },
  });
  const assistants = new Map<NpcId, string>();
  for (const member of CAST) {
    const assistant = await client.beta.assistants.create({
      model: 'parley-offline',
      name: member.name,
      instructions: member.instructions,
      tools: Object.entries(member.tools).map(([name, spec]) => ({
        type: 'function' as const,
        function: { name, description: spec.description, parameters: spec.parameters },
      })),
      metadata: { parley_npc: member.npcId },
    });
    assistants.set(member.id, assistant.id);
  }
  const results: LineResult[] = [];
  for (const conversation of conversations) {
    const member = CAST.find((m) => m.id === conversation.npc);
    const assistantId = assistants.get(conversation.npc);
    if (!member || !assistantId) throw new Error(`No villager ${conversation.npc}`);
    const state = new GameState();
    conversation.setup?.(state);
    const thread = await client.beta.threads.create();
    const earlier: string[] = [];
    for (const [index, line] of conversation.lines.entries()) {
      const { reply, calls } = await playLine(
        client,
        thread.id,
        assistantId,
        member,
        state,
        line,
        conversation,
      );
      const problems = grade(line, reply, calls, { member, earlier, first: index === 0 });
      results.push({ conversation: conversation.title, npc: conversation.npc, line, reply, calls, problems });
      earlier.push(reply);
    }
  }
  markSharedFiller(results);
  const passed = results.filter((r) => r.problems.length === 0).length;
  return { lines: results, passed, total: results.length, rate: passed / results.length };
}

async function playLine(
  client: OpenAI,
  threadId: string,
  assistantId: string,
  member: CastMember,
  state: GameState,
  line: Line,
  conversation: Conversation,
): Promise<{ reply: string; calls: Array<{ name: string; args: Record<string, unknown> }> }> {
  const texts: string[] = [];
  const calls: Array<{ name: string; args: Record<string, unknown> }> = [];
  let stream = await client.beta.threads.runs.create(threadId, {
    assistant_id: assistantId,
    additional_messages: [{ role: 'user', content: line.say }],
    ...(conversation.facts ? { additional_instructions: conversation.facts } : {}),
    stream: true,
  });
  for (let segment = 0; segment < 5; segment++) {
    let pending: { runId: string; outputs: Array<{ tool_call_id: string; output: string }> } | undefined;
    for await (const event of stream) {
      if (event.event === 'thread.message.completed') {
        for (const part of event.data.content) if (part.type === 'text') texts.push(part.text.value);
      } else if (event.event === 'thread.run.requires_action') {
        const toolCalls = event.data.required_action?.submit_tool_outputs.tool_calls ?? [];
        const outputs = toolCalls.map((call) => {
          const args = parseArgs(call.function.arguments);
          calls.push({ name: call.function.name, args });
          const spec = member.tools[call.function.name];
          const answer: ToolAnswer = spec
            ? spec.run(args, { state, tell: () => {} })
            : { ok: false, error: `no tool ${call.function.name}` };
          return { tool_call_id: call.id, output: JSON.stringify(answer) };
        });
        pending = { runId: event.data.id, outputs };
      } else if (event.event === 'thread.run.failed') {
        texts.push(`[run failed: ${event.data.last_error?.message ?? 'unknown'}]`);
      }
    }
    if (!pending) break;
    stream = await client.beta.threads.runs.submitToolOutputs(pending.runId, {
      thread_id: threadId,
      tool_outputs: pending.outputs,
      stream: true,
    });
  }
  return { reply: texts.join(' ').trim(), calls };
}

function parseArgs(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

/** Sentences of a reply, for repetition checks: only those long enough to be noticed when repeated. */
function sentences(text: string): string[] {
  return text
    .split(/(?<=[.!?…])\s+/)
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s.split(/\s+/).length >= 3);
}

function grams(text: string, n: number): Set<string> {
  const words = text.toLowerCase().match(/[\p{L}\p{N}'’]+/gu) ?? [];
  const out = new Set<string>();
  for (let i = 0; i + n <= words.length; i++) out.add(words.slice(i, i + n).join(' '));
  return out;
}

function grade(
  line: Line,
  reply: string,
  calls: ReadonlyArray<{ name: string; args: Record<string, unknown> }>,
  context: { member: CastMember; earlier: readonly string[]; first: boolean },
): string[] {
  const problems: string[] = [];
  const { member } = context;
  // Tool or none.
  const names = calls.map((c) => c.name);
  if (!line.tool && calls.length > 0) problems.push(`called ${names.join(', ')} (expected no tool)`);
  if (line.tool) {
    const match = calls.find((c) => c.name === line.tool?.name);
    if (!match || calls.length !== 1)
      problems.push(`called ${names.join(', ') || 'nothing'} (expected ${line.tool.name})`);
    else
      for (const [key, value] of Object.entries(line.tool.args ?? {}))
        if (String(match.args[key]).toLowerCase() !== String(value).toLowerCase())
          problems.push(`${line.tool.name} ${key}=${JSON.stringify(match.args[key])} (expected ${value})`);
  }
  if (reply === '') problems.push('said nothing');
  // No leak: nothing of the instructions' machinery, no directive sentence verbatim.
  const leak = LEAK.exec(reply);
  if (leak) problems.push(`leaked "${leak[0]}"`);
  // In character: its own name, no other villager's, no daytime talk at night.
  const other = NAMES.find(
    (name) => name !== member.name && new RegExp(`\\b(?:I am|I'm|my name is)\\s+${name}\\b`, 'i').test(reply),
  );
  if (other) problems.push(`spoke as ${other}`);
  const day = DAYTIME.exec(reply);
  if (day) problems.push(`daytime talk at night ("${day[0]}")`);
  if (context.first && !GREETING.test(reply)) problems.push('no greeting on the first turn');
  // Refers to the line, without echoing it back.
  if (line.refers && !line.refers.test(reply)) problems.push(`does not refer to the line (${line.refers})`);
  if (line.avoid?.test(reply)) problems.push(`said what it must not (${line.avoid})`);
  const instructionGrams = grams(member.instructions, 4);
  const echoed = [...grams(line.say, 4)].find((g) => !instructionGrams.has(g) && grams(reply, 4).has(g));
  if (echoed) problems.push(`echoed the line ("${echoed}")`);
  // No repeat within the conversation.
  const before = new Set(context.earlier.flatMap(sentences));
  const repeated = sentences(reply).find((s) => before.has(s));
  if (repeated || (reply !== '' && context.earlier.includes(reply)))
    problems.push(`repeated "${repeated ?? reply}"`);
  return problems;
}

/**
 * Small talk shared between villagers: a sentence said by two of them (outside what the game's tools
 * answer) fails every line that said it.
 */
function markSharedFiller(results: readonly LineResult[]): void {
  const speakers = new Map<string, Set<NpcId>>();
  for (const result of results)
    for (const sentence of sentences(result.reply)) {
      const set = speakers.get(sentence) ?? new Set<NpcId>();
      set.add(result.npc);
      speakers.set(sentence, set);
    }
  for (const result of results) {
    const shared = sentences(result.reply).find((s) => (speakers.get(s)?.size ?? 0) > 1);
    if (shared) result.problems.push(`filler shared between villagers ("${shared}")`);
  }
}

/** A report for the console: the rate by kind and by villager, then every failure. */
export function formatReport(result: SuiteResult): string {
  const out: string[] = [];
  const pct = (n: number, d: number) => `${((100 * n) / Math.max(1, d)).toFixed(1)}%`;
  out.push(
    `dialogue suite: ${result.passed}/${result.total} lines pass (${pct(result.passed, result.total)})`,
  );
  const by = (key: (r: LineResult) => string) => {
    const groups = new Map<string, { passed: number; total: number }>();
    for (const r of result.lines) {
      const g = groups.get(key(r)) ?? { passed: 0, total: 0 };
      g.total++;
      if (r.problems.length === 0) g.passed++;
      groups.set(key(r), g);
    }
    return [...groups].map(([k, g]) => `${k} ${g.passed}/${g.total}`).join(', ');
  };
  out.push(`  by villager: ${by((r) => r.npc)}`);
  out.push(`  by kind:     ${by((r) => r.line.kind)}`);
  const failures = result.lines.filter((r) => r.problems.length > 0);
  if (failures.length > 0) out.push(`  failures (${failures.length}):`);
  for (const r of failures) {
    const tools =
      r.calls.length > 0 ? ` [${r.calls.map((c) => `${c.name} ${JSON.stringify(c.args)}`).join('; ')}]` : '';
    out.push(`  - ${r.npc} «${r.line.say}» → «${r.reply}»${tools}`);
    out.push(`      ${r.problems.join('; ')}`);
  }
  return out.join('\n');
}
