import type { ListPage, Message, Thread } from '@parley/protocol';
import { type Context, share } from './context.js';
import { isNotFound, unlessNotFound } from './errors.js';
import { factsInstructions } from './facts.js';
import type { Npc } from './npc.js';
import { startTurn, type Turn } from './turn.js';

/** Options of {@link Npc.conversation}. */
export interface ConversationOptions {
  /** Which conversation with this NPC, e.g. a save slot or a player id. Default `'default'`. */
  key?: string;
}

/** Options of {@link Conversation.say}. */
export interface SayOptions {
  /** Aborting it interrupts the turn, like {@link Turn.interrupt}. */
  signal?: AbortSignal;
}

/** Options of {@link Conversation.history}. */
export interface HistoryOptions {
  /** How many messages (newest first) to fetch, 1..100. Default 20. */
  limit?: number;
  /** Only messages older than this message id: pass `messages[0].id` to page back. */
  before?: string;
}

/** One line of a conversation. */
export interface HistoryEntry {
  id: string;
  role: 'user' | 'assistant';
  text: string;
  /** Milliseconds since the epoch, like `Date.now()`. */
  createdAt: number;
  /** True for what the game told the NPC with {@link Conversation.tell} (`text` without its prefix). */
  event?: true | undefined;
}

/** A page of {@link Conversation.history}, oldest → newest. */
export interface HistoryPage {
  messages: HistoryEntry[];
  /** Whether older messages exist (fetch them with `before: messages[0].id`). */
  hasMore: boolean;
}

/**
 * One player's conversation with one NPC (an Assistants thread).
 *
 * @example
 * ```ts
 * const talk = parley.npc(innkeeper).conversation();
 * const { messages } = await talk.history();
 * const answer = await talk.say('A room for the night?').text;
 * ```
 */
export interface Conversation {
  readonly npc: Npc;
  readonly key: string;
  /**
   * The thread id: the remembered one if the proxy still has it, else a new thread (remembered in the
   * store as `parley:thread:<npcId>:<key>`).
   */
  threadId(): Promise<string>;
  /**
   * Sends the player's line and streams the NPC's answer. The turn starts at once; turns of one
   * conversation run one after another, never overlapping.
   */
  say(text: string, options?: SayOptions): Turn;
  /**
   * Tells the NPC what happened, without a reply: adds a user message `[event] <text>` (metadata
   * `parley_kind: 'event'`) that the NPC reads on its next turn. Queued behind a running turn, like `say()`.
   *
   * @example
   * ```ts
   * await talk.tell('The player paid 5 gold for the room.');
   * ```
   */
  tell(text: string): Promise<void>;
  /** Text messages, oldest → newest, newest page first. Empty (and no thread created) before the first `say()`. */
  history(options?: HistoryOptions): Promise<HistoryPage>;
  /**
   * The thread as the proxy has it now, with its metadata: the proxy's long-memory note, once a
   * conversation has outgrown the context budget, is `metadata.parley_memory`. Undefined (and no thread
   * created) before the first `say()`.
   *
   * @example
   * ```ts
   * const note = (await talk.thread())?.metadata['parley_memory'];
   * ```
   */
  thread(): Promise<Thread | undefined>;
  /** Deletes the thread on the proxy and forgets it; the next `say()` starts afresh. */
  reset(): Promise<void>;
}

