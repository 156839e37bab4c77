/**
 * One segment of a run: from `queued` to `requires_action` or an ending. This is the path of a player's
 * line to the model and back: build the request (turns/prompt), open the upstream stream, decode its
 * chunks (upstream/TurnDecoder), turn them into Assistants events (a reply via ReplyWriter, tool calls via
 * ToolCalls), then settle the budget and end the run through the engine.
 */
import {
  ErrorCode,
  type FunctionToolCall,
  IdPrefix,
  type Message,
  type RunStep,
  StreamEvent,
  type Usage,
} from '@parley/protocol';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { ProxyError } from '../errors.js';
import { newId, nowSeconds } from '../ids.js';
import type { Semantic } from '../knowledge/search.js';
import { makeStep } from '../objects.js';
import type { Store } from '../store/types.js';
import { estimateMessageTokens, estimateTokens } from '../tokens.js';
import { FILE_SEARCH, fileSearchTool } from '../turns/file-search.js';
import type { TurnGuards, Watchdog } from '../turns/guards.js';
import { MEMORY_METADATA_KEY } from '../turns/memory.js';
import { buildChatRequest, historyMessages, replaySteps } from '../turns/prompt.js';
import type { ThreadMemory } from '../turns/summary.js';
import {
  AbortedError,
  type ChatRequest,
  TurnDecoder,
  type TurnEvent,
  type Upstream,
} from '../upstream/upstream.js';
import { CitationScanner, resolverFor } from './citations.js';
import type { RunEventLog } from './event-log.js';
import { FileSearches, MAX_SEARCHES_PER_RUN, searchesIn } from './file-search.js';
import { abandonStep, addUsage, type LiveRun } from './live-run.js';
import { ReplyWriter } from './reply.js';

/** How a segment ended, for the engine to carry out. */
export type SegmentOutcome =
  | { kind: 'ended'; status: 'completed' | 'incomplete'; stored: Array<Message | RunStep> }
  | { kind: 'requires_action'; step: RunStep; calls: FunctionToolCall[]; usage: Usage | null }
  /** The model searched the knowledge files (and called nothing else): the run goes on by itself. */
  | { kind: 'searched'; tokens: number }
  | { kind: 'cancelled' }
  | { kind: 'failed'; error: ProxyError }
  | { kind: 'unannounced' };

/** What a segment needs from the engine. */
export interface SegmentHost {
  store: Store;
  upstream: Upstream;
  guards: TurnGuards;
  log: RunEventLog;
  contextTokens: number;
  /** Hybrid ranking for `file_search` (an embedding model is configured); full text alone without it. */
  semantic?: Semantic | undefined;
  /** Summaries of the lines that fall out of a prompt, by the upstream (none offline: the extractive note). */
  memory?: ThreadMemory | undefined;
  onTurn?:
    | ((event: { model: string; ttftMs: number | null; usage: Usage | null; status: string }) => void)
    | undefined;
}

/** Executes one segment of `live`, and says how it ended (it never throws). */
export async function executeSegment(
  host: SegmentHost,
  live: LiveRun,
  signal: AbortSignal,
  announced: Promise<void>,
): Promise<SegmentOutcome> {
  const watchdog = host.guards.watchdog(() => live.controller?.abort());
  // The request goes out before the run is announced (its row is being stored); its outcome is read after.
  const opening = openUpstream(host, live, signal, watchdog);
  opening.catch(() => {}); // handled where it is awaited, below (or dropped with an unannounced run)
  try {
    await announced;
  } catch {
    watchdog.stop(); // never stored: the engine forgets the run
    return { kind: 'unannounced' };
  }
  const segment = new Segment(host, live, signal, watchdog);
  try {
    return await segment.complete(await opening);
  } catch (error) {
    return segment.fail(error);
  } finally {
    // The turn is over: only now may the memory ask the upstream for a summary (never delaying an answer).
    void opening.finally(() => host.memory?.afterTurn(live.run.id)).catch(() => {});
  }
}

type Chunks = AsyncIterable<ChatCompletionChunk> | ChatCompletionChunk[];

/** Sends the segment's request (or takes the proxy's own scripted line); rejects as the upstream fails. */
async function openUpstream(
  host: SegmentHost,
  live: LiveRun,
  signal: AbortSignal,
  watchdog: Watchdog,
): Promise<Chunks> {
  const scripted = live.scripted;
  live.scripted = undefined;
  if (scripted !== undefined) return scriptedChunks(scripted, live.run.model);
  const request = await segmentRequest(host, live);
  live.promptEstimate = estimateMessageTokens(request.messages);
  watchdog.arm('first');
  return host.upstream.stream(request, signal);
}

