import type { DialogueEvent, Npc, NpcDefinition, RunStatus, Usage } from '@parley/dialogue';
import type { FileSearchCall } from '@parley/dialogue/steps';
import { LIST_PRICES, type ModelPrice } from '@parley/protocol';
import type { ClipReport } from './voice.js';

/** The assistant object `npc.ensure()` resolves to. */
export type AssistantInfo = Awaited<ReturnType<Npc['ensure']>>;

export type { ModelPrice };

/** Prices by model name; see {@link priceFor} for how names match. */
export type PriceTable = Record<string, ModelPrice>;

/**
 * The list prices the proxy's budgets use too (`LIST_PRICES` in `@parley/protocol`), for the console's
 * cost estimate. Pass `connect({ prices })` with your own (they are merged over these) when your proxy
 * sets `PARLEY_PRICES`, or prices change.
 */
export const DEFAULT_PRICES: Readonly<PriceTable> = LIST_PRICES;

/**
 * The price of `model`: its own entry, else the longest entry it extends with a `-` suffix (a dated
 * snapshot such as `gpt-4o-mini-2024-07-18` takes the `gpt-4o-mini` price), else `default` if the table
 * has one. Unknown models have no price: the console shows no estimate rather than a wrong one.
 *
 * @example
 * ```ts
 * priceFor('gpt-4o-mini-2024-07-18'); // { input: 0.15, output: 0.6 }
 * ```
 */
export function priceFor(model: string, prices: PriceTable = DEFAULT_PRICES): ModelPrice | undefined {
  if (Object.hasOwn(prices, model)) return prices[model];
  let best: string | undefined;
  for (const name of Object.keys(prices)) {
    if (model.startsWith(`${name}-`) && name.length > (best?.length ?? 0)) best = name;
  }
  return best === undefined ? prices['default'] : prices[best];
}

/**
 * The estimated cost of a run in US dollars, or undefined without usage or a price.
 *
 * @example
 * ```ts
 * estimateCost('gpt-4o-mini', { prompt_tokens: 1000, completion_tokens: 100, total_tokens: 1100 }); // 0.00021
 * estimateCost('parley-offline', usage); // 0
 * ```
 */
export function estimateCost(
  model: string | undefined,
  usage: Usage | null | undefined,
  prices: PriceTable = DEFAULT_PRICES,
): number | undefined {
  if (!usage || model === undefined) return undefined;
  const price = priceFor(model, prices);
  if (!price) return undefined;
  return (usage.prompt_tokens * price.input + usage.completion_tokens * price.output) / 1e6;
}

/** Where a run stands in the console. */
export type ConsoleRunStatus = 'running' | RunStatus | 'failed';

/** One event of a run as the console lists it. */
export interface ConsoleEvent {
  /** Milliseconds since the line was sent. */
  at: number;
  type: DialogueEvent['type'];
  /** A one-line description. */
  summary: string;
}

/** A tool call and its answer. */
export interface ToolRecord {
  id: string;
  name: string;
  /** The model's JSON text. */
  arguments: string;
  output?: string;
  error?: string;
  /** Milliseconds since the line was sent. */
  calledAt: number;
  answeredAt?: number;
}

/** One player line (or console line) and the NPC's run. */
export interface RunRecord {
  /** Numbers runs in the order they started, from 1. */
  readonly seq: number;
  readonly npcId: string;
  readonly line: string;
  /** Typed in the game's dialogue box, or sent from the console. */
  readonly source: 'player' | 'console';
  /** Wall-clock time the line was sent (ms since the epoch). */
  readonly startedAt: number;
  runId?: string;
  threadId?: string;
  status: ConsoleRunStatus;
  /** Time to the first text, in ms. */
  ttft?: number;
  /** Time to the final event, in ms. */
  total?: number;
  usage?: Usage | null;
  /** The model it was priced at. */
  model?: string;
  /** Estimated cost in US dollars (0 offline; undefined when the model has no price). */
  cost?: number;
  text: string;
  events: ConsoleEvent[];
  tools: ToolRecord[];
  error?: { code: string; message: string; retryable: boolean };
  /** The run's `file_search` calls (query, passages, scores), read from its steps once it ended. */
  searches?: FileSearchCall[];
  /** Why reading them failed. */
  searchesError?: string;
  /** The reply's spoken clips (time to first audio, length), as the voice reports them. */
  clips?: ClipReport[];
}

/** What the console knows about an NPC. */
export interface NpcRecord {
  readonly id: string;
  readonly definition: NpcDefinition;
  /** The assistant object from `npc.ensure()`, once loaded. */
  assistant?: AssistantInfo;
  /** Why loading the assistant failed. */
  assistantError?: string;
  threadId?: string;
  /** The thread's memory note (see {@link memoryNoteOf}), once loaded; `null` when it has none. */
  memory?: string | null;
}

