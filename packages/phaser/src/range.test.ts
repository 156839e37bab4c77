import { describe, expect, it } from 'vitest';
import { distanceSquared, isWithin, RangeTracker } from './range.js';

describe('isWithin', () => {
  it('includes the edge and excludes beyond it', () => {
    expect(isWithin({ x: 0, y: 0 }, { x: 3, y: 4 }, 5)).toBe(true);
    expect(isWithin({ x: 0, y: 0 }, { x: 3, y: 4.01 }, 5)).toBe(false);
  });
});

describe('RangeTracker', () => {
  it('enters at the radius and leaves only past the margin', () => {
    const range = new RangeTracker(50, 10);
    const npc = { x: 100, y: 100 };
    expect(range.update(npc, { x: 155, y: 100 })).toBe(false);
    expect(range.update(npc, { x: 150, y: 100 })).toBe(true);
    expect(range.update(npc, { x: 158, y: 100 })).toBe(true); // within the margin: still in range
    expect(range.update(npc, { x: 161, y: 100 })).toBe(false);
    expect(range.update(npc, { x: 158, y: 100 })).toBe(false); // must come back inside the radius
  });

  it('reset forgets the state', () => {
    const range = new RangeTracker(10);
    range.update({ x: 0, y: 0 }, { x: 1, y: 1 });
    range.reset();
    expect(range.inside).toBe(false);
  });
});

describe('distanceSquared', () => {
  it('orders candidates by distance', () => {
    expect(distanceSquared({ x: 0, y: 0 }, { x: 3, y: 4 })).toBe(25);
  });
});
