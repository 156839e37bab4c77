import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAssistant, makeMessage, makeThread } from '../objects.js';
import { withMemoryCache } from './cache.js';
import { createStore } from './index.js';
import type { Store } from './types.js';

let raw: Store;
let store: Store;
beforeAll(async () => {
  raw = await createStore({});
  store = withMemoryCache(raw);
});
afterAll(() => raw.close());

/** `store`, telling `seen` of every method call before it is made. */
function spied(store: Store, seen: (key: string, args: unknown[]) => void): Store {
  return new Proxy(store, {
    get(target, key) {
      const value = Reflect.get(target, key);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        seen(String(key), args);
        return value.apply(target, args);
      };
    },
  });
}

describe('withMemoryCache', () => {
  it('serves what was written, as copies, and hides it from other owners', async () => {
    const assistant = makeAssistant({ model: 'm', name: 'Brom' });
    await store.putAssistant('alice', assistant);
    const first = await store.getAssistant('alice', assistant.id);
    first!.name = 'mutated by a caller';
    expect((await store.getAssistant('alice', assistant.id))?.name).toBe('Brom');
    expect(await store.getAssistant('bob', assistant.id)).toBeUndefined();
    expect(await raw.getAssistant('alice', assistant.id)).toMatchObject({ name: 'Brom' }); // written through
  });

  it('keeps a thread’s history in step with writes and deletes', async () => {
    const thread = makeThread({});
    await store.putThread('alice', thread);
    const one = makeMessage(thread.id, { role: 'user', content: 'one' });
    await store.putMessage('alice', one);
    expect((await store.allMessages('alice', thread.id)).map((m) => m.id)).toEqual([one.id]); // now cached
    const two = makeMessage(thread.id, { role: 'assistant', content: 'two' });
    await store.putMessage('alice', two);
    await store.putMessage('alice', { ...one, metadata: { edited: 'yes' } });
    const cached = await store.allMessages('alice', thread.id);
    expect(cached.map((m) => m.id)).toEqual([one.id, two.id]);
    expect(cached[0]?.metadata).toEqual({ edited: 'yes' });
    expect(cached).toEqual(await raw.allMessages('alice', thread.id));
    // What a reader gets is its own: changing it changes nothing the next reader sees.
    cached[0]!.metadata = { edited: 'by a caller' };
    cached.pop();
    expect(await store.allMessages('alice', thread.id)).toEqual(await raw.allMessages('alice', thread.id));
    expect(await store.allMessages('bob', thread.id)).toEqual([]);
    await store.deleteMessage('alice', thread.id, two.id);
    expect((await store.allMessages('alice', thread.id)).map((m) => m.id)).toEqual([one.id]);
    await store.deleteThread('alice', thread.id);
    expect(await store.getThread('alice', thread.id)).toBeUndefined();
    expect(await store.allMessages('alice', thread.id)).toEqual([]);
  });

  it('knows a new thread’s history without reading it, and stays in step afterwards', async () => {
    const thread = makeThread({});
    const first = [
      makeMessage(thread.id, { role: 'user', content: 'one' }),
      makeMessage(thread.id, { role: 'user', content: 'two' }),
    ];
    let reads = 0;
    const counted = withMemoryCache(
      spied(raw, (key) => {
        if (key === 'allMessages' || key === 'getThread') reads++;
      }),
    );
    await counted.createThread('alice', thread, first);
    expect((await counted.allMessages('alice', thread.id)).map((m) => m.id)).toEqual(first.map((m) => m.id));
    expect(await counted.getThread('alice', thread.id)).toEqual(thread);
    expect(reads).toBe(0);
    // Written through, in order; and later messages join the known history.
    expect((await raw.allMessages('alice', thread.id)).map((m) => m.id)).toEqual(first.map((m) => m.id));
    const three = makeMessage(thread.id, { role: 'user', content: 'three' });
    await counted.putMessage('alice', three);
    expect(await counted.allMessages('alice', thread.id)).toEqual(await raw.allMessages('alice', thread.id));
    expect(await counted.allMessages('bob', thread.id)).toEqual([]);
  });

  it('keeps histories by their size, not just their number: many short ones, few long ones', async () => {
    let reads = 0;
    const counted = withMemoryCache(
      spied(raw, (key) => {
        if (key === 'allMessages') reads++;
      }),
      { objects: 100, threads: 100, historyBytes: 4096 },
    );
    const threadWith = async (text: string) => {
      const thread = makeThread({});
      await counted.createThread('alice', thread, [makeMessage(thread.id, { role: 'user', content: text })]);
      return thread.id;
    };
    // Six one-line conversations (512 + a few bytes each) fit in 4 KiB: none is read back.
    const short = [];
    for (let i = 0; i < 6; i++) short.push(await threadWith(`line ${i}`));
    for (const id of short) await counted.allMessages('alice', id);
    expect(reads).toBe(0);
    // One long conversation (2 × 1,200 characters + 512) pushes out the least recently used ones.
    const long = await threadWith('x'.repeat(1200));
    await counted.allMessages('alice', long);
    expect(reads).toBe(0);
    await counted.allMessages('alice', short[0]!);
    expect(reads).toBe(1);
    // A history that grows is weighed again: a longer reply evicts others in turn.
    const reply = makeMessage(long, { role: 'assistant', content: 'y'.repeat(600) });
    await counted.putMessage('alice', reply);
    expect((await counted.allMessages('alice', long)).map((m) => m.id).at(-1)).toBe(reply.id);
    expect(reads).toBe(1);
    await counted.allMessages('alice', short[5]!);
    expect(reads).toBe(2);
  });
});
