import type { Assistant, Message, Run, RunStep, Thread } from '@parley/protocol';
import type { Database } from './database.js';

/**
 * Who owns an object. Every thread, message, run and step belongs to the player who created it; a lookup
 * by another owner behaves as if the object did not exist. The empty string is the single owner used
 * before player identity is configured.
 */
export type Owner = string;

/** Cursor pagination exactly as the Assistants list endpoints take it. */
export interface PageQuery {
  /** 1..100, default 20. */
  limit: number;
  /** By `created_at` (ties broken by insertion order). Default `desc`. */
  order: 'asc' | 'desc';
  /** Return objects after this id in the chosen order. */
  after?: string | undefined;
  /** Return objects before this id in the chosen order. */
  before?: string | undefined;
}

export interface Page<T> {
  data: T[];
  has_more: boolean;
}

/**
 * Persistence for the Assistants objects. Objects are stored whole (as the wire shape) and returned as
 * fresh copies; callers never mutate what the store holds. Writes happen at message, step and run
 * boundaries, never per token.
 */
export interface Store {
  /** Creates tables or applies pending migrations. Idempotent. */
  migrate(): Promise<void>;
  close(): Promise<void>;
  /**
   * The database under the store, for modules that keep tables of their own beside the Assistants
   * objects (the knowledge index): one connection, one set of migrations.
   */
  database(): Database;

  putAssistant(owner: Owner, assistant: Assistant): Promise<void>;
  getAssistant(owner: Owner, id: string): Promise<Assistant | undefined>;
  listAssistants(owner: Owner, page: PageQuery): Promise<Page<Assistant>>;
  /** Returns false when nothing was deleted. */
  deleteAssistant(owner: Owner, id: string): Promise<boolean>;

  putThread(owner: Owner, thread: Thread): Promise<void>;
  /**
   * Stores a new thread with its first messages (in order). Unlike `putThread` it says the thread is new,
   * so a cache may know its whole history without reading it back.
   */
  createThread(owner: Owner, thread: Thread, messages: readonly Message[]): Promise<void>;
  getThread(owner: Owner, id: string): Promise<Thread | undefined>;
  /** Deletes the thread with its messages, runs and steps. */
  deleteThread(owner: Owner, id: string): Promise<boolean>;

  /** Insert or replace (by id). */
  putMessage(owner: Owner, message: Message): Promise<void>;
  getMessage(owner: Owner, threadId: string, id: string): Promise<Message | undefined>;
  listMessages(
    owner: Owner,
    threadId: string,
    page: PageQuery,
    filter?: { runId?: string },
  ): Promise<Page<Message>>;
  /** Every message of a thread, oldest first (for building a model request). */
  allMessages(owner: Owner, threadId: string): Promise<Message[]>;
  deleteMessage(owner: Owner, threadId: string, id: string): Promise<boolean>;

  putRun(owner: Owner, run: Run): Promise<void>;
  /**
   * Stores `run`, which has ended, only if the stored run has not ended yet: of several writers ending one run
   * (instances recovering it at once), one does. Resolves whether this one did.
   */
  endRun(owner: Owner, run: Run): Promise<boolean>;
  getRun(owner: Owner, threadId: string, id: string): Promise<Run | undefined>;
  listRuns(owner: Owner, threadId: string, page: PageQuery): Promise<Page<Run>>;
  /** Runs in any owner's threads whose status is queued, in_progress, requires_action or cancelling. */
  listUnfinishedRuns(): Promise<Array<{ owner: Owner; run: Run }>>;

  putStep(owner: Owner, step: RunStep): Promise<void>;
  /**
   * Insert or replace messages, steps and runs together, in order, as one transaction: a run's boundary
   * (its reply, the reply's step and the run's new status) is stored whole or not at all, in one round
   * trip where the database allows.
   */
  putAll(owner: Owner, objects: ReadonlyArray<Message | RunStep | Run>): Promise<void>;
  getStep(owner: Owner, threadId: string, runId: string, id: string): Promise<RunStep | undefined>;
  listSteps(owner: Owner, threadId: string, runId: string, page: PageQuery): Promise<Page<RunStep>>;
}
