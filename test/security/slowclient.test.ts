/**
 * Slow clients: a player whose client never reads a long stream cannot make the proxy buffer it. The
 * proxy writes with back-pressure, so the bytes queued on the response (`res.writableLength`, watched
 * on every write of the in-process proxy) stay bounded while the stream is tens of megabytes, for runs
 * and for the chat pass-through; and the stalled reader holds no one else up.
 */

import type { ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  as,
  type Client,
  devPlayer,
  eventually,
  FAKE_MODEL,
  type Started,
  sleep,
  startProxy,
} from './support.ts';
import { attack, figure, reportFile } from './tally.ts';

reportFile(import.meta.url);

/** 12,000 "words" of 2 KB each: a reply of about 24 MB, far beyond the kernel's socket buffers. */
const WORDS = 12_000;
const HUGE = Array.from({ length: WORDS }, (_, i) => `${i}${'x'.repeat(2048)}`).join(' ');
const BOUND = 1024 * 1024;

let server: Started;
let P: Client;
let npc: string;
const watched = new Map<string, { res: ServerResponse; maxBuffered: number; written: number }>();

beforeAll(async () => {
  server = await startProxy({ fake: true, env: { PARLEY_RESUME_GRACE_MS: '60000' } });
  P = as(server.url, devPlayer('sloth'));
  npc = (await P('POST', '/v1/assistants', { name: 'Brom' })).json.id;
  // Watch every response: after each write, how many bytes wait in the proxy's memory for the socket.
  server.proxy.server.on('request', (req, res: ServerResponse) => {
    const entry = { res, maxBuffered: 0, written: 0 };
    watched.set(String(req.headers['x-probe'] ?? ''), entry);
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    res.write = ((...args: unknown[]) => {
      const ok = write(...args);
      const chunk = args[0] as string | Buffer;
      entry.written += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
      entry.maxBuffered = Math.max(entry.maxBuffered, res.writableLength);
      return ok;
    }) as ServerResponse['write'];
  });
});
afterAll(async () => {
  await server?.close();
});

/** Sends a request over a raw socket and then never reads a byte of the answer. */
function neverRead(path: string, body: unknown, probe: string, headers = ''): Socket {
  const { port } = new URL(server.url);
  const payload = JSON.stringify(body);
  const socket = connect(Number(port), '127.0.0.1', () => {
    socket.write(
      `POST ${path} HTTP/1.1\r\nHost: x\r\nX-Parley-Player: sloth\r\nX-Probe: ${probe}\r\n${headers}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`,
    );
    socket.pause();
  });
  socket.on('error', () => {});
  return socket;
}

describe('a client that never reads', () => {
  it('a streamed run: the proxy queues a bounded amount, however long the answer', async () => {
    const thread = (await P('POST', '/v1/threads', { messages: [{ role: 'user', content: 'Everything.' }] }))
      .json.id;
    server.fake!.enqueue({ kind: 'text', text: HUGE });
    // A grace period keeps the run alive for the stalled reader (the test is about buffering).
    const socket = neverRead(
      `/v1/threads/${thread}/runs`,
      { assistant_id: npc, stream: true },
      'run',
      'Parley-Resume-Grace-Ms: 60000\r\n',
    );
    try {
      await attack('slow client buffering', async () => {
        // The run finishes upstream (its log is complete) while the reader has taken almost nothing.
        const entry = await eventually(() => watched.get('run'), 5000, 'the request');
        await eventually(
          async () => {
            const runs = await P('GET', `/v1/threads/${thread}/runs`);
            return runs.json.data?.[0]?.status === 'completed';
          },
          30_000,
          'the run to complete upstream',
        );
        await sleep(200);
        figure(
          'never-reading client, streamed run',
          `${(entry.written / 1e6).toFixed(1)} MB written to the socket of a ~${((WORDS * 2.2e3) / 1e6).toFixed(0)} MB stream, at most ${(entry.maxBuffered / 1024).toFixed(0)} KiB queued in the proxy`,
        );
        expect(entry.maxBuffered, 'bytes queued in the proxy for the socket').toBeLessThan(BOUND);
        expect(entry.res.writableEnded, 'the whole stream was pushed into memory').toBe(false);
        expect(entry.written).toBeLessThan(WORDS * 2048);
        // Other players are served meanwhile.
        expect((await as(server.url, devPlayer('other'))('GET', '/healthz')).status).toBe(200);
      });
    } finally {
      socket.destroy();
    }
  }, 60_000);

  it('chat pass-through: the proxy stops reading the upstream instead of buffering it', async () => {
    server.fake!.enqueue({ kind: 'text', text: HUGE });
    const socket = neverRead(
      '/v1/chat/completions',
      { model: FAKE_MODEL, stream: true, messages: [{ role: 'user', content: 'Everything.' }] },
      'chat',
    );
    try {
      await attack('slow client buffering', async () => {
        const entry = await eventually(() => watched.get('chat'), 5000, 'the request');
        await eventually(() => entry.written > 0, 5000, 'the stream to start');
        await sleep(2000);
        const written = entry.written;
        await sleep(500);
        figure(
          'never-reading client, chat pass-through',
          `${(entry.written / 1e6).toFixed(1)} MB written, at most ${(entry.maxBuffered / 1024).toFixed(0)} KiB queued in the proxy`,
        );
        expect(entry.maxBuffered).toBeLessThan(BOUND);
        expect(entry.written - written, 'still writing to a socket nobody reads').toBeLessThan(BOUND);
        expect(entry.res.writableEnded).toBe(false);
      });
    } finally {
      socket.destroy();
    }
  }, 60_000);
});
