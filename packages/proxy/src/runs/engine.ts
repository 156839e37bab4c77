import {
  type Assistant,
  ErrorCode,
  type FunctionToolCall,
  IdPrefix,
  type Message,
  type Run,
  type RunErrorCode,
  type RunStep,
  StreamEvent,
  TERMINAL_RUN_STATUSES,
  type Thread,
  type Usage,
} from '@parley/protocol';
import type {
  ChatCompletionChunk,
  ChatCompletionContentPart,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from 'openai/resources/chat/completions';
import { cloneData } from '../clone.js';
import type { ProxyConfig } from '../config.js';
import { notFound, ProxyError } from '../errors.js';
import { newId, nowSeconds } from '../ids.js';
import { cannedLine, cannedReasonFor } from '../limits/canned.js';
import type { Limiter, Reservation } from '../limits/limiter.js';
import {
  type MessageInput,
  makeMessage,
  makeRun,
  makeStep,
  messageText,
  type RunFields,
} from '../objects.js';
import type { Moderator } from '../ops/moderation.js';
import type { PolicyGuard } from '../policy/policy.js';
import type { Owner, Store } from '../store/types.js';
import { estimateMessageTokens, estimateTokens } from '../tokens.js';
import { AbortedError, type ChatRequest, TurnDecoder, type Upstream } from '../upstream/upstream.js';
import { RunChannel } from './channel.js';

/** What a client may ask of a run beyond the assistant's settings. */
export interface RunParams extends Partial<Omit<RunFields, 'instructions' | 'model' | 'tools'>> {
  assistant_id: string;
  model?: string | null;
  instructions?: string | null;
  additional_instructions?: string | null;
  additional_messages?: MessageInput[] | null;
  tools?: RunFields['tools'] | null;
  stream?: boolean | null;
}

export interface StartedRun {
  run: Run;
  channel: RunChannel;
  /** Log position the caller's stream should start after. */
  after: number;
}

/** What the engine enforces around each turn; every part is optional (tests run without them). */
export interface TurnGuards {
  /** Resolves an assistant id for a player: their own, or one the game defines. */
  assistant?: (owner: Owner, id: string) => Promise<Assistant | undefined>;
  limiter?: Limiter;
  moderator?: Moderator;
  policy?: PolicyGuard;
  /** Answer over-budget players with an in-character line instead of a 429. */
  cannedReplies?: boolean;
  /** Upstream watchdogs, milliseconds: before the first token, between tokens, for the whole segment. */
  timeouts?: { firstTokenMs: number; idleMs: number; totalMs: number };
  onTurn?: (event: {
    owner: Owner;
    model: string;
    ttftMs: number | null;
    usage: Usage | null;
    status: string;
  }) => void;
}

export interface StartOptions {
  /** How long a streamed run may outlive its last reader (capped by the server's `resumeGraceMs`). */
  graceMs?: number;
}

/** A run this process is responsible for: the in-memory truth while it is not terminal. */
interface LiveRun {
  owner: Owner;
  run: Run;
  channel: RunChannel;
  controller: AbortController | undefined;
  streamed: boolean;
  graceTimer: NodeJS.Timeout | undefined;
  expiryTimer: NodeJS.Timeout | undefined;
  /** Whether the run has steps from an earlier segment (its request replays them). */
  continued: boolean;
  /**
   * Writes made mid-segment are queued here instead of awaited, so the store never sits between the
   * upstream's tokens and the player. The queue is flushed before anything final is announced.
   */
  writes: Promise<void>;
  writeError: unknown;
  graceMs: number;
  /** Budget reserved for the segment in flight. */
  reservation: Reservation | undefined;
  /** Text to answer with instead of asking the model (moderation refusal, budget line). */
  scripted: string | undefined;
  toolCalls: number;
  timedOut: boolean;
  /** The terminal status being written; readers see it only once it is stored and announced. */
  ending: Run['status'] | undefined;
  /** The thread's messages as the run was created, for its first request (read once, not twice). */
  history: Message[] | undefined;
}

/** How long a finished run's log stays readable, and how much of such logs at most by default. */
const RETIRED_LOG_MS = 5 * 60_000;
const DEFAULT_RETIRED_LOG_BYTES = 64 * 1024 * 1024;

const ACTIVE: ReadonlySet<string> = new Set(['queued', 'in_progress', 'requires_action', 'cancelling']);

/**
 * Runs turns: builds each chat-completions request from the assistant, the run's overrides and the
 * thread's history; streams the upstream's answer as Assistants events into the run's channel; persists
 * at message, step and run boundaries (never per token); and handles tool calls, cancellation, expiry
 * and recovery after a restart.
 */
export class RunEngine {
  readonly #live = new Map<string, LiveRun>();
  /** The live run of each thread that has one (a thread has one active run at most). */
  readonly #liveByThread = new Map<string, LiveRun>();
  /**
   * Finished runs' logs stay readable for a while so late resumes still work: five minutes, and at most
   * `retiredLogBytes` of them in all (oldest out first), so a busy proxy's memory does not grow with its
   * turn rate. A resume that finds no log is told how the run ended.
   */
  readonly #retired = new Map<string, { channel: RunChannel; timer: NodeJS.Timeout; bytes: number }>();
  #retiredBytes = 0;
  /** Threads with a run being created right now (closes the check-then-insert race in this process). */
  readonly #claiming = new Set<string>();
  readonly #tasks = new Set<Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly upstream: Upstream,
    private readonly config: Pick<ProxyConfig, 'runExpiresSeconds' | 'contextTokens' | 'resumeGraceMs'> & {
      /**
       * True when no other process writes this store: after `recover()` every unfinished run is held
       * in memory, so the active-run check needs no query and a run's in_progress row need not be
       * written.
       */
      exclusive?: boolean;
      /** How many bytes of finished runs' event logs to keep for late resumes (default 64 MiB). */
      retiredLogBytes?: number;
    },
    private readonly guards: TurnGuards = {},
  ) {}

  /** Ends runs a previous process left behind: in-flight ones fail, waiting ones keep waiting or expire. */
  async recover(): Promise<number> {
    const unfinished = await this.store.listUnfinishedRuns();
    for (const { owner, run } of unfinished) {
      if (run.status === 'requires_action') {
        if (run.expires_at !== null && run.expires_at <= nowSeconds())
          await this.#finishOffline(owner, run, 'expired');
        else this.#adopt(owner, run);
        continue;
      }
      await this.#finishOffline(owner, run, run.status === 'cancelling' ? 'cancelled' : 'failed');
    }
    return unfinished.length;
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
    if (this.#claiming.has(thread.id)) throw busy(thread.id, 'another run');
    this.#claiming.add(thread.id);
    try {
      const active = await this.activeRun(owner, thread.id);
      if (active) throw busy(thread.id, active.id);
      const run = makeRun(
        thread,
        assistant,
        runFields(assistant, params, this.upstream),
        this.config.runExpiresSeconds,
      );
      // Moderation and budget come before anything is stored, so a refused turn leaves no trace.
      const fresh = (params.additional_messages ?? []).map((input) => makeMessage(thread.id, input));
      const history = await this.store.allMessages(owner, thread.id);
      const scripted = await this.#screen(owner, assistant, run, [...history, ...fresh]);
      for (const message of fresh) await this.store.putMessage(owner, message);
      const live = this.#track(owner, run, params.stream === true);
      live.history = [...history, ...fresh];
      live.graceMs = Math.min(options.graceMs ?? 0, this.config.resumeGraceMs);
      live.reservation = scripted.reservation;
      live.scripted = scripted.text;
      // The run is announced only once its row is stored, but the upstream request does not wait for
      // that write: the segment starts now and holds its first event until `announced` settles.
      const snapshot = cloneData(run);
      const announced = this.store.putRun(owner, run).then(() => {
        if (created) live.channel.push(StreamEvent.ThreadCreated, created.thread);
        const data = JSON.stringify(snapshot); // both events carry the run as it was created
        live.channel.push(StreamEvent.RunCreated, data);
        live.channel.push(StreamEvent.RunQueued, data);
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
      return { run: snapshot, channel: live.channel, after: 0 };
    } finally {
      this.#claiming.delete(thread.id);
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
    const live = await this.#liveRun(owner, threadId, runId);
    const { run } = live;
    if (run.status !== 'requires_action' || !run.required_action) {
      throw new ProxyError(
        ErrorCode.InvalidRunState,
        `Runs in status "${run.status}" do not accept tool outputs.`,
      );
    }
    const expected = run.required_action.submit_tool_outputs.tool_calls.map((call) => call.id);
    const given = new Map<string, string>();
    for (const entry of outputs) {
      if (!entry.tool_call_id || !expected.includes(entry.tool_call_id)) {
        throw new ProxyError(
          ErrorCode.InvalidValue,
          `Invalid tool_call_id: ${entry.tool_call_id ?? '(missing)'}`,
          {
            param: 'tool_outputs',
          },
        );
      }
      given.set(entry.tool_call_id, entry.output ?? '');
    }
    const missing = expected.filter((id) => !given.has(id));
    if (missing.length > 0) {
      throw new ProxyError(
        ErrorCode.MissingParameter,
        `Expected tool outputs for call_ids ${JSON.stringify(expected)}, got ${JSON.stringify([...given.keys()])}`,
        { param: 'tool_outputs' },
      );
    }
    // The next segment costs tokens too: reserve before anything changes (over budget → the run waits).
    const assistant = await this.#assistant(owner, run.assistant_id);
    const history = await this.store.allMessages(owner, run.thread_id);
    const historyTokens =
      history.reduce((sum, message) => sum + estimateTokens(messageText(message)) + 4, 0) +
      [...given.values()].reduce((sum, output) => sum + estimateTokens(output), 0);
    const screened = await this.#reserve(
      owner,
      assistant?.name ?? null,
      run,
      Math.min(historyTokens, this.config.contextTokens),
    );
    live.reservation = screened.reservation;
    live.scripted = screened.text;
    live.graceMs = Math.min(options.graceMs ?? 0, this.config.resumeGraceMs);
    clearTimeout(live.expiryTimer);
    const step = await this.#pendingToolStep(live);
    if (step && step.step_details.type === 'tool_calls') {
      for (const call of step.step_details.tool_calls) call.function.output = given.get(call.id) ?? '';
      step.status = 'completed';
      step.completed_at = nowSeconds();
      await this.store.putStep(owner, step);
    }
    run.status = 'queued';
    run.required_action = null;
    await this.store.putRun(owner, run);
    live.streamed = stream;
    live.continued = true;
    const after = live.channel.events.length;
    if (step) live.channel.push(StreamEvent.StepCompleted, step);
    live.channel.push(StreamEvent.RunQueued, run);
    this.#start(live);
    return { run: cloneData(run), channel: live.channel, after };
  }

  async cancel(owner: Owner, threadId: string, runId: string): Promise<Run> {
    const live = this.#live.get(runId);
    const cannot = (status: string) =>
      new ProxyError(ErrorCode.InvalidRunState, `Cannot cancel run with status '${status}'.`);
    if (!live || live.owner !== owner || live.run.thread_id !== threadId) {
      const stored = await this.store.getRun(owner, threadId, runId);
      if (!stored) throw notFound('run', runId);
      throw cannot(stored.status);
    }
    const { run } = live;
    if (run.status === 'cancelling') return cloneData(run);
    // Ending already (its final row is being written): too late to cancel.
    if (live.ending) throw cannot(live.ending);
    run.status = 'cancelling';
    live.channel.push(StreamEvent.RunCancelling, run);
    const snapshot = cloneData(run);
    if (live.controller) {
      // Stop paying for tokens first; the status is written through the run's ordered write queue.
      live.controller.abort();
      live.writes = live.writes.then(() => this.store.putRun(owner, run)).catch(() => {});
    } else {
      // Nothing is executing (the run waits for tool outputs): finish the cancellation here.
      live.channel.producing = true;
      await this.#finish(live, 'cancelled');
    }
    return snapshot;
  }

  /** The channel of a run for a resuming stream, or undefined when the run's log is no longer kept. */
  async channelFor(owner: Owner, threadId: string, runId: string): Promise<RunChannel | undefined> {
    const live = this.#live.get(runId);
    if (live) return live.owner === owner && live.run.thread_id === threadId ? live.channel : undefined;
    const run = await this.store.getRun(owner, threadId, runId);
    if (!run) throw notFound('run', runId);
    return this.#retired.get(runId)?.channel;
  }

  /** The thread's active run, if any (in this process or left waiting in the store). */
  async activeRun(owner: Owner, threadId: string): Promise<Run | undefined> {
    const live = this.#liveByThread.get(threadId);
    if (live && live.owner === owner && ACTIVE.has(live.run.status)) return live.run;
    if (this.config.exclusive) return undefined;
    const latest = await this.store.listRuns(owner, threadId, { limit: 1, order: 'desc' });
    const run = latest.data[0];
    return run && ACTIVE.has(run.status) ? run : undefined;
  }

  /** Sets a run's metadata, on the live copy too when this process holds the run. */
  async setMetadata(owner: Owner, run: Run, metadata: Run['metadata']): Promise<Run> {
    const live = this.#live.get(run.id);
    const target = live && live.owner === owner ? live.run : run;
    target.metadata = metadata;
    await this.store.putRun(owner, target);
    return cloneData(target);
  }

  /** The live copy of a run when this process holds it (fresher than the store between boundaries). */
  liveRun(runId: string): Run | undefined {
    const live = this.#live.get(runId);
    return live ? cloneData(live.run) : undefined;
  }

  /** Aborts everything in flight and waits for the runs to settle (used on shutdown). */
  async close(): Promise<void> {
    for (const live of this.#live.values()) {
      clearTimeout(live.graceTimer);
      clearTimeout(live.expiryTimer);
      live.controller?.abort(new AbortedError('shutdown'));
    }
    await Promise.allSettled([...this.#tasks]);
    for (const { timer } of this.#retired.values()) clearTimeout(timer);
    this.#retired.clear();
    this.#retiredBytes = 0;
  }

  async #assistant(owner: Owner, id: string): Promise<Assistant | undefined> {
    return this.guards.assistant ? this.guards.assistant(owner, id) : this.store.getAssistant(owner, id);
  }

  /** Output tokens a segment may produce: what the run asked, capped by policy. */
  #maxOutput(run: Run): number | null {
    return this.guards.policy
      ? this.guards.policy.outputTokens(run.max_completion_tokens)
      : run.max_completion_tokens;
  }

  /** Screens a new turn: moderation of the player's latest line, then the budget. */
  async #screen(
    owner: Owner,
    assistant: Assistant,
    run: Run,
    messages: Message[],
  ): Promise<{ text?: string; reservation?: Reservation }> {
    // Everything the player wrote (any message no run produced, whatever its role) is screened, not just
    // the latest line: an earlier flagged line would otherwise ride along in the history to the model.
    const written = messages
      .filter((message) => message.run_id === null)
      .map(messageText)
      .join('\n');
    if (this.guards.moderator && written) {
      const verdict = await this.guards.moderator.check(written);
      if (verdict.flagged) return { text: this.guards.moderator.refusal(assistant.name) };
    }
    const history = messages.reduce((sum, message) => sum + estimateTokens(messageText(message)) + 4, 0);
    return this.#reserve(owner, assistant.name, run, Math.min(history, this.config.contextTokens));
  }

  /**
   * Reserves the segment's worst case before the upstream is asked, so concurrent turns cannot overspend.
   * Over the limit: a 429 for the caller, or (when configured) the NPC's in-character budget line.
   */
  async #reserve(
    owner: Owner,
    npcName: string | null,
    run: Run,
    historyTokens: number,
  ): Promise<{ text?: string; reservation?: Reservation }> {
    const limiter = this.guards.limiter;
    if (!limiter) return {};
    try {
      const reservation = await limiter.reserve({
        player: owner,
        npc: run.assistant_id,
        model: run.model,
        promptTokens: estimateTokens(run.instructions) + historyTokens,
        maxCompletionTokens: this.#maxOutput(run) ?? 1024,
      });
      return { reservation };
    } catch (error) {
      const reason = cannedReasonFor(error);
      if (this.guards.cannedReplies && reason)
        return { text: cannedLine(npcName ?? undefined, reason, run.id) };
      throw error;
    }
  }

  /**
   * Watches a segment: no first token within `firstTokenMs`, a gap longer than `idleMs`, or the whole
   * segment over `totalMs` aborts the upstream request and fails the run (rather than leaving a player
   * staring at a thinking NPC forever).
   */
  #watchdog(live: LiveRun): { arm(phase: 'first' | 'idle'): void; stop(): void } {
    const limits = this.guards.timeouts;
    if (!limits) return { arm() {}, stop() {} };
    let timer: NodeJS.Timeout | undefined;
    let armed: 'first' | 'idle' | undefined;
    const expire = () => {
      live.timedOut = true;
      live.controller?.abort();
    };
    const total = setTimeout(expire, limits.totalMs);
    return {
      arm(phase) {
        // Re-armed on every token: refreshing the running timer costs less than replacing it.
        if (phase === armed && timer) {
          timer.refresh();
          return;
        }
        clearTimeout(timer);
        armed = phase;
        timer = setTimeout(expire, phase === 'first' ? limits.firstTokenMs : limits.idleMs);
      },
      stop() {
        clearTimeout(timer);
        clearTimeout(total);
      },
    };
  }

  /** Replaces the reservation's worst case with what the segment really used. */
  async #settle(live: LiveRun, usage: Usage | undefined, produced: string): Promise<void> {
    const reservation = live.reservation;
    live.reservation = undefined;
    if (!reservation) return;
    if (!usage && produced.length === 0) {
      await reservation.release().catch(() => {});
      return;
    }
    await reservation
      .settle({
        promptTokens:
          usage?.prompt_tokens ?? Math.max(0, reservation.tokens - (this.#maxOutput(live.run) ?? 0)),
        completionTokens: usage?.completion_tokens ?? estimateTokens(produced),
      })
      .catch(() => {});
  }

  #track(owner: Owner, run: Run, streamed: boolean): LiveRun {
    const channel = new RunChannel(run.id);
    const live: LiveRun = {
      owner,
      run,
      channel,
      controller: undefined,
      streamed,
      graceTimer: undefined,
      expiryTimer: undefined,
      continued: false,
      writes: Promise.resolve(),
      writeError: undefined,
      graceMs: 0,
      reservation: undefined,
      scripted: undefined,
      toolCalls: 0,
      timedOut: false,
      ending: undefined,
      history: undefined,
    };
    channel.onAbandoned = () => {
      // A streaming client vanished. Keep going a little so it can resume; then stop paying for tokens.
      if (!live.streamed || !live.controller) return;
      clearTimeout(live.graceTimer);
      if (live.graceMs === 0) {
        void this.cancel(owner, run.thread_id, run.id).catch(() => {});
        return;
      }
      live.graceTimer = setTimeout(() => {
        if (channel.readers === 0) void this.cancel(owner, run.thread_id, run.id).catch(() => {});
      }, live.graceMs);
      live.graceTimer.unref();
    };
    channel.onReader = () => clearTimeout(live.graceTimer);
    this.#live.set(run.id, live);
    this.#liveByThread.set(run.thread_id, live);
    return live;
  }

  #untrack(live: LiveRun): void {
    this.#live.delete(live.run.id);
    if (this.#liveByThread.get(live.run.thread_id) === live) this.#liveByThread.delete(live.run.thread_id);
  }

  /** Takes over a waiting run found in the store at start-up (its log starts empty). */
  #adopt(owner: Owner, run: Run): void {
    const live = this.#track(owner, run, false);
    live.continued = true;
    this.#scheduleExpiry(live);
  }

  async #liveRun(owner: Owner, threadId: string, runId: string): Promise<LiveRun> {
    const live = this.#live.get(runId);
    if (live && live.owner === owner && live.run.thread_id === threadId) return live;
    const stored = await this.store.getRun(owner, threadId, runId);
    if (!stored) throw notFound('run', runId);
    throw new ProxyError(
      ErrorCode.InvalidRunState,
      `Runs in status "${stored.status}" do not accept tool outputs.`,
    );
  }

  /** Starts a segment; `announced` settles once what must precede its first event has been pushed. */
  #start(live: LiveRun, announced: Promise<void> = Promise.resolve()): void {
    live.channel.producing = true;
    live.controller = new AbortController();
    const task = this.#execute(live, live.controller.signal, announced)
      .catch(() => {})
      .finally(() => this.#tasks.delete(task));
    this.#tasks.add(task);
  }

  /** One segment of a run: from queued to requires_action or a terminal status. */
  async #execute(live: LiveRun, signal: AbortSignal, announced: Promise<void>): Promise<void> {
    const { run, owner, channel } = live;
    // Each write stores its object as it is when the write runs, so a write queued behind another of the
    // same object is redundant while the first has not started: under load a turn then stores its
    // message and step once instead of twice.
    const queued = new Set<string>();
    const later = (object: Message | RunStep | Run) => {
      if (queued.has(object.id)) return;
      queued.add(object.id);
      live.writes = live.writes
        .then(() => {
          queued.delete(object.id);
          return this.#put(owner, object);
        })
        .catch((error: unknown) => {
          live.writeError ??= error;
        });
    };
    const opened = (object: Message | RunStep) => later(object);
    let messageStep: RunStep | undefined;
    let message: Message | undefined;
    let toolStep: RunStep | undefined;
    const calls: Array<{ id: string; name: string; arguments: string }> = [];
    let callCount = 0;
    let text = '';
    let usage: Usage | undefined;
    const started = performance.now();
    const watchdog = this.#watchdog(live);
    // The request goes out before the run is announced; its outcome is read only after.
    const scriptedText = live.scripted;
    live.scripted = undefined;
    let opening: Promise<AsyncIterable<ChatCompletionChunk>> | undefined;
    let unbuilt: { error: unknown } | undefined;
    if (scriptedText === undefined) {
      try {
        const request = await this.#buildRequest(live);
        watchdog.arm('first');
        opening = this.upstream.stream(request, signal);
        opening.catch(() => {}); // handled where it is awaited, below
      } catch (error) {
        unbuilt = { error }; // a failure of the segment like any other, reported once the run is announced
      }
    }
    try {
      await announced;
    } catch {
      watchdog.stop(); // never stored: createRun aborts the request and forgets the run
      return;
    }
    try {
      run.status = 'in_progress';
      run.started_at ??= nowSeconds();
      // Where this process alone writes the store, the live copy answers every read of a run in flight
      // and recovery ends queued and in_progress runs alike, so this row would only be overwritten by the
      // next boundary. A store that other instances read gets it.
      if (!this.config.exclusive) later(run);
      channel.push(StreamEvent.RunInProgress, run);
      if (unbuilt) throw unbuilt.error;

      let firstToken: number | null = null;
      // Chunks are decoded as they come, in this loop: no generator between the upstream and the events.
      const chunks: AsyncIterable<ChatCompletionChunk> | ChatCompletionChunk[] =
        opening === undefined ? scriptedChunks(scriptedText ?? '', run.model) : await opening;
      const decoder = new TurnDecoder();
      let reason: 'stop' | 'length' | 'tool_calls' | 'content_filter' = 'stop';

      const openMessage = () => {
        message = makeMessage(
          run.thread_id,
          { role: 'assistant', content: [] },
          { status: 'in_progress', assistant_id: run.assistant_id, run_id: run.id },
        );
        messageStep = makeStep(run, {
          type: 'message_creation',
          message_creation: { message_id: message.id },
        });
        opened(message);
        opened(messageStep);
        // Each pair of events carries the same state: serialised once.
        const step = JSON.stringify(messageStep);
        channel.push(StreamEvent.StepCreated, step);
        channel.push(StreamEvent.StepInProgress, step);
        const created = JSON.stringify(message);
        channel.push(StreamEvent.MessageCreated, created);
        channel.push(StreamEvent.MessageInProgress, created);
      };
      /** Ends the reply and its step, and returns them to be stored (at once, or with the run's end). */
      const closeMessage = (
        status: 'completed' | 'incomplete',
        stepUsage: Usage | null,
      ): Array<Message | RunStep> => {
        if (!message || !messageStep) return [];
        message.content = [{ type: 'text', text: { value: text, annotations: [] } }];
        message.status = status;
        if (status === 'completed') message.completed_at = nowSeconds();
        else {
          message.incomplete_at = nowSeconds();
          message.incomplete_details = {
            reason: reason === 'content_filter' ? 'content_filter' : 'max_tokens',
          };
        }
        messageStep.status = 'completed';
        messageStep.completed_at = nowSeconds();
        messageStep.usage = stepUsage;
        channel.push(
          status === 'completed' ? StreamEvent.MessageCompleted : StreamEvent.MessageIncomplete,
          message,
        );
        channel.push(StreamEvent.StepCompleted, messageStep);
        return [message, messageStep];
      };

      for await (const chunk of chunks)
        for (const event of decoder.push(chunk)) {
          watchdog.arm('idle');
          if (firstToken === null && (event.type === 'text' || event.type === 'tool_call'))
            firstToken = performance.now();
          switch (event.type) {
            case 'text': {
              if (toolStep) break; // text after tool calls in one completion is not shown (OpenAI's behaviour)
              if (!message) openMessage();
              text += event.delta;
              channel.push(StreamEvent.MessageDelta, {
                id: message!.id,
                object: 'thread.message.delta',
                delta: {
                  content: [{ index: 0, type: 'text', text: { value: event.delta, annotations: [] } }],
                },
              });
              break;
            }
            case 'tool_call': {
              // Past the cap, stop the upstream at once rather than stream (and pay for) the rest.
              const cap = this.guards.policy?.policy.maxToolCallsPerRun;
              if (!calls[event.index] && cap !== undefined && live.toolCalls + callCount + 1 > cap)
                throw tooManyToolCalls(cap);
              if (message && messageStep?.status === 'in_progress')
                for (const object of closeMessage('completed', null)) later(object);
              if (!toolStep) {
                toolStep = makeStep(run, { type: 'tool_calls', tool_calls: [] });
                opened(toolStep);
                const step = JSON.stringify(toolStep);
                channel.push(StreamEvent.StepCreated, step);
                channel.push(StreamEvent.StepInProgress, step);
              }
              let call = calls[event.index];
              const first = !call;
              if (!call) {
                call = { id: event.id ?? newId(IdPrefix.ToolCall), name: event.name ?? '', arguments: '' };
                calls[event.index] = call;
                callCount++;
              } else if (event.name) call.name ||= event.name;
              call.arguments += event.arguments ?? '';
              channel.push(StreamEvent.StepDelta, {
                id: toolStep.id,
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
                        : {
                            index: event.index,
                            type: 'function',
                            function: { arguments: event.arguments ?? '' },
                          },
                    ],
                  },
                },
              });
              break;
            }
            case 'usage':
              usage = event.usage;
              break;
            case 'finish':
              reason = event.reason;
              break;
          }
        }
      decoder.end();

      watchdog.stop();
      addUsage(run, usage);
      await this.#settle(live, usage, text + calls.map((call) => call.arguments).join(''));
      this.guards.onTurn?.({
        owner,
        model: run.model,
        ttftMs: firstToken === null ? null : firstToken - started,
        usage: usage ?? null,
        status: 'completed',
      });
      const toolCalls: FunctionToolCall[] = calls.filter(Boolean).map((call) => ({
        id: call.id,
        type: 'function',
        function: { name: call.name, arguments: call.arguments },
      }));

      live.toolCalls += toolCalls.length;
      const cap = this.guards.policy?.policy.maxToolCallsPerRun;
      if (cap !== undefined && live.toolCalls > cap) throw tooManyToolCalls(cap);
      if (toolStep && toolCalls.length > 0) {
        toolStep.step_details = {
          type: 'tool_calls',
          tool_calls: toolCalls.map((call) => ({ ...call, function: { ...call.function, output: null } })),
        };
        toolStep.usage = usage ?? null;
        run.status = 'requires_action';
        run.required_action = { type: 'submit_tool_outputs', submit_tool_outputs: { tool_calls: toolCalls } };
        run.expires_at = nowSeconds() + this.config.runExpiresSeconds;
        await this.#flush(live);
        await this.store.putAll(owner, [toolStep, run]);
        // Cancelled while the writes were flushed: finish the cancellation, don't wait for outputs.
        if (signal.aborted) throw new AbortedError('aborted');
        channel.push(StreamEvent.RunRequiresAction, run);
        live.controller = undefined;
        channel.done();
        this.#scheduleExpiry(live);
        return;
      }

      if (!message) openMessage(); // an empty answer is still an answer
      const incomplete = reason === 'length' || reason === 'content_filter';
      const reply = closeMessage(incomplete ? 'incomplete' : 'completed', usage ?? null);
      if (incomplete) run.incomplete_details = { reason: 'max_completion_tokens' };
      await this.#flush(live);
      // The reply, its step and the run's end are stored together: three rows, one transaction.
      await this.#finish(live, incomplete ? 'incomplete' : 'completed', undefined, reply);
    } catch (error) {
      watchdog.stop();
      const aborted = signal.aborted || error instanceof AbortedError;
      if (message && messageStep?.status === 'in_progress') {
        message.status = 'incomplete';
        message.incomplete_at = nowSeconds();
        message.incomplete_details = { reason: aborted ? 'run_cancelled' : 'run_failed' };
        await this.store.putMessage(owner, message).catch(() => {});
        channel.push(StreamEvent.MessageIncomplete, message);
      }
      for (const step of [messageStep, toolStep]) {
        if (step?.status !== 'in_progress') continue;
        if (aborted) {
          step.status = 'cancelled';
          step.cancelled_at = nowSeconds();
        } else {
          step.status = 'failed';
          step.failed_at = nowSeconds();
          step.last_error = { code: 'server_error', message: 'The run failed.' };
        }
        await this.store.putStep(owner, step).catch(() => {});
        channel.push(aborted ? StreamEvent.StepCancelled : StreamEvent.StepFailed, step);
      }
      addUsage(run, usage);
      // What was generated before the failure or the cancellation is paid for (estimated when the
      // upstream reported no usage), so hanging up mid-answer is never a way to talk for free.
      await this.#settle(live, usage, text + calls.map((call) => call.arguments).join(''));
      if (live.timedOut) {
        live.timedOut = false;
        const failure = new ProxyError(
          ErrorCode.UpstreamTimeout,
          'The model upstream took too long to answer.',
        );
        run.last_error = { code: 'server_error', message: failure.message };
        await this.#finish(live, 'failed', failure);
        return;
      }
      if (aborted) {
        await this.#finish(live, 'cancelled');
        return;
      }
      const failure =
        error instanceof ProxyError
          ? error
          : new ProxyError(ErrorCode.Server, 'The run failed unexpectedly.');
      run.last_error = { code: runErrorCode(failure), message: failure.message };
      await this.#finish(live, 'failed', failure);
    }
  }

  async #buildRequest(live: LiveRun): Promise<ChatRequest> {
    const { run, owner } = live;
    const history = live.history ?? (await this.store.allMessages(owner, run.thread_id));
    live.history = undefined;
    const earlier: ChatCompletionMessageParam[] = [];
    for (const message of history) {
      if (message.run_id === run.id) continue; // this run's own output is replayed from its steps below
      const text = messageText(message);
      earlier.push(message.role === 'user' ? userMessage(message) : { role: 'assistant', content: text });
    }
    // This run so far (only after tool outputs): its messages and tool calls, in step order.
    const tail: ChatCompletionMessageParam[] = [];
    const steps = live.continued
      ? (await this.store.listSteps(owner, run.thread_id, run.id, { limit: 100, order: 'asc' })).data
      : [];
    for (const step of steps) {
      if (step.step_details.type === 'message_creation') {
        const message = await this.store.getMessage(
          owner,
          run.thread_id,
          step.step_details.message_creation.message_id,
        );
        if (message) tail.push({ role: 'assistant', content: messageText(message) });
      } else if (step.status === 'completed') {
        const calls = step.step_details.tool_calls;
        tail.push({
          role: 'assistant',
          content: null,
          tool_calls: calls.map((call) => ({
            id: call.id,
            type: 'function',
            function: { name: call.function.name, arguments: call.function.arguments },
          })),
        });
        for (const call of calls)
          tail.push({ role: 'tool', tool_call_id: call.id, content: call.function.output ?? '' });
      }
    }
    const system: ChatCompletionMessageParam[] = run.instructions
      ? [{ role: 'system', content: run.instructions }]
      : [];
    const kept = trimHistory(earlier, {
      budget:
        Math.min(this.config.contextTokens, run.max_prompt_tokens ?? Number.POSITIVE_INFINITY) -
        estimateMessageTokens([...system, ...tail]),
      lastMessages:
        run.truncation_strategy?.type === 'last_messages'
          ? (run.truncation_strategy.last_messages ?? null)
          : null,
    });
    const tools: ChatCompletionTool[] = run.tools.flatMap((tool) =>
      tool.type === 'function' ? [{ type: 'function', function: tool.function } as ChatCompletionTool] : [],
    );
    const request: ChatRequest = { model: run.model, messages: [...system, ...kept, ...tail] };
    if (tools.length > 0) {
      request.tools = tools;
      request.tool_choice = run.tool_choice;
      request.parallel_tool_calls = run.parallel_tool_calls;
    }
    if (run.temperature !== null) request.temperature = run.temperature;
    if (run.top_p !== null) request.top_p = run.top_p;
    if (run.max_completion_tokens !== null) request.max_completion_tokens = run.max_completion_tokens;
    if (run.response_format && run.response_format !== 'auto') {
      request.response_format = run.response_format as NonNullable<ChatRequest['response_format']>;
    }
    return request;
  }

  /** Pending tool-call step of a waiting run (from memory or, after a restart, from the store). */
  async #pendingToolStep(live: LiveRun): Promise<RunStep | undefined> {
    const steps = await this.store.listSteps(live.owner, live.run.thread_id, live.run.id, {
      limit: 100,
      order: 'desc',
    });
    return steps.data.find((step) => step.type === 'tool_calls' && step.status === 'in_progress');
  }

  #scheduleExpiry(live: LiveRun): void {
    clearTimeout(live.expiryTimer);
    const due = ((live.run.expires_at ?? nowSeconds()) - nowSeconds()) * 1000;
    live.expiryTimer = setTimeout(
      () => {
        if (live.run.status !== 'requires_action') return;
        live.channel.producing = true;
        void this.#expire(live);
      },
      Math.max(0, due),
    );
    live.expiryTimer.unref();
  }

  async #expire(live: LiveRun): Promise<void> {
    const step = await this.#pendingToolStep(live);
    if (step) {
      step.status = 'expired';
      step.expired_at = nowSeconds();
      await this.store.putStep(live.owner, step);
      live.channel.push(StreamEvent.StepExpired, step);
    }
    await this.#finish(live, 'expired');
  }

  /** Waits for the run's queued writes; a failed write fails the segment (nothing final is announced). */
  async #flush(live: LiveRun): Promise<void> {
    await live.writes;
    if (live.writeError !== undefined) {
      const error = live.writeError;
      live.writeError = undefined;
      throw error;
    }
  }

  /** Stores one message, step or run by itself. */
  #put(owner: Owner, object: Message | RunStep | Run): Promise<void> {
    switch (object.object) {
      case 'thread.message':
        return this.store.putMessage(owner, object);
      case 'thread.run.step':
        return this.store.putStep(owner, object);
      case 'thread.run':
        return this.store.putRun(owner, object);
    }
  }

  /**
   * Moves a run to a terminal status, persists it, announces it and closes the stream. `alongside` (the
   * reply that ends a turn, with its step) is stored in one transaction with the final state; if that
   * write fails nothing is announced and the error is thrown, for the caller to fail the run as it does
   * when any of its writes fails.
   */
  async #finish(
    live: LiveRun,
    status: 'completed' | 'incomplete' | 'failed' | 'cancelled' | 'expired',
    error?: ProxyError,
    alongside: ReadonlyArray<Message | RunStep> = [],
  ) {
    const { run, channel, owner } = live;
    live.ending = status;
    await this.#flush(live).catch(() => {}); // already failing: the final state below is what matters
    const now = nowSeconds();
    // The final state is written from a copy and shown only once stored, together with its events: a
    // reader must never see a run ended whose log does not say so yet (a resume would then wait for it).
    const ended: Run = { ...cloneData(run), status, required_action: null };
    if (status === 'completed') ended.completed_at = now;
    if (status === 'failed') ended.failed_at = now;
    if (status === 'cancelled') ended.cancelled_at = now;
    if (status === 'cancelled' || status === 'expired') {
      const step = await this.#pendingToolStep(live).catch(() => undefined);
      if (step && status === 'cancelled') {
        step.status = 'cancelled';
        step.cancelled_at = now;
        await this.store.putStep(owner, step).catch(() => {});
        channel.push(StreamEvent.StepCancelled, step);
      }
    }
    if (alongside.length === 0) await this.store.putRun(owner, ended).catch(() => {});
    else {
      try {
        await this.store.putAll(owner, [...alongside, ended]);
      } catch (failure) {
        live.ending = undefined;
        throw failure;
      }
    }
    Object.assign(run, {
      status,
      required_action: null,
      completed_at: ended.completed_at,
      failed_at: ended.failed_at,
      cancelled_at: ended.cancelled_at,
    });
    channel.push(`thread.run.${status}`, run);
    if (error) {
      channel.push(StreamEvent.Error, {
        message: error.message,
        type: error.type,
        param: error.param,
        code: error.code,
      });
    }
    channel.done();
    live.controller = undefined;
    clearTimeout(live.graceTimer);
    clearTimeout(live.expiryTimer);
    this.#untrack(live);
    this.#retire(run.id, channel);
  }

  #retire(runId: string, channel: RunChannel): void {
    // Characters, which the frames (JSON, mostly ASCII) hold about one byte each of.
    const bytes = channel.events.reduce((sum, event) => sum + event.frame.length, 0);
    const timer = setTimeout(() => this.#forget(runId), RETIRED_LOG_MS);
    timer.unref();
    this.#forget(runId); // defensive: never two entries for one run
    this.#retired.set(runId, { channel, timer, bytes });
    this.#retiredBytes += bytes;
    const limit = this.config.retiredLogBytes ?? DEFAULT_RETIRED_LOG_BYTES;
    for (const oldest of this.#retired.keys()) {
      if (this.#retiredBytes <= limit || oldest === runId) break;
      this.#forget(oldest);
    }
  }

  #forget(runId: string): void {
    const retired = this.#retired.get(runId);
    if (!retired) return;
    clearTimeout(retired.timer);
    this.#retired.delete(runId);
    this.#retiredBytes -= retired.bytes;
  }

  /** Ends a run found unfinished in the store at start-up (nothing of it is in memory). */
  async #finishOffline(owner: Owner, run: Run, status: 'failed' | 'cancelled' | 'expired'): Promise<void> {
    const now = nowSeconds();
    const steps = await this.store.listSteps(owner, run.thread_id, run.id, { limit: 100, order: 'asc' });
    for (const step of steps.data) {
      if (step.status !== 'in_progress') continue;
      if (step.step_details.type === 'message_creation') {
        const message = await this.store.getMessage(
          owner,
          run.thread_id,
          step.step_details.message_creation.message_id,
        );
        if (message && message.status === 'in_progress') {
          message.status = 'incomplete';
          message.incomplete_at = now;
          message.incomplete_details = {
            reason:
              status === 'failed' ? 'run_failed' : status === 'expired' ? 'run_expired' : 'run_cancelled',
          };
          await this.store.putMessage(owner, message);
        }
      }
      step.status = status;
      if (status === 'failed') {
        step.failed_at = now;
        step.last_error = {
          code: 'server_error',
          message: 'The proxy restarted while this step was in progress.',
        };
      } else if (status === 'expired') step.expired_at = now;
      else step.cancelled_at = now;
      await this.store.putStep(owner, step);
    }
    run.status = status;
    run.required_action = null;
    if (status === 'failed') {
      run.failed_at = now;
      run.last_error = {
        code: 'server_error',
        message: 'The proxy restarted while this run was in progress.',
      };
    } else if (status === 'cancelled') run.cancelled_at = now;
    await this.store.putRun(owner, run);
  }
}

