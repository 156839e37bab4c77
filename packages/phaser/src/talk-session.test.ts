import type { DialogueError, DialogueEvent, Turn } from '@parley/dialogue';
import { describe, expect, it } from 'vitest';
import { type Mirror, TalkSession } from './talk-session.js';

/** A turn fed by the test, with the same replay-and-end contract as @parley/dialogue's. */
function fakeTurn() {
  const events: DialogueEvent[] = [];
  const waiting: Array<() => void> = [];
  let ended = false;
  const push = (event: DialogueEvent) => {
    if (ended) return;
    events.push(event);
    ended = event.type === 'turn.end' || event.type === 'error';
    for (const wake of waiting.splice(0)) wake();
  };
  const error = (code: DialogueError['code']) =>
    Object.assign(new Error(code), {
      name: 'DialogueError',
      code,
      retryable: code === 'network',
    }) as DialogueError;
  const turn: Turn = {
    text: new Promise(() => {}),
    runId: 'run_1',
    interrupt: () => push({ type: 'error', error: error('interrupted') }),
    async *[Symbol.asyncIterator]() {
      for (let i = 0; ; i++) {
        while (i >= events.length) {
          if (ended) return;
          await new Promise<void>((wake) => waiting.push(wake));
        }
        yield events[i]!;
      }
    },
  };
  return { turn, push, error };
}

function mirror() {
  const lines: Array<{ speaker: string; text: string; state: string }> = [];
  const m: Mirror = {
    add(speaker, text, state = 'streaming') {
      const line = { speaker, text, state: state as string };
      lines.push(line);
      return {
        update: (next) => {
          line.text = next;
        },
        finish: (final = 'done', finalText) => {
          line.state = final;
          if (finalText !== undefined) line.text = finalText;
        },
      };
    },
  };
  return { m, lines };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

function setup() {
  const turns: Array<ReturnType<typeof fakeTurn>> = [];
  const said: string[] = [];
  const states: string[] = [];
  const views: string[] = [];
  const errors: string[] = [];
  const { m, lines } = mirror();
  const session = new TalkSession({
    name: 'Brom',
    conversation: {
      say(text) {
        said.push(text);
        const t = fakeTurn();
        turns.push(t);
        return t.turn;
      },
    },
    mirror: m,
    typewriter: { charsPerSecond: 10, sentencePause: 0 },
    handlers: {
      state: (s) => states.push(s),
      view: (v) => views.push(v.text),
      error: (_e, message) => errors.push(message),
    },
  });
  return { session, turns, said, states, views, errors, lines };
}

describe('TalkSession', () => {
  it('types a streamed reply at its own pace and mirrors it as it arrives', async () => {
    const { session, turns, said, states, lines } = setup();
    session.open();
    session.send('  Is the gate open?  ');
    expect(said).toEqual(['Is the gate open?']);
    expect(session.state).toBe('thinking');

    const { push } = turns[0]!;
    push({ type: 'turn.start', runId: 'run_1', threadId: 'thread_1' });
    push({ type: 'text.delta', delta: 'Closed ', text: 'Closed ' });
    push({ type: 'text.delta', delta: 'at night.', text: 'Closed at night.' });
    await tick();
    expect(session.state).toBe('speaking');
    expect(lines.map((l) => [l.speaker, l.state])).toEqual([
      ['player', 'done'],
      ['Brom', 'streaming'],
    ]);
    expect(lines[1]!.text).toBe('Closed at night.');

    session.tick(300);
    expect(session.view.text).toBe('Clo');
    push({ type: 'turn.end', text: 'Closed at night.', status: 'completed', runId: 'run_1', usage: null });
    await session.settled();
    expect(lines[1]!.state).toBe('done');
    expect(session.state).toBe('speaking'); // still typing
    session.tick(10_000);
    expect(session.view.text).toBe('Closed at night.');
    expect(states).toEqual(['listening', 'thinking', 'speaking', 'listening']);
  });

  it('shows an in-world error and goes back to listening', async () => {
    const { session, turns, errors, lines } = setup();
    session.open();
    session.send('Hello?');
    const { push, error } = turns[0]!;
    push({ type: 'error', error: error('network') });
    await session.settled();
    expect(session.state).toBe('listening');
    expect(session.view).toEqual({
      text: '(Brom seems distracted — the connection failed. Try again.)',
      tone: 'error',
    });
    expect(errors).toHaveLength(1);
    expect(lines[1]!.state).toBe('error');
  });

  it('interrupts a streaming turn when the player speaks again, ignoring its late events', async () => {
    const { session, turns, said, lines } = setup();
    session.open();
    session.send('First');
    turns[0]!.push({ type: 'text.delta', delta: 'Well', text: 'Well' });
    await tick();
    session.send('Second');
    await tick();
    expect(said).toEqual(['First', 'Second']);
    expect(lines.map((l) => l.state)).toEqual(['done', 'interrupted', 'done', 'streaming']);
    expect(session.state).toBe('thinking');
    expect(session.view.text).toBe('…');
  });

  it('close interrupts the turn and returns to idle', async () => {
    const { session, states, lines } = setup();
    session.open();
    session.send('Bye');
    session.close();
    await session.settled();
    expect(session.state).toBe('idle');
    expect(session.busy).toBe(false);
    expect(states.at(-1)).toBe('idle');
    expect(lines[1]!.state).toBe('interrupted');
  });

  it('ignores lines while closed', () => {
    const { session, said } = setup();
    session.send('Anyone there?');
    expect(said).toEqual([]);
  });
});
