import { beforeAll, describe, expect, it } from 'vitest';
import {
  collectSse,
  deltaText,
  type Harness,
  postJson,
  readSse,
  type SharedHarnesses,
  type SseEvent,
  waitForRun,
} from '../../support/proxy.js';

/** Reads events from a live stream until `enough(events)` is true, then drops the connection. */
/** A client that can resume asks the proxy to keep its run going across a drop (Parley extension). */
const RESUMABLE = { 'Parley-Resume-Grace-Ms': '15000' };

async function readThenDrop(
  response: Response,
  controller: AbortController,
  enough: (events: SseEvent[]) => boolean,
) {
  expect(response.status).toBe(200);
  const events: SseEvent[] = [];
  const iterator = readSse(response.body!);
  for await (const event of iterator) {
    events.push(event);
    if (enough(events)) break;
  }
  controller.abort();
  return events;
}

function expectContiguous(events: SseEvent[]): void {
  const ids = events.map((e) => e.id);
  expect(
    ids.every((id) => id !== undefined && /^\d+$/.test(id)),
    'every event has an id',
  ).toBe(true);
  expect(ids.map(Number)).toEqual(ids.map((_, i) => i + 1));
}

/** Section 14: resumable run streams (a Parley extension). */
export function resumeSuite(shared: SharedHarnesses): void {
  const { mode } = shared;
  let h: Harness;
  let assistant: string;
  const words = Array.from({ length: 30 }, (_, i) => `w${i}`).join(' ');

  beforeAll(async () => {
    // Pacing: the offline model needs the aux proxy's token delay; the fake upstream is paced by scripts.
    h = mode === 'offline' ? await shared.aux() : shared.h;
    assistant = (
      await h.client.beta.assistants.create({
        model: 'm',
        instructions:
          'You are Odo, a learned and verbose scholar of the old tongue. The library holds nine thousand books.',
      })
    ).id;
  });
  async function startStream(line: string) {
    h.fake?.enqueue({ kind: 'text', text: words, delayMs: 30 });
    const thread = await h.client.beta.threads.create({ messages: [{ role: 'user', content: line }] });
    const controller = new AbortController();
    const response = await postJson(
      `${h.url}/v1/threads/${thread.id}/runs`,
      { assistant_id: assistant, stream: true },
      { signal: controller.signal, headers: RESUMABLE },
    );
    const first = await readThenDrop(response, controller, (events) =>
      events.some((e) => e.event === 'thread.message.delta'),
    );
    const runId = (JSON.parse(first[0]!.data) as { id: string }).id;
    expect(first[0]!.event).toBe('thread.run.created');
    return { threadId: thread.id, runId, first };
  }

  async function finalText(threadId: string): Promise<string> {
    const messages = await h.client.beta.threads.messages.list(threadId);
    const reply = messages.data.find((m) => m.role === 'assistant')!;
    expect(reply.status).toBe('completed');
    return reply.content.map((p) => (p.type === 'text' ? p.text.value : '')).join('');
  }

  it('completes while disconnected; Last-Event-ID replays exactly the missing events', async () => {
    const { threadId, runId, first } = await startStream('Tell me about the library and its books, please.');
    expectContiguous(first);
    const run = await waitForRun(
      h.client,
      threadId,
      runId,
      (s) => s !== 'in_progress' && s !== 'queued',
      15_000,
    );
    expect(run.status).toBe('completed'); // kept going with nobody listening (grace period)

    const lastId = first.at(-1)!.id!;
    const rest = await collectSse(
      await fetch(`${h.url}/v1/threads/${threadId}/runs/${runId}/events`, {
        headers: { 'Last-Event-ID': lastId },
      }),
    );
    expect(rest[0]!.id).toBe(String(Number(lastId) + 1));
    const all = [...first, ...rest];
    expectContiguous(all);
    expect(all.at(-1)!.event).toBe('done');
    expect(all.at(-2)!.event).toBe('thread.run.completed');
    const text = deltaText(all);
    expect(text).toBe(await finalText(threadId));
    if (mode === 'fake') expect(text).toBe(words);
  });

  it('resumes mid-run with ?after= and follows the live rest', async () => {
    const { threadId, runId, first } = await startStream('What do the old books say about the gate?');
    const lastId = first.at(-1)!.id!;
    const res = await fetch(`${h.url}/v1/threads/${threadId}/runs/${runId}/events?after=${lastId}`);
    const rest = await collectSse(res);
    const all = [...first, ...rest];
    expectContiguous(all);
    expect(all.filter((e) => e.event === 'done')).toHaveLength(1);
    expect(all.at(-2)!.event).toBe('thread.run.completed');
    expect(deltaText(all)).toBe(await finalText(threadId));

    // Replaying from 0 gives the whole log again, identical.
    const again = await collectSse(
      await fetch(`${h.url}/v1/threads/${threadId}/runs/${runId}/events?after=0`),
    );
    expect(again.map((e) => [e.id, e.event, e.data])).toEqual(all.map((e) => [e.id, e.event, e.data]));
  });

  it('a resume past the end gets just done', async () => {
    const { threadId, runId } = await startStream('Hello, scholar.');
    await waitForRun(h.client, threadId, runId, (s) => s === 'completed', 15_000);
    const rest = await collectSse(
      await fetch(`${h.url}/v1/threads/${threadId}/runs/${runId}/events`, {
        headers: { 'Last-Event-ID': '100000' },
      }),
    );
    expect(rest.map((e) => e.event)).toEqual(['done']);
  });

  if (mode === 'fake')
    describe('grace period (aux proxy: PARLEY_RESUME_GRACE_MS=200)', () => graceSuite(shared));
}

