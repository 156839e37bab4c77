/**
 * Two proxy instances sharing one Redis (budgets) and one PostgreSQL (objects), as in a horizontally
 * scaled deployment: 100 concurrent turns split across both against a game budget that allows 10 never
 * spend more; one player's concurrency cap and an operator's block hold across instances; ownership
 * holds across instances.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresAvailable, startPostgres, type TestPostgres } from '../support/postgres.ts';
import { redisAvailable, startRedis, type TestRedis } from '../support/redis.ts';
import {
  ADMIN_TOKEN,
  as,
  bearer,
  type Client,
  devPlayer,
  eventually,
  expectError,
  type FakeUpstream,
  type Started,
  startFakeUpstream,
  startProxy,
} from './support.ts';
import { attack, figure, reportFile, tally } from './tally.ts';

reportFile(import.meta.url);

const available = redisAvailable() && postgresAvailable();
// In CI a missing server is a failure (the helpers throw), elsewhere the block is skipped.
const run = available || process.env['CI'] === '1';
const TERMINAL = ['completed', 'failed', 'cancelled', 'incomplete', 'expired'];

describe.runIf(run)('two instances, one Redis, one PostgreSQL', () => {
  let redis: TestRedis;
  let postgres: TestPostgres;
  let fake: FakeUpstream;
  let one: Started;
  let two: Started;

  beforeAll(async () => {
    [redis, postgres, fake] = await Promise.all([startRedis(), startPostgres(), startFakeUpstream()]);
    const env = {
      REDIS_URL: redis.url,
      DATABASE_URL: postgres.url,
      PARLEY_GLOBAL_REQUESTS_PER_DAY: '10',
      PARLEY_PLAYER_CONCURRENT_RUNS: '1',
      PARLEY_ADMIN_TOKEN: ADMIN_TOKEN,
    };
    // One after the other: both run the store's migrations at start-up.
    one = await startProxy({ fake, env });
    two = await startProxy({ fake, env });
  }, 120_000);
  afterAll(async () => {
    await one?.close();
    await two?.close();
    await fake?.close();
    await redis?.stop();
    await postgres?.stop();
  });

  it('100 concurrent turns split across both instances: at most 10 granted in all', async () => {
    const players = Array.from({ length: 100 }, (_, i) => `p${i}`);
    // Each player's thread is created on one instance and run on the other: the store is shared too.
    const prepared = await Promise.all(
      players.map(async (name, i) => {
        const creator = as((i % 2 ? one : two).url, devPlayer(name));
        const runner = as((i % 2 ? two : one).url, devPlayer(name));
        const assistant = (await creator('POST', '/v1/assistants', { name: 'Brom' })).json.id;
        const thread = (await creator('POST', '/v1/threads', { messages: [{ role: 'user', content: 'Hi' }] }))
          .json.id;
        return { runner, assistant, thread, instance: i % 2 ? 'two' : 'one' };
      }),
    );
    const upstreamBefore = fake.requests.length;
    const replies = await Promise.all(
      prepared.map(async (p) => ({
        ...p,
        reply: await p.runner('POST', `/v1/threads/${p.thread}/runs`, { assistant_id: p.assistant }),
      })),
    );
    const granted = replies.filter((r) => r.reply.status === 200);
    for (const r of replies.filter((x) => x.reply.status !== 200))
      expectError(r.reply, 429, 'budget_exceeded');
    await eventually(
      async () => {
        const states = await Promise.all(
          granted.map(
            async (r) =>
              (await r.runner('GET', `/v1/threads/${r.thread}/runs/${r.reply.json.id}`)).json.status,
          ),
        );
        return states.every((s) => TERMINAL.includes(s));
      },
      20_000,
      'granted runs to finish',
    );
    const upstream = fake.requests.length - upstreamBefore;
    const total = (await as(one.url, bearer(ADMIN_TOKEN))('GET', '/v1/admin/usage')).json;
    const split = `${granted.filter((g) => g.instance === 'one').length}/${granted.filter((g) => g.instance === 'two').length}`;
    tally('budget overspend: 100 turns vs 10 (2 instances, Redis)', 100, Math.max(0, granted.length - 10));
    figure(
      'Redis limiter, 2 instances, 100 concurrent turns vs budget 10',
      `${granted.length} granted (instance one/two: ${split}), ${upstream} upstream calls`,
    );
    expect(granted.length).toBeLessThanOrEqual(10);
    expect(granted.length).toBeGreaterThan(0);
    expect(upstream).toBeLessThanOrEqual(10);
    expect(total.day.requests).toBeLessThanOrEqual(10);
  });

  it("one player's concurrency cap holds across instances", async () => {
    // The daily game budget is spent by now; give this test its own room by lifting the block on it.
    await redisFlush(redis);
    const player = 'double-dipper';
    const clients: Client[] = [as(one.url, devPlayer(player)), as(two.url, devPlayer(player))];
    const assistant = (await clients[0]!('POST', '/v1/assistants', { name: 'Brom' })).json.id;
    fake.enqueue(
      { kind: 'text', text: 'slow '.repeat(30), delayMs: 20 },
      { kind: 'text', text: 'slow '.repeat(30), delayMs: 20 },
    );
    await attack('concurrency cap across instances', async () => {
      const replies = await Promise.all(
        clients.map((client) =>
          client('POST', '/v1/threads/runs', {
            assistant_id: assistant,
            stream: true,
            thread: { messages: [{ role: 'user', content: 'Hi' }] },
          }),
        ),
      );
      const statuses = replies.map((r) => r.status).sort();
      expect(statuses).toEqual([200, 429]);
      expectError(replies.find((r) => r.status === 429)!, 429, 'rate_limit_exceeded');
    });
  });

  it('an operator block on one instance holds on the other', async () => {
    const admin = as(one.url, bearer(ADMIN_TOKEN));
    const blocked = as(two.url, devPlayer('blocked-player'));
    const assistant = (await blocked('POST', '/v1/assistants', { name: 'Brom' })).json.id;
    expect(
      (await admin('POST', '/v1/admin/block', { player: 'dev:blocked-player', blocked: true })).status,
    ).toBe(200);
    await attack('operator block across instances', async () => {
      const reply = await blocked('POST', '/v1/threads/runs', {
        assistant_id: assistant,
        thread: { messages: [{ role: 'user', content: 'Hi' }] },
      });
      expectError(reply, 429, 'budget_exceeded');
    });
  });

  it("ownership holds across instances: B cannot reach A's thread through either", async () => {
    const a = as(one.url, devPlayer('alice'));
    const thread = (await a('POST', '/v1/threads', { metadata: { secret: 'alice-only' } })).json.id;
    await attack('cross-player id probes (404)', async () => {
      expect((await as(two.url, devPlayer('alice'))('GET', `/v1/threads/${thread}`)).status).toBe(200);
      for (const base of [one.url, two.url]) {
        const reply = await as(base, devPlayer('bob'))('GET', `/v1/threads/${thread}`);
        expectError(reply, 404, 'not_found');
        expect(reply.text).not.toContain('alice-only');
      }
    });
  });
});

/** Empties the shared Redis (a new day, as far as the budgets know). */
async function redisFlush(redis: TestRedis): Promise<void> {
  const { connect } = await import('node:net');
  await new Promise<void>((resolve, reject) => {
    const socket = connect(redis.port, '127.0.0.1', () => socket.write('FLUSHALL\r\n'));
    socket.on('data', () => {
      socket.end();
      resolve();
    });
    socket.on('error', reject);
  });
}
