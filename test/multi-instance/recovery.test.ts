/**
 * Orphaned runs are recovered exactly once however many instances sweep at the same moment: three instances
 * sweeping every few milliseconds find a killed instance's runs together, and the database lets exactly one
 * of them end each executing run (one `thread.run.failed`, one `done` in its log) and adopt each waiting run
 * (which then still expires on time, and still takes its tool outputs once).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import {
  call,
  deltaText,
  type Event,
  events,
  eventually,
  follow,
  Instance,
  sleep,
} from '../support/instances.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';
import { startRedis, type TestRedis } from '../support/redis.ts';
import {
  assistant,
  instanceEnv,
  OPEN_GATE,
  RUN_SUITE,
  respond,
  TOOL_REPLY,
  thread,
  WITHIN_LEASE_MS,
} from './cluster.ts';

/** The shortest sweep the proxy accepts: the three sweepers keep colliding on the same orphans. */
const RACE_SWEEP_MS = 100;
/** How long the killed instance's waiting runs wait for tool outputs. */
const EXPIRES_SECONDS = 10;

const runsPath = (threadId: string) => `/v1/threads/${threadId}/runs`;
const isDelta = (event: Event) => event.event === 'thread.message.delta';

/** Every event of a run's log after `after`, up to its `done`, read through `url`. */
async function logAfter(url: string, player: string, path: string, after: number): Promise<Event[]> {
  const seen: Event[] = [];
  for await (const event of events(url, player, 'GET', `${path}/events`, undefined, {
    headers: { 'last-event-id': String(after) },
    signal: AbortSignal.timeout(5000),
  }))
    seen.push(event);
  return seen;
}

/**
 * Asserts the log of a run that ended `status` ends once: after `after`, its ending and one `done`, and
 * past that `done` nothing but the same `done` again (a second recovery would append a second ending).
 */
async function expectOneEnding(
  url: string,
  player: string,
  path: string,
  after: number,
  status: string,
  before: string[] = [],
) {
  const ending = await logAfter(url, player, path, after);
  expect(ending.filter((e) => /^thread\.run\.[a-z_]+$/.test(e.event)).map((e) => e.event)).toEqual([
    ...before,
    `thread.run.${status}`,
  ]);
  expect(ending.at(-1)?.event).toBe('done');
  const done = ending.at(-1)!;
  const beyond = await logAfter(url, player, path, done.id!);
  expect(beyond.map((e) => [e.event, e.id])).toEqual([['done', done.id]]);
}

