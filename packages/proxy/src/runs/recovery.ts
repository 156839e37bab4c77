import type { Message, Run } from '@parley/protocol';
import { nowSeconds } from '../ids.js';
import { messageText } from '../objects.js';
import type { Owner, Store } from '../store/types.js';
import type { RunRegistry } from './registry.js';
import { cutReason, endReply, endStep, isEnding, transition } from './transitions.js';

/** What the engine does with the runs {@link recoverRuns} takes over. */
export interface RecoveryHooks {
  /** Whether this process is running `runId` now (then it is no orphan, whatever the registry says). */
  live(runId: string): boolean;
  /** Holds a waiting run this instance has taken over: it keeps waiting here, and expires here. */
  adopt(owner: Owner, run: Run): Promise<void>;
  /** Told of each run it ended (to free its thread, and close its log for anyone following it). */
  ended(run: Run): Promise<void>;
}

/**
 * Ends the runs no live instance holds (left by a process that died, or before a restart): runs that were
 * executing fail (their reply so far is kept, marked incomplete: it is what the player saw), cancelling ones
 * end cancelled, and runs waiting for tool outputs keep waiting (`adopt`) unless their wait has expired.
 * Runs a live instance holds are never touched. Several instances may sweep at the same moment: each run is
 * ended or adopted only by the one whose takeover the registry lets win. Returns how many it took over.
 */
export async function recoverRuns(
  store: Store,
  registry: RunRegistry,
  hooks: RecoveryHooks,
): Promise<number> {
  let taken = 0;
  for (const { owner, run: listed } of await store.listUnfinishedRuns()) {
    if (hooks.live(listed.id) || (await registry.isHeld(listed.id))) continue;
    const run = await takeOverRun(store, registry, owner, listed);
    if (!run) continue;
    taken++;
    // Whatever continuation of a waiting run was under way died with its instance: it waits again.
    if (run.status === 'requires_action') await registry.markWaiting(run.thread_id, run.id);
    if (run.status === 'requires_action' && (run.expires_at === null || run.expires_at > nowSeconds())) {
      await hooks.adopt(owner, run);
      continue;
    }
    // An expired wait ends here only if no request is continuing the run at this moment.
    if (run.status === 'requires_action' && !(await registry.resume(run.thread_id, run.id))) continue;
    const status =
      run.status === 'requires_action' ? 'expired' : run.status === 'cancelling' ? 'cancelled' : 'failed';
    const ended = await endLeftover(store, owner, run, status);
    // Ended by another instance meanwhile (this one's lease lapsed under load, say): announced there.
    if (ended) await hooks.ended(ended);
  }
  return taken;
}

/**
 * Takes `run` over for this instance if no live instance holds it; the registry decides, so of several
 * instances trying at once exactly one gets it. Resolves
 * the run as stored once it is taken (read after the takeover, so no end written before it is missed), or
 * undefined when another instance has it or the run ended meanwhile (the claim just taken is let go).
 */
export async function takeOverRun(
  store: Store,
  registry: RunRegistry,
  owner: Owner,
  run: Run,
): Promise<Run | undefined> {
  if (!(await registry.takeOver(run.thread_id, run.id))) return undefined;
  const now = await store.getRun(owner, run.thread_id, run.id);
  if (now !== undefined && !isEnding(now.status)) return now;
  await registry.release(run.thread_id, run.id);
  return undefined;
}

const RESTARTED = 'The proxy restarted while this run was in progress.';

/**
 * Ends a run nothing in memory knows about any more, with its steps and its reply in progress. The run's end
 * is written last and only if it has not ended yet (`Store.endRun`): undefined when another writer ended it
 * first, so a run is announced as ended once.
 */
async function endLeftover(
  store: Store,
  owner: Owner,
  run: Run,
  status: 'failed' | 'cancelled' | 'expired',
): Promise<Run | undefined> {
  const now = nowSeconds();
  const steps = await store.listSteps(owner, run.thread_id, run.id, { limit: 100, order: 'asc' });
  for (const step of steps.data) {
    if (step.status !== 'in_progress') continue;
    if (step.step_details.type === 'message_creation') {
      const message = await store.getMessage(
        owner,
        run.thread_id,
        step.step_details.message_creation.message_id,
      );
      if (message?.status === 'in_progress') await store.putMessage(owner, cut(message, status, now));
    }
    await store.putStep(
      owner,
      endStep(step, status, {
        now,
        ...(status === 'failed'
          ? { error: { code: 'server_error' as const, message: RESTARTED.replace('run', 'step') } }
          : {}),
      }),
    );
  }
  const ended = transition(run, status, {
    now,
    ...(status === 'failed' ? { error: { code: 'server_error' as const, message: RESTARTED } } : {}),
  });
  return (await store.endRun(owner, ended)) ? ended : undefined;
}

function cut(message: Message, status: 'failed' | 'cancelled' | 'expired', now: number): Message {
  return endReply(message, { now, text: messageText(message), cut: cutReason(status) });
}

/** Runs `sweep` every `ms` (never two at once) for as long as the process lives; clear the timer to stop. */
export function sweepEvery(ms: number, sweep: () => Promise<unknown>): NodeJS.Timeout {
  let sweeping = false;
  const timer = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    void sweep()
      .catch(() => {})
      .finally(() => {
        sweeping = false;
      });
  }, ms);
  timer.unref();
  return timer;
}
