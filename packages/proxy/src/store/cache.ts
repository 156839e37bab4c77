import type { Assistant, Message, Run, RunStep, Thread } from '@parley/protocol';
import { cloneData } from '../clone.js';
import type { Owner, Store } from './types.js';

/**
 * A Map that forgets its least recently used entries beyond `limit` entries or beyond `maxWeight` in all
 * (always keeping the newest entry). Each entry's weight is given when it is set.
 */
class Lru<K, V> {
  readonly #map = new Map<K, { value: V; weight: number }>();
  #weight = 0;
  constructor(
    private readonly limit: number,
    private readonly maxWeight = Number.POSITIVE_INFINITY,
  ) {}

  get(key: K): V | undefined {
    const entry = this.#map.get(key);
    if (entry !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, entry);
    }
    return entry?.value;
  }

  /** Adds or replaces an entry; also how a value changed in place is weighed again. */
  set(key: K, value: V, weight = 0): void {
    this.delete(key);
    this.#map.set(key, { value, weight });
    this.#weight += weight;
    for (const oldest of this.#map.keys()) {
      if ((this.#map.size <= this.limit && this.#weight <= this.maxWeight) || oldest === key) break;
      this.delete(oldest);
    }
  }

  delete(key: K): void {
    const entry = this.#map.get(key);
    if (entry === undefined) return;
    this.#map.delete(key);
    this.#weight -= entry.weight;
  }
}

/**
 * What a cached message is counted as: its text (a character is a UTF-16 unit, two bytes) plus a fixed
 * cost for ids, timestamps and object overhead. An estimate, not a measure of the heap.
 */
function messageWeight(message: Message): number {
  let weight = 512;
  for (const part of message.content) if (part.type === 'text') weight += 2 * part.text.value.length;
  return weight;
}

/** A thread's cached messages in store order, with their weight kept as they change. */
interface History {
  owner: Owner;
  messages: Message[];
  weight: number;
}

/** A history of `messages`, which become the cache's own: callers pass copies. */
function historyOf(owner: Owner, messages: Message[]): History {
  let weight = 0;
  for (const message of messages) weight += messageWeight(message);
  return { owner, messages, weight };
}

/**
 * A write-through memory cache in front of a store that only this process writes to (the embedded
 * PGlite store: its data directory cannot be shared). It keeps the reads on every turn's path — the
 * assistant, the thread and the thread's messages — out of the database, which otherwise sits between
 * the player's line and the first token. Never used for PostgreSQL, which other instances may write.
 */
export function withMemoryCache(
  store: Store,
  limits = { objects: 10_000, threads: 10_000, historyBytes: 32 * 1024 * 1024 },
): Store {
  const assistants = objectCache<Assistant>(
    limits.objects,
    (owner, id) => store.getAssistant(owner, id),
    (owner, value) => store.putAssistant(owner, value),
  );
  const threads = objectCache<Thread>(
    limits.objects,
    (owner, id) => store.getThread(owner, id),
    (owner, value) => store.putThread(owner, value),
  );
  const histories = new Histories(limits.threads, limits.historyBytes);
  const putMessage = async (owner: Owner, message: Message) => {
    await store.putMessage(owner, message);
    histories.remember(owner, message);
  };

  return {
    ...bind(store),
    putAssistant: assistants.put,
    getAssistant: assistants.get,
    async deleteAssistant(owner, id) {
      assistants.forget(id);
      return store.deleteAssistant(owner, id);
    },
    putThread: threads.put,
    getThread: threads.get,
    async createThread(owner, thread, messages) {
      await store.createThread(owner, thread, messages);
      threads.remember(owner, thread);
      // A thread just created holds exactly these messages: its first turn needs no read.
      histories.keep(thread.id, owner, messages.map(cloneData));
    },
    async deleteThread(owner, id) {
      threads.forget(id);
      histories.drop(id);
      return store.deleteThread(owner, id);
    },
    putMessage,
    async putAll(owner, objects) {
      await store.putAll(owner, objects);
      for (const object of objects) if (isMessage(object)) histories.remember(owner, object);
    },
    async deleteMessage(owner, threadId, id) {
      const deleted = await store.deleteMessage(owner, threadId, id);
      if (deleted) histories.forget(threadId, id);
      return deleted;
    },
    async allMessages(owner, threadId) {
      // One copy a read, whether cached or not: the caller may change what it gets, the cache must not.
      const hit = histories.read(owner, threadId);
      if (hit) return hit;
      const messages = await store.allMessages(owner, threadId);
      if (messages.length > 0 || (await store.getThread(owner, threadId))) {
        histories.keep(threadId, owner, messages.map(cloneData));
      }
      return messages;
    },
  };
}

/**
 * Every message of a thread in store order, for threads read recently: bounded by their size as well as
 * their number, so many short conversations fit where a few long ones would.
 */
class Histories {
  readonly #lru: Lru<string, History>;

  constructor(threads: number, bytes: number) {
    this.#lru = new Lru<string, History>(threads, bytes);
  }

  /** Caches `messages` (which become the cache's own: pass copies) as the thread's whole history. */
  keep(threadId: string, owner: Owner, messages: Message[]): void {
    this.#set(threadId, historyOf(owner, messages));
  }

  /** A copy of a cached history; `[]` for another owner's thread; `undefined` when not cached. */
  read(owner: Owner, threadId: string): Message[] | undefined {
    // One copy a read: the caller may change what it gets, the cache must not.
    const hit = this.#lru.get(threadId);
    if (!hit) return undefined;
    return hit.owner === owner ? hit.messages.map(cloneData) : [];
  }

  /** Keeps a cached history in step with a message just written. */
  remember(owner: Owner, message: Message): void {
    const history = this.#lru.get(message.thread_id);
    if (!history || history.owner !== owner) return;
    const copy = cloneData(message);
    const index = history.messages.findIndex((m) => m.id === message.id);
    if (index >= 0) history.weight -= messageWeight(history.messages[index]!);
    if (index >= 0) history.messages[index] = copy;
    else history.messages.push(copy);
    history.weight += messageWeight(copy);
    this.#set(message.thread_id, history); // weighed again
  }

  /** Keeps a cached history in step with a message just deleted. */
  forget(threadId: string, messageId: string): void {
    const history = this.#lru.get(threadId);
    const index = history ? history.messages.findIndex((m) => m.id === messageId) : -1;
    if (!history || index < 0) return;
    history.weight -= messageWeight(history.messages[index]!);
    history.messages.splice(index, 1);
    this.#set(threadId, history);
  }

  drop(threadId: string): void {
    this.#lru.delete(threadId);
  }

  #set(threadId: string, history: History): void {
    this.#lru.set(threadId, history, history.weight);
  }
}

