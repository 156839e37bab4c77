import { describe, expect, it } from 'vitest';
import { advanceAction, FastForward } from './fast-forward.js';

describe('advanceAction', () => {
  it('completes a page being typed, else turns to the next, else does nothing', () => {
    expect(advanceAction({ typing: true, hasNext: true })).toBe('complete');
    expect(advanceAction({ typing: true, hasNext: false })).toBe('complete');
    expect(advanceAction({ typing: false, hasNext: true })).toBe('next');
    expect(advanceAction({ typing: false, hasNext: false })).toBe('none');
  });
});

describe('FastForward', () => {
  it('speeds up only once held past the hold time, and stops on release', () => {
    const ff = new FastForward({ holdMs: 300, speed: 6 });
    expect(ff.speed(0)).toBe(1);
    ff.press(1000);
    expect(ff.speed(1299)).toBe(1);
    expect(ff.speed(1300)).toBe(6);
    ff.press(1400); // a key repeat does not restart the hold
    expect(ff.active(1400)).toBe(true);
    ff.release();
    expect(ff.speed(1500)).toBe(1);
    expect(ff.pressed).toBe(false);
  });

  it('turns a full page by itself after a moment, only while fast-forwarding', () => {
    const ff = new FastForward({ holdMs: 100, pageMs: 250 });
    expect(ff.shouldTurn(5000, 0)).toBe(false);
    ff.press(0);
    expect(ff.shouldTurn(200, 100)).toBe(false);
    expect(ff.shouldTurn(350, 100)).toBe(true);
    expect(ff.shouldTurn(350, undefined)).toBe(false);
  });
});
