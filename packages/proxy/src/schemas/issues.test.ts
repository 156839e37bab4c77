import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ProxyError } from '../errors.js';
import { integer, jsonObject, metadata, text } from './fields.js';
import { issuesToError, paramOf, parse } from './issues.js';

const check = z.strictObject({
  name: text({ max: 5 }),
  count: integer({ min: 0 }).optional(),
  tags: z.array(text()).optional(),
});

function failure(fn: () => unknown): ProxyError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProxyError) return error;
    throw error;
  }
  throw new Error('expected a ProxyError');
}

describe('parse', () => {
  it('accepts a valid body and returns only known fields, typed', () => {
    const parsed = parse(check, { name: 'Brom', count: 2, tags: ['a'] });
    expect(parsed).toEqual({ name: 'Brom', count: 2, tags: ['a'] });
    const name: string = parsed.name;
    expect(name).toBe('Brom');
  });

  it('answers a missing field as OpenAI did', () => {
    expect(failure(() => parse(check, { count: 1 }))).toMatchObject({
      status: 400,
      code: 'missing_required_parameter',
      param: 'name',
      message: "Missing required parameter: 'name'.",
    });
  });

  it('answers an unknown field as OpenAI did', () => {
    expect(failure(() => parse(check, { name: 'a', extra: true }))).toMatchObject({
      status: 400,
      code: 'unknown_parameter',
      param: 'extra',
      message: 'Unrecognized request argument supplied: extra',
    });
    expect(failure(() => parse(check, JSON.parse('{"name":"a","__proto__":{"x":1}}')))).toMatchObject({
      code: 'unknown_parameter',
      param: '__proto__',
    });
  });

  it('words wrong types and ranges as before, naming the dotted path', () => {
    expect(failure(() => parse(check, { name: 7 }))).toMatchObject({
      code: 'invalid_value',
      param: 'name',
      message: "Invalid type for 'name': expected a string, but got a number.",
    });
    expect(failure(() => parse(check, { name: 'toolong' }))).toMatchObject({
      code: 'invalid_value',
      param: 'name',
      message:
        "Invalid 'name': string too long. Expected a string with maximum length 5, but got a string with length 7 instead.",
    });
    expect(failure(() => parse(check, { name: 'a', tags: ['x', 3] }))).toMatchObject({
      param: 'tags[1]',
      message: "Invalid type for 'tags[1]': expected a string, but got a number.",
    });
    expect(failure(() => parse(check, { name: 'a', count: 1.5 }))).toMatchObject({
      param: 'count',
      message: "Invalid 'count': expected an integer.",
    });
    expect(failure(() => parse(check, { name: 'a', count: -1 }))).toMatchObject({
      param: 'count',
      message: "Invalid 'count': -1 is below the minimum of 0.",
    });
    expect(failure(() => parse(check, { name: 'a', tags: null }))).toMatchObject({
      message: "Invalid type for 'tags': expected an array, but got null.",
    });
    expect(failure(() => parse(check, []))).toMatchObject({
      code: 'invalid_value',
      message: "Invalid type for '': expected an object, but got an array.",
    });
  });

  it('refuses text PostgreSQL cannot store', () => {
    expect(failure(() => parse(check, { name: 'a\u0000b' }))).toMatchObject({
      code: 'invalid_value',
      param: 'name',
      message: "Invalid 'name': text must not contain NUL characters or unpaired surrogates.",
    });
    expect(failure(() => parse(check, { name: '\ud800' }))).toMatchObject({ param: 'name' });
  });

  it('reports the first problem in the body, and a missing field after every present one', () => {
    expect(failure(() => parse(check, { extra: 1, name: 7 }))).toMatchObject({ param: 'extra' });
    expect(failure(() => parse(check, { name: 7, extra: 1 }))).toMatchObject({ param: 'name' });
    expect(failure(() => parse(check, { tags: [1], count: -1 }))).toMatchObject({ param: 'tags[0]' });
    expect(failure(() => parse(check, { count: -1, tags: [1] }))).toMatchObject({ param: 'count' });
    expect(failure(() => parse(check, { extra: 1 }))).toMatchObject({ code: 'unknown_parameter' });
  });
});

