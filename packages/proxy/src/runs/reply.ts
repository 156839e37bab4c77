import {
  type FileCitationAnnotation,
  type Message,
  type Run,
  type RunStep,
  StreamEvent,
  type Usage,
} from '@parley/protocol';
import { nowSeconds } from '../ids.js';
import { makeMessage, makeStep, messageText } from '../objects.js';
import type { Owner, Store } from '../store/types.js';
import type { CitationScanner } from './citations.js';
import type { RunEventLog } from './event-log.js';
import { endReply, endStep, type ReplyCut } from './transitions.js';
import type { WriteQueue } from './writes.js';

/** A reply in progress is stored at least this often, so a crash loses at most this much of what was shown. */
export const REPLY_SAVE_MS = 1000;
/** Text that ends a sentence (closing quotes and brackets may follow the mark). */
const SENTENCE_END = /[.!?…]["'”’)\]]*\s*$/;

/**
 * The NPC's reply as it streams: its message and `message_creation` step are opened with the first word,
 * every delta is announced, and the text so far is stored at every sentence end and at least once a second,
 * so after a crash the thread holds what the player already read.
 */
export class ReplyWriter {
  #message: Message | undefined;
  #step: RunStep | undefined;
  #text = '';
  #savedAt = 0;

  constructor(
    private readonly run: Run,
    private readonly log: RunEventLog,
    private readonly writes: WriteQueue,
    private readonly now: () => number = Date.now,
    /** Finds the citation markers of the run's searches (none when the run searched nothing). */
    private readonly citations?: CitationScanner,
  ) {}

  get open(): boolean {
    return this.#step?.status === 'in_progress';
  }

  get text(): string {
    return this.#text;
  }

  /** Adds a piece of text, opening the reply on the first. */
  add(delta: string): void {
    const message = this.#message ?? this.#open();
    this.#text += delta;
    const before = this.#annotations.length;
    // A citation is announced in the delta that completes its marker.
    const cited = (this.citations?.add(delta) ?? []).map((note, i) => ({ index: before + i, ...note }));
    this.log.append(this.run.id, {
      event: StreamEvent.MessageDelta,
      data: {
        id: message.id,
        object: 'thread.message.delta',
        delta: { content: [{ index: 0, type: 'text', text: { value: delta, annotations: cited } }] },
      },
    });
    if (SENTENCE_END.test(delta) || this.now() - this.#savedAt >= REPLY_SAVE_MS) this.#save();
  }

  /** Opens an empty reply (a model that answers nothing still answers). */
  ensureOpen(): void {
    if (!this.#message) this.#open();
  }

  /**
   * Ends the reply, `cut` short or whole, announces it and returns the message and its step as they are to
   * be stored (with the run's end, or at once). Nothing when no reply was opened.
   */
  close(cut: ReplyCut | undefined, usage: Usage | null): Array<Message | RunStep> {
    if (!this.#message || !this.#step || !this.open) return [];
    const now = nowSeconds();
    this.#message = endReply(this.#message, { now, text: this.#text, cut, annotations: this.#annotations });
    this.#step = endStep(this.#step, 'completed', { now, usage });
    this.log.append(this.run.id, {
      event: cut === undefined ? StreamEvent.MessageCompleted : StreamEvent.MessageIncomplete,
      data: this.#message,
    });
    this.log.append(this.run.id, { event: StreamEvent.StepCompleted, data: this.#step });
    return [this.#message, this.#step];
  }

  /**
   * Ends a reply the run could not finish: the message keeps its text so far (or the first `shown` characters
   * of it, when the player saw less), marked incomplete, and its step ends `failed` or `cancelled`. Both are
   * queued for writing and announced.
   */
  abandon(cut: ReplyCut, stepStatus: 'failed' | 'cancelled', shown?: number): void {
    if (!this.#message || !this.#step || !this.open) return;
    const now = nowSeconds();
    // What the player saw, when the client said (a reply typed out slower than it arrived).
    if (shown !== undefined) this.#text = this.#text.slice(0, shown);
    const message = endReply(this.#message, { now, text: this.#text, cut, annotations: this.#annotations });
    const step = endStep(this.#step, stepStatus, { now });
    this.#message = message;
    this.#step = step;
    this.writes.put(message.id, () => message);
    this.writes.put(step.id, () => step);
    this.log.append(this.run.id, { event: StreamEvent.MessageIncomplete, data: message });
    this.log.append(this.run.id, {
      event: stepStatus === 'failed' ? StreamEvent.StepFailed : StreamEvent.StepCancelled,
      data: step,
    });
  }

  #open(): Message {
    const message = makeMessage(
      this.run.thread_id,
      { role: 'assistant', content: [] },
      { status: 'in_progress', assistant_id: this.run.assistant_id, run_id: this.run.id },
    );
    const step = makeStep(this.run, {
      type: 'message_creation',
      message_creation: { message_id: message.id },
    });
    this.#message = message;
    this.#step = step;
    this.#savedAt = this.now();
    this.writes.put(message.id, () => this.#current());
    this.writes.put(step.id, () => this.#step!);
    this.log.append(this.run.id, { event: StreamEvent.StepCreated, data: step });
    this.log.append(this.run.id, { event: StreamEvent.StepInProgress, data: step });
    this.log.append(this.run.id, { event: StreamEvent.MessageCreated, data: message });
    this.log.append(this.run.id, { event: StreamEvent.MessageInProgress, data: message });
    return message;
  }

  /** Stores the text so far (the write takes the text as it stands when it runs). */
  #save(): void {
    this.#savedAt = this.now();
    this.writes.put(this.#message!.id, () => this.#current());
  }

  /** The message as it stands: in progress with the text so far, or as it ended. */
  #current(): Message {
    const message = this.#message!;
    if (message.status !== 'in_progress') return message;
    return {
      ...message,
      content: [{ type: 'text', text: { value: this.#text, annotations: [...this.#annotations] } }],
    };
  }

  get #annotations(): readonly FileCitationAnnotation[] {
    return this.citations?.annotations ?? [];
  }
}

/**
 * Stores a finished run's last reply as the player saw it: cut after `shown` characters and marked
 * incomplete, so the NPC remembers (and the thread shows) only what was on screen.
 */
export async function cutStoredReply(store: Store, owner: Owner, run: Run, shown: number): Promise<void> {
  const page = await store.listMessages(
    owner,
    run.thread_id,
    { limit: 20, order: 'desc' },
    { runId: run.id },
  );
  const reply = page.data.find((message) => message.role === 'assistant');
  if (!reply) return;
  const text = messageText(reply);
  if (text.length <= shown) return;
  const part = reply.content[0];
  await store.putMessage(
    owner,
    endReply(reply, {
      now: nowSeconds(),
      text: text.slice(0, shown),
      cut: 'run_cancelled',
      annotations: part?.type === 'text' ? part.text.annotations : [],
    }),
  );
}
