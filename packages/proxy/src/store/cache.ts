import type { Assistant, Message, Run, RunStep, Thread } from '@parley/protocol';
import { cloneData } from '../clone.js';
import type { Owner, Store } from './types.js';

/**
 * A Map that forgets its least recently used entries beyond `limit` entries or, when values are weighed,
 * beyond `maxWeight` in all (always keeping the newest entry).
 */
class Lru<K, V> {
  readonly #map = new Map<K, { value: V; weight: number }>();
  #weight = 0;
  constructor(
    private readonly limit: number,
    private readonly weigh: (value: V) => number = () => 0,
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
  set(key: K, value: V): void {
    this.delete(key);
    const weight = this.weigh(value);
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
 * What a cached history is counted as: its text (a character is a UTF-16 unit, two bytes) plus a fixed
 * cost per message for ids, timestamps and object overhead. An estimate, not a measure of the heap.
 */
function historyWeight(history: { messages: Message[] }): number {
  let weight = 0;
  for (const message of history.messages) {
    weight += 512;
    for (const part of message.content) if (part.type === 'text') weight += 2 * part.text.value.length;
  }
  return weight;
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
  /**
   * Every message of a thread in store order, for threads read recently: bounded by their size as well as
   * their number, so many short conversations fit where a few long ones would.
   */
  const histories = new Lru<string, { owner: Owner; messages: Message[] }>(
    limits.threads,
    historyWeight,
    limits.historyBytes,
  );
  const held = heldWrites();

  /** Keeps a cached history in step with a message just written. */
  const remember = (owner: Owner, message: Message) => {
    const history = histories.get(message.thread_id);
    if (!history || history.owner !== owner) return;
    const index = history.messages.findIndex((m) => m.id === message.id);
    if (index >= 0) history.messages[index] = cloneData(message);
    else history.messages.push(cloneData(message));
    histories.set(message.thread_id, history); // weighed again
  };
  const putMessage = async (owner: Owner, message: Message) => {
    await store.putMessage(owner, message);
    remember(owner, message);
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
      histories.set(thread.id, { owner, messages: cloneData([...messages]) });
    },
    async deleteThread(owner, id) {
      await held.write(id); // what the deletion then cascades over
      threads.forget(id);
      histories.delete(id);
      return store.deleteThread(owner, id);
    },
    putMessage(owner, message) {
      held.drop(message.thread_id, message.id);
      return putMessage(owner, message);
    },
    putStep(owner, step) {
      held.drop(step.thread_id, step.id);
      return store.putStep(owner, step);
    },
    async putAll(owner, objects) {
      for (const object of objects)
        if (object.object !== 'thread.run') held.drop(object.thread_id, object.id);
      await store.putAll(owner, objects);
      for (const object of objects) if (isMessage(object)) remember(owner, object);
    },
    hold(owner, object) {
      held.add(object.thread_id, object.id, () =>
        isMessage(object) ? putMessage(owner, object) : store.putStep(owner, object),
      );
    },
    async getMessage(owner, threadId, id) {
      await held.write(threadId);
      return store.getMessage(owner, threadId, id);
    },
    async listMessages(owner, threadId, page, filter) {
      await held.write(threadId);
      return store.listMessages(owner, threadId, page, filter);
    },
    async getStep(owner, threadId, runId, id) {
      await held.write(threadId);
      return store.getStep(owner, threadId, runId, id);
    },
    async listSteps(owner, threadId, runId, page) {
      await held.write(threadId);
      return store.listSteps(owner, threadId, runId, page);
    },
    async deleteMessage(owner, threadId, id) {
      await held.write(threadId);
      const deleted = await store.deleteMessage(owner, threadId, id);
      const history = histories.get(threadId);
      if (history && deleted) {
        history.messages = history.messages.filter((m) => m.id !== id);
        histories.set(threadId, history);
      }
      return deleted;
    },
    async allMessages(owner, threadId) {
      await held.write(threadId);
      const hit = histories.get(threadId);
      if (hit) return hit.owner === owner ? cloneData(hit.messages) : [];
      const messages = await store.allMessages(owner, threadId);
      if (messages.length > 0 || (await store.getThread(owner, threadId))) {
        histories.set(threadId, { owner, messages: cloneData(messages) });
      }
      return messages;
    },
  };
}

const isMessage = (object: Message | RunStep | Run): object is Message => object.object === 'thread.message';

/**
 * Writes held back per thread (see `Store.hold`). A read of the thread first writes what is held and
 * waits for it, together with any write of the thread's held objects that another read has begun.
 */
function heldWrites() {
  const byThread = new Map<string, Map<string, () => Promise<void>>>();
  const writing = new Map<string, Promise<void>>();
  return {
    add(threadId: string, id: string, write: () => Promise<void>): void {
      const writes = byThread.get(threadId) ?? new Map<string, () => Promise<void>>();
      writes.set(id, write);
      byThread.set(threadId, writes);
    },
    drop(threadId: string, id: string): void {
      const writes = byThread.get(threadId);
      if (!writes?.delete(id) || writes.size > 0) return;
      byThread.delete(threadId);
    },
    write(threadId: string): Promise<void> {
      const writes = byThread.get(threadId);
      const earlier = writing.get(threadId);
      if (!writes) return earlier ?? Promise.resolve();
      byThread.delete(threadId);
      const all = Promise.all([earlier, ...[...writes.values()].map((write) => write())]).then(() => {});
      writing.set(threadId, all);
      const forget = () => {
        if (writing.get(threadId) === all) writing.delete(threadId);
      };
      all.then(forget, forget);
      return all;
    },
  };
}

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
