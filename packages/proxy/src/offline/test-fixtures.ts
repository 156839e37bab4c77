/**
 * NPCs and tools shared by the offline model's tests (not imported by production code). They are written
 * the way game developers write them, so the tests exercise what the demo and real games send.
 */
import type {
  ChatCompletionFunctionTool,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';

export const BROM =
  'You are Brom, the gruff gate guard of Eastwatch. You speak tersely and distrust strangers. ' +
  'The gate closes at dusk; only merchants with a writ may pass. Your brother Tam runs the Rusty Nail inn. ' +
  'When the player pays five gold, call open_gate.';

export const MIRA =
  'You are a cheerful baker named Mira in the village of Oakvale. You bake honey bread every morning. ' +
  'The mill by the river has been broken for a week.';

export const ODO = 'Odo is a learned scholar of the old tongue. He keeps the library of Varn.';

export const OPEN_GATE: ChatCompletionFunctionTool = {
  type: 'function',
  function: {
    name: 'open_gate',
    description: 'Open one of the city gates for the player.',
    parameters: {
      type: 'object',
      properties: { gate: { type: 'string', enum: ['north', 'south', 'east'], description: 'Which gate' } },
      required: ['gate'],
      additionalProperties: false,
    },
  },
};

export const GIVE_ITEM: ChatCompletionFunctionTool = {
  type: 'function',
  function: {
    name: 'give_item',
    description: 'Hand an item from the inventory to the player.',
    parameters: {
      type: 'object',
      properties: {
        item: { type: 'string', description: 'The item to hand over' },
        quantity: { type: 'integer', minimum: 1, maximum: 10 },
        wrapped: { type: 'boolean', description: 'Whether to gift-wrap it' },
      },
      required: ['item', 'quantity'],
    },
  },
};

export const SET_MOOD: ChatCompletionFunctionTool = {
  type: 'function',
  function: {
    name: 'set_mood',
    description: 'Change how the NPC feels about the player.',
    parameters: {
      type: 'object',
      properties: { mood: { type: 'string', enum: ['friendly', 'neutral', 'hostile'] } },
      required: ['mood'],
    },
  },
};

export const TOOLS = [OPEN_GATE, GIVE_ITEM, SET_MOOD];

/** A system message and one player line. */
export function talk(instructions: string, line: string): ChatCompletionMessageParam[] {
  return [
    { role: 'system', content: instructions },
    { role: 'user', content: line },
  ];
}
