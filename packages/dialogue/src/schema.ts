// `@parley/dialogue/schema`: tools whose arguments are described once, by a Standard Schema (zod, valibot,
// arktype…), with the handler's argument type inferred from it. A subpath of its own, so a game that writes
// JSON Schema by hand bundles none of this: the core only ever sees a plain `GameTool`.
import type { JsonSchema } from '@parley/protocol';
import type { GameTool, ToolContext } from './npc.js';

/**
 * The part of the Standard Schema v1 interface (https://standardschema.dev) used here, typed locally so that
 * no schema library is a dependency. zod ≥ 3.24, valibot ≥ 1 and arktype ≥ 2 implement it.
 */
export interface StandardSchema<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
    /**
     * Standard JSON Schema (zod ≥ 4.2, arktype ≥ 2.1.28, valibot through `toStandardJsonSchema`): how the
     * arguments are described to the model when `jsonSchema` is not given.
     */
    readonly jsonSchema?: { readonly input: (options: { target: string }) => Record<string, unknown> };
  };
}

/** What a Standard Schema's `validate` answers. */
export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | {
      readonly issues: ReadonlyArray<{
        readonly message: string;
        readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
      }>;
    };

/** The type a Standard Schema produces: what the tool's handler gets. */
export type InferOutput<S extends StandardSchema> = NonNullable<S['~standard']['types']>['output'];

/** A tool described by a Standard Schema; see {@link schemaTool}. */
export interface SchemaToolOptions<S extends StandardSchema> {
  /** Tells the model when to call it. */
  description?: string;
  /** The arguments object. Arguments it refuses never reach `run`; what it outputs (defaults, transforms) does. */
  parameters: S;
  /**
   * The JSON Schema the model is shown. Default: the schema's own (Standard JSON Schema, `draft-07`).
   * Needed only for a library that cannot describe itself.
   */
  jsonSchema?: JsonSchema;
  /** Milliseconds `run` (with the check) may take before the model is told it timed out. Default 5000. */
  timeout?: number;
  /** Does what the NPC asked; as {@link GameTool.run}, with the schema's output type. */
  run(args: InferOutput<S>, context: ToolContext): unknown;
}

/**
 * Turns a tool described by a Standard Schema into a `GameTool` for `npc.tool()`: the model is shown the
 * schema's JSON Schema, every call's arguments are checked by the schema itself, and `run` gets its output,
 * typed. A refusal tells the model `{"error": "Invalid arguments: args.item: …"}` and `run` never runs.
 *
 * @throws {TypeError} when the schema can describe itself neither as JSON Schema nor through `jsonSchema`.
 * @example
 * ```ts
 * import { schemaTool } from '@parley/dialogue/schema';
 * import { z } from 'zod';
 *
 * innkeeper.tool(
 *   'give_item',
 *   schemaTool({
 *     description: 'Hand the player an item from behind the bar.',
 *     parameters: z.object({ item: z.enum(['key', 'ale']) }),
 *     run: ({ item }) => inventory.add(item), // item: 'key' | 'ale'
 *   }),
 * );
 * ```
 */
export function schemaTool<S extends StandardSchema>(options: SchemaToolOptions<S>): GameTool<unknown> {
  const { description, parameters, timeout, run } = options;
  const standard = parameters['~standard'];
  let described = options.jsonSchema;
  if (!described) {
    if (!standard.jsonSchema) {
      throw new TypeError(
        `schemaTool: this ${standard.vendor} schema cannot describe itself as JSON Schema; pass jsonSchema too`,
      );
    }
    // Draft-07 is what OpenAI's function parameters document; `$schema` is noise to the model.
    const { $schema: _, ...rest } = standard.jsonSchema.input({ target: 'draft-07' });
    described = rest;
  }
  const tool: GameTool<unknown> = {
    parameters: described,
    async run(args, context) {
      const result = await standard.validate(args);
      if (result.issues) {
        const first = result.issues[0];
        const path = (first?.path ?? []).map((part) => String(typeof part === 'object' ? part.key : part));
        throw Error(`Invalid arguments: ${['args', ...path].join('.')}: ${first?.message ?? 'refused'}`);
      }
      return run(result.value, context);
    },
  };
  if (description !== undefined) tool.description = description;
  if (timeout !== undefined) tool.timeout = timeout;
  return tool;
}
