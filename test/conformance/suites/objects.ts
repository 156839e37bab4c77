import { BadRequestError, NotFoundError } from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectShape, FAKE_MODEL, type Harness, type SharedHarnesses } from '../../support/proxy.js';

const OPEN_GATE = {
  type: 'function' as const,
  function: {
    name: 'open_gate',
    description: 'Open one of the town gates.',
    parameters: {
      type: 'object',
      properties: { gate: { type: 'string', enum: ['north', 'south'], description: 'Which gate' } },
      required: ['gate'],
      additionalProperties: false,
    },
    strict: true,
  },
};

/** Section 1–3: assistants, threads and messages, their shapes and pagination. */
export function objectsSuite(shared: SharedHarnesses): void {
  const { mode } = shared;
  let h: Harness;
  beforeAll(() => {
    h = shared.h;
  });

  it('answers /healthz and /v1/models', async () => {
    const health = (await (await fetch(`${h.url}/healthz`)).json()) as Record<string, unknown>;
    expect(health).toEqual({
      ok: true,
      upstream: mode === 'fake' ? 'compatible' : 'offline',
      model: mode === 'fake' ? FAKE_MODEL : 'parley-offline',
    });
    const models = await h.client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([mode === 'fake' ? FAKE_MODEL : 'parley-offline']);
  });

  describe('assistants', () => {
    it('creates, retrieves, updates, lists and deletes an assistant with every field of 3b', async () => {
      const { client } = h;
      const created = await client.beta.assistants.create({
        model: mode === 'fake' ? FAKE_MODEL : 'parley-offline',
        name: 'Brom',
        description: 'Gate guard',
        instructions: 'You are Brom, the gruff gate guard of Eastwatch.',
        tools: [OPEN_GATE],
        metadata: { npc: 'brom' },
        temperature: 0.5,
        top_p: 0.9,
      });
      expectShape('assistant', created);
      expect(created).toMatchObject({
        name: 'Brom',
        description: 'Gate guard',
        instructions: 'You are Brom, the gruff gate guard of Eastwatch.',
        metadata: { npc: 'brom' },
        temperature: 0.5,
        top_p: 0.9,
      });
      expect(created.tools).toEqual([OPEN_GATE]);

      const retrieved = await client.beta.assistants.retrieve(created.id);
      expect(retrieved).toEqual(created);

      const updated = await client.beta.assistants.update(created.id, {
        name: 'Brom the Elder',
        metadata: { npc: 'brom', mood: 'grim' },
      });
      expectShape('assistant', updated);
      expect(updated.name).toBe('Brom the Elder');
      expect(updated.metadata).toEqual({ npc: 'brom', mood: 'grim' });
      expect(updated.instructions).toBe(created.instructions); // untouched fields stay
      expect(updated.tools).toEqual([OPEN_GATE]);
      expect(await client.beta.assistants.retrieve(created.id)).toEqual(updated);

      const other = await client.beta.assistants.create({ model: 'parley-offline', name: 'Mira' });
      expectShape('assistant', other);
      const page = await client.beta.assistants.list({ limit: 100 });
      const ids = page.data.map((a) => a.id);
      expect(ids).toContain(created.id);
      expect(ids).toContain(other.id);
      expect(ids.indexOf(other.id)).toBeLessThan(ids.indexOf(created.id)); // default order desc

      const deleted = await client.beta.assistants.delete(created.id);
      expect(deleted).toEqual({ id: created.id, object: 'assistant.deleted', deleted: true });
      await expect(client.beta.assistants.retrieve(created.id)).rejects.toBeInstanceOf(NotFoundError);
      await expect(client.beta.assistants.delete(created.id)).rejects.toBeInstanceOf(NotFoundError);
      const after = await client.beta.assistants.list({ limit: 100 });
      expect(after.data.map((a) => a.id)).not.toContain(created.id);
    });

    it('uses the default model when none is named and keeps the named one otherwise', async () => {
      const { client } = h;
      const res = await fetch(`${h.url}/v1/assistants`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'no model' }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { model: string };
      expect(body.model).toBe(mode === 'fake' ? FAKE_MODEL : 'parley-offline');
      const named = await client.beta.assistants.create({ model: 'gpt-4o-mini' });
      expect(named.model).toBe('gpt-4o-mini');
    });

    it('rejects a function tool with an invalid name', async () => {
      await expect(
        h.client.beta.assistants.create({
          model: 'x',
          tools: [{ type: 'function', function: { name: 'has spaces', parameters: { type: 'object' } } }],
        }),
      ).rejects.toBeInstanceOf(BadRequestError);
    });
  });

  describe('threads', () => {
    it('creates with initial messages, retrieves, updates and deletes', async () => {
      const { client } = h;
      const thread = await client.beta.threads.create({
        messages: [
          { role: 'user', content: 'Hello, guard.' },
          { role: 'assistant', content: 'Hm. State your business.' },
          { role: 'user', content: [{ type: 'text', text: 'I seek the mayor.' }], metadata: { turn: '3' } },
        ],
        metadata: { scene: 'gate' },
      });
      expectShape('thread', thread);
      expect(thread.metadata).toEqual({ scene: 'gate' });

      const messages = await client.beta.threads.messages.list(thread.id, { order: 'asc' });
      expect(
        messages.data.map((m) => [m.role, m.content[0]?.type === 'text' ? m.content[0].text.value : null]),
      ).toEqual([
        ['user', 'Hello, guard.'],
        ['assistant', 'Hm. State your business.'],
        ['user', 'I seek the mayor.'],
      ]);
      for (const message of messages.data) {
        expectShape('message', message);
        expect(message.thread_id).toBe(thread.id);
      }
      expect(messages.data[2]!.metadata).toEqual({ turn: '3' });

      expect(await client.beta.threads.retrieve(thread.id)).toEqual(thread);
      const updated = await client.beta.threads.update(thread.id, { metadata: { scene: 'tavern' } });
      expect(updated.metadata).toEqual({ scene: 'tavern' });
      expect((await client.beta.threads.retrieve(thread.id)).metadata).toEqual({ scene: 'tavern' });

      const deleted = await client.beta.threads.delete(thread.id);
      expect(deleted).toEqual({ id: thread.id, object: 'thread.deleted', deleted: true });
      await expect(client.beta.threads.retrieve(thread.id)).rejects.toBeInstanceOf(NotFoundError);
      await expect(client.beta.threads.messages.list(thread.id)).rejects.toBeInstanceOf(NotFoundError);
      await expect(
        client.beta.threads.messages.retrieve(messages.data[0]!.id, { thread_id: thread.id }),
      ).rejects.toBeInstanceOf(NotFoundError);
      await expect(client.beta.threads.delete(thread.id)).rejects.toBeInstanceOf(NotFoundError);
    });

    it('creates an empty thread with no body', async () => {
      const thread = await h.client.beta.threads.create();
      expectShape('thread', thread);
      expect(thread.metadata).toEqual({});
      const list = await h.client.beta.threads.messages.list(thread.id);
      expect(list.data).toEqual([]);
    });
  });

  describe('messages', () => {
    it('creates, retrieves, updates and deletes a message', async () => {
      const { client } = h;
      const thread = await client.beta.threads.create();
      const message = await client.beta.threads.messages.create(thread.id, {
        role: 'user',
        content: 'Where is the smithy?',
        metadata: { a: '1' },
      });
      expectShape('message', message);
      expect(message).toMatchObject({
        thread_id: thread.id,
        role: 'user',
        status: 'completed',
        assistant_id: null,
        run_id: null,
        metadata: { a: '1' },
        content: [{ type: 'text', text: { value: 'Where is the smithy?', annotations: [] } }],
      });
      const retrieved = await client.beta.threads.messages.retrieve(message.id, { thread_id: thread.id });
      expect(retrieved).toEqual(message);

      const updated = await client.beta.threads.messages.update(message.id, {
        thread_id: thread.id,
        metadata: { a: '2', b: '3' },
      });
      expect(updated.metadata).toEqual({ a: '2', b: '3' });
      expect(updated.content).toEqual(message.content);

      // A message is found only through its own thread.
      const other = await client.beta.threads.create();
      await expect(
        client.beta.threads.messages.retrieve(message.id, { thread_id: other.id }),
      ).rejects.toBeInstanceOf(NotFoundError);

      const deleted = await client.beta.threads.messages.delete(message.id, { thread_id: thread.id });
      expect(deleted).toEqual({ id: message.id, object: 'thread.message.deleted', deleted: true });
      await expect(
        client.beta.threads.messages.retrieve(message.id, { thread_id: thread.id }),
      ).rejects.toBeInstanceOf(NotFoundError);
      await expect(
        client.beta.threads.messages.delete(message.id, { thread_id: thread.id }),
      ).rejects.toBeInstanceOf(NotFoundError);
    });

    it('paginates with limit, order, after and before', async () => {
      const { client } = h;
      const thread = await client.beta.threads.create();
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        ids.push(
          (await client.beta.threads.messages.create(thread.id, { role: 'user', content: `line ${i}` })).id,
        );
      }

      const desc = await client.beta.threads.messages.list(thread.id, { limit: 3 });
      expect(desc.data.map((m) => m.id)).toEqual([ids[6], ids[5], ids[4]]);
      expect(desc.has_more).toBe(true);
      const raw = (await (await fetch(`${h.url}/v1/threads/${thread.id}/messages?limit=3`)).json()) as Record<
        string,
        unknown
      >;
      expect(raw).toMatchObject({ object: 'list', first_id: ids[6], last_id: ids[4], has_more: true });

      const asc = await client.beta.threads.messages.list(thread.id, { limit: 3, order: 'asc' });
      expect(asc.data.map((m) => m.id)).toEqual(ids.slice(0, 3));

      const afterPage = await client.beta.threads.messages.list(thread.id, {
        limit: 3,
        order: 'asc',
        after: ids[2],
      });
      expect(afterPage.data.map((m) => m.id)).toEqual(ids.slice(3, 6));
      expect(afterPage.has_more).toBe(true);

      const last = await client.beta.threads.messages.list(thread.id, {
        limit: 3,
        order: 'asc',
        after: ids[4],
      });
      expect(last.data.map((m) => m.id)).toEqual(ids.slice(5));
      expect(last.has_more).toBe(false);
      const lastRaw = (await (
        await fetch(`${h.url}/v1/threads/${thread.id}/messages?limit=3&order=asc&after=${ids[4]}`)
      ).json()) as Record<string, unknown>;
      expect(lastRaw).toMatchObject({ first_id: ids[5], last_id: ids[6], has_more: false });

      const before = await client.beta.threads.messages.list(thread.id, {
        limit: 2,
        order: 'asc',
        before: ids[4],
      });
      expect(before.data.map((m) => m.id)).toEqual([ids[2], ids[3]]);

      const beforeDesc = await client.beta.threads.messages.list(thread.id, {
        limit: 2,
        order: 'desc',
        before: ids[2],
      });
      expect(beforeDesc.data.map((m) => m.id)).toEqual([ids[4], ids[3]]);

      const between = await client.beta.threads.messages.list(thread.id, {
        order: 'asc',
        after: ids[1],
        before: ids[5],
      });
      expect(between.data.map((m) => m.id)).toEqual(ids.slice(2, 5));

      const empty = await fetch(`${h.url}/v1/threads/${thread.id}/messages?after=${ids[0]}&order=desc`);
      expect(await empty.json()).toEqual({
        object: 'list',
        data: [],
        first_id: null,
        last_id: null,
        has_more: false,
      });

      // SDK auto-pagination yields every message exactly once, in order.
      const seen: string[] = [];
      for await (const message of client.beta.threads.messages.list(thread.id, { limit: 2, order: 'asc' })) {
        seen.push(message.id);
      }
      expect(seen).toEqual(ids);
      const seenDesc: string[] = [];
      for await (const message of client.beta.threads.messages.list(thread.id, { limit: 3 }))
        seenDesc.push(message.id);
      expect(seenDesc).toEqual([...ids].reverse());
    });

    it('paginates assistants the same way', async () => {
      const { client } = h;
      const made: string[] = [];
      for (let i = 0; i < 4; i++)
        made.push((await client.beta.assistants.create({ model: 'm', name: `p${i}` })).id);
      const seen: string[] = [];
      for await (const assistant of client.beta.assistants.list({ limit: 1, order: 'asc', after: made[0] })) {
        seen.push(assistant.id);
      }
      expect(seen).toEqual(made.slice(1));
    });
  });
}