/** The thread metadata key where the proxy shows a conversation's long-memory note. */
export const MEMORY_METADATA_KEY = 'parley_memory';

/**
 * The memory note in a thread's metadata: what the proxy still tells the NPC about lines that no longer fit
 * its context (the player's name, promises, items), or null while the conversation still fits.
 *
 * @example
 * ```ts
 * memoryNoteOf({ parley_memory: "- The player's name is Ada." }); // "- The player's name is Ada."
 * memoryNoteOf({}); // null
 * ```
 */
export function memoryNoteOf(metadata: Readonly<Record<string, unknown>> | null | undefined): string | null {
  const note = metadata?.[MEMORY_METADATA_KEY];
  return typeof note === 'string' && note.trim() !== '' ? note : null;
}

/** Options of {@link ConsoleModel}. */
export interface ConsoleModelOptions {
  prices?: PriceTable | undefined;
  /** Runs kept, oldest dropped first. Default 50. */
  maxRuns?: number;
  /** Events kept per run (text deltas can be many). Default 400. */
  maxEvents?: number;
  /** Monotonic clock in ms. Default `performance.now()`. */
  now?: () => number;
  /** Wall clock in ms. Default `Date.now()`. */
  wall?: () => number;
}

const clip = (text: string, max = 80) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/**
 * The debug console's data, free of the DOM: NPCs with their assistant and thread, and a record of each
 * run built from the turn's {@link DialogueEvent}s (timings, usage, cost, tool calls, errors).
 *
 * @example
 * ```ts
 * const model = new ConsoleModel();
 * model.addNpc(definition);
 * const run = model.startRun('brom', 'Is the gate open?', 'player');
 * for await (const event of turn) model.record(run, event);
 * run.ttft; run.usage; run.cost;
 * ```
 */
export class ConsoleModel {
  readonly prices: PriceTable;
  readonly #maxRuns: number;
  readonly #maxEvents: number;
  readonly #now: () => number;
  readonly #wall: () => number;
  readonly #npcs = new Map<string, NpcRecord>();
  readonly #starts = new WeakMap<RunRecord, number>();
  readonly #listeners = new Set<() => void>();
  #runs: RunRecord[] = [];
  #seq = 0;

  constructor(options: ConsoleModelOptions = {}) {
    this.prices = { ...DEFAULT_PRICES, ...options.prices };
    this.#maxRuns = Math.max(1, options.maxRuns ?? 50);
    this.#maxEvents = Math.max(10, options.maxEvents ?? 400);
    this.#now = options.now ?? (() => performance.now());
    this.#wall = options.wall ?? (() => Date.now());
  }

