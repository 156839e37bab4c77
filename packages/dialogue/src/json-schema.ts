import type { JsonSchema } from '@parley/protocol';

/**
 * Checks `value` against the subset of JSON Schema that function-tool parameters use: `type` (object,
 * string, number, integer, boolean, array, null, or a list of them), `properties`, `required`, `enum`,
 * `minimum`/`maximum`, `minLength`/`maxLength`, `items` and `additionalProperties: false`. Other keywords
 * are ignored (a model that gets past them does no harm the game's handler would not catch). Returns the
 * first problem, e.g. `'args.item must be string'`, or undefined when the value fits.
 */
export function validate(schema: JsonSchema, value: unknown, at = 'args'): string | undefined {
  const { type, properties = {}, required = [], items } = schema as Schema;
  const kind = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
  const is = (t: unknown) => t === kind || (t === 'integer' && Number.isInteger(value));
  if (type !== undefined && !(Array.isArray(type) ? type.some(is) : is(type))) {
    return `${at} must be ${type}`;
  }
  const same = (option: unknown) => JSON.stringify(option) === JSON.stringify(value);
  if (schema['enum'] && !(schema['enum'] as unknown[]).some(same)) {
    return `${at} must be one of ${JSON.stringify(schema['enum'])}`;
  }
  // Lengths count code points, as JSON Schema does ('🐉' is one).
  const size = kind === 'number' ? value : kind === 'string' ? [...(value as string)].length : undefined;
  const [min, max] =
    kind === 'number' ? [schema['minimum'], schema['maximum']] : [schema['minLength'], schema['maxLength']];
  if (typeof size === 'number' && (size < (min as number) || size > (max as number))) {
    return `${at} must be ${kind === 'number' ? '' : 'of length '}${size < (min as number) ? `≥ ${min}` : `≤ ${max}`}`;
  }
  if (kind === 'array' && items) {
    for (const [i, item] of (value as unknown[]).entries()) {
      const problem = validate(items, item, `${at}[${i}]`);
      if (problem) return problem;
    }
  }
  if (kind === 'object') {
    const object = value as Record<string, unknown>;
    for (const key of required) if (!(key in object)) return `${at}.${key} is required`;
    for (const key in object) {
      const problem = properties[key]
        ? validate(properties[key], object[key], `${at}.${key}`)
        : schema['additionalProperties'] === false && `${at}.${key} is not allowed`;
      if (problem) return problem;
    }
  }
  return undefined;
}

type Schema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
};
