// What both multi-instance files share: the lease timings the instances run with, their environment, and
// the fake upstream's answers, chosen from each request so that concurrent conversations each get theirs.
import type { FakeUpstream, Script } from '../support/fake-upstream.ts';
import { call } from '../support/instances.ts';
import { UNLIMITED } from '../support/limits.ts';
import { postgresAvailable } from '../support/postgres.ts';
import { redisAvailable } from '../support/redis.ts';

/** In CI a missing server is a failure (the helpers throw); elsewhere the suite is skipped. */
export const RUN_SUITE = (postgresAvailable() && redisAvailable()) || process.env['CI'] === '1';

/** A short lease, so that "within the lease" takes seconds, not the default ~15 s. */
export const LEASE_MS = 2000;
/** How often each instance looks for runs whose holder's lease lapsed. */
export const SWEEP_MS = 500;
/**
 * The longest a dead instance's runs, threads and slots may stay held: the lease, one sweep, and slack
 * for a loaded two-core CI machine.
 */
export const WITHIN_LEASE_MS = LEASE_MS + SWEEP_MS + 1500;

/** A `[parley] warn …` line that names REDIS_URL: the misconfiguration warning. */
export const REDIS_WARNING = /^\[parley\] warn .*REDIS_URL/m;

/** Environment of an instance: the fake upstream, no budgets unless `extra` sets some, short leases. */
export function instanceEnv(fake: FakeUpstream, extra: Record<string, string> = {}): Record<string, string> {
  return {
    OPENAI_BASE_URL: fake.url,
    OPENAI_API_KEY: 'sk-test-multi-instance',
    PARLEY_MODEL: 'fake-model',
    PARLEY_UPSTREAM_RETRIES: '0',
    ...UNLIMITED,
    PARLEY_LEASE_MS: String(LEASE_MS),
    PARLEY_SWEEP_MS: String(SWEEP_MS),
    ...extra,
  };
}

/** The words a `[slow:N]` request is answered with. */
export const slowText = (words: number): string =>
  Array.from({ length: words }, (_, i) => `slow${i}`).join(' ');

/** What the fake model answers once it has the tool's output. */
export const TOOL_REPLY = 'The north gate is open.';

/** Milliseconds between the words of a `[slow:N]` answer. */
export const WORD_GAP_MS = 50;

/**
 * The fake upstream's answer, from the last user line: `[slow:N]` streams N words 50 ms apart; `[tool]`
 * calls `open_gate` until a tool output is in the conversation, then says {@link TOOL_REPLY}; anything
 * else gets the fake's default echo at once.
 */
export function respond(body: Record<string, unknown>): Script | undefined {
  const messages = (body['messages'] as Array<{ role: string; content: unknown }> | undefined) ?? [];
  const user = [...messages].reverse().find((message) => message.role === 'user');
  const line = typeof user?.content === 'string' ? user.content : '';
  const slow = /\[slow:(\d+)\]/.exec(line);
  if (slow) return { kind: 'text', text: slowText(Number(slow[1])), delayMs: WORD_GAP_MS };
  if (line.includes('[tool]')) {
    if (messages.some((message) => message.role === 'tool')) return { kind: 'text', text: TOOL_REPLY };
    return { kind: 'tools', calls: [{ name: 'open_gate', arguments: '{"gate":"north"}' }] };
  }
  return undefined;
}

/** The function tool `[tool]` requests call. */
export const OPEN_GATE = {
  type: 'function',
  function: {
    name: 'open_gate',
    description: 'Open the named town gate.',
    parameters: { type: 'object', properties: { gate: { type: 'string' } } },
  },
} as const;

/** Creates an assistant for `player` on the instance at `url` and returns its id. */
export async function assistant(url: string, player: string, tools: unknown[] = []): Promise<string> {
  const reply = await call(url, player, 'POST', '/v1/assistants', {
    name: 'Brom',
    instructions: 'You are Brom, the gate guard.',
    tools,
  });
  if (reply.status !== 200) throw new Error(`assistant: ${reply.status} ${reply.text}`);
  return reply.json.id as string;
}

/** Creates a thread holding one user line and returns its id. */
export async function thread(url: string, player: string, line: string): Promise<string> {
  const reply = await call(url, player, 'POST', '/v1/threads', {
    messages: [{ role: 'user', content: line }],
  });
  if (reply.status !== 200) throw new Error(`thread: ${reply.status} ${reply.text}`);
  return reply.json.id as string;
}

/** The statuses in which a run still holds its thread. */
export const ACTIVE = ['queued', 'in_progress', 'requires_action', 'cancelling'];
