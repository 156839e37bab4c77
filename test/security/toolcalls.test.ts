/**
 * Tool-call floods: a model (or a compromised upstream) asking for hundreds of tool calls in one run.
 * `maxToolCallsPerRun` must hold: the run fails instead of handing the game hundreds of calls, the
 * upstream generation is cut off as soon as the cap is passed (not paid for to the end), and what was
 * generated is still charged to the player. Also: caps on tools per assistant and tool outputs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  as,
  type Client,
  devPlayer,
  eventually,
  expectError,
  parseSse,
  policyFile,
  type Started,
  startProxy,
} from './support.ts';
import { attack, attackEach, reportFile } from './tally.ts';

reportFile(import.meta.url);

const CAP = 8;
let server: Started;
let P: Client;
let assistantId: string;

const calls = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ name: 'ring_bell', arguments: `{"times":${i}}` }));
const fn = (name: string) => ({ type: 'function', function: { name, parameters: { type: 'object' } } });

beforeAll(async () => {
  server = await startProxy({
    fake: true,
    env: { PARLEY_CONFIG: policyFile({ maxToolCallsPerRun: CAP, maxToolsPerAssistant: 16 }) },
  });
  P = as(server.url, devPlayer('flooder'));
  const assistant = await P('POST', '/v1/assistants', { name: 'Bellringer', tools: [fn('ring_bell')] });
  assistantId = assistant.json.id;
});
afterAll(async () => {
  await server?.close();
});

async function streamedRun(player: Client, assistant = assistantId) {
  const reply = await player('POST', '/v1/threads/runs', {
    assistant_id: assistant,
    stream: true,
    thread: { messages: [{ role: 'user', content: 'Ring the bell.' }] },
  });
  expect(reply.status, reply.text).toBe(200);
  const frames = parseSse(reply.text);
  const run = JSON.parse(frames.findLast((f) => f.event?.startsWith('thread.run.'))!.data);
  const callsShown = new Set(
    frames
      .filter((f) => f.event === 'thread.run.step.delta')
      .flatMap((f) =>
        JSON.parse(f.data).delta.step_details.tool_calls.map((c: { index: number }) => c.index),
      ),
  ).size;
  return { frames, run, callsShown };
}

describe(`maxToolCallsPerRun = ${CAP}`, () => {
  it(`exactly ${CAP} calls are handed to the game (control)`, async () => {
    server.fake!.enqueue({ kind: 'tools', calls: calls(CAP) });
    const { run } = await streamedRun(P);
    expect(run.status).toBe('requires_action');
    expect(run.required_action.submit_tool_outputs.tool_calls).toHaveLength(CAP);
    await P('POST', `/v1/threads/${run.thread_id}/runs/${run.id}/cancel`);
  });

  it('300 calls in one completion: the run fails and none of them is offered (streamed and not)', async () => {
    await attackEach(
      'tool-call floods',
      [true, false],
      (stream) => (stream ? 'streamed run' : 'polled run'),
      async (stream) => {
        server.fake!.enqueue({ kind: 'tools', calls: calls(300) });
        let run: {
          status: string;
          id: string;
          thread_id: string;
          required_action: unknown;
          last_error: unknown;
        };
        if (stream) {
          const result = await streamedRun(P);
          run = result.run;
          expect(result.frames.some((f) => f.event === 'thread.run.requires_action')).toBe(false);
        } else {
          const created = await P('POST', '/v1/threads/runs', {
            assistant_id: assistantId,
            thread: { messages: [{ role: 'user', content: 'Ring the bell.' }] },
          });
          run = await eventually(async () => {
            const current = await P('GET', `/v1/threads/${created.json.thread_id}/runs/${created.json.id}`);
            return ['failed', 'requires_action', 'completed'].includes(current.json.status)
              ? current.json
              : undefined;
          }, 15_000);
        }
        expect(run.status).toBe('failed');
        expect(run.required_action).toBeNull();
        expect(run.last_error).toMatchObject({ message: expect.stringContaining(`${CAP} tool calls`) });
        const steps = await P('GET', `/v1/threads/${run.thread_id}/runs/${run.id}/steps`);
        for (const step of steps.json.data) expect(step.status).not.toBe('in_progress');
      },
    );
  });

  it('the flood is cut off upstream as soon as the cap is passed, and never streamed to the player', async () => {
    await attack('tool-call floods', async () => {
      const abortedBefore = server.fake!.aborted;
      // Paced: 300 calls take several seconds to generate, so a cut-off shows.
      server.fake!.enqueue({ kind: 'tools', calls: calls(300), delayMs: 2 });
      const started = performance.now();
      const { run, callsShown } = await streamedRun(P);
      const elapsed = performance.now() - started;
      expect(run.status).toBe('failed');
      expect(callsShown, 'tool calls streamed to the player').toBeLessThanOrEqual(CAP + 1);
      await eventually(
        () => server.fake!.aborted > abortedBefore,
        2000,
        'the upstream request to be aborted',
      );
      expect(elapsed, 'ms until the run failed').toBeLessThan(1500);
    });
  });

  it('the tokens a failed flood consumed are charged to the player', async () => {
    const player = as(server.url, devPlayer('flood-payer'));
    const own = await player('POST', '/v1/assistants', { name: 'Bellringer', tools: [fn('ring_bell')] });
    await attack('tool-call floods', async () => {
      server.fake!.enqueue({ kind: 'tools', calls: calls(300), delayMs: 1 });
      const { run } = await streamedRun(player, own.json.id);
      expect(run.status).toBe('failed');
      const usage = await player('GET', '/v1/usage');
      // Charged, not refunded: the reservation is settled from what was generated.
      expect(usage.json.day.tokens, JSON.stringify(usage.json.day)).toBeGreaterThan(0);
      expect(usage.json.day.requests).toBe(1);
    });
  });

  it('the cap counts across tool-output rounds of one run', async () => {
    await attack('tool-call floods', async () => {
      server.fake!.enqueue({ kind: 'tools', calls: calls(5) });
      const first = (await streamedRun(P)).run;
      expect(first.status).toBe('requires_action');
      server.fake!.enqueue({ kind: 'tools', calls: calls(5) });
      const outputs = first.required_action.submit_tool_outputs.tool_calls.map((c: { id: string }) => ({
        tool_call_id: c.id,
        output: 'rung',
      }));
      const second = await P('POST', `/v1/threads/${first.thread_id}/runs/${first.id}/submit_tool_outputs`, {
        tool_outputs: outputs,
        stream: true,
      });
      const frames = parseSse(second.text);
      const final = JSON.parse(frames.findLast((f) => f.event?.startsWith('thread.run.'))!.data);
      expect(final.status).toBe('failed');
      expect(frames.some((f) => f.event === 'thread.run.requires_action')).toBe(false);
    });
  });
});

describe('caps on tools and tool outputs', () => {
  it('refuses too many tools per assistant or run, and oversized tool-output submissions', async () => {
    server.fake!.enqueue({ kind: 'tools', calls: calls(1) });
    const waiting = (await streamedRun(P)).run;
    const callId = waiting.required_action.submit_tool_outputs.tool_calls[0].id;
    const submit = `/v1/threads/${waiting.thread_id}/runs/${waiting.id}/submit_tool_outputs`;
    const many = (n: number) => Array.from({ length: n }, (_, i) => fn(`tool_${i}`));
    const cases: Array<[string, string, unknown]> = [
      ['assistant with 17 tools', '/v1/assistants', { tools: many(17) }],
      ['assistant with 129 tools', '/v1/assistants', { tools: many(129) }],
      ['assistant modified to 17 tools', `/v1/assistants/${assistantId}`, { tools: many(17) }],
      [
        'run overriding tools with 17',
        '/v1/threads/runs',
        {
          assistant_id: assistantId,
          tools: many(17),
          thread: { messages: [{ role: 'user', content: 'x' }] },
        },
      ],
      [
        '129 tool outputs',
        submit,
        { tool_outputs: Array.from({ length: 129 }, () => ({ tool_call_id: callId, output: 'x' })) },
      ],
      [
        'output for a call that was never made',
        submit,
        { tool_outputs: [{ tool_call_id: 'call_forged', output: 'x' }] },
      ],
      [
        'output of 512001 chars',
        submit,
        { tool_outputs: [{ tool_call_id: callId, output: 'x'.repeat(512_001) }] },
      ],
    ];
    await attackEach(
      'tool-call floods',
      cases,
      ([name]) => name,
      async ([, path, body]) => expectError(await P('POST', path, body), 400),
    );
    const still = await P('GET', `/v1/threads/${waiting.thread_id}/runs/${waiting.id}`);
    expect(still.json.status).toBe('requires_action');
  });
});
