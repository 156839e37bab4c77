/**
 * How a run ends: its final state stored, then announced, its thread freed and its log closed; a waiting
 * run's pending tool step ends with it; a run left waiting too long expires. The engine decides when.
 */
import {
  ErrorCode,
  type Message,
  type Run,
  type RunErrorCode,
  type RunStep,
  StreamEvent,
} from '@parley/protocol';
import { ProxyError, toErrorObject } from '../errors.js';
import { nowSeconds } from '../ids.js';
import type { Store } from '../store/types.js';
import { DONE_EVENT, type RunEventLog } from './event-log.js';
import { emit, type LiveRun } from './live-run.js';
import type { RunRegistry } from './registry.js';
import { endStep, type RunEnding, transition } from './transitions.js';

/** What ending a run needs from the engine. */
export interface EndingHost {
  store: Store;
  log: RunEventLog;
  registry: RunRegistry;
  /** Forgets the run (this process no longer holds it). */
  untrack(live: LiveRun): void;
}

/** The pending tool-call step of a waiting run. */
export async function pendingToolStep(store: Store, live: LiveRun): Promise<RunStep | undefined> {
  const steps = await store.listSteps(live.owner, live.run.thread_id, live.run.id, {
    limit: 100,
    order: 'desc',
  });
  return steps.data.find((step) => step.type === 'tool_calls' && step.status === 'in_progress');
}

/** Expires a waiting run at its `expires_at`, unless its tool outputs (or a cancel) came first. */
export function scheduleExpiry(live: LiveRun, expire: () => Promise<void>): void {
  clearTimeout(live.expiryTimer);
  const due = ((live.run.expires_at ?? nowSeconds()) - nowSeconds()) * 1000;
  live.expiryTimer = setTimeout(
    () => {
      if (live.run.status === 'requires_action') void expire().catch(() => {});
    },
    Math.max(0, due),
  );
  live.expiryTimer.unref();
}

/** Fails a run with `error` (one that is not a {@link ProxyError} is not shown to the client). */
export function failRun(host: EndingHost, live: LiveRun, error: unknown): Promise<void> {
  const failure =
    error instanceof ProxyError ? error : new ProxyError(ErrorCode.Server, 'The run failed unexpectedly.');
  return finishRun(host, live, 'failed', failure);
}

/**
 * Moves a run to an ending, stores it, announces it and closes its log. `alongside` (the reply that ends a
 * turn, with its step) is stored in one transaction with the final state; if that write fails nothing is
 * announced and the error is thrown, for the caller to fail the run instead. While it is written,
 * `live.ending` holds it (a cancel then answers with it).
 */
export function finishRun(
  host: EndingHost,
  live: LiveRun,
  status: RunEnding,
  error?: ProxyError,
  alongside: ReadonlyArray<Message | RunStep> = [],
): Promise<void> {
  const ending = endRun(host, live, status, error, alongside);
  live.ending = ending;
  return ending.then(
    () => {},
    (failure: unknown) => {
      live.ending = undefined;
      throw failure;
    },
  );
}

async function endRun(
  host: EndingHost,
  live: LiveRun,
  status: RunEnding,
  error: ProxyError | undefined,
  alongside: ReadonlyArray<Message | RunStep>,
): Promise<Run> {
  const { owner } = live;
  const { store, log } = host;
  clearTimeout(live.expiryTimer);
  await live.writes.flush().catch(() => {}); // already failing: the final state below is what matters
  const now = nowSeconds();
  // A waiting run's pending tool step ends with it.
  if (status === 'cancelled' || status === 'expired') {
    const step = await pendingToolStep(store, live).catch(() => undefined);
    if (step) {
      const ended = endStep(step, status, { now });
      await store.putStep(owner, ended).catch(() => {});
      emit(log, live, {
        event: status === 'cancelled' ? StreamEvent.StepCancelled : StreamEvent.StepExpired,
        data: ended,
      });
    }
  }
  const ended = transition(live.run, status, {
    now,
    usage: live.usage ?? null,
    ...(error ? { error: { code: runErrorCode(error), message: error.message } } : {}),
    ...(status === 'incomplete' ? { incompleteReason: 'max_completion_tokens' as const } : {}),
  });
  // The final state is stored before it is shown: a reader must never see a run ended whose store says
  // otherwise (a resume would then wait for it).
  if (alongside.length === 0) await store.putRun(owner, ended).catch(() => {});
  else await store.putAll(owner, [...alongside, ended]);
  live.run = ended;
  // The thread is free before the end is announced: a player who reads "completed" may speak at once.
  await host.registry.release(ended.thread_id, ended.id).catch(() => {});
  emit(log, live, { event: `thread.run.${status}`, data: ended });
  if (error) emit(log, live, { event: StreamEvent.Error, data: toErrorObject(error) });
  emit(log, live, DONE_EVENT);
  live.controller = undefined;
  clearTimeout(live.graceTimer);
  host.untrack(live);
  log.retire(ended.id);
  return ended;
}

function runErrorCode(error: ProxyError): RunErrorCode {
  if (error.status === 429) return 'rate_limit_exceeded';
  if (error.status === 400) return 'invalid_prompt';
  return 'server_error';
}

/** A run recovery ended: its thread is free, and readers still following it (on any instance) learn how it ended. */
export async function announceRecovered(host: EndingHost, ended: Run): Promise<void> {
  await host.registry.release(ended.thread_id, ended.id);
  if ((await host.log.read(ended.id, 0, 1)) === undefined) return;
  host.log.append(ended.id, { event: `thread.run.${ended.status as RunEnding}`, data: ended });
  host.log.append(ended.id, DONE_EVENT);
  host.log.retire(ended.id);
}
