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
      new Proxy(raw, {
        get(target, key) {
          const value = Reflect.get(target, key);
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            if (key === 'allMessages' || key === 'getThread') reads++;
            return value.apply(target, args);
          };
        },
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
});
