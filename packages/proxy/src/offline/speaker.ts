import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { Act } from './acts.js';
import { type Lines, linesFor, readTime, readTrade } from './character.js';
import { applyFacts, type Fact, factSentences } from './facts.js';
import { messageText, playerName } from './messages.js';
import { type Persona, splitSentences, toFirstPerson } from './persona.js';
import { pick, type Rng } from './random.js';
import type { ToolPlan } from './tool-decisions.js';
import { fill, type Phrases, VOICES, type Voice } from './voice.js';

/** Everything a reply is built from. */
export interface Speaker {
  readonly persona: Persona;
  readonly voice: Voice;
  /** The NPC's own fallback lines (its trade's, or its manner's). */
  readonly lines: Lines;
  readonly facts: readonly Fact[];
  /** What the NPC knows, with the game's facts applied. */
  readonly lore: readonly string[];
  /** One of the phrasings, filled in, preferring one not said yet in this conversation. */
  readonly say: (
    phrases: Phrases,
    values?: { topic?: string; param?: string; clause?: string; address?: string },
  ) => string;
  /** Whether none of the text's sentences was said yet in this conversation. */
  readonly isFresh: (text: string) => boolean;
  /** The name the player gave, in the visible lines or the memory note. */
  readonly playerName: string | undefined;
  /** Capitalised words of the instructions: names the player may mention. */
  readonly properNouns: ReadonlySet<string>;
  /** Capitalised words met inside sentences: names, which stay capitalised wherever they are said. */
  readonly midNouns: ReadonlySet<string>;
  /** What the NPC already said in this conversation, so it does not repeat itself. */
  readonly said: readonly string[];
  /** No earlier reply in this conversation: the NPC greets. */
  readonly first: boolean;
  /** What tool planning decided (a value to ask for, a fact in the way). */
  readonly plan: ToolPlan;
  readonly act: Act;
}

/** What {@link createSpeaker} reads the speaker from. */
export interface SpeakerInput {
  readonly messages: readonly ChatCompletionMessageParam[];
  /** The NPC's instructions, without the game's facts. */
  readonly instructions: string;
  readonly facts: readonly Fact[];
  readonly persona: Persona;
  readonly plan: ToolPlan;
  readonly act: Act;
  /** Picks the phrasings; seeded from the request, so the same request says the same thing. */
  readonly rng: Rng;
  readonly temperature: number;
  /** The player's name as the memory note gives it, for when no visible line does. */
  readonly rememberedName?: string | undefined;
}

/** The NPC as this request describes it, with what it already said and how it picks its words. */
export function createSpeaker(input: SpeakerInput): Speaker {
  const { messages, instructions, facts, persona, rng, temperature } = input;
  const voice = VOICES[persona.style];
  const said = messages.filter((m) => m.role === 'assistant').map(messageText);
  const saidSentences = new Set(said.flatMap((text) => splitSentences(text).map(normalize)));
  const isFresh = (text: string) => splitSentences(text).every((s) => !saidSentences.has(normalize(s)));
  const trade = readTrade(persona, instructions);
  const lines = linesFor(trade, voice, readTime(`${instructions}\n${facts.map(factText).join('\n')}`));
  const speaker: Speaker = {
    persona,
    voice,
    lines,
    facts,
    lore: [...applyFacts(persona.lore, facts), ...factSentences(facts).map(toFirstPerson)],
    say: (phrases, values = {}) => {
      const filled = phrases.map((p) => fill(p, { address: values.address ?? addressOf(), ...values }));
      const fresh = filled.filter(isFresh);
      const pool = (fresh.length > 0 ? fresh : filled) as [string, ...string[]];
      return pick(rng, pool, temperature);
    },
    isFresh,
    // A name told in the visible lines is newer than one the memory note kept.
    playerName: playerName(messages) ?? input.rememberedName,
    properNouns: new Set(instructions.match(/\b\p{Lu}\p{L}+/gu) ?? []),
    midNouns: new Set(
      [...instructions.matchAll(/[\p{L},;’'] (\p{Lu}\p{L}+)/gu)].map((m) => m[1] ?? '').filter(Boolean),
    ),
    said,
    first: said.every((text) => text.trim() === ''),
    plan: input.plan,
    act: input.act,
  };
  function addressOf(): string {
    return speaker.playerName ?? pick(rng, lines.address, temperature);
  }
  return speaker;
}

function normalize(sentence: string): string {
  return sentence.toLowerCase().replace(/[’‘]/g, "'").replace(/\s+/g, ' ').trim();
}

function factText(fact: Fact): string {
  return fact.key ? `${fact.key}: ${fact.value}` : fact.value;
}

/** One sentence of a reply; lower `rank` survives when a terse NPC cuts its reply short. */
export interface Part {
  readonly text: string;
  readonly rank: number;
}

/** Adds a sentence to a reply being built; `undefined` adds nothing. */
export type AddPart = (text: string | undefined, rank: number) => void;

/** The `max` best-ranked parts, in their original order. */
export function keepBest(parts: readonly Part[], max: number): string {
  const kept = new Set(
    parts
      .map((part, index) => ({ part, index }))
      .sort((a, b) => a.part.rank - b.part.rank || a.index - b.index)
      .slice(0, max)
      .map((entry) => entry.index),
  );
  return parts
    .filter((_, index) => kept.has(index))
    .map((part) => part.text)
    .join(' ');
}