/** One segment as its chunks arrive: the reply, the tool calls, and what it cost. */
class Segment {
  readonly #reply: ReplyWriter;
  readonly #calls: ToolCalls;
  #usage: Usage | undefined;
  #reason: 'stop' | 'length' | 'tool_calls' | 'content_filter' = 'stop';
  #firstToken: number | null = null;
  readonly #started = performance.now();

  constructor(
    private readonly host: SegmentHost,
    private readonly live: LiveRun,
    private readonly signal: AbortSignal,
    private readonly watchdog: Watchdog,
  ) {
    // Resolved as markers complete, after the request (which reads the run's searches) was built.
    const citations = new CitationScanner((index, name) => resolverFor(live.searches)(index, name));
    this.#reply = new ReplyWriter(live.run, host.log, live.writes, undefined, citations);
    const searches = fileSearchTool(live.run.tools)
      ? new FileSearches(live, host.log, () => host.store.database(), host.semantic, signal)
      : undefined;
    this.#calls = new ToolCalls(
      live,
      host.log,
      host.guards.parts.policy?.policy.maxToolCallsPerRun,
      searches,
    );
  }

  /** Decodes the chunks into events, then says how the segment ended. */
  async complete(chunks: Chunks): Promise<SegmentOutcome> {
    const decoder = new TurnDecoder();
    for await (const chunk of chunks) for (const event of decoder.push(chunk)) this.#take(event);
    // A cancel that came as the last chunk arrived still wins: the player asked to stop.
    if (this.signal.aborted) throw new AbortedError('aborted');
    decoder.end();
    this.watchdog.stop();
    await this.#account('completed');
    const usage = this.#usage ?? null;
    if (this.#calls.started) return await this.#calls.finish(usage);
    this.#reply.ensureOpen(); // an empty answer is still an answer
    const reason = this.#reason;
    const cut =
      reason === 'length' ? 'max_tokens' : reason === 'content_filter' ? 'content_filter' : undefined;
    return {
      kind: 'ended',
      status: cut === undefined ? 'completed' : 'incomplete',
      stored: this.#reply.close(cut, usage),
    };
  }

  /** The segment broke off (cancelled, timed out, failed): what was said so far is kept and paid for. */
  async fail(error: unknown): Promise<SegmentOutcome> {
    this.watchdog.stop();
    const timedOut = this.watchdog.fired;
    const aborted = !timedOut && (this.signal.aborted || error instanceof AbortedError);
    this.#reply.abandon(
      aborted ? 'run_cancelled' : 'run_failed',
      aborted ? 'cancelled' : 'failed',
      this.live.shown,
    );
    this.#calls.abandon(aborted ? 'cancelled' : 'failed');
    await this.#account(aborted ? 'cancelled' : 'failed');
    if (timedOut)
      return {
        kind: 'failed',
        error: new ProxyError(ErrorCode.UpstreamTimeout, 'The model upstream took too long to answer.'),
      };
    if (aborted) return { kind: 'cancelled' };
    return {
      kind: 'failed',
      error:
        error instanceof ProxyError
          ? error
          : new ProxyError(ErrorCode.Server, 'The run failed unexpectedly.', { cause: error }),
    };
  }

  #take(event: TurnEvent): void {
    this.watchdog.arm('idle');
    if (this.#firstToken === null && (event.type === 'text' || event.type === 'tool_call'))
      this.#firstToken = performance.now();
    switch (event.type) {
      case 'text':
        // Text after tool calls in one completion is not shown (OpenAI's behaviour).
        if (!this.#calls.started) this.#reply.add(event.delta);
        return;
      case 'tool_call':
        if (this.#reply.open)
          for (const object of this.#reply.close(undefined, null)) queue(this.live, object);
        this.#calls.add(event);
        return;
      case 'usage':
        this.#usage = event.usage;
        return;
      case 'finish':
        this.#reason = event.reason;
    }
  }

  /**
   * Whatever way the segment ends, what it produced is paid for and counted: the usage joins the run's,
   * the budget is settled (estimated from the text and arguments when the upstream reported none).
   */
  async #account(status: string): Promise<void> {
    const { host, live } = this;
    const usage = this.#usage;
    const produced = this.#reply.text + this.#calls.arguments;
    // An upstream that reported no usage (a cut stream; some compatible servers) is shown what it was
    // charged: the prompt and the text it produced, estimated as the budget settles them.
    live.usage = addUsage(live.usage, usage ?? estimatedUsage(live.promptEstimate, produced));
    await host.guards.settle(live.reservation, { usage, produced }, live.run.max_completion_tokens);
    live.reservation = undefined;
    host.onTurn?.({
      model: live.run.model,
      ttftMs: this.#firstToken === null ? null : this.#firstToken - this.#started,
      usage: usage ?? null,
      status,
    });
  }
}

/** The request for a segment: the history read once for the turn, and this run's own steps so far. */
async function segmentRequest(host: SegmentHost, live: LiveRun): Promise<ChatRequest> {
  const { run, owner } = live;
  const history = live.history ?? (await host.store.allMessages(owner, run.thread_id));
  live.history = undefined;
  let tail: ReturnType<typeof replaySteps> = [];
  if (live.continued) {
    const steps = await host.store.listSteps(owner, run.thread_id, run.id, { limit: 100, order: 'asc' });
    const replies = new Map(
      history.filter((message) => message.run_id === run.id).map((message) => [message.id, message]),
    );
    tail = replaySteps(steps.data, replies);
    live.searches = searchesIn(steps.data);
  }
  const parts = {
    history: historyMessages(history, run.id),
    tail,
    contextTokens: host.contextTokens,
    fileSearch: fileSearchOffer(live),
  };
  const recall = await host.memory?.recall(owner, run, parts);
  const { request, memory } = buildChatRequest(run, { ...parts, recall });
  if (memory) void keepMemory(host.store, owner, run.thread_id, memory).catch(() => {});
  return request;
}

/**
 * Whether the segment offers `file_search`: the run has it, a store to search and searches left; forced
 * when the run's `tool_choice` asks for it and none has run yet.
 */
function fileSearchOffer(live: LiveRun): 'offer' | 'force' | undefined {
  const { run } = live;
  if (!fileSearchTool(run.tools) || live.vectorStores.length === 0) return undefined;
  if (live.searches.length >= MAX_SEARCHES_PER_RUN) return undefined;
  const forced = typeof run.tool_choice === 'object' && run.tool_choice.type === 'file_search';
  return forced && live.searches.length === 0 ? 'force' : 'offer';
}

/**
 * Shows the memory note on the thread, read fresh just before so nothing the game set meanwhile is lost.
 * Metadata holds 16 keys of 512 characters: a thread whose game uses all 16 keeps its note in the prompt
 * only.
 */
async function keepMemory(store: Store, owner: string, threadId: string, note: string): Promise<void> {
  const thread = await store.getThread(owner, threadId);
  const value = note.slice(0, 512);
  if (!thread || thread.metadata[MEMORY_METADATA_KEY] === value) return;
  if (!(MEMORY_METADATA_KEY in thread.metadata) && Object.keys(thread.metadata).length >= 16) return;
  await store.putThread(owner, { ...thread, metadata: { ...thread.metadata, [MEMORY_METADATA_KEY]: value } });
}

function queue(live: LiveRun, object: Message | RunStep): void {
  live.writes.put(object.id, () => object);
}

/**
 * The tool calls of one segment, as they stream: one `tool_calls` step for the game's functions, its
 * deltas, and the policy's cap. Calls of the built-in `file_search` (when the run has it) go to `searches`.
 */
class ToolCalls {
  #step: RunStep | undefined;
  readonly #calls: Array<{ id: string; name: string; arguments: string }> = [];
  #count = 0;

  constructor(
    private readonly live: LiveRun,
    private readonly log: RunEventLog,
    private readonly cap: number | undefined,
    private readonly searches: FileSearches | undefined,
  ) {}

  get started(): boolean {
    return this.#step !== undefined || (this.searches?.count ?? 0) > 0;
  }

  /** Everything the model wrote into arguments (it is paid for). */
  get arguments(): string {
    return this.#calls.map((call) => call.arguments).join('') + (this.searches?.arguments ?? '');
  }

  add(event: { index: number; id?: string; name?: string; arguments?: string }): void {
    const runId = this.live.run.id;
    const fresh = !this.#calls[event.index] && !this.searches?.has(event.index);
    // Past the cap, stop the upstream at once rather than stream (and pay for) the rest.
    if (fresh && this.cap !== undefined && this.live.toolCalls + this.#made + 1 > this.cap)
      throw tooManyToolCalls(this.cap);
    if (this.searches && (this.searches.has(event.index) || (fresh && event.name === FILE_SEARCH))) {
      this.searches.add(event);
      return;
    }
    if (!this.#step) {
      this.#step = makeStep(this.live.run, { type: 'tool_calls', tool_calls: [] });
      const step = this.#step;
      this.live.writes.put(step.id, () => step);
      this.log.append(runId, { event: StreamEvent.StepCreated, data: step });
      this.log.append(runId, { event: StreamEvent.StepInProgress, data: step });
    }
    let call = this.#calls[event.index];
    const first = !call;
    if (!call) {
      call = { id: event.id ?? newId(IdPrefix.ToolCall), name: event.name ?? '', arguments: '' };
      this.#calls[event.index] = call;
      this.#count++;
    } else if (event.name) call.name ||= event.name;
    call.arguments += event.arguments ?? '';
    this.log.append(runId, {
      event: StreamEvent.StepDelta,
      data: {
        id: this.#step.id,
        object: 'thread.run.step.delta',
        delta: {
          step_details: {
            type: 'tool_calls',
            tool_calls: [
              first
                ? {
                    index: event.index,
                    id: call.id,
                    type: 'function',
                    function: { name: call.name, arguments: event.arguments ?? '', output: null },
                  }
                : { index: event.index, type: 'function', function: { arguments: event.arguments ?? '' } },
            ],
          },
        },
      },
    });
  }

  /** Calls the model made in this segment, of either kind. */
  get #made(): number {
    return this.#count + (this.searches?.count ?? 0);
  }

  /**
   * The segment asked for tool calls: its searches are run, then the step of the game's calls waits for
   * their outputs (or, with searches only, the run goes on).
   */
  async finish(usage: Usage | null): Promise<SegmentOutcome> {
    const calls: FunctionToolCall[] = this.#calls.filter(Boolean).map((call) => ({
      id: call.id,
      type: 'function',
      function: { name: call.name, arguments: call.arguments },
    }));
    if (this.cap !== undefined && this.live.toolCalls + this.#made > this.cap) {
      return { kind: 'failed', error: tooManyToolCalls(this.cap) };
    }
    const searched = this.searches?.count ?? 0;
    if (searched > 0 && this.live.searches.length + searched > MAX_SEARCHES_PER_RUN) {
      return { kind: 'failed', error: tooManySearches() };
    }
    this.live.toolCalls += this.#made;
    let tokens = 0;
    try {
      if (searched > 0) tokens = await this.searches!.run(calls.length === 0 ? usage : null);
    } catch (error) {
      // The segment is paid for already: fail the run here, not through the segment's failure path.
      this.abandon('failed');
      return { kind: 'failed', error: searchFailed(error) };
    }
    if (calls.length === 0) return { kind: 'searched', tokens };
    const step: RunStep = {
      ...this.#step!,
      step_details: {
        type: 'tool_calls',
        tool_calls: calls.map((call) => ({ ...call, function: { ...call.function, output: null } })),
      },
    };
    this.#step = step;
    return { kind: 'requires_action', step, calls, usage };
  }

  /** The run ended while calls streamed: their steps end with it. */
  abandon(status: 'failed' | 'cancelled'): void {
    this.searches?.abandon(status);
    this.#step = abandonStep(this.live, this.log, this.#step, status);
  }
}

