import type { Message, Run } from '@parley/protocol';
import { nowSeconds } from '../ids.js';
import { messageText } from '../objects.js';
import type { Owner, Store } from '../store/types.js';
import { cutReason, endReply, endStep, transition } from './transitions.js';

/**
 * Ends the runs a previous process left unfinished in the store: runs that were executing fail (their reply
 * so far is kept, marked incomplete: it is what the player saw), cancelling ones end cancelled, and runs
 * waiting for tool outputs keep waiting (`adopt`) unless their wait has expired. Returns how many it found.
 */
export async function recoverRuns(
  store: Store,
  adopt: (owner: Owner, run: Run) => Promise<void>,
): Promise<number> {
  const unfinished = await store.listUnfinishedRuns();
  for (const { owner, run } of unfinished) {
    if (run.status === 'requires_action') {
      if (run.expires_at !== null && run.expires_at <= nowSeconds())
        await endLeftover(store, owner, run, 'expired');
      else await adopt(owner, run);
      continue;
    }
    await endLeftover(store, owner, run, run.status === 'cancelling' ? 'cancelled' : 'failed');
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
): Promise<void> {
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
  await store.putRun(
    owner,
    transition(run, status, {
      now,
      ...(status === 'failed' ? { error: { code: 'server_error' as const, message: RESTARTED } } : {}),
    }),
  );
}

function cut(message: Message, status: 'failed' | 'cancelled' | 'expired', now: number): Message {
  return endReply(message, { now, text: messageText(message), cut: cutReason(status) });
}
