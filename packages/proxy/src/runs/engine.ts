/**
 * The run engine: creates runs, takes tool outputs, cancels, expires and recovers them. One segment of a
 * run (the model's answer to one request) is executed in `segment.ts`; how a run's fields change with its
 * status is decided in `transitions.ts`; what the model is sent is built in `turns/prompt.ts`; moderation,
 * budgets and watchdogs are `turns/guards.ts`. Which runs are live, their event logs and the signals sent
 * to them are behind interfaces (`registry.ts`, `event-log.ts`, `signals.ts`) so that several proxy
 * instances can share them.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Assistant,
  ErrorCode,
  type Message,
  type Run,
  type RunStep,
  StreamEvent,
  type Thread,
} from '@parley/protocol';
import { notFound, ProxyError } from '../errors.js';
import { nowSeconds } from '../ids.js';
import { makeMessage, makeRun } from '../objects.js';
import type { Owner, Store } from '../store/types.js';
import { estimateTokens } from '../tokens.js';
import { vectorStoreIds } from '../turns/file-search.js';
import { type TurnCost, TurnGuards } from '../turns/guards.js';
import { historyTokens, runFields, unscreened } from '../turns/prompt.js';
import { threadMemory } from '../turns/summary.js';
import { AbortedError, type Upstream } from '../upstream/upstream.js';
import {
  announceRecovered,
  type EndingHost,
  failRun,
  finishRun,
  pendingToolStep,
  scheduleExpiry,
} from './ending.js';
import { DONE_EVENT, MemoryEventLog, type RunEventLog } from './event-log.js';
import { emit, type LiveRun, newLiveRun, whenAbandoned } from './live-run.js';
import { recoverRuns, sweepEvery, takeOverRun } from './recovery.js';
import { MemoryRunRegistry, type RunRegistry } from './registry.js';
import { cutStoredReply } from './reply.js';
import { executeSegment, type SegmentHost, type SegmentOutcome } from './segment.js';
import { MemoryRunSignals, type RunSignals } from './signals.js';
import { RunStream } from './stream.js';
import { acceptToolOutputs, answeredStep } from './tool-outputs.js';
import { isEnding, type RunEnding, transition } from './transitions.js';
import type { EngineConfig, EngineGuards, RunParams, RunState, StartedRun, StartOptions } from './types.js';
import { WriteQueue } from './writes.js';

export type { EngineConfig, EngineGuards, RunParams, RunState, StartedRun, StartOptions } from './types.js';

export class RunEngine {
  readonly #live = new Map<string, LiveRun>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #guards: TurnGuards;
  readonly #registry: RunRegistry;
  readonly #log: RunEventLog;
  readonly #signals: RunSignals;
  readonly #host: SegmentHost;
  readonly #ending: EndingHost;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly upstream: Upstream,
    private readonly config: EngineConfig,
    private readonly options: EngineGuards = {},
    state: RunState = {},
  ) {
    this.#guards = new TurnGuards({
      limiter: options.limiter,
      moderator: options.moderator,
      policy: options.policy,
      cannedReplies: options.cannedReplies,
      timeouts: options.timeouts,
    });
    this.#registry = state.registry ?? new MemoryRunRegistry();
    this.#log =
      state.log ??
      new MemoryEventLog(config.retiredLogBytes === undefined ? {} : { retainChars: config.retiredLogBytes });
    this.#signals = state.signals ?? new MemoryRunSignals();
    this.#ending = {
      store,
      log: this.#log,
      registry: this.#registry,
      untrack: (live) => this.#untrack(live),
    };
    this.#host = {
      store,
      upstream,
      guards: this.#guards,
      log: this.#log,
      contextTokens: config.contextTokens,
      semantic: options.semantic,
      memory: threadMemory(store, upstream, this.#guards),
      onTurn: undefined,
    };
  }

  /** The guards runs and chat pass-through share. */
  get guards(): TurnGuards {
    return this.#guards;
  }

  /**
   * Ends the runs no live instance holds: in-flight ones fail, waiting ones keep waiting (held here now) or
   * expire. Called at start-up; with a shared registry, also every `sweepMs`, so a dead instance's runs end
   * and their threads are free again within its lease. Never touches a run a live instance holds.
   */
  async recover(): Promise<number> {
    const found = await recoverRuns(this.store, this.#registry, {
      live: (runId) => this.#live.has(runId),
      adopt: async (owner, run) => {
        await this.#hold(owner, run);
      },
      ended: (ended) => announceRecovered(this.#ending, ended),
    });
    await this.#clearOrphanClaims();
    if (this.#registry.shared && this.#sweeper === undefined) {
      this.#sweeper = sweepEvery(this.config.sweepMs ?? 5000, () => this.recover());
    }
    return found;
  }

  async createRun(
    owner: Owner,
    thread: Thread,
    params: RunParams,
    created?: { thread: Thread },
    options: StartOptions = {},
  ): Promise<StartedRun> {
    const assistant = await this.#assistant(owner, params.assistant_id);
    if (!assistant) throw notFound('assistant', params.assistant_id, 'assistant_id');
    const run = makeRun(
      thread,
      assistant,
      runFields(assistant, params, (model) => this.upstream.resolveModel(model)),
      this.config.runExpiresSeconds,
    );
    await this.#claim(owner, thread.id, run.id);
    try {
      // Moderation and budget come before the run is stored, so a refused turn leaves no run behind.
      const history = await this.store.allMessages(owner, thread.id);
      const fresh = (params.additional_messages ?? []).map((input) => makeMessage(thread.id, input));
      this.#guards.checkRoom(history.length + fresh.length);
      const earlier = unscreened(history);
      const refused = await this.#guards.screen([...earlier, ...fresh]);
      const admission =
        refused.size > 0
          ? { line: this.#guards.refusal(assistant.name) }
          : await this.#guards.admit(this.#cost(owner, run, [...history, ...fresh]), {
              name: assistant.name,
              runId: run.id,
            });
      for (const line of earlier) {
        const marked = refused.get(line.id);
        if (marked) await this.store.putMessage(owner, marked);
      }
      const added = fresh.map((message) => refused.get(message.id) ?? message);
      for (const message of added) await this.store.putMessage(owner, message);
      const live = this.#track(owner, run, assistant.name, params.stream === true);
      live.vectorStores = vectorStoreIds(assistant.tool_resources, thread.tool_resources);
      live.threadVectorStores = vectorStoreIds(thread.tool_resources);
      live.searchContent = options.searchContent === true;
      live.history = [...history.map((message) => refused.get(message.id) ?? message), ...added];
      live.graceMs = Math.min(options.graceMs ?? 0, this.config.resumeGraceMs);
      if (admission.line !== undefined) live.scripted = admission.line;
      else live.reservation = admission.reservation;
      // The run is announced only once its row is stored, but the upstream request does not wait for
      // that write: the segment starts now and holds its first event until `announced` settles.
      const announced = this.store.putRun(owner, run).then(() => {
        if (created) emit(this.#log, live, { event: StreamEvent.ThreadCreated, data: created.thread });
        emit(this.#log, live, { event: StreamEvent.RunCreated, data: run });
        emit(this.#log, live, { event: StreamEvent.RunQueued, data: run });
      });
      this.#start(live, announced);
      try {
        await announced;
      } catch (error) {
        // Never stored, so never happened: stop the request already sent and leave no trace.
        live.controller?.abort();
        this.#untrack(live);
        await live.reservation?.release().catch(() => {});
        throw error;
      }
      return { run, channel: this.#stream(live), after: 0 };
    } catch (error) {
      if (!this.#live.has(run.id)) await this.#registry.release(thread.id, run.id);
      throw error;
    }
  }

  async submitToolOutputs(
    owner: Owner,
    threadId: string,
    runId: string,
    outputs: Array<{ tool_call_id?: string | undefined; output?: string | undefined }>,
    stream: boolean,
    options: StartOptions = {},
  ): Promise<StartedRun> {
    const { live, given } = await this.#resume(owner, threadId, runId, outputs);
    const { run } = live;
    try {
      // The next segment costs tokens too: reserve before anything changes (over budget → the run waits).
      await this.#admitNext(
        live,
        [...given.values()].reduce((sum, output) => sum + estimateTokens(output), 0),
      );
    } catch (error) {
      await this.#registry.markWaiting(threadId, runId);
      throw error;
    }
    live.graceMs = Math.min(options.graceMs ?? 0, this.config.resumeGraceMs);
    clearTimeout(live.expiryTimer);
    const now = nowSeconds();
    const step = answeredStep(await pendingToolStep(this.store, live), given, {
      now,
      usage: live.pendingStepUsage,
    });
    live.pendingStepUsage = null;
    live.run = transition(run, 'queued', { now });
    await this.store.putAll(owner, step ? [step, live.run] : [live.run]);
    live.streamed = stream;
    live.continued = true;
    // The stream of the next segment starts after the last event logged (a shared log may be trimmed).
    const after = (await this.#log.read(run.id, 0))?.at(-1)?.seq ?? 0;
    if (step) emit(this.#log, live, { event: StreamEvent.StepCompleted, data: step });
    emit(this.#log, live, { event: StreamEvent.RunQueued, data: live.run });
    this.#start(live);
    return { run: live.run, channel: this.#stream(live), after };
  }

  /**
   * Cancels a run. A run that has already ended is answered as it is, with no error: a player who interrupts
   * just as a line ends has nothing left to cancel (OpenAI answered 400 here; Parley's cancel is idempotent).
   */
  async cancel(owner: Owner, threadId: string, runId: string, shown?: number): Promise<Run> {
    const live = this.#live.get(runId);
    if (live && live.owner === owner && live.run.thread_id === threadId) {
      const answer = await this.#cancelLive(live, shown);
      // Ended before the cancel could stop it: the player still saw only part of the reply.
      if (shown !== undefined && isEnding(answer.status))
        await cutStoredReply(this.store, owner, answer, shown);
      return answer;
    }
    const stored = await this.store.getRun(owner, threadId, runId);
    if (!stored) throw notFound('run', runId);
    if (isEnding(stored.status)) {
      if (shown !== undefined) await cutStoredReply(this.store, owner, stored, shown);
      return stored;
    }
    if (stored.status === 'cancelling') return stored;
    if (stored.status === 'requires_action') {
      // A waiting run executes nothing anywhere: the request that resumes it (through any instance) ends it.
      if (!(await this.#registry.resume(threadId, runId))) return this.#cancelContinued(owner, stored);
      const waiting = await this.#holdResumed(owner, stored);
      if (waiting) return this.#cancelLive(waiting, undefined, true);
      return (await this.store.getRun(owner, threadId, runId)) ?? stored;
    }
    // Nobody holds it (its instance died): this one takes it over and ends it, unless another just did.
    const adopted = (await this.#registry.isHeld(runId)) ? undefined : await this.#adopt(owner, stored);
    if (adopted) return this.#cancelLive(adopted);
    // Held by another instance: it stops the upstream when the signal reaches it.
    await this.#signals.send(runId, { type: 'cancel' });
    return transition(stored, 'cancelling', { now: nowSeconds() });
  }

  /** The stream of a run's events for a resuming client, or undefined when its log is no longer kept. */
  async channelFor(owner: Owner, threadId: string, runId: string): Promise<RunStream | undefined> {
    const live = this.#live.get(runId);
    if (live) return live.owner === owner && live.run.thread_id === threadId ? this.#stream(live) : undefined;
    const run = await this.store.getRun(owner, threadId, runId);
    if (!run) throw notFound('run', runId);
    if (isEnding(run.status)) {
      return (await this.#log.read(runId, 0, 1)) === undefined ? undefined : new RunStream(this.#log, runId);
    }
    // Executing on another instance: follow its log, which may not have reached the shared log yet.
    return new RunStream(this.#log, runId, undefined, async () => {
      const now = await this.store.getRun(owner, threadId, runId).catch(() => undefined);
      return now !== undefined && !isEnding(now.status);
    });
  }

  /** The thread's active run, if any. */
  async activeRun(owner: Owner, threadId: string): Promise<Run | undefined> {
    const runId = await this.#registry.active(threadId);
    if (runId === undefined) return undefined;
    const live = this.#live.get(runId);
    if (live) return live.owner === owner ? live.run : undefined;
    const stored = await this.store.getRun(owner, threadId, runId);
    if (!stored) return undefined; // claimed a moment ago: its row is not stored yet (or another player's)
    if (!isEnding(stored.status)) return stored;
    // A claim outliving its run (its instance died between storing the end and freeing the thread).
    await this.#registry.release(threadId, runId);
    return undefined;
  }

  /** Sets a run's metadata, on the live copy too when this process holds the run. */
  async setMetadata(owner: Owner, run: Run, metadata: Run['metadata']): Promise<Run> {
    const live = this.#live.get(run.id);
    if (live && live.owner === owner) {
      live.run = { ...live.run, metadata };
      await this.store.putRun(owner, live.run);
      return live.run;
    }
    const updated = { ...run, metadata };
    await this.store.putRun(owner, updated);
    return updated;
  }

  /** The live copy of a run when this process holds it (fresher than the store between boundaries). */
  liveRun(runId: string): Run | undefined {
    return this.#live.get(runId)?.run;
  }

  /** Aborts everything in flight and waits for the runs to settle (used on shutdown). */
  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    for (const live of this.#live.values()) {
      clearTimeout(live.graceTimer);
      clearTimeout(live.expiryTimer);
      live.controller?.abort(new AbortedError('shutdown'));
    }
    await Promise.allSettled([...this.#tasks]);
    await this.#host.memory?.close();
    this.#log.close();
    await this.#signals.close();
    await this.#registry.close();
  }

  /**
   * Frees threads claimed by runs that no live instance holds and that are not unfinished in the store: a run
   * claimed but never stored (its instance died between the two), or ended without freeing its thread.
   */
  async #clearOrphanClaims(): Promise<void> {
    const orphans = await this.#registry.orphans();
    if (orphans.length === 0) return;
    const unfinished = new Set((await this.store.listUnfinishedRuns()).map(({ run }) => run.id));
    for (const { threadId, runId } of orphans)
      if (!unfinished.has(runId) && !this.#live.has(runId)) await this.#registry.release(threadId, runId);
  }

  /** Claims the thread for a new run; a claim left by a run that has ended is cleared first. */
  async #claim(owner: Owner, threadId: string, runId: string): Promise<void> {
    const active = await this.#registry.claim(threadId, runId);
    if (active === undefined) return;
    if (await this.activeRun(owner, threadId)) throw busy(threadId, active);
    const again = await this.#registry.claim(threadId, runId);
    if (again !== undefined) throw busy(threadId, again);
  }

  async #assistant(owner: Owner, id: string): Promise<Assistant | undefined> {
    return this.options.assistant ? this.options.assistant(owner, id) : this.store.getAssistant(owner, id);
  }

  #track(owner: Owner, run: Run, npcName: string | null, streamed: boolean): LiveRun {
    const live = newLiveRun(owner, run, npcName, streamed, new WriteQueue(this.store, owner));
    live.unlisten = this.#signals.listen(run.id, (signal) => {
      if (signal.type === 'cancel') void this.#cancelLive(live).catch(() => {});
      // Another instance took the run over (it was waiting): forget it here without ending it.
      else if (signal.by !== this.#registry.instanceId && !live.controller) this.#letGo(live);
    });
    this.#live.set(run.id, live);
    return live;
  }

  /** Forgets a waiting run another instance has taken over, without ending it. */
  #letGo(live: LiveRun): void {
    clearTimeout(live.expiryTimer);
    clearTimeout(live.graceTimer);
    this.#untrack(live);
  }

  #untrack(live: LiveRun): void {
    live.unlisten();
    this.#live.delete(live.run.id);
  }

  /** A stream of the run's events that tells the engine when its readers come and go. */
  #stream(live: LiveRun): RunStream {
    return new RunStream(this.#log, live.run.id, {
      joined: () => {
        live.readers++;
        clearTimeout(live.graceTimer);
      },
      left: () => {
        live.readers--;
        if (live.readers === 0) whenAbandoned(live, () => void this.#cancelLive(live).catch(() => {}));
      },
    });
  }

  /**
   * Takes over an active run nothing here holds: one whose instance died, or a waiting run whose tool
   * outputs or cancel arrived here. Undefined when another instance took it first (the registry decides)
   * or it moved on meanwhile.
   */
  async #adopt(owner: Owner, run: Run): Promise<LiveRun | undefined> {
    const taken = await takeOverRun(this.store, this.#registry, owner, run);
    return taken?.status === run.status ? this.#hold(owner, taken) : undefined;
  }

  /** Holds a run this instance has taken over; its previous holder, if alive, lets go (its log here starts empty). */
  async #hold(owner: Owner, run: Run): Promise<LiveRun> {
    const assistant = await this.#assistant(owner, run.assistant_id).catch(() => undefined);
    const live = this.#track(owner, run, assistant?.name ?? null, false);
    live.continued = true;
    const thread = await this.store.getThread(owner, run.thread_id).catch(() => undefined);
    live.vectorStores = vectorStoreIds(assistant?.tool_resources, thread?.tool_resources);
    live.threadVectorStores = vectorStoreIds(thread?.tool_resources);
    await this.#signals.send(run.id, { type: 'adopted', by: this.#registry.instanceId });
    if (run.status === 'requires_action') this.#scheduleExpiry(live);
    return live;
  }

  /**
   * Resumes a waiting run to continue it with `outputs` (checked first, with OpenAI's wording). Of several
   * requests at once, through any instances, the registry lets one resume it; the others are told it is
   * being continued. The winner holds the run here and must continue it or mark it waiting again.
   */
  async #resume(
    owner: Owner,
    threadId: string,
    runId: string,
    outputs: Parameters<typeof acceptToolOutputs>[1],
  ): Promise<{ live: LiveRun; given: Map<string, string> }> {
    const local = this.#live.get(runId);
    const mine = local && local.owner === owner && local.run.thread_id === threadId ? local : undefined;
    const run = mine?.run ?? (await this.store.getRun(owner, threadId, runId));
    if (!run) throw notFound('run', runId);
    const given = acceptToolOutputs(run, outputs);
    const continuing = () =>
      new ProxyError(ErrorCode.InvalidRunState, `Run ${runId} is being continued through another request.`);
    if (!(await this.#registry.resume(threadId, runId))) throw continuing();
    const live = mine && this.#live.get(runId) === mine ? mine : await this.#holdResumed(owner, run);
    if (!live) throw continuing();
    return { live, given };
  }

  /** Holds a waiting run this instance has just resumed, as stored now; undefined if it moved on meanwhile. */
  async #holdResumed(owner: Owner, run: Run): Promise<LiveRun | undefined> {
    const stored = await this.store.getRun(owner, run.thread_id, run.id);
    return stored?.status === 'requires_action' ? this.#hold(owner, stored) : undefined;
  }

  /**
   * A cancel that found its waiting run being continued by another request: once that request has moved
   * the run on (within a couple of seconds), the run is cancelled as a running one.
   */
  async #cancelContinued(owner: Owner, run: Run): Promise<Run> {
    for (let waited = 0; waited < CONTINUING_WAIT_MS; waited += 50) {
      await sleep(50);
      const stored = await this.store.getRun(owner, run.thread_id, run.id);
      if (!stored || stored.status === 'requires_action') continue;
      // Continued on another instance: what this one still holds of the run is out of date.
      const stale = this.#live.get(run.id);
      if (stale?.run.status === 'requires_action') this.#letGo(stale);
      return this.cancel(owner, run.thread_id, run.id);
    }
    return run;
  }

  async #cancelLive(live: LiveRun, shown?: number, resumed = false): Promise<Run> {
    if (shown !== undefined) live.shown = shown;
    if (live.ending) return live.ending; // ending already: the cancel is answered with how it ended
    if (live.run.status === 'cancelling') return live.run;
    const { run } = live;
    if (run.status === 'requires_action' && !resumed && !(await this.#registry.resume(run.thread_id, run.id)))
      return this.#cancelContinued(live.owner, run);
    live.run = transition(live.run, 'cancelling', { now: nowSeconds() });
    emit(this.#log, live, { event: StreamEvent.RunCancelling, data: live.run });
    const snapshot = live.run;
    if (live.controller) {
      // Stop paying for tokens first; the status is written through the run's ordered write queue.
      live.controller.abort();
      live.writes.put(live.run.id, () => live.run);
    } else {
      // Nothing is executing (the run waits for tool outputs): finish the cancellation here.
      await this.#finish(live, 'cancelled');
    }
    return snapshot;
  }

  /** Starts a segment; `announced` settles once what must precede its first event has been appended. */
  #start(live: LiveRun, announced: Promise<void> = Promise.resolve()): void {
    live.controller = new AbortController();
    const signal = live.controller.signal;
    const host: SegmentHost = {
      ...this.#host,
      onTurn: this.options.onTurn && ((event) => this.options.onTurn?.({ owner: live.owner, ...event })),
    };
    const task = (async () => {
      const starting = announced.then(() => {
        if (live.run.status === 'in_progress') return; // the run goes on after a search: said already
        live.run = transition(live.run, 'in_progress', { now: nowSeconds() });
        live.writes.put(live.run.id, () => live.run);
        emit(this.#log, live, { event: StreamEvent.RunInProgress, data: live.run });
      });
      const outcome = await executeSegment(host, live, signal, starting);
      await this.#conclude(live, outcome, signal);
    })()
      .catch(() => {})
      .finally(() => this.#tasks.delete(task));
    this.#tasks.add(task);
  }

  /** Carries out how a segment ended. */
  async #conclude(live: LiveRun, outcome: SegmentOutcome, signal: AbortSignal): Promise<void> {
    switch (outcome.kind) {
      case 'unannounced':
        return;
      case 'cancelled':
        return this.#finish(live, 'cancelled');
      case 'failed':
        return this.#fail(live, outcome.error);
      case 'searched':
        return this.#searched(live, outcome.tokens, signal);
      case 'ended':
        try {
          await this.#finish(live, outcome.status, undefined, outcome.stored);
        } catch (error) {
          await this.#fail(live, error);
        }
        return;
      case 'requires_action': {
        const now = nowSeconds();
        live.pendingStepUsage = outcome.usage;
        live.run = transition(live.run, 'requires_action', {
          now,
          requiredAction: { type: 'submit_tool_outputs', submit_tool_outputs: { tool_calls: outcome.calls } },
          expiresAt: now + this.config.runExpiresSeconds,
        });
        try {
          await live.writes.flush();
          await this.store.putAll(live.owner, [outcome.step, live.run]);
          await this.#registry.markWaiting(live.run.thread_id, live.run.id);
        } catch (error) {
          return this.#fail(live, error);
        }
        // Cancelled while the writes were flushed: finish the cancellation, don't wait for outputs.
        if (signal.aborted) return this.#finish(live, 'cancelled');
        emit(this.#log, live, { event: StreamEvent.RunRequiresAction, data: live.run });
        live.controller = undefined;
        emit(this.#log, live, DONE_EVENT);
        this.#scheduleExpiry(live);
      }
    }
  }

  /** The model searched the knowledge files: the run goes on with the passages, as after tool outputs. */
  async #searched(live: LiveRun, tokens: number, signal: AbortSignal): Promise<void> {
    try {
      await live.writes.flush(); // the next request reads the search's step back
      await this.#admitNext(live, tokens);
    } catch (error) {
      return this.#fail(live, error);
    }
    if (signal.aborted) return this.#finish(live, 'cancelled');
    live.continued = true;
    this.#start(live);
  }

  /**
   * Reserves the budget of a run's next segment, whose prompt grows by `extraTokens` (tool outputs,
   * passages); over budget, the segment answers with the budget's line instead of asking the model.
   */
  async #admitNext(live: LiveRun, extraTokens: number): Promise<void> {
    const { run } = live;
    const history = await this.store.allMessages(live.owner, run.thread_id);
    const admission = await this.#guards.admit(this.#cost(live.owner, run, history, extraTokens), {
      name: live.npcName,
      runId: run.id,
    });
    if (admission.line !== undefined) live.scripted = admission.line;
    else live.reservation = admission.reservation;
    live.history = history;
  }

  /** The most a turn of `run` over `history` (plus `extraTokens` of tool outputs or passages) may cost. */
  #cost(player: Owner, run: Run, history: readonly Message[], extraTokens = 0): TurnCost {
    const prompt = estimateTokens(run.instructions) + historyTokens(history, this.config.contextTokens);
    return {
      player,
      npc: run.assistant_id,
      model: run.model,
      promptTokens: prompt + extraTokens,
      maxCompletionTokens: run.max_completion_tokens,
    };
  }

  #fail(live: LiveRun, error: unknown): Promise<void> {
    return failRun(this.#ending, live, error);
  }

  #finish(
    live: LiveRun,
    status: RunEnding,
    error?: ProxyError,
    alongside: ReadonlyArray<Message | RunStep> = [],
  ): Promise<void> {
    return finishRun(this.#ending, live, status, error, alongside);
  }

  #scheduleExpiry(live: LiveRun): void {
    scheduleExpiry(live, async () => {
      // Outputs or a cancel arriving at this moment, through any instance, win or lose against the expiry.
      if (await this.#registry.resume(live.run.thread_id, live.run.id)) await this.#finish(live, 'expired');
    });
  }
}

/** How long a cancel waits for another request to move on the waiting run it is continuing. */
const CONTINUING_WAIT_MS = 2000;

function busy(threadId: string, runId: string): ProxyError {
  return new ProxyError(ErrorCode.ThreadBusy, `Thread ${threadId} already has an active run ${runId}.`, {
    param: 'thread_id',
  });
}
