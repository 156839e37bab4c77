import type { Message, Run } from '@parley/protocol';
import { nowSeconds } from '../ids.js';
import { messageText } from '../objects.js';
import type { Owner, Store } from '../store/types.js';
import { cutReason, endReply, endStep, transition } from './transitions.js';

/**
 * Ends the runs no live instance holds (left by a process that died, or before a restart): runs that were
 * executing fail (their reply so far is kept, marked incomplete: it is what the player saw), cancelling ones
 * end cancelled, and runs waiting for tool outputs keep waiting (`adopt`) unless their wait has expired.
 * Runs a live instance holds are never touched. Returns how many it took over or ended.
 */
export async function recoverRuns(
  store: Store,
  held: (run: Run) => Promise<boolean>,
  adopt: (owner: Owner, run: Run) => Promise<void>,
  /** Told of each run it ended (to free its thread, and close its log for anyone following it). */
  ended: (run: Run) => Promise<void>,
): Promise<number> {
  const unfinished: Array<{ owner: Owner; run: Run }> = [];
  for (const entry of await store.listUnfinishedRuns()) if (!(await held(entry.run))) unfinished.push(entry);
  for (const { owner, run } of unfinished) {
    if (run.status === 'requires_action' && (run.expires_at === null || run.expires_at > nowSeconds())) {
      await adopt(owner, run);
      continue;
    }
    const status =
      run.status === 'requires_action' ? 'expired' : run.status === 'cancelling' ? 'cancelled' : 'failed';
    await ended(await endLeftover(store, owner, run, status));
  }
  return unfinished.length;
}

const RESTARTED = 'The proxy restarted while this run was in progress.';

/** Ends a run nothing in memory knows about any more, with its steps and its reply in progress. */
async function endLeftover(
  store: Store,
  owner: Owner,
  run: Run,
  status: 'failed' | 'cancelled' | 'expired',
): Promise<Run> {
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
  await store.putRun(owner, ended);
  return ended;
}

function cut(message: Message, status: 'failed' | 'cancelled' | 'expired', now: number): Message {
  return endReply(message, { now, text: messageText(message), cut: cutReason(status) });
}
