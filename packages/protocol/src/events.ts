import type { ErrorObject } from './errors.js';
import type { Message, MessageDeltaEvent, Run, RunStep, RunStepDeltaEvent, Thread } from './objects.js';

/**
 * Every event name an Assistants v2 run stream carries, in the order a text reply emits them where order
 * applies. OpenAI said more events may be added: clients ignore names they do not know.
 */
export const StreamEvent = {
  ThreadCreated: 'thread.created',
  RunCreated: 'thread.run.created',
  RunQueued: 'thread.run.queued',
  RunInProgress: 'thread.run.in_progress',
  RunRequiresAction: 'thread.run.requires_action',
  RunCompleted: 'thread.run.completed',
  RunIncomplete: 'thread.run.incomplete',
  RunFailed: 'thread.run.failed',
  RunCancelling: 'thread.run.cancelling',
  RunCancelled: 'thread.run.cancelled',
  RunExpired: 'thread.run.expired',
  StepCreated: 'thread.run.step.created',
  StepInProgress: 'thread.run.step.in_progress',
  StepDelta: 'thread.run.step.delta',
  StepCompleted: 'thread.run.step.completed',
  StepFailed: 'thread.run.step.failed',
  StepCancelled: 'thread.run.step.cancelled',
  StepExpired: 'thread.run.step.expired',
  MessageCreated: 'thread.message.created',
  MessageInProgress: 'thread.message.in_progress',
  MessageDelta: 'thread.message.delta',
  MessageCompleted: 'thread.message.completed',
  MessageIncomplete: 'thread.message.incomplete',
  Error: 'error',
  Done: 'done',
} as const;
export type StreamEventName = (typeof StreamEvent)[keyof typeof StreamEvent];

type RunEventName =
  | 'thread.run.created'
  | 'thread.run.queued'
  | 'thread.run.in_progress'
  | 'thread.run.requires_action'
  | 'thread.run.completed'
  | 'thread.run.incomplete'
  | 'thread.run.failed'
  | 'thread.run.cancelling'
  | 'thread.run.cancelled'
  | 'thread.run.expired';
type StepEventName =
  | 'thread.run.step.created'
  | 'thread.run.step.in_progress'
  | 'thread.run.step.completed'
  | 'thread.run.step.failed'
  | 'thread.run.step.cancelled'
  | 'thread.run.step.expired';
type MessageEventName =
  | 'thread.message.created'
  | 'thread.message.in_progress'
  | 'thread.message.completed'
  | 'thread.message.incomplete';

/** One server-sent event of a run stream, discriminated on `event`. `data` is what the `data:` line holds. */
export type AssistantStreamEvent =
  | { event: 'thread.created'; data: Thread }
  | { event: RunEventName; data: Run }
  | { event: StepEventName; data: RunStep }
  | { event: 'thread.run.step.delta'; data: RunStepDeltaEvent }
  | { event: MessageEventName; data: Message }
  | { event: 'thread.message.delta'; data: MessageDeltaEvent }
  | { event: 'error'; data: ErrorObject }
  | { event: 'done'; data: '[DONE]' };

/** The `data:` value of the final `done` event. */
export const DONE_DATA = '[DONE]';

/**
 * Resumable streams (a Parley extension). Every event of a run stream carries `id: <sequence>`, counting
 * from 1 over the whole run (across the streams that tool-output submissions open). A client that lost the
 * connection calls `GET /v1/threads/{thread_id}/runs/{run_id}/events` with `Last-Event-ID: <sequence>` or
 * `?after=<sequence>` and receives every later event, then the live rest of the run.
 */
export const RESUME_QUERY_PARAM = 'after';
export const LAST_EVENT_ID_HEADER = 'Last-Event-ID';

/**
 * What the player saw (a Parley extension to `POST /v1/threads/{thread_id}/runs/{run_id}/cancel`). A client
 * that shows a reply as it types may send `{ "shown_characters": N }`: the run's reply is then stored cut
 * after its first N characters (in UTF-16 code units, as JavaScript counts them), marked `incomplete`, even
 * when the run had already completed; the NPC's next turn remembers only what the player saw. Other
 * clients send no body and nothing changes for them.
 */
export const SHOWN_CHARACTERS_PARAM = 'shown_characters';
