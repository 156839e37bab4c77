import { StreamEvent } from '@parley/protocol';
import { describe, expect, it, vi } from 'vitest';
import { isDialogueError } from './errors.js';
import { parseRunStream, type RunStreamEvent } from './parse-run-stream.js';

const run = (status: string) =>
  JSON.stringify({
    id: 'run_1',
    object: 'thread.run',
    thread_id: 'thread_1',
    assistant_id: 'asst_1',
    status,
  });
const step = (status: string) =>
  JSON.stringify({
    id: 'step_1',
    object: 'thread.run.step',
    run_id: 'run_1',
    type: 'message_creation',
    status,
  });
const message = (status: string) =>
  JSON.stringify({ id: 'msg_1', object: 'thread.message', run_id: 'run_1', role: 'assistant', status });
const delta = (value: string) =>
  JSON.stringify({
    id: 'msg_1',
    object: 'thread.message.delta',
    delta: { content: [{ index: 0, type: 'text', text: { value, annotations: [] } }] },
  });

// A text reply in the order of openai-wire.md §3b, with the framing variations a proxy or a CDN may add.
const fixture = [
  ': keep-alive\n\n',
  `id: 1\nevent: thread.run.created\ndata: ${run('queued')}\n\n`,
  `id: 2\r\nevent: thread.run.queued\r\ndata: ${run('queued')}\r\n\r\n`,
  `id: 3\revent: thread.run.in_progress\rdata: ${run('in_progress')}\r\r`,
  `id: 4\nevent: thread.run.step.created\ndata: ${step('in_progress')}\n\n`,
  `id: 5\nevent: thread.run.step.in_progress\ndata: ${step('in_progress')}\n\n`,
  `id: 6\nevent: thread.message.created\ndata: ${message('in_progress')}\n\n`,
  ':another comment\n',
  `id: 7\nevent: thread.message.in_progress\ndata: ${message('in_progress')}\n\n`,
  `id: 8\nevent: thread.message.delta\ndata: ${delta('Hail, trav')}\n\n`,
  'id: 9\nevent: thread.future.thing\ndata: {"whatever":true}\n\n',
  `id: 10\nevent: thread.message.delta\ndata: ${delta('eller! Grüße, ☕ and 🐉.')}\n\n`,
  `id: 11\r\nevent: thread.message.delta\r\ndata:${delta(' Line\nbreak')}\r\n\r\n`,
  // One JSON payload over two data: lines (joined with \n, which JSON reads as whitespace).
  `id: 12\nevent: thread.message.completed\ndata: ${message('completed').replace(',', ',\ndata: ')}\n\n`,
  `id: 13\nevent: thread.run.step.completed\ndata: ${step('completed')}\n\n`,
  `id: 14\nevent: thread.run.completed\ndata: ${run('completed')}\n\n`,
  'id: 15\nevent: done\ndata: [DONE]\n\n',
  // Anything after done is ignored.
  `event: thread.run.created\ndata: ${run('queued')}\n\n`,
].join('');
const bytes = new TextEncoder().encode(fixture);

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    pull(controller) {
      const chunk = chunks.shift();
      if (chunk) controller.enqueue(chunk);
      else controller.close();
    },
  });
}

function split(at: number[]): Uint8Array[] {
  const cuts = [0, ...at.sort((a, b) => a - b), bytes.length];
  return cuts.slice(1).map((end, i) => bytes.slice(cuts[i], end));
}

async function collect(body: ReadableStream<Uint8Array>, signal?: AbortSignal): Promise<RunStreamEvent[]> {
  const events: RunStreamEvent[] = [];
  for await (const event of parseRunStream(body, signal)) events.push(event);
  return events;
}

// Deterministic PRNG so a failure can be reproduced.
function random(seed: number) {
  return () => {
    seed = (seed * 1664525 + 1013904223) % 2 ** 32;
    return seed / 2 ** 32;
  };
}

