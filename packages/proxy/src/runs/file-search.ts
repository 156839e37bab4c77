/**
 * The `file_search` tool, executed by the proxy inside a run (see docs/decisions/0012-file-search-in-runs.md):
 * when the model calls it, the run's vector stores are searched, the call is recorded as a `tool_calls`
 * step of type `file_search`, and the run goes on to its next segment by itself with the passages in the
 * prompt (`turns/file-search.ts` words them). The client never answers these calls.
 */
import {
  type AssistantTool,
  type FileSearchResult,
  type FileSearchToolCall,
  IdPrefix,
  type RunStep,
  StreamEvent,
  type Usage,
} from '@parley/protocol';
import { newId, nowSeconds } from '../ids.js';
import { indexed, type Semantic, searchKnowledge } from '../knowledge/search.js';
import { makeStep } from '../objects.js';
import type { Queryable } from '../store/database.js';
import { estimateTokens } from '../tokens.js';
import { fileSearchTool, passagesMessage, searchQuery } from '../turns/file-search.js';
import type { RunEventLog } from './event-log.js';
import { abandonStep, type LiveRun } from './live-run.js';
import { endStep } from './transitions.js';

/**
 * Searches one run may make. The tool is no longer offered once they are used up, so a model that keeps
 * searching must answer with what it found; a call past them fails the run (the loop is bounded even
 * without a policy's tool-call cap).
 */
export const MAX_SEARCHES_PER_RUN = 4;

/**
 * Passages per search unless the tool says (`file_search.max_num_results`). OpenAI's default was 20; an
 * NPC's prompt is small and a passage is up to 800 tokens, so Parley sends the best 5.
 */
export const DEFAULT_MAX_RESULTS = 5;

/** The ranker Parley's full-text ranking stands in for (OpenAI's only named ranker). */
const RANKER = 'default_2024_08_21';

/**
 * How long a search waits for files of the thread's vector stores still being indexed (a player's fresh
 * attachment), as OpenAI's runs did (60 s); the assistant's stores are searched as they stand.
 */
export const THREAD_INDEXING_WAIT_MS = 60_000;
/** The `include[]` value that asks for the passages' text in `file_search` steps. */
export const RESULTS_CONTENT = 'step_details.tool_calls[*].file_search.results[*].content';

/** How many passages and how good, from the run's `file_search` tool settings. */
export function searchSettings(tools: readonly AssistantTool[]): {
  maxResults: number;
  scoreThreshold: number;
} {
  const settings = fileSearchTool(tools)?.file_search ?? {};
  const max = settings['max_num_results'];
  const ranking = settings['ranking_options'];
  const threshold =
    typeof ranking === 'object' && ranking !== null
      ? (ranking as Record<string, unknown>)['score_threshold']
      : undefined;
  return {
    maxResults: typeof max === 'number' && max >= 1 ? Math.min(Math.trunc(max), 50) : DEFAULT_MAX_RESULTS,
    scoreThreshold: typeof threshold === 'number' && threshold >= 0 && threshold <= 1 ? threshold : 0,
  };
}

/** The run's searches so far, from its steps (completed ones: those the model was given). */
export function searchesIn(steps: readonly RunStep[]): FileSearchToolCall[] {
  return steps.flatMap((step) =>
    step.status === 'completed' && step.step_details.type === 'tool_calls'
      ? step.step_details.tool_calls.filter((call): call is FileSearchToolCall => call.type === 'file_search')
      : [],
  );
}

/**
 * A step as a client may see it: the passages' text only when the request asked for it with
 * `include[]=step_details.tool_calls[*].file_search.results[*].content` (the stored step keeps it, for the
 * run's next requests).
 */
export function shownStep(step: RunStep, withContent: boolean): RunStep {
  if (withContent || step.step_details.type !== 'tool_calls') return step;
  if (!step.step_details.tool_calls.some((call) => call.type === 'file_search')) return step;
  const tool_calls = step.step_details.tool_calls.map((call) =>
    call.type === 'file_search' && call.file_search.results
      ? {
          ...call,
          file_search: {
            ...call.file_search,
            results: call.file_search.results.map(({ content: _content, ...result }) => result),
          },
        }
      : call,
  );
  return { ...step, step_details: { type: 'tool_calls', tool_calls } };
}

