import type { DialogueError, RunStatus, ToolCall, Usage } from '@parley/dialogue';
import type { ParleyNpc } from './npc.js';
import type { NpcState } from './npc-state.js';

/**
 * Names of the events the plugin emits; subscribe with `this.parley.on(ParleyEvents.Reply, …)`.
 *
 * @example
 * ```ts
 * this.parley.on(ParleyEvents.State, ({ npc, state }) => npc.sprite.setTint(state === 'thinking' ? 0xffffaa : 0xffffff));
 * ```
 */
export const ParleyEvents = {
  /** The dialogue box opened on an NPC. */
  TalkStart: 'npc.talk.start',
  /** The dialogue box closed. */
  TalkEnd: 'npc.talk.end',
  /** An NPC changed state (idle, listening, thinking, speaking). */
  State: 'npc.state',
  /** An NPC finished a reply (the whole text; the box may still be typing it). */
  Reply: 'npc.reply',
  /** A turn failed; `message` is the in-world line the box shows. */
  Error: 'npc.error',
  /** The NPC asked for function calls (tools). */
  ToolCall: 'npc.tool.call',
  /** The player came into or went out of an NPC's talk range. */
  Range: 'npc.range',
} as const;

/** The payload of each event in {@link ParleyEvents}. */
export interface ParleyEvents {
  'npc.talk.start': { npc: ParleyNpc };
  'npc.talk.end': { npc: ParleyNpc };
  'npc.state': { npc: ParleyNpc; state: NpcState; previous: NpcState };
  'npc.reply': { npc: ParleyNpc; text: string; status: RunStatus; runId: string; usage: Usage | null };
  'npc.error': { npc: ParleyNpc; error: DialogueError; message: string };
  'npc.tool.call': { npc: ParleyNpc; calls: ToolCall[] };
  'npc.range': { npc: ParleyNpc; inRange: boolean };
}

/** Any event name of {@link ParleyEvents}. */
export type ParleyEventName = keyof ParleyEvents;
