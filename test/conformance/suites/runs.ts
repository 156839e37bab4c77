import { BadRequestError } from 'openai';
import type { AssistantStreamEvent } from 'openai/resources/beta/assistants';
import type { Run } from 'openai/resources/beta/threads/runs/runs';
import { beforeAll, expect, it } from 'vitest';
import {
  collectSse,
  deltaText,
  eventually,
  expectShape,
  type Harness,
  isTerminal,
  postJson,
  type SharedHarnesses,
  waitForRun,
} from '../../support/proxy.js';

const TEXT_ORDER = [
  'thread.run.created',
  'thread.run.queued',
  'thread.run.in_progress',
  'thread.run.step.created',
  'thread.run.step.in_progress',
  'thread.message.created',
  'thread.message.in_progress',
  'thread.message.delta',
  'thread.message.completed',
  'thread.run.step.completed',
  'thread.run.completed',
];

/** Collapses runs of `thread.message.delta` (and step deltas) into one entry. */
function collapse(names: string[]): string[] {
  return names.filter((name, i) => !(name.endsWith('.delta') && names[i - 1] === name));
}

const TOOLS = [
  {
    type: 'function' as const,
    function: {
      name: 'open_gate',
      description: 'Open the named town gate.',
      parameters: {
        type: 'object',
        properties: { gate: { type: 'string', enum: ['north', 'south'], description: 'Which gate to open' } },
        required: ['gate'],
      },
    },
  },
  {
    type: 'function' as const,
    function: {
      name: 'set_mood',
      description: 'Change how the guard feels.',
      parameters: {
        type: 'object',
        properties: { mood: { type: 'string' }, intensity: { type: 'integer' } },
        required: ['mood'],
      },
    },
  },
];

const INSTRUCTIONS = 'You are Brom, the gruff gate guard of Eastwatch. The gate closes at dusk.';
const HELLO = 'Hello there! What is this place?';
const OPEN_LINE = 'Open the north gate!';
const PARALLEL_CALLS = [
  { name: 'open_gate', arguments: '{"gate":"north"}' },
  { name: 'set_mood', arguments: '{"mood":"relieved","intensity":3}' },
];

function textOf(message: { content: Array<{ type: string; text?: { value: string } }> }): string {
  return message.content.map((part) => (part.type === 'text' ? part.text!.value : '')).join('');
}

