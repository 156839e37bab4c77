import type OpenAI from 'openai';

export type ModerationMode = 'off' | 'local' | 'openai';

export interface ModerationConfig {
  mode: ModerationMode;
  /** Whole words or phrases refused by the local list (matched after normalisation). */
  words: string[];
  /** What the NPC says instead of answering flagged input. `{name}` is replaced by the NPC's name. */
  refusal: string;
}

/** A short default list for games; operators replace it with `PARLEY_MODERATION_WORDS`. */
const DEFAULT_WORDS = [
  'fuck',
  'fucking',
  'shit',
  'cunt',
  'bitch',
  'asshole',
  'motherfucker',
  'kill yourself',
  'kys',
];

export function loadModerationConfig(env: Record<string, string | undefined>): ModerationConfig {
  const raw = env['PARLEY_MODERATION']?.trim() || 'off';
  if (raw !== 'off' && raw !== 'local' && raw !== 'openai') {
    throw new Error(`PARLEY_MODERATION must be off, local or openai, got '${raw}'`);
  }
  const words = env['PARLEY_MODERATION_WORDS']
    ?.split(',')
    .map((word) => normalise(word))
    .filter(Boolean);
  return {
    mode: raw,
    words: words && words.length > 0 ? words : DEFAULT_WORDS,
    refusal:
      env['PARLEY_MODERATION_REFUSAL']?.trim() ||
      "({name} narrows their eyes.) I'll not answer talk like that.",
  };
}

export interface ModerationResult {
  flagged: boolean;
  /** `local` or `openai`: which check decided. */
  by?: 'local' | 'openai';
}

export interface Moderator {
  readonly mode: ModerationMode;
  check(text: string, signal?: AbortSignal): Promise<ModerationResult>;
  refusal(npcName: string | null): string;
}

const LEET: Record<string, string> = {
  '0': 'o',
  '1': 'i',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
  '@': 'a',
  $: 's',
};

/** Lower case, accents and look-alike digits folded, everything else a single space. */
function normalise(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[013457@$]/g, (c) => LEET[c] ?? c)
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/**
 * Checks player input before it reaches the model. `local` matches a word list (whole words, so "Scunthorpe"
 * passes); `openai` asks OpenAI's moderation endpoint through the same SDK client as the turns and falls
 * back to the local list if that call fails, so an outage never silently switches moderation off.
 */
export function createModerator(config: ModerationConfig, client?: Pick<OpenAI, 'moderations'>): Moderator {
  const phrases = config.words.map((word) => ` ${word} `);
  const local = (text: string): ModerationResult => {
    const padded = ` ${normalise(text)} `;
    return phrases.some((phrase) => padded.includes(phrase))
      ? { flagged: true, by: 'local' }
      : { flagged: false };
  };
  return {
    mode: config.mode,
    async check(text, signal) {
      if (config.mode === 'off' || !text.trim()) return { flagged: false };
      if (config.mode === 'openai' && client) {
        try {
          const result = await client.moderations.create(
            { model: 'omni-moderation-latest', input: text },
            signal ? { signal, maxRetries: 1 } : { maxRetries: 1 },
          );
          if (result.results.some((entry) => entry.flagged)) return { flagged: true, by: 'openai' };
          return local(text);
        } catch {
          return local(text);
        }
      }
      return local(text);
    },
    refusal(npcName) {
      return config.refusal.replaceAll('{name}', npcName ?? 'The stranger');
    },
  };
}
