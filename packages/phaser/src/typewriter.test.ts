import { describe, expect, it } from 'vitest';
import { Typewriter } from './typewriter.js';

describe('Typewriter', () => {
  it('reveals at the configured pace however the text arrives', () => {
    const uneven = new Typewriter({ charsPerSecond: 10, sentencePause: 0 });
    const whole = new Typewriter({ charsPerSecond: 10, sentencePause: 0 });
    whole.write('Who goes there');
    for (const chunk of ['W', 'ho go', 'es there']) uneven.write(chunk);
    for (let i = 0; i < 5; i++) {
      uneven.tick(100);
      whole.tick(100);
    }
    // The first character is due at once, then one per 100 ms.
    expect(uneven.visible).toBe('Who go');
    expect(whole.visible).toBe('Who go');
  });

  it('shows the first character after a wait on the next frame', () => {
    const typewriter = new Typewriter({ charsPerSecond: 10, sentencePause: 0 });
    typewriter.write('Halt');
    expect(typewriter.tick(16)).toBe(true);
    expect(typewriter.visible).toBe('H');
    typewriter.tick(16);
    expect(typewriter.visible).toBe('H'); // then the pace applies
  });

  it('does not burst after waiting for tokens', () => {
    const typewriter = new Typewriter({ charsPerSecond: 10, sentencePause: 0 });
    typewriter.write('ab');
    typewriter.tick(1000);
    expect(typewriter.visible).toBe('ab');
    typewriter.tick(5000); // nothing to show: the idle time is not banked
    typewriter.write('cdefgh');
    typewriter.tick(100);
    expect(typewriter.visible).toBe('abcd'); // one due at once, one for the 100 ms
  });

  it('is done only after the source ends and everything is shown', () => {
    const typewriter = new Typewriter({ charsPerSecond: 100, sentencePause: 0 });
    typewriter.write('Halt');
    typewriter.tick(1000);
    expect(typewriter.done).toBe(false);
    typewriter.end();
    expect(typewriter.done).toBe(true);
  });

  it('pauses after a sentence but not inside a number', () => {
    const typewriter = new Typewriter({ charsPerSecond: 10, sentencePause: 5 });
    typewriter.write('No. 3.5 it is');
    typewriter.tick(200);
    expect(typewriter.visible).toBe('No.');
    typewriter.tick(500); // pays off the pause
    expect(typewriter.visible).toBe('No.');
    typewriter.tick(400);
    expect(typewriter.visible).toBe('No. 3.5');
  });

  it('speeds up in proportion to the backlog when far behind the stream', () => {
    const typewriter = new Typewriter({ charsPerSecond: 10, catchUpAfter: 20 });
    typewriter.write('x'.repeat(100));
    typewriter.tick(1000);
    // 50 characters a second at first, slowing as the backlog shrinks: far more than the steady 10.
    expect(typewriter.visible.length).toBeGreaterThan(35);
    expect(typewriter.visible.length).toBeLessThan(50);
  });

  it("follows a fast model's arrival: a 300-character line that came at once types in under 2.5 s", () => {
    const typewriter = new Typewriter();
    typewriter.write('word '.repeat(60));
    let ms = 0;
    while (typewriter.typing && ms < 10_000) {
      typewriter.tick(16);
      ms += 16;
    }
    // At the steady 45 characters a second it would take 6.7 s.
    expect(ms).toBeLessThan(2500);
    expect(ms).toBeGreaterThan(1000);
  });

  it('keeps the steady pace for a short line', () => {
    const steady = new Typewriter({ catchUpAfter: 1000 });
    const typewriter = new Typewriter();
    for (const t of [steady, typewriter]) {
      t.write('Halt! Who goes there');
      t.tick(300);
    }
    expect(typewriter.visible).toBe(steady.visible);
    expect(typewriter.typing).toBe(true);
  });

  it('never splits a surrogate pair', () => {
    const typewriter = new Typewriter({ charsPerSecond: 10 });
    typewriter.write('🛡️ok');
    typewriter.tick(0);
    expect(typewriter.visible).toBe('🛡');
  });

  it('skip reveals everything received so far', () => {
    const typewriter = new Typewriter();
    typewriter.write('The gate is closed at night.');
    typewriter.skip();
    expect(typewriter.visible).toBe('The gate is closed at night.');
    expect(typewriter.typing).toBe(false);
  });

  it('stops at a limit (a full page) without banking the wait', () => {
    const typewriter = new Typewriter({ charsPerSecond: 10, sentencePause: 0 });
    typewriter.write('abcdefgh');
    typewriter.tick(1000, 3);
    expect(typewriter.visible).toBe('abc');
    typewriter.tick(5000, 3);
    typewriter.tick(100);
    expect(typewriter.visible).toBe('abcde');
    typewriter.skip(6);
    expect(typewriter.visible).toBe('abcdef');
  });

  it('set() follows the full text and rewinds when the source corrects itself', () => {
    const typewriter = new Typewriter({ charsPerSecond: 1000 });
    typewriter.set('Hello there');
    typewriter.tick(1000);
    typewriter.set('Hello there, traveller');
    expect(typewriter.visible).toBe('Hello there');
    typewriter.set('Help');
    expect(typewriter.visible).toBe('Hel');
  });
});
