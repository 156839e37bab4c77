import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RunChannel } from './channel.js';

/** A real HTTP server whose only route pipes `channel` from `?after=`. */
async function serve(
  channel: RunChannel,
): Promise<{ url: string; server: Server; responses: ServerResponse[] }> {
  const responses: ServerResponse[] = [];
  const server = createServer((req, res: ServerResponse) => {
    responses.push(res);
    const after = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('after') ?? 0);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    void channel.pipe(res, after);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, responses };
}

/** Reads a body to its end; the number of bytes it held. */
async function readAll(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<number> {
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return total;
    total += value.length;
  }
}

const ids = (text: string) => [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
const names = (text: string) => [...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1]);

let servers: Server[] = [];
afterEach(() => {
  for (const server of servers) server.close();
  servers = [];
});

describe('RunChannel', () => {
  it('numbers events from 1 and ends a reader at done', async () => {
    const channel = new RunChannel('run_1');
    channel.producing = true;
    channel.push('thread.run.created', { id: 'run_1' });
    const { url, server } = await serve(channel);
    servers.push(server);
    const reading = fetch(url).then((res) => res.text());
    setTimeout(() => {
      channel.push('thread.message.delta', { v: 'a' });
      channel.done();
      channel.push('thread.run.queued', { after: 'done' }); // a later segment: not part of this stream
    }, 20);
    const text = await reading;
    expect(ids(text)).toEqual([1, 2, 3]);
    expect(names(text)).toEqual(['thread.run.created', 'thread.message.delta', 'done']);
  });

  it('replays only what came after the reader’s last id, then follows live', async () => {
    const channel = new RunChannel('run_1');
    channel.producing = true;
    for (let i = 0; i < 5; i++) channel.push('thread.message.delta', { i });
    const { url, server } = await serve(channel);
    servers.push(server);
    const reading = fetch(`${url}?after=3`).then((res) => res.text());
    setTimeout(() => {
      channel.push('thread.message.delta', { i: 5 });
      channel.done();
    }, 20);
    expect(ids(await reading)).toEqual([4, 5, 6, 7]);
  });

  it('closes with a lone done when nothing is being produced and the log is exhausted', async () => {
    const channel = new RunChannel('run_1');
    channel.push('thread.run.requires_action', {});
    channel.done();
    const { url, server } = await serve(channel);
    servers.push(server);
    const text = await fetch(`${url}?after=2`).then((res) => res.text());
    expect(names(text)).toEqual(['done']);
  });

  it('tells the engine when its last reader leaves mid-run', async () => {
    const channel = new RunChannel('run_1');
    channel.producing = true;
    let abandoned = 0;
    channel.onAbandoned = () => abandoned++;
    channel.push('thread.run.created', {});
    const { url, server } = await serve(channel);
    servers.push(server);
    const controller = new AbortController();
    const res = await fetch(url, { signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read();
    expect(channel.readers).toBe(1);
    controller.abort();
    for (let i = 0; i < 50 && abandoned === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(abandoned).toBe(1);
    expect(channel.readers).toBe(0);
  });

  it('waits for drain instead of buffering without bound for a slow reader', async () => {
    const channel = new RunChannel('run_1');
    channel.producing = true;
    const big = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 200; i++) channel.push('thread.message.delta', { big });
    channel.done();
    const { url, server, responses } = await serve(channel);
    servers.push(server);
    const res = await fetch(url);
    const reader = res.body!.getReader();
    await reader.read(); // read a little, then stall
    await new Promise((r) => setTimeout(r, 100));
    // 12.5 MB are waiting in the log; what the response itself holds stays near one high-water mark.
    expect(responses[0]!.writableLength).toBeLessThan(256 * 1024);
    const total = await readAll(reader);
    expect(total).toBeGreaterThan(200 * 64 * 1024 - 256 * 1024);
  });

  it('stays bounded for a stalled reader while the run is still producing, a few events a tick', async () => {
    const channel = new RunChannel('run_1');
    channel.producing = true;
    channel.push('thread.run.created', { id: 'run_1' });
    const { url, server, responses } = await serve(channel);
    servers.push(server);
    const res = await fetch(url);
    const reader = res.body!.getReader();
    await reader.read(); // read a little, then stall
    // 8 MB arrive live, three 2 KB events a tick, as a fast upstream delivers them.
    const word = 'x'.repeat(2048);
    for (let i = 0; i < 4000; i++) {
      for (let k = 0; k < 3; k++) channel.push('thread.message.delta', { word });
      await new Promise((r) => setImmediate(r));
    }
    expect(responses[0]!.writableLength).toBeLessThan(256 * 1024);
    channel.done();
    const total = await readAll(reader);
    expect(total).toBeGreaterThan(12_000 * 2048);
  }, 30_000);

  it('sends the events logged in one tick as one write', async () => {
    const channel = new RunChannel('run_1');
    channel.producing = true;
    channel.push('thread.run.created', { id: 'run_1' });
    const { url, server, responses } = await serve(channel);
    servers.push(server);
    const reading = fetch(url).then((res) => res.text());
    await new Promise((r) => setTimeout(r, 20));
    const res = responses[0]!;
    let writes = 0;
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    res.write = ((...args: unknown[]) => {
      writes++;
      return write(...args);
    }) as typeof res.write;
    for (let i = 0; i < 7; i++) channel.push('thread.run.step.created', { i });
    await new Promise((r) => setTimeout(r, 20));
    expect(writes).toBe(1);
    channel.done();
    expect(ids(await reading)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
