import { describe, expect, it } from 'vitest';
import { validate } from './json-schema.js';

const order = {
  type: 'object',
  properties: {
    item: { type: 'string', enum: ['ale', 'stew'] },
    count: { type: 'integer', minimum: 1, maximum: 5 },
    note: { type: 'string', minLength: 2, maxLength: 4 },
    price: { type: 'number' },
    paid: { type: 'boolean' },
    tags: { type: 'array', items: { type: 'string' } },
    tip: { type: ['number', 'null'] },
  },
  required: ['item'],
  additionalProperties: false,
};

describe('validate', () => {
  it.each([
    [{ item: 'ale' }],
    [{ item: 'stew', count: 5, note: '🐉🐉🐉🐉', price: 2.5, paid: false, tags: ['hot'], tip: null }],
    [{ item: 'ale', count: 1, note: 'ok', tip: 3 }],
  ])('accepts %j', (value) => {
    expect(validate(order, value)).toBeUndefined();
  });

  it.each([
    [[], 'args must be object'],
    [null, 'args must be object'],
    [{}, 'args.item is required'],
    [{ item: 'wine' }, 'args.item must be one of ["ale","stew"]'],
    [{ item: 'ale', count: 1.5 }, 'args.count must be integer'],
    [{ item: 'ale', count: 0 }, 'args.count must be ≥ 1'],
    [{ item: 'ale', count: 6 }, 'args.count must be ≤ 5'],
    [{ item: 'ale', note: 'a' }, 'args.note must be of length ≥ 2'],
    [{ item: 'ale', note: 'abcde' }, 'args.note must be of length ≤ 4'],
    [{ item: 'ale', price: '2' }, 'args.price must be number'],
    [{ item: 'ale', paid: 'yes' }, 'args.paid must be boolean'],
    [{ item: 'ale', tags: ['a', 2] }, 'args.tags[1] must be string'],
    [{ item: 'ale', tip: 'x' }, 'args.tip must be number,null'],
    [{ item: 'ale', extra: 1 }, 'args.extra is not allowed'],
  ])('rejects %j: %s', (value, problem) => {
    expect(validate(order, value)).toBe(problem);
  });

  it('allows unknown properties unless additionalProperties is false, and ignores unknown keywords', () => {
    expect(validate({ type: 'object', properties: {} }, { any: 1 })).toBeUndefined();
    expect(validate({ type: 'string', pattern: '^x' }, 'y')).toBeUndefined();
    expect(validate({}, 42)).toBeUndefined();
  });
});
