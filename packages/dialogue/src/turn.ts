import {
  type FunctionToolCall,
  type Run,
  type RunStatus,
  SHOWN_CHARACTERS_PARAM,
  type Usage,
} from '@parley/protocol';
import { type Citation, readCitations } from './citations.js';
import type { Context } from './context.js';
import type { Conversation } from './conversation.js';
import { DialogueError, fromErrorObject, interrupted, messageOf, toDialogueError } from './errors.js';
import { backoff, type RequestOptions, sleep } from './http.js';
import { validate } from './json-schema.js';
import { parseRunStream } from './parse-run-stream.js';

/** A function call the NPC asked for (`arguments` is the model's JSON text, unparsed). */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/**
 * What a {@link Turn} reports, discriminated on `type`. Every turn ends with exactly one `turn.end`
 * (the run completed or stopped at `incomplete`) or one `error` (including `interrupted`), and nothing
 * follows it. Tool calls are answered within the turn: `tool.call`, then one `tool.result` per call,
 * then the rest of the answer.
 */
export type DialogueEvent =
  | { type: 'turn.start'; runId: string; threadId: string }
  /**
   * `text` is everything said so far in this turn, `delta` the newest piece of it. It keeps the model's
   * citation markers (`【0†chronicle.md】`, as the proxy stores them): show it through `stripCitations`.
   */
  | { type: 'text.delta'; delta: string; text: string }
  /** The NPC called the game's tools (in parallel when several); their handlers run now. */
  | { type: 'tool.call'; calls: ToolCall[] }
  /**
   * One call answered: `output` is what the model was told. `error` is set when the call failed (invalid
   * arguments, no such tool, the handler threw or timed out); the model was then told `{"error": …}`.
   */
  | { type: 'tool.result'; id: string; name: string; output: string; error?: string }
  | {
      type: 'turn.end';
      text: string;
      status: RunStatus;
      runId: string;
      usage: Usage | null;
      /** What the reply cited from the knowledge files (`file_search`), when it cited any. */
      citations?: Citation[];
    }
  | { type: 'error'; error: DialogueError };

/** Options of {@link Turn.interrupt}. */
export interface InterruptOptions {
  /**
   * How many characters of the turn's text (as in `text.delta`'s `text`, UTF-16 code units) the player
   * saw. The proxy then stores the NPC's line cut there and marked `incomplete`, even when the run had
   * already completed, so the NPC remembers only what the player saw. A run that wrote several messages
   * (around tool calls) can only have its last one cut.
   */
  shown?: number;
}

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
   * Stops the turn: aborts the stream (and running tool handlers' signals) and asks the proxy to cancel
   * the run (best effort: a run whose id has not arrived yet cannot be cancelled). A cancel the proxy finds
   * too late is no error: the turn ends `interrupted` all the same.
   *
   * Once the run's outcome arrived (or the turn ended) the turn is not stopped: it ends as usual. Only when
   * `shown` is less than the whole text is the cancel still sent, so the proxy cuts the stored line to what
   * the player saw; the conversation's next turn waits for it.
   *
   * @example
   * ```ts
   * // The player pressed Esc while the typewriter had shown 42 characters.
   * turn.interrupt({ shown: 42 });
   * ```
   */
  interrupt(options?: InterruptOptions): void;
  /** The run's id, once the stream has announced it. */
  readonly runId: string | undefined;
  /**
   * The tokens the run was charged, once it has ended: `turn.end`'s usage, or for an interrupted run
   * what the proxy reports once the cancel has ended it (asked for on first access). Null when unknown.
   */
  readonly usage: Promise<Usage | null>;
}

export interface OpenedRun {
  threadId: string;
  body: ReadableStream<Uint8Array>;
}

/**
 * Starts a turn of `conversation`: `open` starts the run (with the player's line) and returns its stream.
 * Streams the run, answers its tool calls, and resumes the stream from the last event id when the
 * connection drops.
 * `done` settles after the final event and after any cancel request.
 */