function searchFailed(error: unknown): ProxyError {
  if (error instanceof ProxyError) return error;
  return new ProxyError(ErrorCode.Server, 'The knowledge files could not be searched.', { cause: error });
}

function tooManySearches(): ProxyError {
  return new ProxyError(
    ErrorCode.ToolCallLimit,
    `The model searched the knowledge files more than ${MAX_SEARCHES_PER_RUN} times in one run.`,
  );
}

function tooManyToolCalls(cap: number): ProxyError {
  return new ProxyError(
    ErrorCode.ToolCallLimit,
    `The model asked for more than ${cap} tool calls in one run.`,
  );
}

/** A reply the proxy writes itself (moderation refusal, budget line), as a model's chunks, word by word. */
function scriptedChunks(text: string, model: string): ChatCompletionChunk[] {
  const chunk = (delta: { content?: string }, finish: 'stop' | null): ChatCompletionChunk => ({
    id: 'scripted',
    object: 'chat.completion.chunk',
    created: nowSeconds(),
    model,
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
  });
  return [...(text.match(/\s*\S+/g) ?? []).map((word) => chunk({ content: word }, null)), chunk({}, 'stop')];
}

/** What a segment whose upstream reported no usage is taken to have used (nothing when it produced nothing). */
function estimatedUsage(promptTokens: number, produced: string): Usage | undefined {
  if (produced.length === 0) return undefined;
  const completion = estimateTokens(produced);
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completion,
    total_tokens: promptTokens + completion,
  };
}
