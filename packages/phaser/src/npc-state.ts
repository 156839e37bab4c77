/**
 * What an NPC is doing in a conversation, shown on its sprite and reported in `npc.state` events.
 * - `idle`: not in a conversation.
 * - `listening`: the dialogue is open and waits for the player's line.
 * - `thinking`: the line was sent; no words of the reply yet.
 * - `speaking`: the reply is arriving or still being typed out.
 */
export const NpcState = {
  Idle: 'idle',
  Listening: 'listening',
  Thinking: 'thinking',
  Speaking: 'speaking',
} as const;
export type NpcState = (typeof NpcState)[keyof typeof NpcState];

/**
 * What happened to the conversation:
 * `open`/`close` (the dialogue box), `sent` (the player's line went out), `text` (reply text arrived),
 * `typed` (the reply finished and the typewriter caught up), `failed` (the turn ended in an error or was
 * interrupted).
 */
export type NpcSignal = 'open' | 'close' | 'sent' | 'text' | 'typed' | 'failed';

/**
 * The NPC state machine, kept free of Phaser so it can be tested on its own.
 *
 * @example
 * ```ts
 * nextNpcState('listening', 'sent'); // 'thinking'
 * ```
 */
export function nextNpcState(state: NpcState, signal: NpcSignal): NpcState {
  switch (signal) {
    case 'open':
      return state === NpcState.Idle ? NpcState.Listening : state;
    case 'close':
      return NpcState.Idle;
    case 'sent':
      return state === NpcState.Idle ? state : NpcState.Thinking;
    case 'text':
      return state === NpcState.Thinking ? NpcState.Speaking : state;
    case 'typed':
    case 'failed':
      return state === NpcState.Idle ? state : NpcState.Listening;
    default: {
      const unreachable: never = signal;
      return unreachable;
    }
  }
}
