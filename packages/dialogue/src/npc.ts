import type { Assistant, AssistantTool, JsonSchema, ListPage } from '@parley/protocol';
import { type Context, share } from './context.js';
import { type Conversation, type ConversationOptions, createConversation } from './conversation.js';
import { isDialogueError } from './errors.js';

/** A function the NPC may call (JSON-schema parameters), as OpenAI's function tools take it. */
export interface ToolDefinition {
  name: string;
  description?: string;
  parameters?: JsonSchema;
  strict?: boolean;
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
  tools?: ToolDefinition[];
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
   * One conversation with this NPC. Its thread is created on first use and remembered in the store,
   * so a page reload continues it.
   *
   * @example
   * ```ts
   * const talk = innkeeper.conversation({ key: `slot-${saveSlot}` });
   * ```
   */
  conversation(options?: ConversationOptions): Conversation;
}

type AssistantBody = {
  name: string;
  instructions: string;
  tools: AssistantTool[];
  metadata: Record<string, string>;
  model?: string;
  temperature?: number;
};

export function createNpc(ctx: Context, definition: NpcDefinition): Npc {
  const { id, name, instructions, model, temperature, tools = [], metadata } = definition;
  const body: AssistantBody = {
    name,
    instructions,
    tools: tools.map((fn) => ({ type: 'function', function: fn })),
    metadata: { ...metadata, parley_npc: id },
  };
  if (model !== undefined) body.model = model;
  if (temperature !== undefined) body.temperature = temperature;

  const npc: Npc = {
    id,
    definition,
    ensure: () => share(ctx, `a:${id}`, JSON.stringify(body), () => ensureAssistant(ctx, id, body)),
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
    try {
      const assistant = await request<Assistant>('GET', `/assistants/${stored}`);
      if (mine(assistant)) found = assistant;
    } catch (error) {
      if (!isDialogueError(error) || error.code !== 'not_found') throw error;
    }
  }
  for (let after = ''; !found; ) {
    const page = await request<ListPage<Assistant>>('GET', `/assistants?limit=100${after}`);
    found = page.data.find(mine);
    const last = page.last_id ?? page.data.at(-1)?.id;
    if (!page.has_more || !last) break;
    after = `&after=${encodeURIComponent(last)}`;
  }
  if (!found) found = await request<Assistant>('POST', '/assistants', { body });
  else if (differs(found, body))
    found = await request<Assistant>('POST', `/assistants/${found.id}`, { body });
  if (found.id !== stored) await store.set(key, found.id);
  return found;
}

// Compares only what the game sets, so server-side defaults (strict: null, a default model) do not
// trigger a modify on every page load.
function differs(a: Assistant, b: AssistantBody): boolean {
  const tool = (t: AssistantTool | undefined, p?: boolean) =>
    t?.type === 'function'
      ? JSON.stringify([
          t.function.name,
          t.function.description ?? '',
          !!t.function.strict,
          p && t.function.parameters,
        ])
      : t?.type;
  return (
    a.name !== b.name ||
    a.instructions !== b.instructions ||
    (b.model !== undefined && a.model !== b.model) ||
    (b.temperature !== undefined && a.temperature !== b.temperature) ||
    a.tools.length !== b.tools.length ||
    b.tools.some((t, i) => {
      const withParams = t.type === 'function' && t.function.parameters !== undefined;
      return tool(t, withParams) !== tool(a.tools[i], withParams);
    }) ||
    Object.entries(b.metadata).some(([k, v]) => a.metadata?.[k] !== v)
  );
}