  /** The NPCs, in the order they were added. */
  get npcs(): NpcRecord[] {
    return [...this.#npcs.values()];
  }

  /** The NPC with this id. */
  npc(id: string): NpcRecord | undefined {
    return this.#npcs.get(id);
  }

  /** Runs, oldest first; only those of `npcId` when given. */
  runs(npcId?: string): RunRecord[] {
    return npcId === undefined ? [...this.#runs] : this.#runs.filter((run) => run.npcId === npcId);
  }

  /** Calls `listener` after every change; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  addNpc(definition: NpcDefinition): NpcRecord {
    const record = this.#npcs.get(definition.id) ?? { id: definition.id, definition };
    this.#npcs.set(definition.id, record);
    this.#changed();
    return record;
  }

  removeNpc(id: string): void {
    if (this.#npcs.delete(id)) this.#changed();
  }

  setAssistant(id: string, assistant: NpcRecord['assistant']): void {
    const npc = this.#npcs.get(id);
    if (!npc) return;
    npc.assistant = assistant;
    delete npc.assistantError;
    this.#changed();
  }

  setAssistantError(id: string, message: string): void {
    const npc = this.#npcs.get(id);
    if (!npc) return;
    npc.assistantError = message;
    this.#changed();
  }

  setThread(id: string, threadId: string): void {
    const npc = this.#npcs.get(id);
    if (!npc || npc.threadId === threadId) return;
    npc.threadId = threadId;
    this.#changed();
  }

  /** Sets the NPC's memory note from its thread's metadata (the host reads the thread). */
  setMemory(id: string, metadata: Readonly<Record<string, unknown>> | null | undefined): void {
    const npc = this.#npcs.get(id);
    const note = memoryNoteOf(metadata);
    if (!npc || npc.memory === note) return;
    npc.memory = note;
    this.#changed();
  }

  /** A line was sent to `npcId`: starts its run record (the clock for TTFT starts now). */
  startRun(npcId: string, line: string, source: RunRecord['source'] = 'player'): RunRecord {
    const run: RunRecord = {
      seq: ++this.#seq,
      npcId,
      line,
      source,
      startedAt: this.#wall(),
      status: 'running',
      text: '',
      events: [],
      tools: [],
    };
    this.#starts.set(run, this.#now());
    this.#runs.push(run);
    if (this.#runs.length > this.#maxRuns) this.#runs.splice(0, this.#runs.length - this.#maxRuns);
    this.#changed();
    return run;
  }

  /** Adds one of the turn's events to its run. */
  record(run: RunRecord, event: DialogueEvent): void {
    const at = this.#now() - (this.#starts.get(run) ?? this.#now());
    let summary: string;
    switch (event.type) {
      case 'turn.start':
        run.runId = event.runId;
        run.threadId = event.threadId;
        this.setThread(run.npcId, event.threadId);
        summary = `${event.runId} on ${event.threadId}`;
        break;
      case 'text.delta':
        run.ttft ??= at;
        run.text = event.text;
        summary = JSON.stringify(event.delta);
        break;
      case 'tool.call':
        for (const call of event.calls) run.tools.push({ ...call, calledAt: at });
        summary = event.calls.map((call) => `${call.name}(${clip(call.arguments, 60)})`).join(', ');
        break;
      case 'tool.result': {
        const tool = run.tools.find((t) => t.id === event.id && t.answeredAt === undefined);
        if (tool) {
          tool.output = event.output;
          tool.answeredAt = at;
          if (event.error !== undefined) tool.error = event.error;
        }
        summary = `${event.name} → ${event.error === undefined ? clip(event.output, 60) : `error: ${event.error}`}`;
        break;
      }
      case 'turn.end': {
        run.total = at;
        run.status = event.status;
        run.usage = event.usage;
        run.text = event.text;
        run.runId ??= event.runId;
        const model = this.#model(run.npcId);
        if (model !== undefined) run.model = model;
        const cost = estimateCost(model, event.usage, this.prices);
        if (cost !== undefined) run.cost = cost;
        const tokens = event.usage ? `, ${event.usage.total_tokens} tokens` : '';
        summary = `${event.status}${tokens}`;
        break;
      }
      case 'error': {
        const { code, message, retryable } = event.error;
        run.total = at;
        run.status = code === 'interrupted' ? 'cancelled' : 'failed';
        run.error = { code, message, retryable };
        summary = `${code}: ${message}`;
        break;
      }
      default: {
        const unknown: never = event;
        void unknown;
        return;
      }
    }
    if (run.events.length < this.#maxEvents) run.events.push({ at, type: event.type, summary });
    this.#changed();
  }

  /**
   * Sets a run's usage once it is known after the run's last event: an interrupted run's, which the
   * proxy reports when the cancel has ended it (`turn.usage`).
   */
  setUsage(run: RunRecord, usage: Usage): void {
    run.usage = usage;
    const model = this.#model(run.npcId);
    if (model !== undefined) run.model = model;
    const cost = estimateCost(model, usage, this.prices);
    if (cost !== undefined) run.cost = cost;
    this.#changed();
  }

  /** Sets a run's `file_search` calls, read from its steps (see `loadFileSearches`). */
  /** Records a spoken clip of the run's reply: a new one, or one already listed that changed. */
  setClip(run: RunRecord, clip: ClipReport): void {
    run.clips ??= [];
    if (!run.clips.includes(clip)) run.clips.push(clip);
    this.#changed();
  }

  setSearches(run: RunRecord, searches: FileSearchCall[], error?: string): void {
    run.searches = searches;
    if (error !== undefined) run.searchesError = error;
    this.#changed();
  }

  #model(npcId: string): string | undefined {
    const npc = this.#npcs.get(npcId);
    return npc?.assistant?.model ?? npc?.definition.model;
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }
}

/**
 * A run as plain JSON, for "copy run as JSON": the run with its NPC's definition, assistant and thread.
 *
 * @example
 * ```ts
 * navigator.clipboard.writeText(JSON.stringify(runToJSON(run, model.npc(run.npcId)), null, 2));
 * ```
 */
export function runToJSON(run: RunRecord, npc?: NpcRecord): Record<string, unknown> {
  return {
    ...run,
    startedAt: new Date(run.startedAt).toISOString(),
    npc: npc && {
      id: npc.id,
      name: npc.definition.name,
      definition: npc.definition,
      assistant: npc.assistant ?? null,
      threadId: npc.threadId ?? null,
    },
  };
}
