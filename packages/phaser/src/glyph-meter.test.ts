import { describe, expect, it } from 'vitest';
import { GlyphMeter } from './glyph-meter.js';

describe('GlyphMeter', () => {
  it('reports a delta at the first frame drawn after its first character was placed', () => {
    const meter = new GlyphMeter();
    meter.arrived(0, 5, 100, true);
    meter.arrived(5, 6, 104, false);
    expect(meter.drawn(105)).toEqual([]); // nothing placed yet
    meter.placed(1, 110);
    expect(meter.drawn(118)).toEqual([
      { arrivedAt: 100, placedAt: 110, drawnAt: 118, latency: 18, caughtUp: true, offset: 0, length: 5 },
    ]);
    meter.placed(6, 200);
    expect(meter.drawn(216)).toMatchObject([{ arrivedAt: 104, latency: 112, caughtUp: false }]);
    expect(meter.waiting).toBe(false);
  });

  it('ignores empty deltas and forgets everything on clear', () => {
    const meter = new GlyphMeter();
    meter.arrived(0, 0, 1, true);
    expect(meter.waiting).toBe(false);
    meter.arrived(0, 3, 1, true);
    meter.clear();
    meter.placed(3, 2);
    expect(meter.drawn(3)).toEqual([]);
  });
});
