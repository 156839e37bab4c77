import {
  type AssistantStreamEvent,
  type FileSearchToolCall,
  type Message,
  type Run,
  type RunStep,
  StreamEvent,
  type Usage,
} from '@parley/protocol';
import { nowSeconds } from '../ids.js';
import type { Reservation } from '../limits/limiter.js';
import type { Owner } from '../store/types.js';
import type { RunEventLog } from './event-log.js';
import { endStep } from './transitions.js';
import type { WriteQueue } from './writes.js';

/** A run this process holds while it is not terminal: the in-memory truth between stored boundaries. */
export interface LiveRun {
  owner: Owner;
  /** The run as it stands now (replaced, never mutated, by each transition). */
  run: Run;
  /** The assistant's name, for in-character lines. */
  npcName: string | null;
  /** Aborts the segment in flight; undefined while no segment executes (waiting for tool outputs). */
  controller: AbortController | undefined;
  /** Whether the client is streaming (a streamed run nobody reads any more is stopped after a grace). */
  streamed: boolean;
  graceMs: number;
  graceTimer: NodeJS.Timeout | undefined;
  expiryTimer: NodeJS.Timeout | undefined;
  /** HTTP streams reading the run now. */
  readers: number;
  /** Whether the run has steps from an earlier segment (its request replays them). */
  continued: boolean;
  writes: WriteQueue;
  /** Budget reserved for the segment in flight. */
  reservation: Reservation | undefined;
  /** Text to answer with instead of asking the model (moderation refusal, budget line). */
  scripted: string | undefined;
  /** Tool calls made so far in the run (against the policy's cap). */
  toolCalls: number;
  /** The prompt of the segment in flight, estimated (for a usage the upstream did not report). */
  promptEstimate: number;
  /** Tokens used by the run's segments so far; shown on the run once it ends. */
  usage: Usage | undefined;
  /** Usage of the segment that asked for tool calls, given to its step when the outputs arrive. */
  pendingStepUsage: Usage | null;
  /** The terminal status being written; a cancel then waits for it instead of starting another ending. */
  ending: Promise<Run> | undefined;
  /** The thread's messages as the run was created, for its first request (read once per turn). */
  history: Message[] | undefined;
  /** How many characters of the reply the player saw, when a cancel said so (the reply is cut there). */
  shown: number | undefined;
  /** The vector stores the run's `file_search` searches (the assistant's and the thread's). */
  vectorStores: string[];
  /** Those of them that are the thread's (a search waits for their files still being indexed). */
  threadVectorStores: string[];
  /** Whether the run's request asked to see the passages' text in its `file_search` steps (`include[]`). */
  searchContent: boolean;
  /** The run's `file_search` calls so far, with their results: what its citation markers may cite. */
  searches: FileSearchToolCall[];
  /** Stops listening for signals (cancel) to this run. */
  unlisten: () => void;
}

/** A run as this process starts to hold it: nothing in flight, nothing spent yet. */
export function newLiveRun(
  owner: Owner,
  run: Run,
  npcName: string | null,
  streamed: boolean,
  writes: WriteQueue,
): LiveRun {
  return {
    owner,
    run,
    npcName,
    controller: undefined,
    streamed,
    graceMs: 0,
    graceTimer: undefined,
    expiryTimer: undefined,
    readers: 0,
    continued: false,
    writes,
    reservation: undefined,
    scripted: undefined,
    toolCalls: 0,
    usage: undefined,
    promptEstimate: 0,
    pendingStepUsage: null,
    ending: undefined,
    history: undefined,
    shown: undefined,
    vectorStores: [],
    threadVectorStores: [],
    searchContent: false,
    searches: [],
    unlisten: () => {},
  };
}

/**
 * A streaming client vanished: keep going for the run's grace so it can resume, then `stop` (stop paying
 * for tokens) unless a reader came back.
 */
export function whenAbandoned(live: LiveRun, stop: () => void): void {
  if (!live.streamed || !live.controller || live.ending) return;
  clearTimeout(live.graceTimer);
  if (live.graceMs === 0) {
    stop();
    return;
  }
  live.graceTimer = setTimeout(() => {
    if (live.readers === 0) stop();
  }, live.graceMs);
  live.graceTimer.unref();
}

/** Appends a typed event to a run's log: a wrong name or payload does not compile. */
export function emit(log: RunEventLog, live: LiveRun, event: AssistantStreamEvent): void {
  log.append(live.run.id, event);
}

/** Adds one segment's usage to a run's total. */
export function addUsage(total: Usage | undefined, usage: Usage | undefined): Usage | undefined {
  if (!usage) return total;
  if (!total) return { ...usage };
  return {
    prompt_tokens: total.prompt_tokens + usage.prompt_tokens,
    completion_tokens: total.completion_tokens + usage.completion_tokens,
    total_tokens: total.total_tokens + usage.total_tokens,
  };
}

/**
 * Ends a step the run could not finish (its tool calls were streaming when the run failed or was
 * cancelled): queued for writing and announced. Returns the step as it now is; one already ended is left.
 */
export function abandonStep(
  live: LiveRun,
  log: RunEventLog,
  step: RunStep | undefined,
  status: 'failed' | 'cancelled',
): RunStep | undefined {
  if (step?.status !== 'in_progress') return step;
  const ended = endStep(step, status, { now: nowSeconds() });
  live.writes.put(ended.id, () => ended);
  log.append(live.run.id, {
    event: status === 'failed' ? StreamEvent.StepFailed : StreamEvent.StepCancelled,
    data: ended,
  });
  return ended;
}
