import { describe, expect, it } from 'vitest';
import { type NpcSignal, NpcState, nextNpcState } from './npc-state.js';

function run(signals: NpcSignal[]): NpcState[] {
  let state: NpcState = NpcState.Idle;
  return signals.map((signal) => {
    state = nextNpcState(state, signal);
    return state;
  });
}

describe('nextNpcState', () => {
  it('walks through a whole exchange', () => {
    expect(run(['open', 'sent', 'text', 'text', 'typed', 'close'])).toEqual([
      'listening',
      'thinking',
      'speaking',
      'speaking',
      'listening',
      'idle',
    ]);
  });

  it('goes back to listening when a turn fails before any text', () => {
    expect(run(['open', 'sent', 'failed'])).toEqual(['listening', 'thinking', 'listening']);
  });

  it('ignores stream signals outside a conversation', () => {
    expect(run(['text', 'typed', 'failed', 'sent'])).toEqual(['idle', 'idle', 'idle', 'idle']);
  });
});
