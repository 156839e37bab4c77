import { IdPrefix } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { newId } from './ids.js';

describe('newId', () => {
  it('gives OpenAI’s prefix and 24 base62 characters, never the same twice', () => {
    const ids = Array.from({ length: 5000 }, () => newId(IdPrefix.Run));
    for (const id of ids) expect(id).toMatch(/^run_[A-Za-z0-9]{24}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('uses every character about equally often, across many refills of its pool', () => {
    const counts = new Map<string, number>();
    const ids = 20_000; // 480,000 characters: ~125 draws from the system
    for (let i = 0; i < ids; i++)
      for (const char of newId(IdPrefix.Message).slice('msg_'.length))
        counts.set(char, (counts.get(char) ?? 0) + 1);
    expect(counts.size).toBe(62);
    const expected = (ids * 24) / 62; // ~7,742; one standard deviation is ~87
    for (const count of counts.values()) expect(Math.abs(count - expected)).toBeLessThan(600);
  });
});
