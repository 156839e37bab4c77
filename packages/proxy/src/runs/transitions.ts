import type { FileCitationAnnotation, Message, Run, RunErrorCode, RunStep, Usage } from '@parley/protocol';

/** The statuses a run ends in. */
export type RunEnding = 'completed' | 'incomplete' | 'failed' | 'cancelled' | 'expired';

/** What a transition may carry, beyond the target status. */
export interface RunChange {
  /** Unix seconds of the change. */
  now: number;
  /** Tokens the whole run used so far; shown only once the run ends. */
  usage?: Usage | null;
  /** For `requires_action`: the calls the client must answer, and when the wait expires. */
  requiredAction?: Run['required_action'];
  expiresAt?: number | null;
  /** For `failed`. */
  error?: { code: RunErrorCode; message: string };
  /** For `incomplete`. */
  incompleteReason?: 'max_completion_tokens' | 'max_prompt_tokens';
}

const ENDINGS: ReadonlySet<string> = new Set<RunEnding>([
  'completed',
  'incomplete',
  'failed',
  'cancelled',
  'expired',
]);

/** Whether `status` is one a run ends in. */
export function isEnding(status: string): status is RunEnding {
  return ENDINGS.has(status);
}

/**
 * Moves a run to `status` and returns it as the new state (the input is not changed). This is the one place
 * that decides which fields a status carries, as OpenAI's published spec defines them:
 * - `usage` is null until the run ends, then the run's whole usage;
 * - `required_action` is set only while the run is `requires_action`;
 * - `incomplete_details` only when it is `incomplete`, `last_error` only when it `failed`;
 * - the `*_at` stamp of an ending is set once, when the run ends that way.
 */
export function transition(run: Run, status: Run['status'], change: RunChange): Run {
  const ended = isEnding(status);
  const next: Run = {
    ...run,
    status,
    usage: ended ? (change.usage ?? run.usage ?? null) : null,
    required_action: status === 'requires_action' ? (change.requiredAction ?? run.required_action) : null,
    incomplete_details:
      status === 'incomplete' ? { reason: change.incompleteReason ?? 'max_completion_tokens' } : null,
    last_error:
      status === 'failed'
        ? (change.error ?? run.last_error ?? { code: 'server_error', message: 'The run failed.' })
        : null,
  };
  if (status === 'in_progress') next.started_at ??= change.now;
  if (status === 'requires_action' && change.expiresAt !== undefined) next.expires_at = change.expiresAt;
  if (status === 'completed') next.completed_at = change.now;
  if (status === 'failed') next.failed_at = change.now;
  if (status === 'cancelled') next.cancelled_at = change.now;
  return next;
}

/** The step statuses a step ends in, with the stamp each one sets. */
export type StepEnding = 'completed' | 'failed' | 'cancelled' | 'expired';

/**
 * Ends a step: its stamp, its `last_error` when it failed, and its `usage` (null while in progress, as the
 * spec defines; given here once known).
 */
export function endStep(
  step: RunStep,
  status: StepEnding,
  change: { now: number; usage?: Usage | null; error?: RunStep['last_error'] },
): RunStep {
  const next: RunStep = { ...step, status, usage: change.usage ?? step.usage ?? null };
  if (status === 'completed') next.completed_at = change.now;
  if (status === 'failed') {
    next.failed_at = change.now;
    next.last_error = change.error ?? { code: 'server_error', message: 'The run failed.' };
  }
  if (status === 'cancelled') next.cancelled_at = change.now;
  if (status === 'expired') next.expired_at = change.now;
  return next;
}

/** Why a reply stops short, for each way a run can end early. */
export type ReplyCut = NonNullable<Message['incomplete_details']>['reason'];

/** The reason a reply in progress is cut when its run ends with `status`. */
export function cutReason(status: Exclude<RunEnding, 'completed'>): ReplyCut {
  switch (status) {
    case 'failed':
      return 'run_failed';
    case 'expired':
      return 'run_expired';
    case 'cancelled':
      return 'run_cancelled';
    case 'incomplete':
      return 'max_tokens';
  }
}

/**
 * Ends a reply: `completed`, or `incomplete` with the reason it was cut (its text is what was said). Its
 * citations are kept where they still fit the text.
 */
export function endReply(
  message: Message,
  change: {
    now: number;
    text: string;
    cut?: ReplyCut | undefined;
    annotations?: readonly FileCitationAnnotation[] | undefined;
  },
): Message {
  const annotations = (change.annotations ?? []).filter((note) => note.end_index <= change.text.length);
  const next: Message = {
    ...message,
    content: [{ type: 'text', text: { value: change.text, annotations } }],
  };
  if (change.cut === undefined) {
    next.status = 'completed';
    next.completed_at = change.now;
  } else {
    next.status = 'incomplete';
    next.incomplete_at = change.now;
    next.incomplete_details = { reason: change.cut };
  }
  return next;
}