export function createConversation(ctx: Context, npc: Npc, key: string): Conversation {
  const { request, store, jobs, tails } = ctx;
  const storeKey = `parley:thread:${npc.id}:${key}`;
  const jobKey = `t:${npc.id}:${key}`;

  const threadId = () =>
    share(ctx, jobKey, '', async () => {
      const stored = await store.get(storeKey);
      if (stored && (await request('GET', `/threads/${stored}`).catch(unlessNotFound))) return stored;
      const { id } = await request<{ id: string }>('POST', '/threads', {
        body: { metadata: { parley_npc: npc.id, parley_conversation: key } },
        retry: true, // a duplicate is an unused empty thread
      });
      await store.set(storeKey, id);
      return id;
    });

  // The thread we have, without creating one.
  const existing = async () => (jobs.has(jobKey) || (await store.get(storeKey)) ? threadId() : undefined);

  // Runs `job` on the thread once `previous` (the conversation's last turn) has ended. When the proxy lost
  // the thread or the assistant (e.g. it restarted with an in-memory store), verifies both again, which
  // re-creates what is gone, and tries once more.
  const onThread = async <T>(
    previous: Promise<unknown> | undefined,
    job: (thread: string, assistant: string) => Promise<T>,
  ): Promise<T> => {
    await previous;
    for (let retried = false; ; retried = true) {
      try {
        const [thread, assistant] = await Promise.all([threadId(), npc.ensure()]);
        return await job(thread, assistant.id);
      } catch (error) {
        if (retried || !isNotFound(error)) throw error;
        jobs.delete(jobKey);
        jobs.delete(`a:${npc.id}`);
      }
    }
  };

  const say = (text: string, options?: SayOptions): Turn => {
    const previous = tails.get(storeKey);
    const turn = startTurn(
      ctx,
      conversation,
      (signal) =>
        onThread(previous, async (thread, assistant_id) => {
          // One request: the run adds the player's line itself, and only once it starts, so a run the
          // proxy refuses (a lost thread retried by onThread, a busy thread, a spent budget) leaves no line
          // behind and a retry cannot post it twice.
          const body = await request<ReadableStream<Uint8Array>>('POST', `/threads/${thread}/runs`, {
            body: {
              assistant_id,
              additional_messages: [{ role: 'user', content: text }],
              // What the game says is true now (facts), as OpenAI's own per-run field.
              additional_instructions: factsInstructions(ctx.facts.world, npc.facts),
              stream: true,
            },
            signal,
            raw: true,
          });
          return { threadId: thread, body };
        }),
      options?.signal,
      // A line cut after the turn ended: the next turn must not read it whole.
      (cancelled) => {
        const tail = tails.get(storeKey);
        tails.set(
          storeKey,
          Promise.all([tail, cancelled]).then(() => {}),
        );
      },
    );
    tails.set(storeKey, turn.done);
    return turn;
  };

  const tell = (text: string) => {
    const told = onThread(tails.get(storeKey), async (thread) => {
      await request('POST', `/threads/${thread}/messages`, {
        body: { role: 'user', content: `${EVENT}${text}`, metadata: { parley_kind: 'event' } },
      });
    });
    tails.set(
      storeKey,
      told.catch(() => {}),
    );
    return told;
  };

  const conversation: Conversation = {
    npc,
    key,
    threadId,
    say,
    tell,
    async history({ limit = 20, before } = {}) {
      const thread = await existing();
      if (!thread) return { messages: [], hasMore: false };
      // Newest first so `limit` picks the latest lines; `after` pages on in that order, i.e. back in time.
      const cursor = before ? `&after=${encodeURIComponent(before)}` : '';
      const page = await request<ListPage<Message>>(
        'GET',
        `/threads/${thread}/messages?order=desc&limit=${limit}${cursor}`,
      );
      const messages: HistoryEntry[] = [];
      for (const m of page.data.reverse()) {
        const event = m.metadata?.['parley_kind'] === 'event' || undefined;
        const text = m.content
          .map((part) => (part.type === 'text' ? part.text.value : ''))
          .join('')
          .slice(event ? EVENT.length : 0);
        if (text) messages.push({ id: m.id, role: m.role, text, createdAt: m.created_at * 1000, event });
      }
      return { messages, hasMore: page.has_more };
    },
    async thread() {
      const thread = await existing();
      return thread ? request<Thread>('GET', `/threads/${thread}`) : undefined;
    },
    async reset() {
      const thread = await existing();
      if (thread) await request('DELETE', `/threads/${thread}`).catch(unlessNotFound);
      jobs.delete(jobKey);
      await store.delete(storeKey);
    },
  };
  return conversation;
}

const EVENT = '[event] ';
