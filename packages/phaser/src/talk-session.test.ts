import { type DialogueError, type DialogueEvent, stripCitations, type Turn } from '@parley/dialogue';
import { describe, expect, it } from 'vitest';
import { FastForward } from './fast-forward.js';
import { type Mirror, type PageLayout, TalkSession, type TalkSessionOptions } from './talk-session.js';

/** A turn fed by the test, with the same replay-and-end contract as @parley/dialogue's. */
function fakeTurn() {
  const events: DialogueEvent[] = [];
  /** What each interrupt() said the player saw. */
  const interrupts: Array<number | undefined> = [];
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
    usage: Promise.resolve(null),
    interrupt: (options) => {
      interrupts.push(options?.shown);
      push({ type: 'error', error: error('interrupted') });
    },
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
  return { turn, push, error, interrupts };
}

function mirror() {
  const lines: Array<{ speaker: string; text: string; state: string; kind?: string }> = [];
  const m: Mirror = {
    add(speaker, text, state = 'streaming', kind) {
      const line = { speaker, text, state: state as string, ...(kind && { kind }) };
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

function setup(extra: Partial<TalkSessionOptions> = {}) {
  const turns: Array<ReturnType<typeof fakeTurn>> = [];
  const said: string[] = [];
  const states: string[] = [];
  const views: string[] = [];
  const errors: string[] = [];
  const offered: string[][] = [];
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
      suggestions: (replies) => offered.push([...replies]),
    },
    ...extra,
  });
  return { session, turns, said, states, views, errors, lines, offered };
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
    expect(session.view.text).toBe('Clos'); // one character at once, then 10 a second
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
    expect(session.view).toMatchObject({
      text: '(Brom seems distracted — the connection failed. Try again.)',
      tone: 'error',
      more: false,
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

  // One character is one pixel: lines of 10 characters, pages of 2 lines.
  const small: PageLayout = { measure: (text) => text.length, width: 10, lines: 2 };
  const LONG = 'Four words per line. Then more words here, and the end.';

  it('types a long reply page by page and waits for the player at each full page', async () => {
    const { session, turns, states } = setup({ layout: small });
    session.open();
    session.send('Tell me everything');
    const { push } = turns[0]!;
    push({ type: 'text.delta', delta: LONG, text: LONG });
    push({ type: 'turn.end', text: LONG, status: 'completed', runId: 'run_1', usage: null });
    await session.settled();
    session.tick(60_000);
    expect(session.view).toMatchObject({ text: 'Four words\nper line.', more: true, page: 0 });
    expect(session.view.pages).toBeGreaterThan(2);
    session.tick(60_000);
    expect(session.view.page).toBe(0); // it waits however long it takes
    expect(session.state).toBe('speaking');

    expect(session.advance()).toBe('next');
    expect(session.view).toMatchObject({ text: 'T', page: 1 });
    expect(session.advance()).toBe('complete'); // the page appears at once
    expect(session.view).toMatchObject({ text: 'Then more\nwords', more: true });
    while (session.advance() !== 'none') session.tick(60_000);
    expect(session.view.text).toBe('here, and\nthe end.');
    expect(session.view.more).toBe(false);
    expect(states.at(-1)).toBe('listening');
  });

  it('fast-forwards while the advance control is held: faster typing, pages turn by themselves', async () => {
    let now = 0;
    const fastForward = new FastForward({ holdMs: 300, speed: 5, pageMs: 200 });
    const { session, turns } = setup({ layout: small, fastForward, now: () => now });
    session.open();
    session.send('Go on');
    turns[0]!.push({ type: 'text.delta', delta: LONG, text: LONG });
    await tick();
    session.tick(100); // 1 due at once + 1 at 10 chars/s
    expect(session.view.text).toBe('Fo');
    fastForward.press(now);
    now = 300;
    session.tick(100); // 5 times as fast
    expect(session.view.text).toBe('Four wo');
    session.tick(2000);
    expect(session.view.more).toBe(true);
    now = 450;
    session.tick(16);
    expect(session.view.page).toBe(0);
    now = 520;
    session.tick(16); // full for 200 ms: turns
    expect(session.view.page).toBe(1);
    fastForward.release();
    session.tick(2000);
    now = 2000;
    session.tick(16);
    expect(session.view.page).toBe(1); // released: waits again
  });

  it('holds back suggestion lines while streaming and offers them once the reply is typed', async () => {
    const { session, turns, views, offered } = setup();
    session.open();
    session.send('Can I pass?');
    const { push } = turns[0]!;
    const parts = ['Not ', 'tonight.', '\n', '> Ask', ' why\n', '> Leave'];
    let text = '';
    for (const delta of parts) {
      text += delta;
      push({ type: 'text.delta', delta, text });
      await tick();
      session.tick(10_000);
    }
    expect(views.some((v) => v.includes('>'))).toBe(false);
    expect(session.view.suggestions).toEqual([]);
    push({ type: 'turn.end', text, status: 'completed', runId: 'run_1', usage: null });
    await session.settled();
    session.tick(10_000);
    expect(session.view.text).toBe('Not tonight.');
    expect(session.view.suggestions).toEqual(['Ask why', 'Leave']);
    expect(offered).toEqual([['Ask why', 'Leave']]);
    session.send('Ask why');
    expect(session.view.suggestions).toEqual([]);
  });

  it('offers the replies of a suggest_replies tool call', async () => {
    const { session, turns } = setup();
    session.open();
    session.send('Hm?');
    const { push } = turns[0]!;
    const calls = [{ id: 'call_1', name: 'suggest_replies', arguments: '{"replies":["Yes","No"]}' }];
    push({ type: 'tool.call', calls });
    push({ type: 'tool.result', id: 'call_1', name: 'suggest_replies', output: '{"shown":2}' });
    push({ type: 'text.delta', delta: 'Well?', text: 'Well?' });
    push({ type: 'turn.end', text: 'Well?', status: 'completed', runId: 'run_1', usage: null });
    await session.settled();
    session.tick(10_000);
    expect(session.view.suggestions).toEqual(['Yes', 'No']);
  });

  it('interrupt() stops the stream; the NPC trails off where it was cut', async () => {
    const { session, turns, lines, states } = setup();
    session.open();
    session.send('Tell me a long story');
    const { push } = turns[0]!;
    push({ type: 'text.delta', delta: 'Long ago, in the ', text: 'Long ago, in the ' });
    await tick();
    session.tick(500); // 6 characters typed
    expect(session.interrupt()).toBe(true);
    await session.settled();
    expect(session.busy).toBe(false);
    expect(session.interrupt()).toBe(false);
    expect(session.view).toMatchObject({ text: 'Long a—', tone: 'normal' });
    expect(lines[1]).toMatchObject({ state: 'interrupted', text: 'Long a—' });
    expect(turns[0]!.interrupts).toEqual([6]);
    expect(states.at(-1)).toBe('listening');
  });

  it('interrupt() after the reply arrived but while it types cuts the line and says how much was shown', async () => {
    const { session, turns, lines, states } = setup();
    session.open();
    session.send('Tell me a long story');
    const { push, interrupts } = turns[0]!;
    const text = 'Long ago, in the north, a dragon slept.';
    push({ type: 'text.delta', delta: text, text });
    push({ type: 'turn.end', text, status: 'completed', runId: 'run_1', usage: null });
    await tick();
    expect(session.busy).toBe(false);
    session.tick(500); // 6 characters typed
    expect(session.interrupt()).toBe(true);
    expect(interrupts).toEqual([6]);
    expect(session.view).toMatchObject({ text: 'Long a—', tone: 'normal' });
    expect(lines[1]).toMatchObject({ state: 'interrupted', text: 'Long a—' });
    expect(states.at(-1)).toBe('listening');
    // The line stays cut: time passes, nothing more is typed; a second interrupt has nothing to stop.
    session.tick(10_000);
    expect(session.view.text).toBe('Long a—');
    expect(session.interrupt()).toBe(false);
  });

  it('a reply typed out in full is not interrupted; closing mid-typing tells the turn what was shown', async () => {
    const { session, turns } = setup();
    session.open();
    session.send('Hi');
    const text = 'Well met.';
    turns[0]!.push({ type: 'text.delta', delta: text, text });
    turns[0]!.push({ type: 'turn.end', text, status: 'completed', runId: 'run_1', usage: null });
    await tick();
    session.tick(10_000);
    expect(session.interrupt()).toBe(false);
    expect(turns[0]!.interrupts).toEqual([]);

    session.send('Again?');
    turns[1]!.push({ type: 'text.delta', delta: text, text });
    turns[1]!.push({ type: 'turn.end', text, status: 'completed', runId: 'run_2', usage: null });
    await tick();
    session.tick(300); // 4 characters
    session.close();
    expect(turns[1]!.interrupts).toEqual([4]);
  });

  it('measures each delta from arrival to its first placed character', async () => {
    let now = 0;
    const { session, turns } = setup({ now: () => now });
    session.open();
    session.send('Hi');
    const { push } = turns[0]!;
    now = 10;
    push({ type: 'text.delta', delta: 'Hello', text: 'Hello' });
    await tick();
    now = 12;
    push({ type: 'text.delta', delta: ' there', text: 'Hello there' }); // arrives behind the typewriter
    await tick();
    now = 20;
    session.tick(16);
    const first = session.glyphs.drawn(25);
    expect(first).toEqual([
      { arrivedAt: 10, placedAt: 20, drawnAt: 25, latency: 15, caughtUp: true, offset: 0, length: 5 },
    ]);
    now = 700;
    session.tick(1000);
    const second = session.glyphs.drawn(716);
    expect(second).toMatchObject([{ arrivedAt: 12, latency: 704, caughtUp: false, offset: 5 }]);
  });

  it('types no further than the voice has said, and an interrupt cuts both where the voice was', async () => {
    let spoken: number | undefined = 0;
    const { session, turns } = setup({ spoken: () => spoken });
    session.open();
    session.send('Hello?');
    const { push, interrupts } = turns[0]!;
    const text = 'Halt! Who goes there?';
    push({ type: 'turn.start', runId: 'run_1', threadId: 'thread_1' });
    push({ type: 'turn.end', text, status: 'completed', runId: 'run_1', usage: null });
    await session.settled();
    // Nothing said yet: nothing typed, however long the frame.
    session.tick(10_000);
    expect(session.view.text).toBe('');
    // Halfway through the first sentence's clip.
    spoken = 3;
    session.tick(10_000);
    expect(session.view.text).toBe('Hal');
    spoken = 5;
    session.tick(10_000);
    expect(session.view.text).toBe('Halt!');
    expect(session.state).toBe('speaking');
    // The player cuts in: the line stops where the voice was.
    expect(session.interrupt()).toBe(true);
    expect(interrupts).toEqual([5]);
    expect(session.view.text).toBe('Halt!—');
    // A voice with nothing more to hold back (muted, done, failed): the rest types at its own pace.
    session.send('Again?');
    const second = turns[1]!;
    second.push({ type: 'turn.end', text, status: 'completed', runId: 'run_2', usage: null });
    await session.settled();
    spoken = undefined;
    session.tick(10_000);
    expect(session.view.text).toBe(text);
  });
});

describe('TalkSession with citations', () => {
  const STORED = 'The bell was cast in 812 【0†chronicle.md】. It rang twice.';
  const SHOWN = 'The bell was cast in 812. It rang twice.';
  const citations = [{ fileId: 'file-1', filename: 'chronicle.md', quote: 'The bell was cast in 812' }];

  it('types the reply without its markers, and shows the source under it once typed', async () => {
    const { session, turns, lines } = setup();
    session.open();
    session.send('When was the bell cast?');
    const { push } = turns[0]!;
    push({ type: 'turn.start', runId: 'run_1', threadId: 'thread_1' });
    const partial = 'The bell was cast in 812 【0†chron';
    push({ type: 'text.delta', delta: partial, text: partial });
    await tick();
    // Not even the start of a marker shows.
    expect(lines[1]!.text).toBe('The bell was cast in 812');
    push({ type: 'text.delta', delta: STORED.slice(partial.length), text: STORED });
    push({ type: 'turn.end', text: STORED, status: 'completed', runId: 'run_1', usage: null, citations });
    await session.settled();
    expect(lines.slice(1)).toEqual([
      { speaker: 'Brom', text: SHOWN, state: 'done' },
      { speaker: 'Brom', text: '— from chronicle.md', state: 'done', kind: 'source' },
    ]);
    session.tick(1_000);
    expect(session.view.source).toBe(''); // still typing
    session.tick(10_000);
    expect(session.view.text).toBe(SHOWN);
    expect(session.view.source).toBe('— from chronicle.md');
    // The next line starts without it.
    session.send('Thanks.');
    expect(session.view.source ?? '').toBe('');
  });

  it('tells the turn how much the player saw counting the markers, as the proxy stores the line', async () => {
    const { session, turns } = setup();
    session.open();
    session.send('When was the bell cast?');
    const { push, interrupts } = turns[0]!;
    push({ type: 'turn.start', runId: 'run_1', threadId: 'thread_1' });
    push({ type: 'text.delta', delta: STORED, text: STORED });
    await tick();
    session.tick(3_000);
    const shown = session.view.text;
    expect(shown.length).toBeGreaterThan(26);
    expect(session.interrupt()).toBe(true);
    // Past the marker: the stored line is cut after it, where the player's text ends.
    expect(interrupts).toEqual([shown.length + ' 【0†chronicle.md】'.length]);
    expect(stripCitations(STORED.slice(0, interrupts[0]))).toBe(shown);
  });
});
