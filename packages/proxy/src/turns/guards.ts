/**
 * Turn guards: what stands around every call to the model, for runs and chat pass-through alike.
 * - moderation decides on each player line once, when it arrives;
 * - the budget reserves a turn's worst case before the upstream is asked and settles what it really used;
 * - watchdogs give up on an upstream that does not start, stalls, or runs too long.
 */
import { ErrorCode, type Message, type Usage } from '@parley/protocol';
import type { ProxyConfig } from '../config.js';
import { ProxyError } from '../errors.js';
import { nowSeconds } from '../ids.js';
import { cannedLine, cannedReasonFor } from '../limits/canned.js';
import type { Limiter, Reservation } from '../limits/limiter.js';
import { messageText } from '../objects.js';
import type { Moderator } from '../ops/moderation.js';
import type { PolicyGuard } from '../policy/policy.js';
import { estimateTokens } from '../tokens.js';

export type Timeouts = ProxyConfig['timeouts'];

/** The pieces a deployment configures; each is optional (unit tests run without them). */
export interface GuardParts {
  limiter?: Limiter | undefined;
  moderator?: Moderator | undefined;
  policy?: PolicyGuard | undefined;
  /** Answer over-budget players with an in-character line instead of a 429. */
  cannedReplies?: boolean | undefined;
  timeouts?: Timeouts | undefined;
}

/** What a turn may cost at most, for the budget. */
export interface TurnCost {
  player: string;
  npc?: string | undefined;
  model: string;
  promptTokens: number;
  /** What the request asked for (the policy may cap it). */
  maxCompletionTokens: number | null;
}

/** A budget decision: a reservation to settle later, or a line to say instead of asking the model. */
export type Admission = { reservation: Reservation | undefined; line?: undefined } | { line: string };

/** A watchdog over one upstream request. */
export interface Watchdog {
  /** Call when the request is sent (`first`) and on every token (`idle`). */
  arm(phase: 'first' | 'idle'): void;
  stop(): void;
  /** Whether it fired. */
  readonly fired: boolean;
}

/** The guards of one proxy, shared by runs and chat pass-through. */
export class TurnGuards {
  constructor(readonly parts: GuardParts = {}) {}

  /** Whether a player's line is refused by moderation (checked once, when the line arrives). */
  async refuses(text: string, signal?: AbortSignal): Promise<boolean> {
    const moderator = this.parts.moderator;
    if (!moderator || text.trim() === '') return false;
    return (await moderator.check(text, signal)).flagged;
  }

  /**
   * Moderation of the lines no turn has screened yet: each is decided once. A refused line is marked (an
   * `incomplete` message, reason `content_filter`, as OpenAI marks filtered content) and is never sent to
   * the model; the turn answers with the NPC's refusal, and later clean lines are answered as usual.
   * Returns the refused lines, marked, by id.
   */
  async screen(lines: readonly Message[]): Promise<Map<string, Message>> {
    const refused = new Map<string, Message>();
    for (const line of lines) {
      if (!(await this.refuses(messageText(line)))) continue;
      refused.set(line.id, {
        ...line,
        status: 'incomplete',
        incomplete_at: nowSeconds(),
        incomplete_details: { reason: 'content_filter' },
      });
    }
    return refused;
  }

  /** The policy's cap on a thread's messages (checked with the turn's one read of the history). */
  checkRoom(count: number): void {
    const cap = this.parts.policy?.policy.maxMessagesPerThread;
    if (cap === undefined || count <= cap) return;
    throw new ProxyError(
      ErrorCode.InvalidValue,
      `A thread holds at most ${cap} messages on this server; start a new one.`,
      { param: 'thread_id' },
    );
  }

  /** What an NPC says instead of answering a refused line. */
  refusal(npcName: string | null): string {
    return this.parts.moderator?.refusal(npcName) ?? "I won't answer that.";
  }

  /** Output tokens a request may produce: what it asked, capped by policy. */
  maxOutput(requested: number | null): number | null {
    return this.parts.policy ? this.parts.policy.outputTokens(requested) : requested;
  }

  /**
   * Reserves a turn's worst case before the upstream is asked, so concurrent turns cannot overspend. Over
   * the limit: throws the 429, or (when configured and `npcName` is given) returns the NPC's in-character
   * budget line instead.
   */
  async admit(cost: TurnCost, npc?: { name: string | null; runId: string }): Promise<Admission> {
    const limiter = this.parts.limiter;
    if (!limiter) return { reservation: undefined };
    try {
      const reservation = await limiter.reserve({
        player: cost.player,
        ...(cost.npc === undefined ? {} : { npc: cost.npc }),
        model: cost.model,
        promptTokens: cost.promptTokens,
        maxCompletionTokens: this.maxOutput(cost.maxCompletionTokens) ?? 1024,
      });
      return { reservation };
    } catch (error) {
      const reason = cannedReasonFor(error);
      if (npc && this.parts.cannedReplies && reason)
        return { line: cannedLine(npc.name ?? undefined, reason, npc.runId) };
      throw error;
    }
  }

  /**
   * Replaces a reservation's worst case with what the turn used. Whatever was generated is paid for (estimated
   * when the upstream reported no usage), so hanging up mid-answer is never a way to talk for free; a turn
   * that produced nothing is refunded whole.
   */
  async settle(
    reservation: Reservation | undefined,
    spent: { usage: Pick<Usage, 'prompt_tokens' | 'completion_tokens'> | undefined; produced: string },
    maxCompletionTokens: number | null,
  ): Promise<void> {
    if (!reservation) return;
    if (!spent.usage && spent.produced.length === 0) {
      await reservation.release().catch(() => {});
      return;
    }
    await reservation
      .settle({
        promptTokens:
          spent.usage?.prompt_tokens ??
          Math.max(0, reservation.tokens - (this.maxOutput(maxCompletionTokens) ?? 0)),
        completionTokens: spent.usage?.completion_tokens ?? estimateTokens(spent.produced),
      })
      .catch(() => {});
  }

  /**
   * Watches one upstream request: no first token within `firstTokenMs`, a gap longer than `idleMs`, or the
   * whole request over `totalMs` calls `expire` (which aborts the request), rather than leaving a player
   * staring at a thinking NPC forever.
   */
  watchdog(expire: () => void): Watchdog {
    const limits = this.parts.timeouts;
    const state = { fired: false };
    if (!limits) return { arm() {}, stop() {}, fired: false };
    let timer: NodeJS.Timeout | undefined;
    let armed: 'first' | 'idle' | undefined;
    const fire = () => {
      state.fired = true;
      expire();
    };
    const total = setTimeout(fire, limits.totalMs);
    return {
      arm(phase) {
        // Re-armed on every token: refreshing the running timer costs less than replacing it.
        if (phase === armed && timer) {
          timer.refresh();
          return;
        }
        clearTimeout(timer);
        armed = phase;
        timer = setTimeout(fire, phase === 'first' ? limits.firstTokenMs : limits.idleMs);
      },
      stop() {
        clearTimeout(timer);
        clearTimeout(total);
      },
      get fired() {
        return state.fired;
      },
    };
  }
}
