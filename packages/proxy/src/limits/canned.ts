import { ErrorCode } from '@parley/protocol';
import { ProxyError } from '../errors.js';

/** Why the NPC cannot answer for real: a spent budget or a block, a rate limit, or budgets that cannot be checked. */
export type CannedReason = 'budget' | 'rate_limited' | 'unavailable';

interface Line {
  /** Stage direction, completed by the NPC's name: "(Brom shrugs.)". */
  action: string;
  speech: string;
}

const LINES: Record<CannedReason, readonly Line[]> = {
  budget: [
    { action: 'shrugs', speech: 'Enough talk for today, traveller.' },
    { action: 'yawns', speech: "My throat's dry. Come back tomorrow." },
    { action: 'waves you off', speech: "That's all the words I have in me today." },
    { action: 'turns away', speech: 'Another day, friend. Another day.' },
  ],
  rate_limited: [
    { action: 'holds up a hand', speech: 'Slow down, one thing at a time.' },
    { action: 'frowns', speech: 'Give me a moment to think.' },
    { action: 'pauses', speech: 'Hold that thought.' },
  ],
  unavailable: [
    { action: 'seems lost in thought', speech: 'Ask me again in a moment.' },
    { action: 'stares into the distance', speech: 'Hm? Sorry, what was that?' },
  ],
};

/** FNV-1a: a stable choice without randomness, so a replayed turn gets the same line. */
function hash(text: string): number {
  let value = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    value ^= text.charCodeAt(i);
    value = Math.imul(value, 0x01000193) >>> 0;
  }
  return value;
}

/**
 * An in-character line for an NPC that cannot answer (used when `PARLEY_BUDGET_CANNED_REPLY=1`, in place
 * of a 429). The variant is chosen deterministically from the NPC's name and `seed` (e.g. the thread id),
 * so one NPC does not repeat a single line to everyone, yet the same turn always reads the same. Without
 * a name the stage direction is left out.
 *
 * @example
 * ```ts
 * cannedLine('Brom', 'budget'); // e.g. "(Brom shrugs.) Enough talk for today, traveller."
 * cannedLine(undefined, 'rate_limited'); // e.g. "Hold that thought."
 * ```
 */
export function cannedLine(
  npcName: string | undefined,
  reason: CannedReason,
  seed: string | number = '',
): string {
  const lines = LINES[reason];
  const name = npcName?.trim();
  const line = lines[hash(`${name ?? ''}\u0000${seed}`) % lines.length] ?? lines[0]!;
  return name ? `(${name} ${line.action}.) ${line.speech}` : line.speech;
}

/**
 * The canned-line reason for an error the limiter threw, or `undefined` for anything else (which must
 * stay an error: a canned line must not hide a bug or an upstream failure).
 *
 * @example
 * ```ts
 * const reason = config.cannedReply ? cannedReasonFor(error) : undefined;
 * if (reason) return answerAsNpc(cannedLine(assistant.name, reason, thread.id));
 * throw error;
 * ```
 */
export function cannedReasonFor(error: unknown): CannedReason | undefined {
  if (!(error instanceof ProxyError)) return undefined;
  if (error.code === ErrorCode.BudgetExceeded) return 'budget';
  if (error.code === ErrorCode.RateLimited) return 'rate_limited';
  if (error.code === ErrorCode.Unavailable) return 'unavailable';
  return undefined;
}
