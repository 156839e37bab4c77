import { APIError, InternalServerError, NotFoundError } from 'openai';
import { beforeAll, expect, it } from 'vitest';
import {
  collectSse,
  eventually,
  expectNoLeak,
  type Harness,
  postJson,
  SECRET_KEY,
  type SharedHarnesses,
  waitForRun,
} from '../../support/proxy.js';

const RATE_LIMIT_BODY = {
  error: {
    message: 'Rate limit reached for requests',
    type: 'requests',
    param: null,
    code: 'rate_limit_exceeded',
  },
};
const QUOTA_BODY = {
  error: {
    message: 'You exceeded your current quota, please check your plan and billing details.',
    type: 'insufficient_quota',
    param: null,
    code: 'insufficient_quota',
  },
};
const AUTH_BODY = {
  error: {
    message: `Incorrect API key provided: ${SECRET_KEY}. You can find your API key at https://platform.openai.com/account/api-keys.`,
    type: 'invalid_request_error',
    param: null,
    code: 'invalid_api_key',
  },
};

/** Section 12 and more over the fake upstream: failures, request building, pass-through details. */
export function fakeUpstreamSuite(shared: SharedHarnesses): void {
  let h: Harness;
  let assistant: string;
  beforeAll(async () => {
    h = shared.h;
    assistant = (await h.client.beta.assistants.create({ model: 'm', instructions: 'You are Brom.' })).id;
  });

  async function runOnce(): Promise<{ run: Awaited<ReturnType<typeof waitForRun>>; requests: number }> {
    const before = h.fake!.requests.length;
    const thread = await h.client.beta.threads.create({ messages: [{ role: 'user', content: 'Hello.' }] });
    const run = await h.client.beta.threads.runs.createAndPoll(
      thread.id,
      { assistant_id: assistant },
      { pollIntervalMs: 20 },
    );
    return { run, requests: h.fake!.requests.length - before };
  }

  it('retries a 429 with retry-after: 0, then completes', async () => {
    h.fake!.enqueue(
      { kind: 'status', status: 429, body: RATE_LIMIT_BODY, headers: { 'retry-after': '0' } },
      { kind: 'text', text: 'After the wait.' },
    );
    const { run, requests } = await runOnce();
    expect(run.status).toBe('completed');
    expect(requests).toBe(2);
    const messages = await h.client.beta.threads.messages.list(run.thread_id);
    const reply = messages.data[0]!;
    expect(reply.content[0]?.type === 'text' && reply.content[0].text.value).toBe('After the wait.');
  });

  it('never retries insufficient_quota; the run fails with last_error', async () => {
    h.fake!.enqueue({ kind: 'status', status: 429, body: QUOTA_BODY, headers: { 'retry-after': '0' } });
    const { run, requests } = await runOnce();
    expect(requests).toBe(1);
    expect(run.status).toBe('failed');
    expect(run.failed_at).toEqual(expect.any(Number));
    expect(run.last_error).toMatchObject({ code: 'rate_limit_exceeded', message: expect.any(String) });
    expect(run.last_error!.message).toMatch(/quota|credit/i);
  });

  it('fails after retries on 500 ×3', async () => {
    const failure = { kind: 'status' as const, status: 500, headers: { 'retry-after-ms': '5' } };
    h.fake!.enqueue(failure, failure, failure);
    const { run, requests } = await runOnce();
    expect(requests).toBe(3); // 1 + PARLEY_UPSTREAM_RETRIES (2)
    expect(run.status).toBe('failed');
    expect(run.last_error?.code).toBe('server_error');
  });

  it('a 401 fails the run and reveals nothing of the key', async () => {
    h.fake!.enqueue({ kind: 'status', status: 401, body: AUTH_BODY });
    const { run, requests } = await runOnce();
    expect(requests).toBe(1);
    expect(run.status).toBe('failed');
    expect(run.last_error?.message).toBeTruthy();
    expect(JSON.stringify(run)).not.toContain(SECRET_KEY);
    expect(JSON.stringify(run)).not.toContain('123456');
    const raw = await (await fetch(`${h.url}/v1/threads/${run.thread_id}/runs/${run.id}`)).text();
    expectNoLeak(raw);
  });

  it('a mid-stream error object fails the run: thread.run.failed, error, done', async () => {
    h.fake!.enqueue({
      kind: 'midstream-error',
      text: 'one two three four five six',
      error: { message: 'The engine died', type: 'server_error', code: 'engine_dead' },
    });
    const thread = await h.client.beta.threads.create({ messages: [{ role: 'user', content: 'Hi.' }] });
    const res = await postJson(`${h.url}/v1/threads/${thread.id}/runs`, {
      assistant_id: assistant,
      stream: true,
    });
    const events = await collectSse(res);
    const names = events.map((e) => e.event);
    expect(names.slice(-3)).toEqual(['thread.run.failed', 'error', 'done']);
    expect(names).toContain('thread.message.incomplete');
    expect(names).not.toContain('thread.run.completed');
    const error = JSON.parse(events.at(-2)!.data) as Record<string, unknown>;
    expect(Object.keys(error).sort()).toEqual(['code', 'message', 'param', 'type']);
    const failed = JSON.parse(events.at(-3)!.data) as {
      status: string;
      last_error: { code: string; message: string };
    };
    expect(failed.status).toBe('failed');
    expect(failed.last_error.code).toBe('server_error');
    for (const e of events) expectNoLeak(e.data);

    // The SDK surfaces the error event as an APIError.
    h.fake!.enqueue({
      kind: 'midstream-error',
      text: 'one two three four five six',
      error: { message: 'The engine died', type: 'server_error', code: 'engine_dead' },
    });
    const again = await h.client.beta.threads.create({ messages: [{ role: 'user', content: 'Hi.' }] });
    const stream = h.client.beta.threads.runs.stream(again.id, { assistant_id: assistant });
    await expect(stream.finalRun()).rejects.toBeInstanceOf(APIError);
    const runs = await h.client.beta.threads.runs.list(again.id);
    expect(runs.data[0]!.status).toBe('failed');
  });

  it('an abrupt close fails the run', async () => {
    h.fake!.enqueue({ kind: 'abrupt', text: 'one two three four five six', delayMs: 20 });
    const { run, requests } = await runOnce();
    expect(requests).toBe(1); // a failure after the first byte is not retried
    expect(run.status).toBe('failed');
    expect(run.last_error).toMatchObject({ code: 'server_error' });
    const messages = await h.client.beta.threads.messages.list(run.thread_id);
    expect(messages.data[0]!.status).toBe('incomplete');
  });

  it('a stream without finish_reason fails the run', async () => {
    h.fake!.enqueue({ kind: 'no-finish', text: 'one two three', delayMs: 5 });
    const { run, requests } = await runOnce();
    expect(requests).toBe(1);
    expect(run.status).toBe('failed');
    expect(run.last_error?.message).toBeTruthy();
  });

  it('a reply cut at max tokens makes the run incomplete', async () => {
    h.fake!.enqueue({ kind: 'text', text: 'I was about to say', finishReason: 'length' });
    const thread = await h.client.beta.threads.create({ messages: [{ role: 'user', content: 'Talk.' }] });
    const events: string[] = [];
    const run = await h.client.beta.threads.runs
      .stream(thread.id, { assistant_id: assistant, max_completion_tokens: 5 })
      .on('event', (e) => events.push(e.event))
      .finalRun();
    expect(run.status).toBe('incomplete');
    expect(run.incomplete_details).toEqual({ reason: 'max_completion_tokens' });
    expect(events).toContain('thread.message.incomplete');
    expect(events.at(-1)).toBe('thread.run.incomplete');
    const message = (await h.client.beta.threads.messages.list(thread.id)).data[0]!;
    expect(message.status).toBe('incomplete');
    expect(message.content[0]?.type === 'text' && message.content[0].text.value).toBe('I was about to say');
    expect(h.fake!.requests.at(-1)!.body['max_completion_tokens']).toBe(5);
  });

  it('run overrides reach the upstream request', async () => {
    const tools = [
      {
        type: 'function' as const,
        function: {
          name: 'wave',
          description: 'Wave at someone.',
          parameters: { type: 'object', properties: {} },
        },
      },
    ];
    const thread = await h.client.beta.threads.create({
      messages: [
        { role: 'user', content: 'first' },
        { role: 'assistant', content: 'second' },
      ],
    });
    const run = await h.client.beta.threads.runs.createAndPoll(
      thread.id,
      {
        assistant_id: assistant,
        model: 'other-model',
        instructions: 'You are Mira.',
        additional_instructions: 'Whisper.',
        additional_messages: [{ role: 'user', content: 'third' }],
        temperature: 0.2,
        top_p: 0.5,
        max_completion_tokens: 50,
        tools,
        tool_choice: 'none',
        parallel_tool_calls: false,
        truncation_strategy: { type: 'last_messages', last_messages: 2 },
        response_format: { type: 'json_object' },
      },
      { pollIntervalMs: 20 },
    );
    expect(run.status).toBe('completed');
    expect(run).toMatchObject({
      model: 'other-model',
      instructions: 'You are Mira.\n\nWhisper.',
      temperature: 0.2,
      top_p: 0.5,
      max_completion_tokens: 50,
      tool_choice: 'none',
      parallel_tool_calls: false,
      truncation_strategy: { type: 'last_messages', last_messages: 2 },
      response_format: { type: 'json_object' },
    });
    const body = h.fake!.requests.at(-1)!.body as Record<string, unknown> & {
      messages: Array<{ role: string; content: string }>;
    };
    expect(body['model']).toBe('other-model');
    expect(body.messages).toEqual([
      { role: 'system', content: 'You are Mira.\n\nWhisper.' },
      { role: 'assistant', content: 'second' },
      { role: 'user', content: 'third' },
    ]);
    expect(body).toMatchObject({
      temperature: 0.2,
      top_p: 0.5,
      max_completion_tokens: 50,
      tool_choice: 'none',
      parallel_tool_calls: false,
      response_format: { type: 'json_object' },
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(body['tools']).toEqual([{ type: 'function', function: tools[0]!.function }]);
    const messages = await h.client.beta.threads.messages.list(thread.id, { order: 'asc' });
    expect(messages.data.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
  });

  it('deleting a thread mid-run stops the run and leaves the proxy healthy', async () => {
    const abortedBefore = h.fake!.aborted;
    h.fake!.enqueue({
      kind: 'text',
      text: Array.from({ length: 50 }, (_, i) => `w${i}`).join(' '),
      delayMs: 40,
    });
    const thread = await h.client.beta.threads.create({ messages: [{ role: 'user', content: 'Go on.' }] });
    const run = await h.client.beta.threads.runs.create(thread.id, { assistant_id: assistant });
    await waitForRun(h.client, thread.id, run.id, (s) => s === 'in_progress');
    await new Promise((r) => setTimeout(r, 150));
    const deleted = await h.client.beta.threads.delete(thread.id);
    expect(deleted.deleted).toBe(true);
    await expect(h.client.beta.threads.retrieve(thread.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      h.client.beta.threads.runs.retrieve(run.id, { thread_id: thread.id }),
    ).rejects.toBeInstanceOf(NotFoundError);
    await eventually(() => h.fake!.aborted > abortedBefore, 3000, 'upstream abort');
    const { run: next } = await runOnce();
    expect(next.status).toBe('completed');
  });

  it('usage adds up over the segments of a tool run; steps carry their own', async () => {
    const tools = [
      {
        type: 'function' as const,
        function: { name: 'ring_bell', parameters: { type: 'object', properties: {} } },
      },
    ];
    const toolAssistant = await h.client.beta.assistants.create({ model: 'm', tools });
    h.fake!.enqueue(
      { kind: 'tools', calls: [{ name: 'ring_bell', arguments: '{}' }] },
      { kind: 'text', text: 'Rung.' },
    );
    const thread = await h.client.beta.threads.create({ messages: [{ role: 'user', content: 'Ring it.' }] });
    const waiting = await h.client.beta.threads.runs
      .stream(thread.id, { assistant_id: toolAssistant.id })
      .finalRun();
    expect(waiting.status).toBe('requires_action');
    // OpenAI's spec: usage is null until a run or step ends (a waiting run and its pending step included).
    expect(waiting.usage).toBeNull();
    const pending = await h.client.beta.threads.runs.steps.list(waiting.id, { thread_id: thread.id });
    expect(pending.data[0]).toMatchObject({ status: 'in_progress', usage: null });
    const done = await h.client.beta.threads.runs.submitToolOutputsAndPoll(
      waiting.id,
      {
        thread_id: thread.id,
        tool_outputs: [
          { tool_call_id: waiting.required_action!.submit_tool_outputs.tool_calls[0]!.id, output: 'ok' },
        ],
      },
      { pollIntervalMs: 20 },
    );
    expect(done.status).toBe('completed');
    // The fake reports 11 + 7 = 18 tokens per completion; two completions ran.
    expect(done.usage).toEqual({ prompt_tokens: 22, completion_tokens: 14, total_tokens: 36 });
    const steps = await h.client.beta.threads.runs.steps.list(done.id, { thread_id: thread.id });
    for (const step of steps.data) {
      expect(step.usage).toEqual({ prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });
    }
  });

  it('cancelling a run that waits to retry a 429 ends it at once', async () => {
    h.fake!.enqueue({ kind: 'status', status: 429, body: RATE_LIMIT_BODY, headers: { 'retry-after': '20' } });
    const thread = await h.client.beta.threads.create({ messages: [{ role: 'user', content: 'Hello.' }] });
    const before = h.fake!.requests.length;
    const run = await h.client.beta.threads.runs.create(thread.id, { assistant_id: assistant });
    await eventually(() => h.fake!.requests.length > before, 2000, 'the first attempt');
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await h.client.beta.threads.runs.cancel(run.id, { thread_id: thread.id });
    const ended = await waitForRun(
      h.client,
      thread.id,
      run.id,
      (s) => s !== 'in_progress' && s !== 'cancelling',
      3000,
    );
    expect(ended.status).toBe('cancelled');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('image parts of a user message reach the upstream as content parts', async () => {
    const thread = await h.client.beta.threads.create();
    await h.client.beta.threads.messages.create(thread.id, {
      role: 'user',
      content: [
        { type: 'text', text: 'What is on this map?' },
        { type: 'image_url', image_url: { url: 'https://example.com/map.png', detail: 'low' } },
      ],
    });
    const run = await h.client.beta.threads.runs.createAndPoll(
      thread.id,
      { assistant_id: assistant },
      { pollIntervalMs: 20 },
    );
    expect(run.status).toBe('completed');
    const body = h.fake!.requests.at(-1)!.body as { messages: Array<{ role: string; content: unknown }> };
    expect(body.messages.at(-1)).toEqual({
      role: 'user',
      content: [
        { type: 'text', text: 'What is on this map?' },
        { type: 'image_url', image_url: { url: 'https://example.com/map.png', detail: 'low' } },
      ],
    });
  });

  it('an upstream that never answers times out: the run fails (aux proxy: 500 ms, no retries)', async () => {
    const aux = await shared.aux();
    const auxAssistant = await aux.client.beta.assistants.create({ model: 'm' });
    aux.fake!.enqueue({ kind: 'hang' });
    const thread = await aux.client.beta.threads.create({ messages: [{ role: 'user', content: 'Hello?' }] });
    const run = await aux.client.beta.threads.runs.createAndPoll(
      thread.id,
      { assistant_id: auxAssistant.id },
      { pollIntervalMs: 20 },
    );
    expect(run.status).toBe('failed');
    expect(run.last_error?.code).toBe('server_error');
    expect(run.last_error?.message).toMatch(/time/i);
  });

  it('chat pass-through: tool calls, streamed and not, and the ChatCompletionStream helper', async () => {
    const tools = [
      {
        type: 'function' as const,
        function: {
          name: 'open_gate',
          parameters: { type: 'object', properties: { gate: { type: 'string' } } },
        },
      },
    ];
    const calls = [
      { name: 'open_gate', arguments: '{"gate":"north"}' },
      { name: 'open_gate', arguments: '{"gate":"south"}' },
    ];
    h.fake!.enqueue({ kind: 'tools', calls });
    const plain = await h.client.chat.completions.create({
      model: 'x',
      messages: [{ role: 'user', content: 'open both' }],
      tools,
    });
    expect(plain.choices[0]!.finish_reason).toBe('tool_calls');
    expect(
      plain.choices[0]!.message.tool_calls?.map((c) => (c.type === 'function' ? c.function : null)),
    ).toEqual(calls);

    h.fake!.enqueue({ kind: 'tools', calls });
    const runner = h.client.chat.completions.stream({
      model: 'x',
      messages: [{ role: 'user', content: 'open both' }],
      tools,
    });
    const final = await runner.finalChatCompletion();
    expect(
      final.choices[0]!.message.tool_calls?.map((c) => (c.type === 'function' ? c.function : null)),
    ).toEqual(calls);
    expect(h.fake!.requests.at(-1)!.body['tools']).toEqual(tools);

    h.fake!.enqueue({ kind: 'text', text: 'plain words here' });
    const text = await h.client.chat.completions
      .stream({ model: 'x', messages: [{ role: 'user', content: 'talk' }] })
      .finalContent();
    expect(text).toBe('plain words here');
  });

  it('chat pass-through: a client that disconnects aborts the upstream request', async () => {
    const abortedBefore = h.fake!.aborted;
    h.fake!.enqueue({
      kind: 'text',
      text: Array.from({ length: 60 }, (_, i) => `w${i}`).join(' '),
      delayMs: 30,
    });
    const controller = new AbortController();
    const res = await postJson(
      `${h.url}/v1/chat/completions`,
      { model: 'x', messages: [{ role: 'user', content: 'long' }], stream: true },
      { signal: controller.signal },
    );
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    await eventually(() => h.fake!.aborted > abortedBefore, 3000, 'upstream abort');
  });

  it('chat pass-through: quota, upstream 400 and 5xx map to OpenAI-shaped errors', async () => {
    const messages = [{ role: 'user' as const, content: 'hi' }];
    h.fake!.enqueue({ kind: 'status', status: 429, body: QUOTA_BODY });
    const quota = (await h.client.chat.completions
      .create({ model: 'x', messages })
      .catch((e: unknown) => e)) as APIError;
    expect(quota.status).toBe(429);
    expect(quota.code).toBe('insufficient_quota');

    h.fake!.enqueue({
      kind: 'status',
      status: 400,
      body: {
        error: {
          message: "This model's maximum context length is 10 tokens.",
          type: 'invalid_request_error',
          param: 'messages',
          code: 'context_length_exceeded',
        },
      },
    });
    const bad = (await h.client.chat.completions
      .create({ model: 'x', messages })
      .catch((e: unknown) => e)) as APIError;
    expect(bad.status).toBe(400);
    expect(bad.param).toBe('messages');
    expect(bad.message).toContain('maximum context length');

    const failure = { kind: 'status' as const, status: 503, headers: { 'retry-after-ms': '5' } };
    const before = h.fake!.requests.length;
    h.fake!.enqueue(failure, failure, failure);
    const down = (await h.client.chat.completions
      .create({ model: 'x', messages })
      .catch((e: unknown) => e)) as APIError;
    expect(h.fake!.requests.length - before).toBe(3);
    expect(down.status).toBe(502);
    expect(down.code).toBe('upstream_error');
  });

  it('chat pass-through: a 404 model is NotFoundError with code model_not_found', async () => {
    h.fake!.enqueue({
      kind: 'status',
      status: 404,
      body: {
        error: {
          message: 'The model `npc-9000` does not exist or you do not have access to it.',
          type: 'invalid_request_error',
          param: null,
          code: 'model_not_found',
        },
      },
    });
    const error = await h.client.chat.completions
      .create({ model: 'npc-9000', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).code).toBe('model_not_found');
    expect((error as NotFoundError).param).toBe('model');
  });

  it('chat pass-through: an upstream 401 is a 502 upstream_auth_failed (streamed or not)', async () => {
    h.fake!.enqueue({ kind: 'status', status: 401, body: AUTH_BODY });
    const error = await h.client.chat.completions
      .create({ model: 'x', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InternalServerError);
    expect((error as APIError).status).toBe(502);
    expect((error as APIError).code).toBe('upstream_auth_failed');
    expect(String((error as APIError).message)).not.toContain(SECRET_KEY);

    h.fake!.enqueue({ kind: 'status', status: 401, body: AUTH_BODY });
    const raw = await postJson(`${h.url}/v1/chat/completions`, {
      model: 'x',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    const text = await raw.text();
    expect(raw.status).toBe(502);
    expect(JSON.parse(text).error.code).toBe('upstream_auth_failed');
    expectNoLeak(text);
  });

  it("chat pass-through: a mid-stream upstream error reaches the client redacted, as the proxy's own error, then [DONE]", async () => {
    h.fake!.enqueue({
      kind: 'midstream-error',
      text: 'one two three four',
      error: { message: `bad key ${SECRET_KEY}`, type: 'server_error', code: null },
    });
    const raw = await postJson(`${h.url}/v1/chat/completions`, {
      model: 'x',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    const events = await collectSse(raw);
    expect(events.at(-1)!.data).toBe('[DONE]');
    for (const e of events) expectNoLeak(e.data);
    const error = JSON.parse(events.at(-2)!.data) as { error: { code: string } };
    expect(error.error.code).toBe('upstream_error');
  });
}
