import { describe, expect, it } from 'vitest';
import { cloneData } from './clone.js';

describe('cloneData', () => {
  it('copies JSON-shaped data deeply: equal, and sharing nothing', () => {
    const run = {
      id: 'run_1',
      status: 'in_progress',
      tools: [
        { type: 'function', function: { name: 'give', parameters: { type: 'object', required: ['item'] } } },
      ],
      metadata: {},
      usage: null,
      last_error: undefined,
      temperature: 0.7,
      parallel_tool_calls: true,
    };
    const copy = cloneData(run);
    expect(copy).toStrictEqual(run);
    expect(copy).not.toBe(run);
    expect(copy.tools).not.toBe(run.tools);
    expect(copy.tools[0]!.function.parameters).not.toBe(run.tools[0]!.function.parameters);
    copy.tools[0]!.function.parameters.required.push('count');
    expect(run.tools[0]!.function.parameters.required).toEqual(['item']);
  });

  it('copies what is not plain data as structuredClone does', () => {
    const value = {
      at: new Date(0),
      seen: new Map([['a', 1]]),
      bytes: new Uint8Array([1, 2]),
      bare: Object.create(null),
    };
    (value.bare as Record<string, unknown>)['x'] = [1];
    const copy = cloneData(value);
    expect(copy).toStrictEqual(structuredClone(value));
    expect(copy.at).not.toBe(value.at);
    expect(copy.seen).not.toBe(value.seen);
    expect(copy.bytes).not.toBe(value.bytes);
    expect((copy.bare as Record<string, unknown>)['x']).not.toBe(
      (value.bare as Record<string, unknown>)['x'],
    );
  });

  it('returns primitives as they are', () => {
    for (const value of [null, undefined, 0, 'text', false]) expect(cloneData(value)).toBe(value);
  });
});
