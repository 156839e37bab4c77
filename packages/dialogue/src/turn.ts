import type { RunStatus, Usage } from '@parley/protocol';
import { DialogueError, fromErrorObject, toDialogueError } from './errors.js';
import { parseRunStream } from './parse-run-stream.js';

/** A function call the NPC asked for (`arguments` is the model's JSON text, unparsed). */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/**
 * What a {@link Turn} reports, discriminated on `type`. Every turn ends with exactly one `turn.end`
 * (the run completed, stopped at `incomplete`, or waits for tool outputs: `requires_action`) or one
 * `error` (including `interrupted`), and nothing follows it.
 */
export type DialogueEvent =
  | { type: 'turn.start'; runId: string; threadId: string }
  /** `text` is everything said so far in this turn, `delta` the newest piece of it. */
  | { type: 'text.delta'; delta: string; text: string }
  | { type: 'tool.call'; calls: ToolCall[] }
  | { type: 'turn.end'; text: string; status: RunStatus; runId: string; usage: Usage | null }
  | { type: 'error'; error: DialogueError };

/**
 * One player line and the NPC's streamed answer. It starts at once and buffers its events, so it can be
 * iterated late, several times, or not at all. Every iterator replays the turn from its first event (so
 * a renderer and a DOM mirror can both follow it) and ends after the final event; iteration never throws,
 * errors arrive as an `error` event. Leaving a loop early does not stop the turn: call `interrupt()`.
 *
 * @example
 * ```ts
 * const turn = conversation.say('Any rumours?');
 * for await (const event of turn) {
 *   if (event.type === 'text.delta') bubble.setText(event.text);
 * }
 * ```
 */
export interface Turn extends AsyncIterable<DialogueEvent> {
  /** The NPC's full answer; rejects with a {@link DialogueError} (`interrupted` after `interrupt()`). */
  readonly text: Promise<string>;
  /**
   * Stops the turn: aborts the stream and asks the proxy to cancel the run (best effort: a run whose id
   * has not arrived yet cannot be cancelled). No-op once the turn has ended.
   */
  interrupt(): void;
  /** The run's id, once the stream has announced it. */
  readonly runId: string | undefined;
}

export interface OpenedRun {
  threadId: string;
  body: ReadableStream<Uint8Array>;
}

/**
 * Starts a turn. `open` posts the message and the run and returns the stream; `cancel` asks the proxy to
 * cancel a run. `done` settles after the final event and after any cancel request.
 */
export function startTurn(
  open: (signal: AbortSignal) => Promise<OpenedRun>,
  cancel: (threadId: string, runId: string) => Promise<unknown>,
  signal?: AbortSignal,
): Turn & { done: Promise<void> } {
  const events: DialogueEvent[] = [];
  const waiting: Array<() => void> = [];
  const controller = new AbortController();
  let ended = false;
  let threadId: string | undefined;
  let runId: string | undefined;
  let cancelling: Promise<unknown> | undefined;
  let resolveText!: (text: string) => void;
  let rejectText!: (error: DialogueError) => void;
  const text = new Promise<string>((resolve, reject) => {
    resolveText = resolve;
    rejectText = reject;
  });
  // A game that only iterates must not see an unhandled rejection.
  text.catch(() => {});

  const push = (event: DialogueEvent) => {
    events.push(event);
    for (const wake of waiting.splice(0)) wake();
  };
  const interrupt = () => {
    if (ended || controller.signal.aborted) return;
    controller.abort(new DialogueError('interrupted', 'The turn was interrupted'));
    if (threadId && runId) cancelling = cancel(threadId, runId).catch(() => {});
  };
  signal?.addEventListener('abort', interrupt);
  if (signal?.aborted) interrupt();

  const run = async () => {
    let said = '';
    let message: string | undefined;
    let status: RunStatus | undefined;
    let usage: Usage | null = null;
    const opened = await open(controller.signal);
    threadId = opened.threadId;
    for await (const ev of parseRunStream(opened.body, controller.signal)) {
      if (ev.event === 'done') break;
      if (ev.event === 'error') throw fromErrorObject(ev.data);
      const data = ev.data;
      const id = data.object === 'thread.run' ? data.id : 'run_id' in data ? data.run_id : undefined;
      if (id && !runId) {
        runId = id;
        push({ type: 'turn.start', runId, threadId });
      }
      switch (ev.event) {
        case 'thread.message.delta': {
          let delta = '';
          for (const part of ev.data.delta.content ?? []) delta += part.text?.value ?? '';
          if (!delta) break;
          // A run that writes several messages (around tool calls) reads as paragraphs.
          if (said && message !== ev.data.id) delta = `\n\n${delta}`;
          message = ev.data.id;
          said += delta;
          push({ type: 'text.delta', delta, text: said });
          break;
        }
        case 'thread.run.requires_action':
          push({
            type: 'tool.call',
            calls: (ev.data.required_action?.submit_tool_outputs.tool_calls ?? []).map((call) => ({
              id: call.id,
              name: call.function.name,
              arguments: call.function.arguments,
            })),
          });
          ({ status, usage } = ev.data);
          break;
        case 'thread.run.completed':
        case 'thread.run.incomplete':
          ({ status, usage } = ev.data);
          break;
        case 'thread.run.failed':
        case 'thread.run.expired':
          throw fromErrorObject(ev.data.last_error ?? { message: `The run ${ev.data.status}` });
        case 'thread.run.cancelled':
          throw new DialogueError('interrupted', 'The run was cancelled');
      }
    }
    if (!status || !runId) throw new DialogueError('network', 'The run stream ended before the run finished');
    ended = true;
    push({ type: 'turn.end', text: said, status, runId, usage });
    resolveText(said);
  };

  const done = run()
    .catch((caught: unknown) => {
      const error = toDialogueError(caught, controller.signal);
      ended = true;
      push({ type: 'error', error });
      rejectText(error);
    })
    .then(() => {
      signal?.removeEventListener('abort', interrupt);
      return cancelling;
    })
    .then(() => {});

  return {
    text,
    interrupt,
    done,
    get runId() {
      return runId;
    },
    async *[Symbol.asyncIterator]() {
      for (let i = 0; ; i++) {
        while (i >= events.length) {
          if (ended) return;
          await new Promise<void>((wake) => waiting.push(wake));
        }
        yield events[i]!;
      }
    },
  };
}