function tooManyToolCalls(cap: number): ProxyError {
  return new ProxyError(
    ErrorCode.ToolCallLimit,
    `The model asked for more than ${cap} tool calls in one run.`,
  );
}

function busy(threadId: string, runId: string): ProxyError {
  return new ProxyError(ErrorCode.ThreadBusy, `Thread ${threadId} already has an active run ${runId}.`, {
    param: 'thread_id',
  });
}

function runFields(assistant: Assistant, params: RunParams, upstream: Upstream): RunFields {
  const base = params.instructions ?? assistant.instructions ?? '';
  const instructions = params.additional_instructions
    ? `${base}${base ? '\n\n' : ''}${params.additional_instructions}`
    : base;
  return {
    model: upstream.resolveModel(params.model ?? assistant.model),
    instructions,
    tools: params.tools ?? assistant.tools,
    tool_choice: params.tool_choice ?? null,
    parallel_tool_calls: params.parallel_tool_calls ?? null,
    response_format: params.response_format ?? null,
    truncation_strategy: params.truncation_strategy ?? null,
    max_prompt_tokens: params.max_prompt_tokens ?? null,
    max_completion_tokens: params.max_completion_tokens ?? null,
    metadata: params.metadata ?? null,
    temperature: params.temperature ?? null,
    top_p: params.top_p ?? null,
  };
}

