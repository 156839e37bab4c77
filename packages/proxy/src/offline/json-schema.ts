/** A JSON Schema object, as the request's function parameters give it. */
export type Schema = Readonly<Record<string, unknown>>;

/** The schema's type: its `type` (the first that is not `null`), else what its keywords imply. */
export function schemaType(schema: Schema): string {
  const type = schema['type'];
  if (typeof type === 'string') return type;
  if (Array.isArray(type)) {
    const first = type.find((t): t is string => typeof t === 'string' && t !== 'null');
    if (first) return first;
  }
  if (isRecord(schema['properties'])) return 'object';
  if (schema['items'] !== undefined) return 'array';
  return 'string';
}

/** A plain object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