describe('JSON pass-through objects', () => {
  it('drops prototype keys and limits depth', () => {
    const value = parse(jsonObject, JSON.parse('{"a":{"__proto__":{"polluted":true},"b":1}}')) as {
      a: Record<string, unknown>;
    };
    expect(value.a).toEqual({ b: 1 });
    expect(Object.hasOwn(value.a, '__proto__')).toBe(false);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    let deep: unknown = {};
    for (let i = 0; i < 40; i++) deep = { d: deep };
    expect(failure(() => parse(z.strictObject({ p: jsonObject }), { p: deep }))).toMatchObject({
      code: 'invalid_value',
      param: 'p',
      message: "Invalid 'p': nested too deeply.",
    });
  });

  it('refuses an array or unstorable text anywhere inside', () => {
    expect(failure(() => parse(z.strictObject({ p: jsonObject }), { p: [] }))).toMatchObject({
      message: "Invalid type for 'p': expected an object, but got an array.",
    });
    expect(failure(() => parse(jsonObject, { a: [{ b: 'x\u0000' }] }))).toMatchObject({
      code: 'invalid_value',
    });
  });
});

describe('metadata', () => {
  const body = z.strictObject({ metadata: metadata.nullish() });
  it('enforces OpenAI metadata limits', () => {
    const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
    expect(failure(() => parse(body, { metadata: many }))).toMatchObject({
      param: 'metadata',
      message: "Invalid 'metadata': too many keys (maximum 16).",
    });
    expect(failure(() => parse(body, { metadata: { k: 1 } }))).toMatchObject({
      param: 'metadata.k',
      message: "Invalid type for 'metadata.k': expected a string, but got a number.",
    });
    expect(failure(() => parse(body, { metadata: { k: 'v'.repeat(513) } }))).toMatchObject({
      param: 'metadata.k',
    });
    expect(failure(() => parse(body, { metadata: JSON.parse('{"__proto__":"x"}') }))).toMatchObject({
      param: 'metadata',
      message: "Invalid 'metadata': key '__proto__' is not allowed.",
    });
    expect(failure(() => parse(body, { metadata: { ['k'.repeat(65)]: 'v' } }))).toMatchObject({
      param: 'metadata',
    });
    expect(parse(body, { metadata: null })).toEqual({ metadata: null });
    expect(parse(body, { metadata: { a: 'b' } })).toEqual({ metadata: { a: 'b' } });
  });
});

describe('issuesToError', () => {
  it('names nested parameters the way OpenAI does', () => {
    expect(paramOf(['tools', 0, 'function', 'name'])).toBe('tools[0].function.name');
    expect(paramOf([])).toBe('');
  });

  it('turns one issue of each kind into a stable code', () => {
    const input = { a: 'x', b: 5 };
    const error = (issue: z.core.$ZodIssue) => issuesToError([issue], input);
    expect(error({ code: 'unrecognized_keys', keys: ['c'], path: [], message: '' })).toMatchObject({
      code: 'unknown_parameter',
      param: 'c',
    });
    expect(
      error({ code: 'invalid_value', values: ['p', 'q'], path: ['a'], input: 'x', message: '' }),
    ).toMatchObject({ code: 'invalid_value', message: "Invalid value for 'a': expected one of 'p', 'q'." });
    expect(
      error({ code: 'invalid_type', expected: 'string', path: ['missing'], input: undefined, message: '' }),
    ).toMatchObject({ code: 'missing_required_parameter', param: 'missing' });
    expect(
      error({
        code: 'too_big',
        origin: 'number',
        maximum: 2,
        inclusive: true,
        path: ['b'],
        input: 5,
        message: '',
      }),
    ).toMatchObject({ code: 'invalid_value', message: "Invalid 'b': 5 is above the maximum of 2." });
  });

  it('orders issues by where they sit in the body, not by the order zod found them', () => {
    const input = { first: 1, second: 2 };
    const late: z.core.$ZodIssue = {
      code: 'invalid_type',
      expected: 'string',
      path: ['second'],
      input: 2,
      message: '',
    };
    const early: z.core.$ZodIssue = {
      code: 'invalid_type',
      expected: 'string',
      path: ['first'],
      input: 1,
      message: '',
    };
    expect(issuesToError([late, early], input).param).toBe('first');
  });
});