function userMessage(message: Message): ChatCompletionMessageParam {
  const images = message.content.filter((part) => part.type === 'image_url');
  if (images.length === 0) return { role: 'user', content: messageText(message) };
  return {
    role: 'user',
    content: message.content.flatMap((part): ChatCompletionContentPart[] =>
      part.type === 'text'
        ? [{ type: 'text' as const, text: part.text.value }]
        : part.type === 'image_url'
          ? [
              {
                type: 'image_url' as const,
                image_url: {
                  url: part.image_url.url,
                  ...(part.image_url.detail ? { detail: part.image_url.detail } : {}),
                },
              },
            ]
          : [],
    ),
  };
}

/**
 * Keeps the newest messages that fit the token budget (and at most `lastMessages` of them), always
 * keeping the newest one so the player's line is never dropped.
 */
export function trimHistory(
  messages: ChatCompletionMessageParam[],
  limits: { budget: number; lastMessages: number | null },
): ChatCompletionMessageParam[] {
  const max = limits.lastMessages ?? messages.length;
  const kept: ChatCompletionMessageParam[] = [];
  let used = 0;
  for (let i = messages.length - 1; i >= 0 && kept.length < max; i--) {
    const message = messages[i]!;
    const cost = estimateMessageTokens([message]);
    if (kept.length > 0 && used + cost > limits.budget) break;
    used += cost;
    kept.push(message);
  }
  return kept.reverse();
}

function addUsage(run: Run, usage: Usage | undefined): void {
  if (!usage) return;
  const before = run.usage ?? { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  run.usage = {
    prompt_tokens: before.prompt_tokens + usage.prompt_tokens,
    completion_tokens: before.completion_tokens + usage.completion_tokens,
    total_tokens: before.total_tokens + usage.total_tokens,
  };
}

function runErrorCode(error: ProxyError): RunErrorCode {
  if (error.status === 429) return 'rate_limit_exceeded';
  if (error.status === 400) return 'invalid_prompt';
  return 'server_error';
}

export function isTerminal(run: Run): boolean {
  return TERMINAL_RUN_STATUSES.includes(run.status);
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
