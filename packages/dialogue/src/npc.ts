import type { Assistant, AssistantTool, JsonSchema, ListPage } from '@parley/protocol';
import { type Context, share } from './context.js';
import { type Conversation, type ConversationOptions, createConversation } from './conversation.js';
import { unlessNotFound } from './errors.js';
import { createFacts, type Facts } from './facts.js';
import type { ToolCall } from './turn.js';

/** A function the NPC may call (JSON-schema parameters), as OpenAI's function tools take it. */
export interface ToolDefinition {
  name: string;
  description?: string;
  parameters?: JsonSchema;
  strict?: boolean;
}

/** What a tool's `run` gets besides its arguments. */
export interface ToolContext {
  /** Aborts when the call times out or the turn is interrupted. */
  signal: AbortSignal;
  /** The call being answered (with the model's raw arguments). */
  call: ToolCall;
  /** The conversation whose turn made the call. */
  conversation: Conversation;
}

/** A game function the NPC may call; see {@link Npc.tool}. */
export interface GameTool<Args = Record<string, unknown>> {
  /** Tells the model when to call it. */
  description?: string;
  /** JSON Schema of the arguments object. Arguments that do not fit never reach `run`. */
  parameters?: JsonSchema;
  /** Milliseconds `run` may take before the model is told it timed out. Default 5000. */
  timeout?: number;
  /**
   * Does what the NPC asked. Its result (or promise) is what the model is told: a string as it is,
   * anything else as JSON. A throw or rejection tells the model `{"error": message}`.
   */
  run(args: Args, context: ToolContext): unknown;
}

/** The game's description of an NPC; becomes one assistant on the proxy. */
export interface NpcDefinition {
  /** The game's NPC id: the assistant is found again by it (`metadata.parley_npc`). */
  id: string;
  name: string;
  instructions: string;
  /** Omitted: the proxy's default model. */
  model?: string;
  temperature?: number;
  /** Tools declared without a handler: calls to them are answered with an error. See {@link Npc.tool}. */
  tools?: ToolDefinition[];
  /**
   * Vector stores the NPC searches (OpenAI's `file_search` tool, run by the proxy) before it answers what
   * they may know, e.g. a read-only lore store from the proxy's policy file (`vs_lore_<name>`). Its
   * replies then cite them: see `turn.end`'s `citations`.
   */
  vectorStoreIds?: string[];
  metadata?: Record<string, string>;
}

/** An NPC: its assistant, ensured on first use, and its conversations. */
export interface Npc {
  /** The game's NPC id. */
  readonly id: string;
  readonly definition: NpcDefinition;
  /**
   * Finds or creates the NPC's assistant and brings it up to date with the definition. Idempotent and
   * shared: concurrent calls (from any `npc()` of this Parley with the same id) make one set of requests.
   * `say()` calls it for you.
   */
  ensure(): Promise<Assistant>;
  /**
   * Gives the NPC a game function it may call mid-turn (sent with the assistant; replaces a definition's
   * tool of the same name). Shared by every `npc()` of this id. When the model calls it, the arguments are
   * parsed and checked against `parameters`, `run` gets them, and its result goes back to the model, which
   * then goes on answering in the same turn. Returns a function that removes the tool again.
   *
   * @example
   * ```ts
   * innkeeper.tool('give_item', {
   *   description: 'Hand the player an item from behind the bar.',
   *   parameters: { type: 'object', properties: { item: { type: 'string', enum: ['key', 'ale'] } }, required: ['item'] },
   *   run: ({ item }) => inventory.give(item), // what it returns is what the model is told
   * });
   * ```
   */
  tool<Args = Record<string, unknown>>(name: string, tool: GameTool<Args>): () => void;
  /**
   * One conversation with this NPC. Its thread is created on first use and remembered in the store,
   * so a page reload continues it.
   *
   * @example
   * ```ts
   * const talk = innkeeper.conversation({ key: `slot-${saveSlot}` });
   * ```
   */
  conversation(options?: ConversationOptions): Conversation;
  /**
   * What is true now for this NPC only (shared by every `npc()` of this id); each of its turns carries
   * these and the world's facts to the model.
   *
   * @example
   * ```ts
   * merchant.facts.set('lantern', 'sold to the traveller; none left');
   * ```
   */
  readonly facts: Facts;
}

