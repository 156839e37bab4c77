import { describe, expect, it } from 'vitest';
import { ProxyError } from './errors.js';
import { array, jsonObject, metadata, number, object, parse, string } from './validate.js';

const check = object(
  { name: string({ max: 5 }), count: number({ integer: true, min: 0 }), tags: array(string()) },
  { required: ['name'] },
);

function failure(fn: () => unknown): ProxyError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProxyError) return error;
    throw error;
  }
  throw new Error('expected a ProxyError');
}

describe('validators', () => {
  it('accepts a valid body and returns only known fields', () => {
    expect(parse(check, { name: 'Brom', count: 2, tags: ['a'] })).toEqual({
      name: 'Brom',
      count: 2,
      tags: ['a'],
    });
  });

  it('names the parameter and uses stable codes', () => {
    expect(failure(() => parse(check, { count: 1 }))).toMatchObject({
      status: 400,
      code: 'missing_required_parameter',
      param: 'name',
    });
    expect(failure(() => parse(check, { name: 7 }))).toMatchObject({ code: 'invalid_value', param: 'name' });
    expect(failure(() => parse(check, { name: 'toolong' }))).toMatchObject({
      code: 'invalid_value',
      param: 'name',
    });
    expect(failure(() => parse(check, { name: 'a', tags: ['x', 3] }))).toMatchObject({ param: 'tags[1]' });
    expect(failure(() => parse(check, { name: 'a', extra: true }))).toMatchObject({
      code: 'unknown_parameter',
      param: 'extra',
    });
    expect(failure(() => parse(check, { name: 'a', count: 1.5 }))).toMatchObject({ param: 'count' });
  });

  it('drops prototype keys from pass-through objects and limits depth', () => {
    const value = jsonObject(JSON.parse('{"a":{"__proto__":{"polluted":true},"b":1}}'), 'p') as {
      a: Record<string, unknown>;
    };
    expect(Object.hasOwn(value.a, '__proto__')).toBe(false);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    let deep: unknown = {};
    for (let i = 0; i < 40; i++) deep = { d: deep };
    expect(failure(() => jsonObject(deep, 'p'))).toMatchObject({ code: 'invalid_value' });
  });

  it('enforces OpenAI metadata limits', () => {
    const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
    expect(failure(() => metadata(many, 'metadata'))).toMatchObject({ param: 'metadata' });
    expect(failure(() => metadata({ k: 1 }, 'metadata'))).toMatchObject({ param: 'metadata.k' });
    expect(failure(() => metadata(JSON.parse('{"__proto__":"x"}'), 'metadata'))).toMatchObject({
      param: 'metadata',
    });
  });
});
