import { describe, expect, it } from 'vitest';
import { makeAssistant, makeMessage, makeRun, makeStep, makeThread } from '../objects.js';
import { createStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import { WriteQueue } from './writes.js';

/** The store, recording each call that writes (kind and the statuses written). */
function recorded(store: Store) {
  const calls: string[] = [];
  const wrapped = new Proxy(store, {
    get(target, key) {
      const value = Reflect.get(target, key);
      if (typeof value !== 'function') return value;
      if (key === 'putAll')
        return (owner: string, objects: Array<{ object: string; status: string }>) => {
          calls.push(`putAll ${objects.map((o) => `${o.object}:${o.status}`).join(' ')}`);
          return target.putAll(owner, objects as never);
        };
      if (key === 'putMessage' || key === 'putStep' || key === 'putRun')
        return (owner: string, object: { object: string; status: string }) => {
          calls.push(`${String(key)} ${object.status}`);
          return (value as (o: string, x: unknown) => Promise<void>).call(target, owner, object);
        };
      return value.bind(target);
    },
  });
  return { store: wrapped, calls };
}

describe('WriteQueue', () => {
  it('stores the writes of one tick together in one transaction, each object once, as it stands then', async () => {
    const base = await createStore();
    const thread = makeThread({});
    await base.putThread('p', thread);
    const run = makeRun(
      thread,
      makeAssistant({ model: 'm' }),
      { model: 'm', instructions: '', tools: [] },
      60,
    );
    await base.putRun('p', run);
    const { store, calls } = recorded(base);
    const queue = new WriteQueue(store, 'p');
    let message = makeMessage(
      thread.id,
      { role: 'assistant', content: 'Hel' },
      { status: 'in_progress', run_id: run.id },
    );
    const step = makeStep(run, { type: 'message_creation', message_creation: { message_id: message.id } });
    queue.put(run.id, () => ({ ...run, status: 'in_progress' }));
    queue.put(message.id, () => message);
    queue.put(step.id, () => step);
    message = { ...message, content: [{ type: 'text', text: { value: 'Hello.', annotations: [] } }] };
    queue.put(message.id, () => message); // the same object again: written once, as it stands
    await queue.flush();
    expect(calls).toEqual([
      'putAll thread.run:in_progress thread.message:in_progress thread.run.step:in_progress',
    ]);
    const stored = await base.getMessage('p', thread.id, message.id);
    expect(stored?.content[0]).toMatchObject({ text: { value: 'Hello.' } });
    await base.close();
  });

  it('keeps the first error for flush, and the newest write of an object wins', async () => {
    const base = await createStore();
    const { store } = recorded(base);
    const queue = new WriteQueue(store, 'p');
    const orphan = makeMessage('thread_missing', { role: 'user', content: 'x' });
    queue.put(orphan.id, () => orphan);
    await expect(queue.flush()).rejects.toMatchObject({ code: 'missing_parent' });
    await expect(queue.flush()).resolves.toBeUndefined(); // thrown once
    await base.close();
  });
});