function graceSuite(shared: SharedHarnesses): void {
  let h: Harness;
  beforeAll(async () => {
    h = await shared.aux();
  });

  it('a run nobody resumes is cancelled after the grace period and the upstream request aborted', async () => {
    const assistant = await h.client.beta.assistants.create({ model: 'm' });
    const thread = await h.client.beta.threads.create({
      messages: [{ role: 'user', content: 'Talk a lot.' }],
    });
    h.fake!.enqueue({
      kind: 'text',
      text: Array.from({ length: 100 }, (_, i) => `w${i}`).join(' '),
      delayMs: 30,
    });
    const abortedBefore = h.fake!.aborted;
    const controller = new AbortController();
    const res = await postJson(
      `${h.url}/v1/threads/${thread.id}/runs`,
      { assistant_id: assistant.id, stream: true },
      { signal: controller.signal },
    );
    const first = await readThenDrop(res, controller, (events) =>
      events.some((e) => e.event === 'thread.message.delta'),
    );
    const runId = (JSON.parse(first[0]!.data) as { id: string }).id;
    const run = await waitForRun(
      h.client,
      thread.id,
      runId,
      (s) => s === 'cancelled' || s === 'completed',
      5000,
    );
    expect(run.status).toBe('cancelled');
    expect(h.fake!.aborted).toBeGreaterThan(abortedBefore);
    // The log still tells a late client how it ended.
    const rest = await collectSse(
      await fetch(`${h.url}/v1/threads/${thread.id}/runs/${runId}/events?after=${first.at(-1)!.id}`),
    );
    expect(rest.map((e) => e.event)).toContain('thread.run.cancelled');
    expect(rest.at(-1)!.event).toBe('done');
  });

  it('a client that resumes within the grace period keeps the run alive', async () => {
    const assistant = await h.client.beta.assistants.create({ model: 'm' });
    const thread = await h.client.beta.threads.create({ messages: [{ role: 'user', content: 'Talk.' }] });
    const words = Array.from({ length: 30 }, (_, i) => `w${i}`).join(' ');
    h.fake!.enqueue({ kind: 'text', text: words, delayMs: 30 });
    const controller = new AbortController();
    const res = await postJson(
      `${h.url}/v1/threads/${thread.id}/runs`,
      { assistant_id: assistant.id, stream: true },
      { signal: controller.signal, headers: RESUMABLE },
    );
    const first = await readThenDrop(res, controller, (events) =>
      events.some((e) => e.event === 'thread.message.delta'),
    );
    const runId = (JSON.parse(first[0]!.data) as { id: string }).id;
    await new Promise((r) => setTimeout(r, 50));
    const rest = await collectSse(
      await fetch(`${h.url}/v1/threads/${thread.id}/runs/${runId}/events`, {
        headers: { 'Last-Event-ID': first.at(-1)!.id! },
      }),
    );
    const all = [...first, ...rest];
    expectContiguous(all);
    expect(all.at(-2)!.event).toBe('thread.run.completed');
    expect(deltaText(all)).toBe(words);
  });
}