type AssistantBody = {
  name: string;
  instructions: string;
  tools: AssistantTool[];
  metadata: Record<string, string>;
  model?: string;
  temperature?: number;
  tool_resources?: { file_search: { vector_store_ids: string[] } };
};

export function createNpc(ctx: Context, definition: NpcDefinition): Npc {
  const { id, name, instructions, model, temperature, tools = [], vectorStoreIds, metadata } = definition;
  const games = ctx.tools.get(id) ?? new Map<string, GameTool>();
  ctx.tools.set(id, games);
  const facts = ctx.facts.npcs.get(id) ?? createFacts();
  ctx.facts.npcs.set(id, facts);

  const npc: Npc = {
    id,
    definition,
    facts,
    ensure() {
      // Built per call: tools registered since change the assistant.
      const body: AssistantBody = {
        name,
        instructions,
        tools: [
          ...tools.filter((fn) => !games.has(fn.name)),
          ...[...games].map(([name, { description, parameters }]) => ({ name, description, parameters })),
        ].map((fn) => ({ type: 'function', function: fn })),
        metadata: { ...metadata, parley_npc: id },
      };
      if (model !== undefined) body.model = model;
      if (temperature !== undefined) body.temperature = temperature;
      if (vectorStoreIds) {
        body.tools.push({ type: 'file_search' });
        body.tool_resources = { file_search: { vector_store_ids: vectorStoreIds } };
      }
      return share(ctx, `a:${id}`, JSON.stringify(body), () => ensureAssistant(ctx, id, body));
    },
    tool(name, tool) {
      games.set(name, tool as GameTool);
      return () => games.get(name) === tool && games.delete(name);
    },
    conversation: (options) => createConversation(ctx, npc, options?.key ?? 'default'),
  };
  return npc;
}

async function ensureAssistant(ctx: Context, npcId: string, body: AssistantBody): Promise<Assistant> {
  const { request, store } = ctx;
  const key = `parley:assistant:${npcId}`;
  const mine = (a: Assistant) => a.metadata?.['parley_npc'] === npcId;
  const stored = await store.get(key);
  let found: Assistant | undefined;
  if (stored) {
    const assistant = await request<Assistant>('GET', `/assistants/${stored}`).catch(unlessNotFound);
    if (assistant && mine(assistant)) found = assistant;
  }
  for (let after = ''; !found; ) {
    const page = await request<ListPage<Assistant>>('GET', `/assistants?limit=100${after}`);
    found = page.data.find(mine);
    const last = page.last_id ?? page.data.at(-1)?.id;
    if (!page.has_more || !last) break;
    after = `&after=${encodeURIComponent(last)}`;
  }
  // Retried like the GETs: a modify is idempotent, and a duplicate create is found (and reused) by its metadata.
  if (!found) found = await request<Assistant>('POST', '/assistants', { body, retry: true });
  else if (differs(found, body))
    found = await request<Assistant>('POST', `/assistants/${found.id}`, { body, retry: true });
  if (found.id !== stored) await store.set(key, found.id);
  return found;
}

// Compares only what the game sets, so server-side defaults (strict: null, a default model, parameters the
// game left out) do not trigger a modify on every page load.
function differs(a: Assistant, b: AssistantBody): boolean {
  const view = (x: Assistant | AssistantBody) =>
    JSON.stringify([
      x.name,
      x.instructions,
      b.model !== undefined && x.model,
      b.temperature !== undefined && x.temperature,
      x.tools.map((t, i) =>
        t.type === 'function'
          ? [
              t.function.name,
              t.function.description ?? '',
              !!t.function.strict,
              (b.tools[i] as FunctionTool | undefined)?.function.parameters !== undefined &&
                t.function.parameters,
            ]
          : t.type,
      ),
      Object.keys(b.metadata).map((key) => x.metadata?.[key]),
      b.tool_resources && (x.tool_resources?.['file_search'] as object),
    ]);
  return view(a) !== view(b);
}

type FunctionTool = Extract<AssistantTool, { type: 'function' }>;
