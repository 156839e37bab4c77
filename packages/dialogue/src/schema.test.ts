import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import { createParley } from './parley.js';
import { type InferOutput, type StandardResult, type StandardSchema, schemaTool } from './schema.js';
import { memoryStore } from './store.js';
import { startTestProxy, type TestProxy, type ToolOutput } from './test-proxy.js';

/**
 * A Standard Schema written by hand, as zod, valibot or arktype would answer: `{ item: 'sword' | 'shield',
 * count?: number }`, whose output fills in `count` (so a test can see that `run` gets the schema's output,
 * not the raw arguments), which refuses more than one shield (a rule only the schema knows) and whose check is
 * asynchronous (as a library's may be).
 */
const order: StandardSchema<
  { item: 'sword' | 'shield'; count?: number },
  { item: 'sword' | 'shield'; count: number }
> = {
  '~standard': {
    version: 1,
    vendor: 'handmade',
    async validate(value): Promise<StandardResult<{ item: 'sword' | 'shield'; count: number }>> {
      const args = value as { item?: unknown; count?: unknown };
      if (args.item !== 'sword' && args.item !== 'shield') {
        return { issues: [{ message: 'Expected "sword" | "shield"', path: [{ key: 'item' }] }] };
      }
      if (args.count !== undefined && typeof args.count !== 'number') {
        return { issues: [{ message: 'Expected number', path: ['count'] }] };
      }
      // A rule JSON Schema cannot say (the core's check of the JSON Schema lets the call through).
      if (args.item === 'shield' && (args.count ?? 1) > 1) {
        return { issues: [{ message: 'Only one shield left', path: ['count'] }] };
      }
      return { value: { item: args.item, count: args.count ?? 1 } };
    },
    jsonSchema: {
      input: ({ target }) => ({
        $schema: target === 'draft-07' ? 'http://json-schema.org/draft-07/schema#' : target,
        type: 'object',
        properties: { item: { type: 'string', enum: ['sword', 'shield'] }, count: { type: 'number' } },
        required: ['item'],
      }),
    },
  },
};

let proxy: TestProxy;
beforeEach(async () => {
  proxy = await startTestProxy();
});
afterEach(async () => {
  await proxy.close();
});

describe('schemaTool', () => {
  it('shows the model the JSON Schema, checks calls with the schema and hands run its typed output', async () => {
    let submitted: ToolOutput[] = [];
    proxy.script = async ({ run, send, say, requireAction }) => {
      send('thread.run.created', run('queued'));
      submitted = await requireAction([
        ['call_1', 'give_item', '{"item":"sword"}'],
        ['call_2', 'give_item', '{"item":"shield","count":2}'],
      ]);
      await say('There.');
      send('thread.run.completed', run('completed'));
      send('done', '[DONE]');
    };
    const npc = createParley({ url: proxy.url, store: memoryStore() }).npc({
      id: 'smith',
      name: 'Brom',
      instructions: 'You forge blades.',
    });
    const seen: unknown[] = [];
    npc.tool(
      'give_item',
      schemaTool({
        description: 'Hand the player an item.',
        parameters: order,
        run: (args) => {
          expectTypeOf(args).toEqualTypeOf<{ item: 'sword' | 'shield'; count: number }>();
          seen.push(args);
          return `gave ${args.count} ${args.item}`;
        },
      }),
    );
    expect(await npc.conversation().say('A sword.').text).toBe('There.');
    expect(seen).toEqual([{ item: 'sword', count: 1 }]);
    expect(submitted).toEqual([
      { tool_call_id: 'call_1', output: 'gave 1 sword' },
      { tool_call_id: 'call_2', output: '{"error":"Invalid arguments: args.count: Only one shield left"}' },
    ]);
    expect(proxy.assistants[0]?.tools).toEqual([
      {
        type: 'function',
        function: {
          name: 'give_item',
          description: 'Hand the player an item.',
          parameters: {
            type: 'object',
            properties: { item: { type: 'string', enum: ['sword', 'shield'] }, count: { type: 'number' } },
            required: ['item'],
          },
          strict: false,
        },
      },
    ]);
  });

  it('refuses a schema that cannot describe itself, unless jsonSchema is given', () => {
    const opaque: StandardSchema<string> = {
      '~standard': { version: 1, vendor: 'opaque', validate: (value) => ({ value: String(value) }) },
    };
    expect(() => schemaTool({ parameters: opaque, run: () => 'ok' })).toThrow(
      /opaque schema cannot describe itself as JSON Schema; pass jsonSchema/,
    );
    const tool = schemaTool({ parameters: opaque, jsonSchema: { type: 'string' }, run: () => 'ok' });
    expect(tool.parameters).toEqual({ type: 'string' });
    expectTypeOf<InferOutput<typeof opaque>>().toEqualTypeOf<string>();
  });
});
