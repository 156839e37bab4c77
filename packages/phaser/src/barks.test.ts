import { describe, expect, it } from 'vitest';
import { AmbientBarks, barkDuration } from './barks.js';

describe('barkDuration', () => {
  it('grows with the text between 1.5 and 7 seconds', () => {
    expect(barkDuration('Halt!')).toBe(1500);
    expect(barkDuration('x'.repeat(40))).toBe(3500);
    expect(barkDuration('x'.repeat(500))).toBe(7000);
  });
});

describe('AmbientBarks', () => {
  it('counts down only while the NPC may bark, then restarts with jitter', () => {
    const clock = new AmbientBarks({ every: 1000, jitter: 0 }, () => 0.5);
    expect(clock.update(10_000, false)).toBe(false); // not eligible: time does not count
    expect(clock.update(400, true)).toBe(false);
    expect(clock.update(100, true)).toBe(true); // the first comes after half the interval
    expect(clock.update(999, true)).toBe(false);
    expect(clock.update(1, true)).toBe(true);
  });

  it('does not repeat the previous line', () => {
    const clock = new AmbientBarks({}, () => 0);
    const lines = ['Cold night.', 'Move along.'];
    expect(clock.pick(lines)).toBe('Cold night.');
    expect(clock.pick(lines)).toBe('Move along.');
    expect(clock.pick(['Only one.'])).toBe('Only one.');
    expect(clock.pick([])).toBeUndefined();
  });
});