export function startTurn(
  { request, tools, maxToolRounds }: Context,
  conversation: Conversation,
  open: (signal: AbortSignal) => Promise<OpenedRun>,
  outer?: AbortSignal,
  /** Called with a cancel sent after the turn settled (to cut the stored line), for the next turn to await. */
  onLateCancel?: (cancelled: Promise<unknown>) => void,
): Turn & { done: Promise<void> } {
  const events: DialogueEvent[] = [];
  const waiting: Array<() => void> = [];
  const controller = new AbortController();
  const { signal } = controller;
  let ended = false;
  let threadId: string | undefined;
  let runId: string | undefined;
  // The run's final status, once the stream said it (its `done` may still be on the way).
  let status: RunStatus | undefined;
  let cancelling: Promise<Run | undefined> | undefined;
  // Everything said so far, and where its last message starts (the proxy can cut only that one).
  let said = '';
  let lastStart = 0;
  let settled = false;
  // What the run was charged, when its ending said so (`thread.run.cancelled` carries it too).
  let charged: Usage | null = null;
  let charges: Promise<Usage | null> | undefined;
  const citations: Citation[] = [];

  const push = (event: DialogueEvent) => {
    events.push(event);
    for (const wake of waiting.splice(0)) wake();
  };
  // A request on this turn's run: `cancel`, `submit_tool_outputs`, `events`.
  const runRequest = (method: string, path: string, options?: RequestOptions) =>
    request<ReadableStream<Uint8Array>>(method, `/threads/${threadId}/runs/${runId}/${path}`, options);
  // Best effort, and never an error: the run may have ended meanwhile, which the proxy answers with 200 and
  // the finished run, and older proxies (like OpenAI) with 400 `invalid_run_state`.
  const cancel = (shown?: number) => {
    if (!runId) return;
    const body =
      shown === undefined ? undefined : { [SHOWN_CHARACTERS_PARAM]: Math.max(0, shown - lastStart) };
    cancelling = (runRequest('POST', 'cancel', { body }) as Promise<unknown> as Promise<Run>).catch(
      () => undefined,
    );
  };
  let cut = false;
  const interrupt = ({ shown }: InterruptOptions = {}) => {
    if (shown !== undefined && !(shown >= 0)) shown = 0;
    if (ended || status || signal.aborted) {
      // A run whose outcome has arrived is over, and the player saw the whole line: a cancel could only be
      // refused (a 400 from older proxies, which the browser logs in red). One who saw less gets the line
      // cut, once.
      if (shown === undefined || shown >= said.length || cut || !runId || signal.aborted) return;
      cut = true;
      cancel(shown);
      if (settled && cancelling) onLateCancel?.(cancelling);
      return;
    }
    cut = shown !== undefined;
    controller.abort(interrupted());
    cancel(shown);
  };
  const onAbort = () => interrupt();
  outer?.addEventListener('abort', onAbort);
  if (outer?.aborted) interrupt();

  // Answers one call; throws (becoming an error output) for bad arguments, a missing handler or a timeout.
  const answer = async (call: ToolCall): Promise<string> => {
    const tool = tools.get(conversation.npc.id)?.get(call.name);
    if (!tool) throw Error(`No tool named '${call.name}'`);
    let args: unknown;
    try {
      args = JSON.parse(call.arguments || '{}');
    } catch {
      throw Error('The arguments are not valid JSON');
    }
    const invalid = tool.parameters && validate(tool.parameters, args);
    if (invalid) throw Error(`Invalid arguments: ${invalid}`);
    const ms = tool.timeout ?? 5000;
    const stop = AbortSignal.any([signal, AbortSignal.timeout(ms)]);
    const output = await Promise.race([
      // A handler that ignores its signal is not waited for.
      new Promise((_, reject) =>
        stop.addEventListener('abort', () =>
          reject(Error(signal.aborted ? 'Interrupted' : `Timed out after ${ms} ms`)),
        ),
      ),
      tool.run(args as Record<string, unknown>, { signal: stop, call, conversation }),
    ]);
    return typeof output === 'string' ? output : JSON.stringify(output ?? null);
  };

  const run = async () => {
    let message: string | undefined;
    let failure: DialogueError | undefined;
    let usage: Usage | null = null;
    let last = 0;
    let drops = 0;
    let rounds = 0;
    let body: ReadableStream<Uint8Array>;
    ({ threadId, body } = await open(signal));
    for (;;) {
      let calls: FunctionToolCall[] | undefined;
      let done = false;
      try {
        for await (const { event, data, id } of parseRunStream(body, signal)) {
          // Event ids count over the whole run, across its streams: the place to resume from.
          if (id) {
            last = +id;
            drops = 0;
          }
          if (event === 'done') {
            done = true;
            break;
          }
          if (event === 'error') throw fromErrorObject(data);
          // (Events of other objects carry their run's id as `run_id`, or none.)
          const ofRun = data.object === 'thread.run' ? data.id : (data as { run_id?: string | null }).run_id;
          if (ofRun && !runId) {
            runId = ofRun;
            push({ type: 'turn.start', runId, threadId });
          }
          if (event === 'thread.message.delta') {
            let delta = '';
            for (const part of data.delta.content ?? []) delta += part.text?.value ?? '';
            if (delta) {
              // A run that writes several messages (around tool calls) reads as paragraphs.
              if (said && message !== data.id) {
                delta = `\n\n${delta}`;
                lastStart = said.length + 2;
              }
              message = data.id;
              said += delta;
            }
            // A marker's annotation comes with the delta that completes it (indexes count in its message).
            citations.push(...readCitations(said, data.delta.content, lastStart));
            if (delta) push({ type: 'text.delta', delta, text: said });
          }
          if (event === 'thread.run.requires_action')
            calls = data.required_action?.submit_tool_outputs.tool_calls;
          if (event === 'thread.run.completed' || event === 'thread.run.incomplete')
            ({ status, usage } = data);
          if (event === 'thread.run.failed' || event === 'thread.run.expired') {
            // A run's last_error has only OpenAI's three codes (a spent budget reads `rate_limit_exceeded`);
            // Parley follows it with an `error` event of the precise code, which wins when it comes.
            status = data.status;
            failure = fromErrorObject(data.last_error ?? { message: `Run ${data.status}` });
          }
          if (event === 'thread.run.cancelled') {
            charged = data.usage;
            throw new DialogueError('interrupted', 'Run cancelled');
          }
        }
      } catch (caught) {
        // A dropped connection is resumed below; anything else ends the turn.
        if (toDialogueError(caught, signal).code !== 'network') throw caught;
      }
      if (failure) throw failure;
      if (status && runId) break;
      if (calls) {
        if (++rounds > maxToolRounds) {
          cancel();
          throw new DialogueError('upstream', 'Too many tool rounds', { retryable: false });
        }
        const list = calls.map(({ id, function: { name, arguments: args } }) => ({
          id,
          name,
          arguments: args,
        }));
        push({ type: 'tool.call', calls: list });
        const tool_outputs = await Promise.all(
          list.map(async (call) => {
            const { id, name } = call;
            let output: string;
            let error: string | undefined;
            try {
              output = await answer(call);
            } catch (caught) {
              error = messageOf(caught);
              output = JSON.stringify({ error });
            }
            push({ type: 'tool.result', id, name, output, error });
            return { tool_call_id: id, output };
          }),
        );
        body = await runRequest('POST', 'submit_tool_outputs', {
          body: { tool_outputs, stream: true },
          signal,
          raw: true,
        });
        continue;
      }
      // The stream ended early. Resume after the last event we saw (the proxy keeps the run going for a
      // while), unless the server said `done` without an outcome: then there is nothing left to resume.
      if (done || !runId || drops > 2) throw new DialogueError('network', 'Stream ended early');
      await sleep(backoff(drops++), signal);
      body = await runRequest('GET', 'events', {
        signal,
        raw: true,
        headers: { 'Last-Event-ID': `${last}` },
      });
    }
    ended = true;
    charged = usage;
    // Only set when there are any, so replies without sources read as before.
    push({ type: 'turn.end', text: said, status, runId, usage, ...(citations[0] && { citations }) });
    return said;
  };

  const text = run().catch((caught: unknown) => {
    const error = toDialogueError(caught, signal);
    ended = true;
    push({ type: 'error', error });
    throw error;
  });
  // A game that only iterates must not see an unhandled rejection.
  const done = text
    .catch(() => {})
    .then(() => {
      outer?.removeEventListener('abort', onAbort);
      // A cancel sent from here on is reported to onLateCancel instead.
      settled = true;
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
    get usage() {
      charges ??= done.then(async () => {
        if (charged || !runId || !cancelling) return charged;
        // The cancel answers `cancelling`; the run ends (and its usage is set) a moment later.
        let run = await cancelling;
        for (let i = 0; i < 4 && run && run.status === 'cancelling'; i++) {
          await sleep(100 * 2 ** i);
          run = await request<Run>('GET', `/threads/${threadId}/runs/${runId}`).catch(() => undefined);
        }
        return run?.usage ?? null;
      });
      return charges;
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