describe('parseRunStream', () => {
  it('parses a whole run stream: known events with ids, skipping comments and unknown names, up to done', async () => {
    const events = await collect(streamOf([bytes]));
    expect(events.map((e) => `${e.id} ${e.event}`)).toEqual([
      '1 thread.run.created',
      '2 thread.run.queued',
      '3 thread.run.in_progress',
      '4 thread.run.step.created',
      '5 thread.run.step.in_progress',
      '6 thread.message.created',
      '7 thread.message.in_progress',
      '8 thread.message.delta',
      '10 thread.message.delta',
      '11 thread.message.delta',
      '12 thread.message.completed',
      '13 thread.run.step.completed',
      '14 thread.run.completed',
      '15 done',
    ]);
    const text = events
      .flatMap((e) => (e.event === 'thread.message.delta' ? (e.data.delta.content ?? []) : []))
      .map((part) => part.text?.value)
      .join('');
    expect(text).toBe('Hail, traveller! Grüße, ☕ and 🐉. Line\nbreak');
    expect(events.at(-1)).toEqual({ event: 'done', data: '[DONE]', id: '15' });
    const completed = events.find((e) => e.event === 'thread.run.completed');
    expect(completed?.data).toMatchObject({ id: 'run_1', status: 'completed' });
    expect(events.find((e) => e.event === 'thread.message.completed')?.data).toMatchObject({ id: 'msg_1' });
  });

  it('gives identical events for every single split point, including inside multi-byte characters', async () => {
    const expected = await collect(streamOf([bytes]));
    const multiByte = fixture.indexOf('🐉');
    expect(multiByte).toBeGreaterThan(0);
    for (let at = 1; at < bytes.length; at++) {
      expect(await collect(streamOf(split([at]))), `split at byte ${at}`).toEqual(expected);
    }
  });

  it('gives identical events for random multi-way splits and byte-by-byte feeding', async () => {
    const expected = await collect(streamOf([bytes]));
    const next = random(42);
    for (let round = 0; round < 200; round++) {
      const cuts = Array.from(
        { length: 1 + Math.floor(next() * 40) },
        () => 1 + Math.floor(next() * (bytes.length - 1)),
      );
      expect(await collect(streamOf(split([...new Set(cuts)]))), `round ${round}`).toEqual(expected);
    }
    const oneByOne = Array.from(bytes, (b) => new Uint8Array([b]));
    expect(await collect(streamOf(oneByOne))).toEqual(expected);
  });

  it('yields every event name of the protocol, and only those', async () => {
    const known = Object.values(StreamEvent).filter((name) => name !== 'done');
    const names = [...known, 'thread.run.step.queued', 'thread.message.cancelled', 'done'];
    const text = names.map((name) => `event: ${name}\ndata: {"name":"${name}"}\n\n`).join('');
    const events = await collect(streamOf([new TextEncoder().encode(text)]));
    // The two made-up names (well-formed, but not in the protocol) are skipped.
    expect(events.map((e) => e.event)).toEqual([...known, 'done']);
  });

  it('rejects data that is not JSON with a protocol error', async () => {
    const body = streamOf([new TextEncoder().encode('event: thread.run.created\ndata: {nope\n\n')]);
    const error = await collect(body).catch((e: unknown) => e);
    expect(isDialogueError(error) && error.code).toBe('protocol');
  });

  it('stops with an interrupted error when the signal aborts while waiting for data', async () => {
    const controller = new AbortController();
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode(`event: thread.run.created\ndata: ${run('queued')}\n\n`));
      },
      cancel() {
        cancelled = true;
      },
    });
    const seen: string[] = [];
    const result = (async () => {
      for await (const event of parseRunStream(body, controller.signal)) {
        seen.push(event.event);
        controller.abort();
      }
    })();
    const error = await result.catch((e: unknown) => e);
    expect(seen).toEqual(['thread.run.created']);
    expect(isDialogueError(error) && error.code).toBe('interrupted');
    // The body is cancelled (for fetch: the connection closed), not just left unread.
    await vi.waitFor(() => expect(cancelled).toBe(true));
  });
  it('ends a finished stream by reading the body to its end after [DONE], not by cancelling it', async () => {
    let cancelled = false;
    let close!: () => void;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode(`event: thread.run.completed\ndata: ${run('completed')}\n\n`));
        c.enqueue(new TextEncoder().encode('event: done\ndata: [DONE]\n\n'));
        close = () => c.close();
      },
      cancel() {
        cancelled = true;
      },
    });
    const events = collect(body);
    setTimeout(() => close(), 30);
    expect((await events).map((e) => e.event)).toEqual(['thread.run.completed', 'done']);
    expect(cancelled).toBe(false);
  });

  it('cancels a body a server keeps open after [DONE], after a bounded wait', async () => {
    vi.useFakeTimers();
    try {
      let cancelled = false;
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new TextEncoder().encode('data: [DONE]\n\n'));
        },
        cancel() {
          cancelled = true;
        },
      });
      const events = collect(body);
      await vi.advanceTimersByTimeAsync(2100);
      expect((await events).map((e) => e.event)).toEqual(['done']);
      expect(cancelled).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});
