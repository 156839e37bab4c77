import type { ListPage, Message } from '@parley/protocol';
import { type Context, share } from './context.js';
import { DialogueError, isDialogueError } from './errors.js';
import type { Npc } from './npc.js';
import { type OpenedRun, startTurn, type Turn } from './turn.js';

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
  /** Text messages, oldest → newest, newest page first. Empty (and no thread created) before the first `say()`. */
  history(options?: HistoryOptions): Promise<HistoryPage>;
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
      if (stored) {
        try {
          await request<{ id: string }>('GET', `/threads/${stored}`);
          return stored;
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
      }
      const thread = await request<{ id: string }>('POST', '/threads', {
        body: { metadata: { parley_npc: npc.id, parley_conversation: key } },
      });
      await store.set(storeKey, thread.id);
      return thread.id;
    });

  // The thread we have, without creating one.
  const existing = async () => (jobs.has(jobKey) || (await store.get(storeKey)) ? threadId() : undefined);

  const say = (text: string, options?: SayOptions): Turn => {
    const previous = tails.get(storeKey);
    let postedTo: string | undefined;
    const open = async (signal: AbortSignal): Promise<OpenedRun> => {
      await previous;
      for (let retried = false; ; retried = true) {
        try {
          const [thread, assistant] = await Promise.all([threadId(), npc.ensure()]);
          if (postedTo !== thread) {
            await request('POST', `/threads/${thread}/messages`, {
              body: { role: 'user', content: text },
              signal,
            });
            postedTo = thread;
          }
          const response = await request<Response>('POST', `/threads/${thread}/runs`, {
            body: { assistant_id: assistant.id, stream: true },
            signal,
            raw: true,
          });
          if (!response.body) throw new DialogueError('protocol', 'The run response has no body');
          return { threadId: thread, body: response.body };
        } catch (error) {
          // The proxy lost the thread or the assistant (e.g. restarted with an in-memory store): verify
          // both again, which re-creates what is gone, and try once more.
          if (retried || !isNotFound(error)) throw error;
          jobs.delete(jobKey);
          jobs.delete(`a:${npc.id}`);
        }
      }
    };
    const turn = startTurn(
      open,
      (thread, run) => request('POST', `/threads/${thread}/runs/${run}/cancel`),
      options?.signal,
    );
    tails.set(storeKey, turn.done);
    return turn;
  };

  return {
    npc,
    key,
    threadId,
    say,
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
        const text = m.content.map((part) => (part.type === 'text' ? part.text.value : '')).join('');
        if (text) messages.push({ id: m.id, role: m.role, text, createdAt: m.created_at * 1000 });
      }
      return { messages, hasMore: page.has_more };
    },
    async reset() {
      const thread = await existing();
      if (thread) {
        try {
          await request('DELETE', `/threads/${thread}`);
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
      }
      jobs.delete(jobKey);
      await store.delete(storeKey);
    },
  };
}

const isNotFound = (error: unknown) => isDialogueError(error) && error.code === 'not_found';
