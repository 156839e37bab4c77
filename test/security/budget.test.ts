/**
 * Budgets with the in-memory limiter (one proxy): 100 concurrent turns against a budget that allows 10
 * never spend more than it; a game-wide cost budget holds across 100 players; a player who hangs up
 * mid-answer still pays for what was streamed; the per-player concurrency cap holds; with canned
 * replies on, an over-budget NPC answers in character and the upstream is never asked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  as,
  devPlayer,
  eventually,
  expectError,
  FAKE_MODEL,
  parseSse,
  type Reply,
  type Started,
  startFakeUpstream,
  startProxy,
} from './support.ts';
import { attack, figure, reportFile, tally } from './tally.ts';

reportFile(import.meta.url);

const TERMINAL = ['completed', 'failed', 'cancelled', 'incomplete', 'expired'];

describe('100 concurrent turns, a daily budget of 10 requests (one player)', () => {
  let server: Started;
  beforeAll(async () => {
    server = await startProxy({ fake: true, env: { PARLEY_PLAYER_REQUESTS_PER_DAY: '10' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('grants at most 10; the upstream sees at most 10 requests', async () => {
    const whale = as(server.url, devPlayer('whale'));
    const assistant = (await whale('POST', '/v1/assistants', { name: 'Brom' })).json.id;
    const threads = await Promise.all(
      Array.from(
        { length: 100 },
        async () =>
          (await whale('POST', '/v1/threads', { messages: [{ role: 'user', content: 'Talk to me.' }] })).json
            .id,
      ),
    );
    const upstreamBefore = server.fake!.requests.length;
    const replies = await Promise.all(
      threads.map((thread) => whale('POST', `/v1/threads/${thread}/runs`, { assistant_id: assistant })),
    );
    const granted = replies.filter((r) => r.status === 200);
    const refused = replies.filter((r) => r.status === 429);
    for (const reply of refused) {
      expectError(reply, 429, 'budget_exceeded');
      expect(Number(reply.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect(granted.length + refused.length, 'every turn got 200 or 429').toBe(100);
    await eventually(
      async () => {
        const states = await Promise.all(
          granted.map(
            async (r) =>
              (await whale('GET', `/v1/threads/${r.json.thread_id}/runs/${r.json.id}`)).json.status,
          ),
        );
        return states.every((s) => TERMINAL.includes(s));
      },
      15_000,
      'granted runs to finish',
    );
    const upstream = server.fake!.requests.length - upstreamBefore;
    const usage = (await whale('GET', '/v1/usage')).json;
    tally('budget overspend: 100 turns vs 10 (memory)', 100, Math.max(0, granted.length - 10));
    figure(
      'memory limiter, 100 concurrent turns vs budget 10',
      `${granted.length} granted, ${upstream} upstream calls`,
    );
    expect(granted.length).toBeLessThanOrEqual(10);
    expect(granted.length).toBeGreaterThan(0);
    expect(upstream).toBeLessThanOrEqual(10);
    expect(usage.day.requests).toBeLessThanOrEqual(10);
  });

  it('a player who hangs up mid-answer pays for what was streamed', async () => {
    const leaver = as(server.url, devPlayer('leaver'));
    const assistant = (await leaver('POST', '/v1/assistants', { name: 'Brom' })).json.id;
    const words = Array.from({ length: 400 }, (_, i) => `word${i}`).join(' ');
    server.fake!.enqueue({ kind: 'text', text: words, delayMs: 5 });
    await attack('spend without paying (hang up mid-answer)', async () => {
      const controller = new AbortController();
      const response = await fetch(`${server.url}/v1/threads/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-parley-player': 'leaver' },
        body: JSON.stringify({
          assistant_id: assistant,
          stream: true,
          thread: { messages: [{ role: 'user', content: 'Tell me everything.' }] },
        }),
        signal: controller.signal,
      });
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      let seen = '';
      let threadId = '';
      let runId = '';
      while ((seen.match(/thread\.message\.delta/g)?.length ?? 0) < 200) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += decoder.decode(value, { stream: true });
        const created = parseSse(seen).find((f) => f.event === 'thread.run.created');
        if (created) ({ id: runId, thread_id: threadId } = JSON.parse(created.data));
      }
      controller.abort();
      await eventually(async () => {
        const run = await leaver('GET', `/v1/threads/${threadId}/runs/${runId}`);
        return TERMINAL.includes(run.json.status);
      });
      const usage = (await leaver('GET', '/v1/usage')).json;
      // 200 deltas of "wordN" are ~400 estimated tokens; charging only the prompt would be ~10.
      expect(usage.day.tokens, JSON.stringify(usage.day)).toBeGreaterThanOrEqual(200);
    });
  });
});

describe('a game-wide cost budget across 100 players (chat pass-through)', () => {
  let server: Started;
  beforeAll(async () => {
    server = await startProxy({
      fake: true,
      env: {
        // $1 per output token, nothing for input: a 10-token reply may cost at most $10.
        PARLEY_PRICES: JSON.stringify({ [FAKE_MODEL]: { input: 0, output: 1_000_000 } }),
        PARLEY_GLOBAL_COST_PER_DAY_USD: '100',
      },
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('the settled spend never exceeds the budget, however the turns interleave', async () => {
    const upstreamBefore = server.fake!.requests.length;
    const replies = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        as(server.url, devPlayer(`p${i}`))('POST', '/v1/chat/completions', {
          model: FAKE_MODEL,
          max_completion_tokens: 10,
          messages: [{ role: 'user', content: 'A line, please.' }],
        }),
      ),
    );
    const granted = replies.filter((r) => r.status === 200);
    for (const reply of replies.filter((r) => r.status !== 200)) expectError(reply, 429, 'budget_exceeded');
    // The fake upstream reports 7 completion tokens per reply: $7 each.
    const spent = granted.reduce((sum, r) => sum + (r.json.usage?.completion_tokens ?? 10), 0);
    const admin = (await as(server.url, devPlayer('p0'))('GET', '/v1/usage')).json;
    tally('budget overspend: 100 players vs $100 (memory)', 100, spent > 100 ? 1 : 0);
    figure('memory limiter, 100 players vs $100 game budget', `${granted.length} granted, $${spent} spent`);
    expect(spent).toBeLessThanOrEqual(100);
    expect(granted.length).toBeGreaterThanOrEqual(10);
    expect(server.fake!.requests.length - upstreamBefore).toBe(granted.length);
    expect(admin.player).toBe('dev:p0');
  });
});

describe('concurrency cap and canned replies', () => {
  let server: Started;
  beforeAll(async () => {
    const fake = await startFakeUpstream({
      defaultText: Array.from({ length: 20 }, (_, i) => `w${i}`).join(' '),
    });
    server = await startProxy({
      fake,
      env: {
        PARLEY_PLAYER_CONCURRENT_RUNS: '2',
        PARLEY_PLAYER_REQUESTS_PER_DAY: '4',
        PARLEY_BUDGET_CANNED_REPLY: '1',
      },
    });
  });
  afterAll(async () => {
    await server?.close();
    await server?.fake?.close();
  });

  const streamText = (reply: Reply) =>
    parseSse(reply.text)
      .filter((f) => f.event === 'thread.message.delta')
      .map((f) => JSON.parse(f.data).delta.content[0].text.value)
      .join('');

  it('six simultaneous turns of one player: two reach the upstream, the rest answer in character', async () => {
    const busy = as(server.url, devPlayer('busy'));
    const assistant = (await busy('POST', '/v1/assistants', { name: 'Brom' })).json.id;
    // Two slow answers queued: a third upstream request (a broken cap) would get the fast default.
    for (let i = 0; i < 2; i++)
      server.fake!.enqueue({ kind: 'text', text: 'slow answer '.repeat(10), delayMs: 20 });
    const before = server.fake!.requests.length;
    const replies = await Promise.all(
      Array.from({ length: 6 }, () =>
        busy('POST', '/v1/threads/runs', {
          assistant_id: assistant,
          stream: true,
          thread: { messages: [{ role: 'user', content: 'Hello?' }] },
        }),
      ),
    );
    const upstream = server.fake!.requests.length - before;
    tally('concurrency cap (2 in flight per player)', 6, Math.max(0, upstream - 2));
    expect(upstream).toBeLessThanOrEqual(2);
    const canned = replies.filter((r) => !streamText(r).startsWith('slow answer'));
    expect(canned.length).toBeGreaterThanOrEqual(4);
    for (const reply of canned) {
      expect(reply.status).toBe(200);
      expect(streamText(reply)).toMatch(/^\(Brom [a-z ]+\.\) /);
    }
  });

  it('over the daily budget, the NPC says a canned line and the upstream is not asked', async () => {
    const thrifty = as(server.url, devPlayer('thrifty'));
    const assistant = (await thrifty('POST', '/v1/assistants', { name: 'Brom' })).json.id;
    const turn = () =>
      thrifty('POST', '/v1/threads/runs', {
        assistant_id: assistant,
        stream: true,
        thread: { messages: [{ role: 'user', content: 'Hello?' }] },
      });
    for (let i = 0; i < 4; i++) expect((await turn()).status).toBe(200);
    await attack('over-budget turns reaching the upstream (canned)', async () => {
      const before = server.fake!.requests.length;
      const reply = await turn();
      expect(reply.status).toBe(200);
      expect(streamText(reply)).toMatch(/^\(Brom [a-z ]+\.\) /);
      expect(server.fake!.requests.length).toBe(before);
    });
  });
});
