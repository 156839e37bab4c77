import type { JsonSchema } from '@parley/protocol';

/**
 * Checks `value` against the subset of JSON Schema that function-tool parameters use: `type` (object,
 * string, number, integer, boolean, array, null, or a list of them), `properties`, `required`, `enum`,
 * `minimum`/`maximum`, `minLength`/`maxLength`, `items` and `additionalProperties: false`. Other keywords
 * are ignored (a model that gets past them does no harm the game's handler would not catch). Returns the
 * first problem, e.g. `'args.item must be string'`, or undefined when the value fits.
 */
export function validate(schema: JsonSchema, value: unknown, at = 'args'): string | undefined {
  const { type, properties = {}, required = [], items, ...rest } = schema as Schema;
  const kind = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
  if (
    type !== undefined &&
    ![type].flat().some((t) => t === kind || (t === 'integer' && Number.isInteger(value)))
  ) {
    return `${at} must be ${type}`;
  }
  const json = JSON.stringify;
  if (rest.enum && !rest.enum.some((option) => json(option) === json(value))) {
    return `${at} must be one of ${json(rest.enum)}`;
  }
  // Lengths count code points, as JSON Schema does ('🐉' is one). Comparisons with `undefined` (no size,
  // no bound) are false.
  const number = kind === 'number';
  const size = number ? value : kind === 'string' ? [...(value as string)].length : undefined;
  const min = rest[number ? 'minimum' : 'minLength'];
  const max = rest[number ? 'maximum' : 'maxLength'];
  const bound = `${at} must be ${number ? '' : 'of length '}`;
  if ((size as number) < (min as number)) return `${bound}≥ ${min}`;
  if ((size as number) > (max as number)) return `${bound}≤ ${max}`;
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
        : rest.additionalProperties === false && `${at}.${key} is not allowed`;
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
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  additionalProperties?: unknown;
};
