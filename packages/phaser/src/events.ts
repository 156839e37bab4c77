import type { Citation, DialogueError, RunStatus, ToolCall, Turn, Usage } from '@parley/dialogue';
import type { GlyphTiming } from './glyph-meter.js';
import type { ParleyNpc } from './npc.js';
import type { NpcState } from './npc-state.js';

/**
 * Names of the events the plugin emits; subscribe with `this.parley.on(ParleyEvents.Reply, …)` (or
 * `npc.on(…)` for one NPC's). Listeners are removed when the scene shuts down.
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
  /** The player's line went out (typed, a suggestion chip, or `say()`); `turn` is the NPC's answer. */
  Say: 'npc.say',
  /** An NPC finished a reply (the whole text; the box may still be typing it). */
  Reply: 'npc.reply',
  /** A turn failed or was interrupted; `message` is the in-world line the box shows. */
  Error: 'npc.error',
  /** The player interrupted a streaming reply (Escape, or `interrupt()`). */
  Interrupt: 'npc.interrupt',
  /** The NPC called game tools; their handlers run now. */
  ToolCall: 'npc.tool.call',
  /** A tool call was answered (`error` set when it failed). */
  ToolResult: 'npc.tool.result',
  /** The NPC offered replies; the chips show once its reply is typed out. */
  Suggestions: 'npc.suggestions',
  /** An NPC barked a line in a speech bubble. */
  Bark: 'npc.bark',
  /** The player came into or went out of an NPC's talk range. */
  Range: 'npc.range',
  /** A streamed token's first glyph reached the screen (see {@link GlyphTiming}). */
  Glyph: 'npc.glyph',
  /** The debug console opened or closed. */
  Console: 'console.toggle',
} as const;

/** The payload of each event in {@link ParleyEvents}. */
export interface ParleyEvents {
  'npc.talk.start': { npc: ParleyNpc };
  'npc.talk.end': { npc: ParleyNpc };
  'npc.state': { npc: ParleyNpc; state: NpcState; previous: NpcState };
  'npc.say': { npc: ParleyNpc; text: string; turn: Turn };
  /**
   * `text` as stored, with any citation markers (`【0†chronicle.md】`; `stripCitations` takes them out),
   * `citations` what it drew from the NPC's knowledge files.
   */
  'npc.reply': {
    npc: ParleyNpc;
    text: string;
    status: RunStatus;
    runId: string;
    usage: Usage | null;
    citations: Citation[];
  };
  'npc.error': { npc: ParleyNpc; error: DialogueError; message: string };
  'npc.interrupt': { npc: ParleyNpc };
  'npc.tool.call': { npc: ParleyNpc; calls: ToolCall[] };
  'npc.tool.result': { npc: ParleyNpc; id: string; name: string; output: string; error?: string | undefined };
  'npc.suggestions': { npc: ParleyNpc; replies: readonly string[] };
  'npc.bark': { npc: ParleyNpc; text: string; duration: number };
  'npc.range': { npc: ParleyNpc; inRange: boolean };
  'npc.glyph': GlyphTiming & { npc: ParleyNpc };
  'console.toggle': { open: boolean };
}

/** Any event name of {@link ParleyEvents}. */
export type ParleyEventName = keyof ParleyEvents;