describe.runIf(RUN_SUITE)('orphaned runs recovered once by three instances sweeping at once', () => {
  let postgres: TestPostgres;
  let redis: TestRedis;
  let fake: FakeUpstream;
  const sweepers: Instance[] = [];
  /** Instances that do not sweep (after their start-up): only requests take a dead instance's runs over. */
  const idlers: Instance[] = [];
  let doomed: Instance | undefined;
  const env = (extra: Record<string, string> = {}) =>
    instanceEnv(fake, {
      DATABASE_URL: postgres.url,
      REDIS_URL: redis.url,
      PARLEY_SWEEP_MS: String(RACE_SWEEP_MS),
      PARLEY_RUN_EXPIRES_SECONDS: String(EXPIRES_SECONDS),
      ...extra,
    });

  beforeAll(async () => {
    [postgres, redis, fake] = await Promise.all([
      startPostgres(),
      startRedis(),
      startFakeUpstream({ respond }),
    ]);
    // One after the other: each migrates the database at start-up.
    for (const name of ['X', 'Y', 'Z']) sweepers.push(await Instance.start({ name, env: env() }));
  }, 90_000);

  afterAll(async () => {
    await Promise.all([...sweepers, ...idlers, doomed].map((instance) => instance?.dispose()));
    await fake?.close();
    await redis?.stop();
    await postgres?.stop();
  });

  /** A fresh instance to kill, so that each test's orphans are its own. */
  const startDoomed = async (name: string) => {
    await doomed?.dispose();
    doomed = await Instance.start({ name, env: env() });
    return doomed;
  };

  it('kill -9 mid-stream: each of 12 orphaned runs fails once (one ending, one done in its log)', async () => {
    const player = 'orphans-streaming';
    const k = await startDoomed('K1');
    const assistantId = await assistant(k.url, player);
    const threads = await Promise.all(Array.from({ length: 12 }, () => thread(k.url, player, '[slow:400]')));
    const streams = threads.map((threadId) =>
      follow(events(k.url, player, 'POST', runsPath(threadId), { assistant_id: assistantId, stream: true })),
    );
    await Promise.all(streams.map((stream) => stream.until(isDelta)));
    const runs = streams.map((stream, i) => ({ threadId: threads[i]!, runId: stream.runId() }));

    await k.kill();
    // The last event each player saw: their resume starts there.
    const lastSeen = streams.map((stream) => stream.seen.at(-1)?.id ?? 0);
    for (const [i, { threadId, runId }] of runs.entries()) {
      const path = `${runsPath(threadId)}/${runId}`;
      const via = sweepers[i % sweepers.length]!.url;
      await eventually(
        async () => (await call(via, player, 'GET', path)).json.status === 'failed',
        WITHIN_LEASE_MS + 5000,
        `run ${i} to fail`,
      );
      await expectOneEnding(via, player, path, lastSeen[i]!, 'failed');
    }
    // Every thread is free again, through any instance.
    for (const [i, { threadId }] of runs.entries()) {
      const next = await call(sweepers[(i + 1) % sweepers.length]!.url, player, 'POST', runsPath(threadId), {
        assistant_id: assistantId,
        additional_messages: [{ role: 'user', content: 'Still there?' }],
      });
      expect(next.status, next.text).toBe(200);
    }
  }, 60_000);

  /** Runs of `k` waiting for tool outputs, each on its own thread asking with its own line. */
  const waitingRuns = async (k: Instance, player: string, assistantId: string, lines: string[]) =>
    Promise.all(
      lines.map(async (line) => {
        const threadId = await thread(k.url, player, line);
        const seen: Event[] = [];
        for await (const event of events(k.url, player, 'POST', runsPath(threadId), {
          assistant_id: assistantId,
          stream: true,
        }))
          seen.push(event);
        const action = seen.find((e) => e.event === 'thread.run.requires_action');
        if (!action) throw new Error(`no requires_action: ${seen.map((e) => e.event).join(' ')}`);
        return { threadId, run: JSON.parse(action.data), lastSeen: seen.at(-1)?.id ?? 0 };
      }),
    );

  it('kill -9 while 30 runs wait for tool outputs: each is adopted once, expires on time, and takes outputs once', async () => {
    const player = 'orphans-waiting';
    const k = await startDoomed('K2');
    const assistantId = await assistant(k.url, player, [OPEN_GATE]);
    const marker = (i: number) => `[tool] open the north gate (${Date.now()}-${i})`;
    const lines = Array.from({ length: 30 }, (_, i) => marker(i));
    const waiting = await waitingRuns(k, player, assistantId, lines);

    await k.kill();
    // Adopted by now (the lease lapsed and everyone swept many times), and far from expiring.
    await sleep(WITHIN_LEASE_MS);
    const [first, ...rest] = waiting;
    expect(Date.now() / 1000).toBeLessThan(first!.run.expires_at - 2);
    // Tool outputs through one instance continue the first run once.
    const outputs = first!.run.required_action.submit_tool_outputs.tool_calls.map((tc: { id: string }) => ({
      tool_call_id: tc.id,
      output: '{"opened":true}',
    }));
    const firstPath = `${runsPath(first!.threadId)}/${first!.run.id}`;
    const continued: Event[] = [];
    for await (const event of events(sweepers[2]!.url, player, 'POST', `${firstPath}/submit_tool_outputs`, {
      tool_outputs: outputs,
      stream: true,
    }))
      continued.push(event);
    expect(continued.map((e) => e.event)).toContain('thread.run.completed');
    expect(deltaText(continued)).toBe(TOOL_REPLY);

    // The others are nobody's business but their adopter's: each must expire when its time is up.
    const deadline = Math.max(...rest.map((w) => w.run.expires_at as number)) * 1000 + 3000;
    for (const [i, { threadId, run }] of rest.entries()) {
      const path = `${runsPath(threadId)}/${run.id}`;
      const via = sweepers[i % sweepers.length]!.url;
      await eventually(
        async () => (await call(via, player, 'GET', path)).json.status === 'expired',
        Math.max(1000, deadline - Date.now()),
        `waiting run ${i + 1} to expire`,
      );
    }
    for (const [i, { threadId, run, lastSeen }] of rest.entries()) {
      const path = `${runsPath(threadId)}/${run.id}`;
      await expectOneEnding(sweepers[i % sweepers.length]!.url, player, path, lastSeen, 'expired');
    }

    await sleep(RACE_SWEEP_MS * 10);
    const firstRun = await call(sweepers[0]!.url, player, 'GET', firstPath);
    expect(firstRun.json.status).toBe('completed');
    const messages = await call(sweepers[1]!.url, player, 'GET', `/v1/threads/${first!.threadId}/messages`);
    expect(messages.json.data.filter((m: { role: string }) => m.role === 'assistant')).toHaveLength(1);
    expect(fake.requests.filter((r) => JSON.stringify(r.body['messages']).includes(lines[0]!))).toHaveLength(
      2,
    );
  }, 60_000);

  // Continuing a waiting run is decided by the database (RunRegistry.resume): of two requests through two
  // instances at once, one continues it and the other is told it is being continued.
  it('tool outputs (or a cancel) through two instances at once for a dead instance’s waiting run: taken over once', async () => {
    // Nobody sweeps from here on: only the requests below take the runs over, all at the same moment.
    await Promise.all(sweepers.map((instance) => instance.stop()));
    for (const name of ['P', 'Q'])
      idlers.push(await Instance.start({ name, env: env({ PARLEY_SWEEP_MS: '600000' }) }));
    const [p, q] = idlers as [Instance, Instance];
    const player = 'orphans-twice';
    const k = await startDoomed('K3');
    const assistantId = await assistant(k.url, player, [OPEN_GATE]);
    const lines = Array.from(
      { length: 12 },
      (_, i) => `[tool] open the north gate (${Date.now()}-twice-${i})`,
    );
    const waiting = await waitingRuns(k, player, assistantId, lines);
    await k.kill();
    await sleep(WITHIN_LEASE_MS); // K's lease has lapsed: its runs are nobody's

    const continuing = waiting.slice(0, 6);
    const cancelling = waiting.slice(6);
    await Promise.all([
      ...continuing.map(async ({ threadId, run }) => {
        const outputs = run.required_action.submit_tool_outputs.tool_calls.map((tc: { id: string }) => ({
          tool_call_id: tc.id,
          output: '{"opened":true}',
        }));
        const path = `${runsPath(threadId)}/${run.id}/submit_tool_outputs`;
        const replies = await Promise.all(
          [p, q].map((instance) => call(instance.url, player, 'POST', path, { tool_outputs: outputs })),
        );
        expect(replies.map((r) => r.status).sort(), replies.map((r) => r.text).join('\n')).toEqual([
          200, 400,
        ]);
        expect(replies.find((r) => r.status === 400)!.json.error.code).toBe('invalid_run_state');
      }),
      ...cancelling.map(async ({ threadId, run }) => {
        const path = `${runsPath(threadId)}/${run.id}/cancel`;
        const replies = await Promise.all([p, q].map((instance) => call(instance.url, player, 'POST', path)));
        for (const reply of replies)
          expect(['cancelling', 'cancelled'], reply.text).toContain(reply.json.status);
      }),
    ]);

    for (const [i, { threadId, run }] of continuing.entries()) {
      const path = `${runsPath(threadId)}/${run.id}`;
      await eventually(
        async () => (await call(p.url, player, 'GET', path)).json.status === 'completed',
        5000,
        `continued run ${i} to complete`,
      );
      const messages = await call(q.url, player, 'GET', `/v1/threads/${threadId}/messages`);
      expect(messages.json.data.filter((m: { role: string }) => m.role === 'assistant')).toHaveLength(1);
      expect(
        fake.requests.filter((r) => JSON.stringify(r.body['messages']).includes(lines[i]!)),
      ).toHaveLength(2);
    }
    for (const [i, { threadId, run, lastSeen }] of cancelling.entries()) {
      const path = `${runsPath(threadId)}/${run.id}`;
      await eventually(
        async () => (await call(q.url, player, 'GET', path)).json.status === 'cancelled',
        5000,
        `cancelled run ${i} to end`,
      );
      // Cancelled once: one `cancelling`, then one `cancelled` (two cancels acting would log two of each).
      await expectOneEnding(p.url, player, path, lastSeen, 'cancelled', ['thread.run.cancelling']);
    }
  }, 90_000);
});