const isMessage = (object: Message | RunStep | Run): object is Message => object.object === 'thread.message';

/** Write-through, owner-checked caching of one kind of object by id. */
function objectCache<T extends { id: string }>(
  limit: number,
  read: (owner: Owner, id: string) => Promise<T | undefined>,
  write: (owner: Owner, value: T) => Promise<void>,
) {
  const lru = new Lru<string, { owner: Owner; value: T }>(limit);
  const remember = (owner: Owner, value: T) => lru.set(value.id, { owner, value: cloneData(value) });
  return {
    async put(owner: Owner, value: T): Promise<void> {
      await write(owner, value);
      remember(owner, value);
    },
    async get(owner: Owner, id: string): Promise<T | undefined> {
      const hit = lru.get(id);
      if (hit) return hit.owner === owner ? cloneData(hit.value) : undefined;
      const found = await read(owner, id);
      if (found) lru.set(id, { owner, value: cloneData(found) });
      return found;
    },
    remember,
    forget(id: string): void {
      lru.delete(id);
    },
  };
}

/** The store's methods bound to it, so they can be spread into a wrapper. */
function bind(store: Store): Store {
  const out = {} as Record<string, unknown>;
  for (const key of Object.getOwnPropertyNames(Object.getPrototypeOf(store)).concat(Object.keys(store))) {
    const value = (store as unknown as Record<string, unknown>)[key];
    if (typeof value === 'function' && key !== 'constructor') out[key] = value.bind(store);
  }
  return out as unknown as Store;
}