/** Sections 4–10: streamed and polled runs, tool calls, cancellation, busy threads, expiry. */
export function runsSuite(shared: SharedHarnesses): void {
  const { mode } = shared;
  let h: Harness;
  let textAssistant: string;
  let toolAssistant: string;

  beforeAll(async () => {
    h = shared.h;
    textAssistant = (
      await h.client.beta.assistants.create({ model: 'm', instructions: INSTRUCTIONS, name: 'Brom' })
    ).id;
    toolAssistant = (
      await h.client.beta.assistants.create({
        model: 'm',
        instructions: INSTRUCTIONS,
        name: 'Brom',
        tools: TOOLS,
      })
    ).id;
  });
  /** Makes the next turn a tool call (two parallel calls in fake mode; the offline model decides itself). */
  function expectToolTurn(): void {
    h.fake?.enqueue({ kind: 'tools', calls: PARALLEL_CALLS });
  }
  const expectedCalls = () =>
    mode === 'fake' ? PARALLEL_CALLS : [{ name: 'open_gate', arguments: undefined }];

  /** Starts a tool run and returns it in requires_action (read through the SDK stream). */
  async function runToRequiresAction(threadId: string): Promise<Run> {
    expectToolTurn();
    const stream = h.client.beta.threads.runs.stream(threadId, { assistant_id: toolAssistant });
    const run = await stream.finalRun();
    expect(run.status).toBe('requires_action');
    return run;
  }

  it('streams a text reply through the SDK helpers (textDelta, messageDone, steps, finalRun)', async () => {
    const { client } = h;
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: HELLO }] });
    const events: string[] = [];
    const deltas: string[] = [];
    let textCreated = 0;
    const stepsCreated: string[] = [];
    const stepsDone: Array<{ id: string; status: string }> = [];
    const messagesDone: string[] = [];
    const stream = client.beta.threads.runs
      .stream(thread.id, { assistant_id: textAssistant })
      .on('event', (e: AssistantStreamEvent) => events.push(e.event))
      .on('textCreated', () => textCreated++)
      .on('textDelta', (delta) => deltas.push(delta.value ?? ''))
      .on('messageDone', (message) => messagesDone.push(textOf(message)))
      .on('runStepCreated', (step) => stepsCreated.push(step.id))
      .on('runStepDone', (step) => stepsDone.push({ id: step.id, status: step.status }));
    const finalMessages = await stream.finalMessages();
    const run = await stream.finalRun();

    expect(collapse(events)).toEqual(TEXT_ORDER);
    const text = deltas.join('');
    expect(text.trim().length).toBeGreaterThan(0);
    if (mode === 'fake') expect(text).toBe(`Fake reply to: ${HELLO}`);
    expect(textCreated).toBe(1);
    expect(messagesDone).toEqual([text]);
    expect(finalMessages.map(textOf)).toEqual([text]);
    expect(stepsCreated).toHaveLength(1);
    expect(stepsDone).toEqual([{ id: stepsCreated[0], status: 'completed' }]);

    expectShape('run', run);
    expect(run.status).toBe('completed');
    expect(run.thread_id).toBe(thread.id);
    expect(run.assistant_id).toBe(textAssistant);
    expect(run.completed_at).toEqual(expect.any(Number));
    expect(run.usage).not.toBeNull();
    expect(run.usage!.total_tokens).toBeGreaterThan(0);
    expect(run.usage!.total_tokens).toBe(run.usage!.prompt_tokens + run.usage!.completion_tokens);

    const stored = await client.beta.threads.runs.retrieve(run.id, { thread_id: thread.id });
    expect(stored.status).toBe('completed');
    expect(stored.usage).toEqual(run.usage);

    const list = await client.beta.threads.messages.list(thread.id);
    expect(list.data).toHaveLength(2);
    const reply = list.data[0]!;
    expectShape('message', reply);
    expect(reply).toMatchObject({
      role: 'assistant',
      status: 'completed',
      run_id: run.id,
      assistant_id: textAssistant,
    });
    expect(reply.completed_at).toEqual(expect.any(Number));
    expect(textOf(reply)).toBe(text);

    const steps = await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id });
    expect(steps.data).toHaveLength(1);
    expectShape('step', steps.data[0]);
    expect(steps.data[0]).toMatchObject({
      id: stepsCreated[0],
      type: 'message_creation',
      status: 'completed',
      step_details: { type: 'message_creation', message_creation: { message_id: reply.id } },
    });

    if (mode === 'fake') {
      const request = h.fake!.requests.at(-1)!.body as {
        model: string;
        messages: Array<{ role: string; content: string }>;
      };
      expect(request.model).toBe('m'); // the assistant's model, passed through
      expect(run.model).toBe('m');
      expect(request.messages[0]).toEqual({ role: 'system', content: INSTRUCTIONS });
      expect(request.messages.at(-1)).toEqual({ role: 'user', content: HELLO });
      expect(h.fake!.requests.at(-1)!.headers['authorization']).toBe('Bearer sk-test-secret-123456');
    }
  });

  it('raw stream: the exact event order of 3b, `id:` on every event, `done` last', async () => {
    const thread = await h.client.beta.threads.create({ messages: [{ role: 'user', content: HELLO }] });
    const res = await postJson(`${h.url}/v1/threads/${thread.id}/runs`, {
      assistant_id: textAssistant,
      stream: true,
    });
    const events = await collectSse(res);
    const names = events.map((e) => e.event!);
    expect(names.at(-1)).toBe('done');
    expect(events.at(-1)!.data).toBe('[DONE]');
    expect(collapse(names.slice(0, -1))).toEqual(TEXT_ORDER);
    expect(names.filter((n) => n === 'thread.message.delta').length).toBeGreaterThanOrEqual(1);
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => String(i + 1)));

    const run = JSON.parse(events.find((e) => e.event === 'thread.run.created')!.data) as Run;
    expectShape('run', run);
    expect(run.status).toBe('queued');
    for (const e of events) {
      if (e.event === 'done') continue;
      const data = JSON.parse(e.data) as { id: string; object: string; status?: string };
      if (e.event!.startsWith('thread.run.step.') && e.event !== 'thread.run.step.delta')
        expectShape('step', data);
      else if (e.event!.startsWith('thread.run.')) {
        expectShape('run', data);
        expect(data.status).toBe(e.event!.slice('thread.run.'.length).replace('created', 'queued'));
      } else if (e.event === 'thread.message.delta') {
        expect(data.object).toBe('thread.message.delta');
        expect(data.id).toMatch(/^msg_/);
      } else if (e.event!.startsWith('thread.message.')) expectShape('message', data);
    }
    const completed = JSON.parse(events.find((e) => e.event === 'thread.message.completed')!.data);
    expect(textOf(completed)).toBe(deltaText(events));
  });

  it('tool calls: created/delta events, requires_action, submitToolOutputsStream continues to completed', async () => {
    const { client } = h;
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: OPEN_LINE }] });
    expectToolTurn();
    const created: Array<{ id: string; name: string; index: number }> = [];
    const args = new Map<number, string>();
    const events: string[] = [];
    let current = -1;
    const stream = client.beta.threads.runs
      .stream(thread.id, { assistant_id: toolAssistant })
      .on('event', (e) => events.push(e.event))
      .on('toolCallCreated', (call) => {
        if (call.type !== 'function') throw new Error(`unexpected tool call type ${call.type}`);
        current = created.length;
        created.push({ id: call.id, name: call.function.name, index: current });
        args.set(current, call.function.arguments ?? '');
      })
      .on('toolCallDelta', (delta) => {
        if (delta.type !== 'function') return;
        args.set(delta.index, (args.get(delta.index) ?? '') + (delta.function?.arguments ?? ''));
      });
    const run = await stream.finalRun();

    expect(run.status).toBe('requires_action');
    expectShape('run', run);
    expect(events.at(-1)).toBe('thread.run.requires_action');
    expect(events).toContain('thread.run.step.delta');
    expect(events).not.toContain('thread.run.completed');
    const expected = expectedCalls();
    expect(created.map((c) => c.name)).toEqual(expected.map((c) => c.name));
    for (const call of created) {
      expect(call.id).toMatch(/^call_/);
      const text = args.get(call.index)!;
      expect(() => JSON.parse(text), `arguments of ${call.name}: ${text}`).not.toThrow();
      expect(typeof JSON.parse(text)).toBe('object');
      const want = expected[call.index]!.arguments;
      if (want) expect(JSON.parse(text)).toEqual(JSON.parse(want));
    }
    if (mode === 'offline') expect(JSON.parse(args.get(0)!)).toEqual({ gate: 'north' });

    const action = run.required_action!;
    expect(action.type).toBe('submit_tool_outputs');
    const calls = action.submit_tool_outputs.tool_calls;
    expect(calls.map((c) => c.id)).toEqual(created.map((c) => c.id));
    expect(calls.map((c) => c.function.arguments)).toEqual(created.map((c) => args.get(c.index)));
    expect(calls.every((c) => c.type === 'function')).toBe(true);
    const retrieved = await client.beta.threads.runs.retrieve(run.id, { thread_id: thread.id });
    expect(retrieved.status).toBe('requires_action');
    expect(retrieved.required_action).toEqual(action);

    // The tool step exists (in progress) while the run waits.
    const waiting = await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id });
    expect(waiting.data).toHaveLength(1);
    expect(waiting.data[0]).toMatchObject({ type: 'tool_calls', status: 'in_progress' });

    const outputs = calls.map((c, i) => ({ tool_call_id: c.id, output: JSON.stringify({ ok: true, n: i }) }));
    const continued: string[] = [];
    let text = '';
    const second = client.beta.threads.runs
      .submitToolOutputsStream(run.id, { thread_id: thread.id, tool_outputs: outputs })
      .on('event', (e) => continued.push(e.event))
      .on('textDelta', (delta) => {
        text += delta.value ?? '';
      });
    const finished = await second.finalRun();
    expect(finished.status).toBe('completed');
    expect(finished.required_action).toBeNull();
    expect(finished.usage?.total_tokens).toBeGreaterThan(run.usage?.total_tokens ?? 0);
    expect(continued).toContain('thread.run.queued');
    expect(continued).toContain('thread.message.delta');
    expect(continued.at(-1)).toBe('thread.run.completed');
    expect(text.length).toBeGreaterThan(0);

    const steps = await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id, order: 'asc' });
    expect(steps.data.map((s) => [s.type, s.status])).toEqual([
      ['tool_calls', 'completed'],
      ['message_creation', 'completed'],
    ]);
    const toolStep = steps.data[0]!;
    expectShape('step', toolStep);
    if (toolStep.step_details.type !== 'tool_calls') throw new Error('expected tool_calls details');
    expect(
      toolStep.step_details.tool_calls.map((c) => (c.type === 'function' ? [c.id, c.function.output] : null)),
    ).toEqual(outputs.map((o) => [o.tool_call_id, o.output]));
    const one = await client.beta.threads.runs.steps.retrieve(toolStep.id, {
      thread_id: thread.id,
      run_id: run.id,
    });
    expect(one).toEqual(toolStep);

    const messages = await client.beta.threads.messages.list(thread.id);
    expect(textOf(messages.data[0]!)).toBe(text);
    expect(messages.data[0]!.run_id).toBe(run.id);

    if (mode === 'fake') {
      const request = h.fake!.requests.at(-1)!.body as {
        messages: Array<{ role: string; tool_calls?: unknown[]; tool_call_id?: string; content: unknown }>;
      };
      const tail = request.messages.slice(-3);
      expect(tail[0]).toMatchObject({ role: 'assistant', tool_calls: expect.any(Array) });
      expect(tail[0]!.tool_calls).toHaveLength(2);
      expect(tail.slice(1)).toEqual(
        outputs.map((o) => ({ role: 'tool', tool_call_id: o.tool_call_id, content: o.output })),
      );
    }
  });

  it('submitting wrong or missing tool call ids is a 400; the run keeps waiting', async () => {
    const { client } = h;
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: OPEN_LINE }] });
    const run = await runToRequiresAction(thread.id);
    const calls = run.required_action!.submit_tool_outputs.tool_calls;

    await expect(
      client.beta.threads.runs.submitToolOutputs(run.id, {
        thread_id: thread.id,
        tool_outputs: [{ tool_call_id: 'call_doesnotexist', output: 'x' }],
      }),
    ).rejects.toBeInstanceOf(BadRequestError);
    if (calls.length > 1) {
      await expect(
        client.beta.threads.runs.submitToolOutputs(run.id, {
          thread_id: thread.id,
          tool_outputs: [{ tool_call_id: calls[0]!.id, output: 'only one' }],
        }),
      ).rejects.toBeInstanceOf(BadRequestError);
    }
    await expect(
      client.beta.threads.runs.submitToolOutputs(run.id, { thread_id: thread.id, tool_outputs: [] }),
    ).rejects.toBeInstanceOf(BadRequestError);
    const res = await postJson(`${h.url}/v1/threads/${thread.id}/runs/${run.id}/submit_tool_outputs`, {
      tool_outputs: [{ output: 'no id' }],
    });
    expect(res.status).toBe(400);

    expect((await client.beta.threads.runs.retrieve(run.id, { thread_id: thread.id })).status).toBe(
      'requires_action',
    );

    // Busy thread: no second run, no new message while this one is active.
    await expect(
      client.beta.threads.runs.create(thread.id, { assistant_id: textAssistant }),
    ).rejects.toBeInstanceOf(BadRequestError);
    await expect(
      client.beta.threads.messages.create(thread.id, { role: 'user', content: 'Are you still there?' }),
    ).rejects.toBeInstanceOf(BadRequestError);
    const busy = await postJson(`${h.url}/v1/threads/${thread.id}/runs`, {
      assistant_id: textAssistant,
      stream: true,
    });
    expect(busy.status).toBe(400);
    expect(((await busy.json()) as { error: { code: string } }).error.code).toBe('thread_busy');

    // Cancelling a waiting run ends it at once; cancelling again answers the run as it ended (Parley's
    // cancel is idempotent, a deliberate difference from OpenAI's 400: docs/decisions/0010).
    const cancelled = await client.beta.threads.runs.cancel(run.id, { thread_id: thread.id });
    expect(['cancelling', 'cancelled']).toContain(cancelled.status);
    const ended = await waitForRun(client, thread.id, run.id, isTerminal);
    expect(ended.status).toBe('cancelled');
    expect(ended.cancelled_at).toEqual(expect.any(Number));
    expect(await client.beta.threads.runs.cancel(run.id, { thread_id: thread.id })).toEqual(ended);
    const steps = await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id });
    expect(steps.data[0]!.status).toBe('cancelled');
    // The thread is free again.
    await client.beta.threads.messages.create(thread.id, { role: 'user', content: 'Never mind.' });
    const next = await client.beta.threads.runs.createAndPoll(
      thread.id,
      { assistant_id: textAssistant },
      { pollIntervalMs: 20 },
    );
    expect(next.status).toBe('completed');
  });

  it('raw tool run: event ids continue across the submit_tool_outputs stream', async () => {
    const thread = await h.client.beta.threads.create({ messages: [{ role: 'user', content: OPEN_LINE }] });
    expectToolTurn();
    const first = await collectSse(
      await postJson(`${h.url}/v1/threads/${thread.id}/runs`, { assistant_id: toolAssistant, stream: true }),
    );
    const names = first.map((e) => e.event ?? '');
    expect(names.slice(-2)).toEqual(['thread.run.requires_action', 'done']);
    expect(collapse(names.slice(0, 6))).toEqual([
      'thread.run.created',
      'thread.run.queued',
      'thread.run.in_progress',
      'thread.run.step.created',
      'thread.run.step.in_progress',
      'thread.run.step.delta',
    ]);
    expect(first.map((e) => e.id)).toEqual(first.map((_, i) => String(i + 1)));
    const run = JSON.parse(first.at(-2)!.data) as Run;
    const created = JSON.parse(first[3]!.data) as { step_details: { type: string } };
    expect(created.step_details.type).toBe('tool_calls');
    // Argument fragments in the step deltas reassemble to the required action's arguments.
    const fragments = new Map<number, string>();
    for (const e of first.filter((x) => x.event === 'thread.run.step.delta')) {
      const data = JSON.parse(e.data) as {
        object: string;
        delta: { step_details: { tool_calls: Array<{ index: number; function?: { arguments?: string } }> } };
      };
      expect(data.object).toBe('thread.run.step.delta');
      for (const call of data.delta.step_details.tool_calls) {
        fragments.set(call.index, (fragments.get(call.index) ?? '') + (call.function?.arguments ?? ''));
      }
    }
    const calls = run.required_action!.submit_tool_outputs.tool_calls;
    expect([...fragments.keys()].sort()).toEqual(calls.map((_, i) => i));
    expect(calls.map((c, i) => c.function.arguments === fragments.get(i))).toEqual(calls.map(() => true));

    const second = await collectSse(
      await postJson(`${h.url}/v1/threads/${thread.id}/runs/${run.id}/submit_tool_outputs`, {
        tool_outputs: calls.map((c) => ({ tool_call_id: c.id, output: 'done' })),
        stream: true,
      }),
    );
    expect(second.map((e) => e.id)).toEqual(second.map((_, i) => String(first.length + i + 1)));
    expect(second.map((e) => e.event).slice(-2)).toEqual(['thread.run.completed', 'done']);
    expect(second.map((e) => e.event)).toContain('thread.run.step.completed');
    const toolDone = second.find(
      (e) => e.event === 'thread.run.step.completed' && JSON.parse(e.data).type === 'tool_calls',
    );
    expect(toolDone).toBeDefined();
  });

  it('concurrent run creation on one thread: exactly one wins', async () => {
    // A tool turn keeps the winner active (requires_action), so any second 200 is a real race.
    const thread = await h.client.beta.threads.create({ messages: [{ role: 'user', content: OPEN_LINE }] });
    expectToolTurn();
    const attempts = await Promise.all(
      Array.from({ length: 5 }, () =>
        postJson(`${h.url}/v1/threads/${thread.id}/runs`, { assistant_id: toolAssistant }),
      ),
    );
    const statuses = attempts.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 400, 400, 400, 400]);
    for (const r of attempts.filter((x) => x.status === 400)) {
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('thread_busy');
    }
    const winner = (await attempts.find((r) => r.status === 200)!.json()) as Run;
    await waitForRun(h.client, thread.id, winner.id, (s) => s === 'requires_action');
    const runs = await h.client.beta.threads.runs.list(thread.id);
    expect(runs.data).toHaveLength(1);
    await h.client.beta.threads.runs.cancel(winner.id, { thread_id: thread.id });
    expect((await waitForRun(h.client, thread.id, winner.id, isTerminal)).status).toBe('cancelled');
  });

  it('createAndPoll, list, retrieve and update metadata', async () => {
    const { client } = h;
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: HELLO }] });
    const run = await client.beta.threads.runs.createAndPoll(
      thread.id,
      { assistant_id: textAssistant, metadata: { quest: 'q1' } },
      { pollIntervalMs: 20 },
    );
    expectShape('run', run);
    expect(run.status).toBe('completed');
    expect(run.metadata).toEqual({ quest: 'q1' });
    expect(run.instructions).toBe(INSTRUCTIONS);
    expect(run.usage?.total_tokens).toBeGreaterThan(0);

    await client.beta.threads.messages.create(thread.id, { role: 'user', content: 'And who are you?' });
    const second = await client.beta.threads.runs.createAndPoll(
      thread.id,
      { assistant_id: textAssistant, additional_instructions: 'Be brief.' },
      { pollIntervalMs: 20 },
    );
    expect(second.status).toBe('completed');
    expect(second.instructions).toBe(`${INSTRUCTIONS}\n\nBe brief.`);

    const list = await client.beta.threads.runs.list(thread.id);
    expect(list.data.map((r) => r.id)).toEqual([second.id, run.id]);
    for (const r of list.data) expectShape('run', r);
    const asc = await client.beta.threads.runs.list(thread.id, { order: 'asc', limit: 1 });
    expect(asc.data.map((r) => r.id)).toEqual([run.id]);
    expect(asc.has_more).toBe(true);

    const retrieved = await client.beta.threads.runs.retrieve(run.id, { thread_id: thread.id });
    expect(retrieved).toEqual(run);

    const updated = await client.beta.threads.runs.update(run.id, {
      thread_id: thread.id,
      metadata: { quest: 'q2' },
    });
    expect(updated.metadata).toEqual({ quest: 'q2' });
    expect(updated.status).toBe('completed');
    expect((await client.beta.threads.runs.retrieve(run.id, { thread_id: thread.id })).metadata).toEqual({
      quest: 'q2',
    });

    const messages = await client.beta.threads.messages.list(thread.id, { order: 'asc' });
    expect(messages.data.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    expect(messages.data.map((m) => m.run_id)).toEqual([null, run.id, null, second.id]);

    // Messages of one run only.
    const ofRun = await client.beta.threads.messages.list(thread.id, { run_id: second.id });
    expect(ofRun.data.map((m) => m.run_id)).toEqual([second.id]);

    if (mode === 'fake') {
      // The second turn carried the whole history, the first reply included.
      const request = h.fake!.requests.at(-1)!.body as { messages: Array<{ role: string; content: string }> };
      expect(request.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
      expect(request.messages[2]!.content).toBe(`Fake reply to: ${HELLO}`);
    }
  });

  it('cancels a run mid-stream; the upstream request is aborted', async () => {
    // Pacing matters here: the offline model needs a delay (the aux proxy's), the fake upstream a slow script.
    const slow = mode === 'offline' ? await shared.aux() : h;
    const { client } = slow;
    const assistant = await client.beta.assistants.create({ model: 'm', instructions: INSTRUCTIONS });
    const thread = await client.beta.threads.create({
      messages: [
        { role: 'user', content: 'Tell me everything you know about the town, the gate and the mayor.' },
      ],
    });
    const abortedBefore = slow.fake?.aborted ?? 0;
    const words = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
    slow.fake?.enqueue({ kind: 'text', text: words, delayMs: 50 });
    const events: string[] = [];
    let deltas = 0;
    let cancelled: Promise<Run> | undefined;
    let runId = '';
    const stream = client.beta.threads.runs
      .stream(thread.id, { assistant_id: assistant.id })
      .on('event', (e) => {
        events.push(e.event);
        if (e.event === 'thread.run.created') runId = e.data.id;
      })
      .on('textDelta', () => {
        deltas++;
        cancelled ??= client.beta.threads.runs.cancel(runId, { thread_id: thread.id });
      });
    const final = await stream.finalRun();
    expect(cancelled).toBeDefined();
    const answer = await cancelled!;
    expect(['cancelling', 'cancelled']).toContain(answer.status);
    expect(final.status).toBe('cancelled');
    expect(events).toContain('thread.run.cancelling');
    expect(events.at(-1)).toBe('thread.run.cancelled');
    const run = await waitForRun(client, thread.id, runId, isTerminal);
    expect(run.status).toBe('cancelled');
    expect(run.cancelled_at).toEqual(expect.any(Number));
    expect(deltas).toBeLessThan(30); // it stopped long before the reply was done
    if (slow.fake) await eventually(() => slow.fake!.aborted > abortedBefore, 3000, 'upstream abort');

    const messages = await client.beta.threads.messages.list(thread.id);
    const partial = messages.data.find((m) => m.role === 'assistant');
    expect(partial?.status).toBe('incomplete');

    // Cancelling a finished run changes nothing and answers it as it is (idempotent; OpenAI answered 400).
    expect(await client.beta.threads.runs.cancel(runId, { thread_id: thread.id })).toEqual(run);
    const done = await client.beta.threads.runs.createAndPoll(
      thread.id,
      { assistant_id: assistant.id },
      { pollIntervalMs: 20 },
    );
    expect(done.status).toBe('completed');
    expect(await client.beta.threads.runs.cancel(done.id, { thread_id: thread.id })).toEqual(done);
  });

  it('createAndRunStream emits thread.created first; createAndRunPoll completes', async () => {
    const { client } = h;
    const events: AssistantStreamEvent[] = [];
    let text = '';
    const stream = client.beta.threads
      .createAndRunStream({
        assistant_id: textAssistant,
        thread: { messages: [{ role: 'user', content: HELLO }], metadata: { via: 'createAndRun' } },
      })
      .on('event', (e) => events.push(e))
      .on('textDelta', (d) => {
        text += d.value ?? '';
      });
    const run = await stream.finalRun();
    expect(events[0]!.event).toBe('thread.created');
    expectShape('thread', events[0]!.data);
    expect(collapse(events.slice(1).map((e) => e.event))).toEqual(TEXT_ORDER);
    expect(run.status).toBe('completed');
    const threadId = (events[0]!.data as { id: string }).id;
    expect(run.thread_id).toBe(threadId);
    const thread = await client.beta.threads.retrieve(threadId);
    expect(thread.metadata).toEqual({ via: 'createAndRun' });
    const messages = await client.beta.threads.messages.list(threadId, { order: 'asc' });
    expect(messages.data.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(textOf(messages.data[1]!)).toBe(text);

    const polled = await client.beta.threads.createAndRunPoll(
      { assistant_id: textAssistant, thread: { messages: [{ role: 'user', content: HELLO }] } },
      { pollIntervalMs: 20 },
    );
    expect(polled.status).toBe('completed');
    const polledMessages = await client.beta.threads.messages.list(polled.thread_id);
    expect(polledMessages.data).toHaveLength(2);
  });

  it('a run left in requires_action expires', async () => {
    const short = await shared.aux(); // runs expire after 1 s there
    const { client } = short;
    const assistant = await client.beta.assistants.create({
      model: 'm',
      instructions: INSTRUCTIONS,
      tools: TOOLS,
    });
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: OPEN_LINE }] });
    short.fake?.enqueue({ kind: 'tools', calls: PARALLEL_CALLS });
    const run = await client.beta.threads.runs.stream(thread.id, { assistant_id: assistant.id }).finalRun();
    expect(run.status).toBe('requires_action');
    expect(run.expires_at).toEqual(expect.any(Number));
    expect(run.expires_at! - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(1);
    const expired = await waitForRun(client, thread.id, run.id, (s) => s !== 'requires_action', 4000);
    expect(expired.status).toBe('expired');
    expect(expired.required_action).toBeNull();
    const steps = await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id });
    expect(steps.data[0]!.status).toBe('expired');
    await expect(
      client.beta.threads.runs.submitToolOutputs(run.id, {
        thread_id: thread.id,
        tool_outputs: run.required_action!.submit_tool_outputs.tool_calls.map((c) => ({
          tool_call_id: c.id,
          output: '',
        })),
      }),
    ).rejects.toBeInstanceOf(BadRequestError);
    // The thread is usable again.
    await client.beta.threads.messages.create(thread.id, { role: 'user', content: 'Hello?' });
  });
}