/** Whether a request's query asked for the passages' text (`include[]=…` or `include=…`). */
export function includesContent(query: URLSearchParams): boolean {
  return [...query.getAll('include[]'), ...query.getAll('include')].includes(RESULTS_CONTENT);
}

/**
 * The `file_search` calls of one segment, as the model streams them: their step opens with the first,
 * each call is announced as it starts, and once the segment ends they are searched and the step completes.
 */
export class FileSearches {
  #step: RunStep | undefined;
  readonly #calls = new Map<number, { id: string; arguments: string }>();

  constructor(
    private readonly live: LiveRun,
    private readonly log: RunEventLog,
    private readonly db: () => Queryable,
    private readonly semantic?: Semantic,
    private readonly signal?: AbortSignal,
  ) {}

  /** How many calls the model has made in this segment. */
  get count(): number {
    return this.#calls.size;
  }

  /** Everything the model wrote into the calls' arguments (it is paid for). */
  get arguments(): string {
    return [...this.#calls.values()].map((call) => call.arguments).join('');
  }

  /** Whether the call at `index` of the model's answer is one of these. */
  has(index: number): boolean {
    return this.#calls.has(index);
  }

  add(event: { index: number; id?: string; arguments?: string }): void {
    let call = this.#calls.get(event.index);
    if (!call) {
      call = { id: event.id ?? newId(IdPrefix.ToolCall), arguments: '' };
      this.#calls.set(event.index, call);
      this.#announce(call.id);
    }
    call.arguments += event.arguments ?? '';
  }

  /**
   * Searches for every call, completes the step (with `usage`, when it ends the segment) and returns the
   * tokens the passages add to the next request.
   */
  async run(usage: Usage | null): Promise<number> {
    const settings = searchSettings(this.live.run.tools);
    await indexed(this.db(), this.live.threadVectorStores, THREAD_INDEXING_WAIT_MS, this.signal);
    const tool_calls: FileSearchToolCall[] = [];
    for (const call of this.#calls.values()) {
      const query = searchQuery(call.arguments);
      const found = await searchKnowledge(this.db(), this.live.owner, this.live.vectorStores, query, {
        ...settings,
        semantic: this.semantic,
      });
      const results: FileSearchResult[] = found.map((hit) => ({
        file_id: hit.file_id,
        file_name: hit.filename,
        score: hit.score,
        content: hit.content,
      }));
      tool_calls.push({
        id: call.id,
        type: 'file_search',
        file_search: {
          ranking_options: { ranker: RANKER, score_threshold: settings.scoreThreshold },
          results,
          query,
        },
      });
    }
    const step = endStep({ ...this.#open(), step_details: { type: 'tool_calls', tool_calls } }, 'completed', {
      now: nowSeconds(),
      usage,
    });
    this.#step = step;
    this.live.writes.put(step.id, () => step);
    this.live.searches.push(...tool_calls);
    this.log.append(this.live.run.id, {
      event: StreamEvent.StepCompleted,
      data: shownStep(step, this.live.searchContent),
    });
    return tool_calls.reduce(
      (sum, call) =>
        sum + estimateTokens(passagesMessage(call.file_search.query ?? '', call.file_search.results ?? [])),
      0,
    );
  }

  /** The run ended while the calls streamed: their step ends with it. */
  abandon(status: 'failed' | 'cancelled'): void {
    this.#step = abandonStep(this.live, this.log, this.#step, status);
  }

  /** The step, opened (and announced) with the first call. */
  #open(): RunStep {
    if (this.#step) return this.#step;
    const step = makeStep(this.live.run, { type: 'tool_calls', tool_calls: [] });
    this.#step = step;
    this.live.writes.put(step.id, () => this.#step!);
    this.log.append(this.live.run.id, { event: StreamEvent.StepCreated, data: step });
    this.log.append(this.live.run.id, { event: StreamEvent.StepInProgress, data: step });
    return step;
  }

  /** A call starts: the step says so with an empty `file_search`, as OpenAI's stream did. */
  #announce(id: string): void {
    const step = this.#open();
    this.log.append(this.live.run.id, {
      event: StreamEvent.StepDelta,
      data: {
        id: step.id,
        object: 'thread.run.step.delta',
        delta: {
          step_details: {
            type: 'tool_calls',
            tool_calls: [{ index: this.#calls.size - 1, id, type: 'file_search', file_search: {} }],
          },
        },
      },
    });
  }
}
