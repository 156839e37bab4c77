import { describe, expect, it } from 'vitest';
import { fromBytes, toBytes, unit } from './embed.js';

describe('vectors as the database keeps them', () => {
  it('scales to unit length and survives the trip through bytes exactly', () => {
    const vector = unit(Float32Array.from([3, 4, 0]));
    expect([...vector]).toEqual([Math.fround(0.6), Math.fround(0.8), 0]);
    const bytes = toBytes(vector);
    expect(bytes.byteLength).toBe(12);
    // Little-endian whatever the machine: 0.6f is 0x3f19999a.
    expect([...bytes.slice(0, 4)]).toEqual([0x9a, 0x99, 0x19, 0x3f]);
    expect(fromBytes(bytes)).toEqual(vector);
    // A view into a larger buffer, at an offset, reads the same.
    const padded = new Uint8Array(16);
    padded.set(bytes, 4);
    expect(fromBytes(padded.subarray(4))).toEqual(vector);
    expect([...unit(new Float32Array(2))]).toEqual([0, 0]);
  });
});
