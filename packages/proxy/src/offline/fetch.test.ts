import OpenAI, { APIUserAbortError, BadRequestError, NotFoundError } from 'openai';
import type {
  ChatCompletionChunk,
  ChatCompletionCreateParams,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { estimateMessageTokens, estimateTokens } from '../tokens.js';
import { createOfflineFetch, OFFLINE_BASE_URL, type OfflineFetchOptions } from './fetch.js';
import { BROM, MIRA, ODO, TOOLS, talk } from './test-fixtures.js';

function client(options: OfflineFetchOptions = {}): OpenAI {
  return new OpenAI({
    baseURL: OFFLINE_BASE_URL,
    apiKey: 'offline',
    maxRetries: 0,
    fetch: createOfflineFetch({ tokenDelayMs: 0, ...options }),
  });
}

/** Reassembles a stream the way a careful client does: text, tool calls by index, finish reason, usage. */
async function collect(stream: AsyncIterable<ChatCompletionChunk>) {
  const chunks: ChatCompletionChunk[] = [];
  let content = '';
  let finish: string | null = null;
  const calls = new Map<number, { id: string; name: string; arguments: string }>();
  for await (const chunk of stream) {
    chunks.push(chunk);
    const choice = chunk.choices[0];
    if (!choice) continue;
    content += choice.delta.content ?? '';
    for (const fragment of choice.delta.tool_calls ?? []) {
      const call = calls.get(fragment.index) ?? { id: '', name: '', arguments: '' };
      call.id ||= fragment.id ?? '';
      call.name ||= fragment.function?.name ?? '';
      call.arguments += fragment.function?.arguments ?? '';
      calls.set(fragment.index, call);
    }
    finish = choice.finish_reason ?? finish;
  }
  return { chunks, content, finish, calls: [...calls.entries()].sort(([a], [b]) => a - b).map(([, c]) => c) };
}

const LONG_LINE = 'Hello there! Tell me about the old tower, the mill by the river and the honey bread.';

describe('streaming through the openai SDK', () => {
  it('streams text word by word in the chat.completion.chunk wire format, with a usage chunk', async () => {
    const messages = talk(MIRA, LONG_LINE);
    const stream = await client({ seed: 3 }).chat.completions.create({
      model: 'parley-offline',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const { chunks, content, finish } = await collect(stream);

    expect(content).toContain("I'm Mira, a baker.");
    expect(finish).toBe('stop');
    const first = chunks[0]!;
    expect(first.id).toMatch(/^chatcmpl-[A-Za-z0-9]{29}$/);
    for (const chunk of chunks) {
      expect(chunk).toMatchObject({
        id: first.id,
        created: first.created,
        object: 'chat.completion.chunk',
        model: 'parley-offline',
        system_fingerprint: 'fp_parley_offline',
      });
    }
    expect(first.choices).toEqual([
      {
        index: 0,
        delta: { role: 'assistant', content: '', refusal: null },
        logprobs: null,
        finish_reason: null,
      },
    ]);
    const words = chunks.slice(1, -2).map((c) => c.choices[0]?.delta.content);
    expect(words.length).toBeGreaterThan(5);
    expect(words.slice(1).every((w) => /^ \S+$/.test(w ?? ''))).toBe(true);
    expect(chunks.at(-2)!.choices).toEqual([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]);
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);

    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage?.prompt_tokens).toBe(estimateMessageTokens(messages));
    expect(last.usage?.completion_tokens).toBeGreaterThan(words.length - 1);
    expect(last.usage?.total_tokens).toBe(last.usage!.prompt_tokens + last.usage!.completion_tokens);
  });

  it('says the same thing streamed and not streamed', async () => {
    const body = { model: 'parley-offline', messages: talk(ODO, 'What do you know about dragons?'), seed: 9 };
    const streamed = await collect(await client().chat.completions.create({ ...body, stream: true }));
    const whole = await client().chat.completions.create(body);
    expect(whole.choices[0]?.message.content).toBe(streamed.content);
  });

  it('streams tool calls as a header fragment plus argument fragments that parse as JSON', async () => {
    const stream = await client().chat.completions.create({
      model: 'parley-offline',
      messages: talk(BROM, 'Open the east gate and give me three arrows.'),
      tools: TOOLS,
      stream: true,
    });
    const { chunks, calls, finish, content } = await collect(stream);
    expect(finish).toBe('tool_calls');
    expect(content).toBe('');
    expect(calls.map((c) => ({ name: c.name, args: JSON.parse(c.arguments) as unknown }))).toEqual([
      { name: 'open_gate', args: { gate: 'east' } },
      { name: 'give_item', args: { item: 'arrows', quantity: 3 } },
    ]);
    for (const call of calls) expect(call.id).toMatch(/^call_[A-Za-z0-9]{24}$/);
    expect(new Set(calls.map((c) => c.id)).size).toBe(2);
    expect(chunks[0]?.choices[0]?.delta).toEqual({
      role: 'assistant',
      content: null,
      refusal: null,
      tool_calls: [
        { index: 0, id: calls[0]!.id, type: 'function', function: { name: 'open_gate', arguments: '' } },
      ],
    });
    // Arguments really arrive in pieces, as from OpenAI.
    const fragments = chunks.filter((c) => c.choices[0]?.delta.tool_calls?.[0]?.function?.arguments);
    expect(fragments.length).toBeGreaterThan(2);
  });

  it("works with the SDK's stream helper, which checks tool-call accumulation itself", async () => {
    const runner = client().chat.completions.stream({
      model: 'parley-offline',
      messages: talk(BROM, 'Please unlock the north gate.'),
      tools: TOOLS,
    });
    const final = await runner.finalChatCompletion();
    const call = final.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === 'function' && call.function).toEqual({
      name: 'open_gate',
      arguments: '{"gate":"north"}',
    });
    expect(final.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('leaves usage out of chunks unless include_usage is asked for', async () => {
    const response = await createOfflineFetch({ tokenDelayMs: 0 })(`${OFFLINE_BASE_URL}/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'parley-offline', messages: talk(MIRA, 'Hi'), stream: true }),
    });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = (await response.text()).split('\n\n').filter(Boolean);
    expect(events.every((e) => e.startsWith('data: ') && !e.includes('\nevent:'))).toBe(true);
    expect(events.at(-1)).toBe('data: [DONE]');
    for (const event of events.slice(0, -1)) expect(JSON.parse(event.slice(6))).not.toHaveProperty('usage');
  });
});

describe('non-streaming through the openai SDK', () => {
  it('returns a chat.completion with the reply, echoed model and usage', async () => {
    // Past the first turn, which opens with a greeting.
    const messages: ChatCompletionMessageParam[] = [
      ...talk(BROM, 'Hello.'),
      { role: 'assistant', content: 'Hm.' },
      { role: 'user', content: 'Who are you?' },
    ];
    const completion = await client().chat.completions.create({ model: 'npc-brom', messages });
    const prompt = estimateMessageTokens(messages);
    const reply = estimateTokens('Brom. Gate guard of Eastwatch.');
    expect(completion).toMatchObject({
      object: 'chat.completion',
      model: 'npc-brom',
      system_fingerprint: 'fp_parley_offline',
      choices: [
        {
          index: 0,
          finish_reason: 'stop',
          message: { role: 'assistant', content: 'Brom. Gate guard of Eastwatch.', refusal: null },
        },
      ],
      usage: { prompt_tokens: prompt, completion_tokens: reply, total_tokens: prompt + reply },
    });
  });

  it('returns tool calls with finish_reason tool_calls', async () => {
    const completion = await client().chat.completions.create({
      model: 'parley-offline',
      messages: talk(BROM, 'Give me a torch.'),
      tools: TOOLS,
    });
    const message = completion.choices[0]?.message;
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
    expect(message?.content).toBeNull();
    const call = message?.tool_calls?.[0];
    expect(call?.type === 'function' ? JSON.parse(call.function.arguments) : undefined).toEqual({
      item: 'torch',
      quantity: 1,
    });
  });

  it('cuts the reply at max_completion_tokens with finish_reason length', async () => {
    const body = { model: 'parley-offline', messages: talk(MIRA, LONG_LINE) };
    const full = await client().chat.completions.create(body);
    const cut = await client().chat.completions.create({ ...body, max_completion_tokens: 5 });
    expect(full.choices[0]?.finish_reason).toBe('stop');
    expect(cut.choices[0]?.finish_reason).toBe('length');
    expect(cut.usage?.completion_tokens).toBeLessThanOrEqual(5);
    expect(full.choices[0]?.message.content?.startsWith(cut.choices[0]?.message.content ?? '-')).toBe(true);
    expect(cut.choices[0]?.message.content?.length).toBeLessThan(
      full.choices[0]?.message.content?.length ?? 0,
    );

    const legacy = await client().chat.completions.create({ ...body, max_tokens: 5, stream: true });
    expect((await collect(legacy)).finish).toBe('length');
  });

  it('is deterministic for a seed, ids included, and varies with it', async () => {
    const body = { model: 'parley-offline', messages: talk(MIRA, LONG_LINE), tools: TOOLS };
    const strip = ({ created: _created, ...rest }: OpenAI.Chat.ChatCompletion) => rest;
    const a = strip(await client({ seed: 1 }).chat.completions.create(body));
    const b = strip(await client({ seed: 1 }).chat.completions.create(body));
    const c = strip(await client({ seed: 2 }).chat.completions.create(body));
    const d = strip(await client({ seed: 1 }).chat.completions.create({ ...body, seed: 5 }));
    expect(b).toEqual(a);
    expect(c.id).not.toBe(a.id);
    expect(d.id).not.toBe(a.id);
  });
});

describe('other endpoints and errors', () => {
  it('lists and retrieves the offline model', async () => {
    const page = await client().models.list();
    expect(page.data).toEqual([
      { id: 'parley-offline', object: 'model', created: expect.any(Number), owned_by: 'parley' },
    ]);
    expect((await client().models.retrieve('parley-offline')).id).toBe('parley-offline');
    await expect(client().models.retrieve('gpt-5.5')).rejects.toMatchObject({
      status: 404,
      code: 'model_not_found',
    });
  });

  it('answers unknown endpoints with 404 in OpenAI error shape', async () => {
    const error = await client()
      .embeddings.create({ model: 'x', input: 'y' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({
      status: 404,
      type: 'invalid_request_error',
      code: 'not_found',
      param: null,
    });

    const response = await createOfflineFetch()(`${OFFLINE_BASE_URL}/assistants`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: {
        message: 'Invalid URL (GET /v1/assistants)',
        type: 'invalid_request_error',
        param: null,
        code: 'not_found',
      },
    });
  });

  it('answers a malformed JSON body with 400', async () => {
    const response = await createOfflineFetch()(`${OFFLINE_BASE_URL}/chat/completions`, {
      method: 'POST',
      body: '{"model":',
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: Record<string, unknown> };
    expect(body.error).toMatchObject({ type: 'invalid_request_error', param: null, code: 'invalid_json' });
    expect(body.error['message']).toEqual(expect.any(String));
  });

  it('rejects requests OpenAI would reject, as typed SDK errors', async () => {
    const bad: Array<[Partial<ChatCompletionCreateParams>, string]> = [
      [{ messages: [] }, 'messages'],
      [{ tool_choice: { type: 'function', function: { name: 'fly' } }, tools: TOOLS }, 'tool_choice'],
      [{ tool_choice: 'required' }, 'tool_choice'],
      [{ max_completion_tokens: 0 }, 'max_completion_tokens'],
      [{ messages: [{ role: 'tool', tool_call_id: 'call_x', content: '{}' }] }, 'messages.[0].role'],
    ];
    for (const [extra, param] of bad) {
      const body = {
        model: 'parley-offline',
        messages: talk(BROM, 'Hi'),
        ...extra,
      } as ChatCompletionCreateParams;
      const error = await client()
        .chat.completions.create(body)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BadRequestError);
      expect(error).toMatchObject({ status: 400, param });
    }
  });
});

describe('aborts', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('stops a stream promptly when the caller aborts', async () => {
    const controller = new AbortController();
    const stream = await client({ tokenDelayMs: 50 }).chat.completions.create(
      { model: 'parley-offline', messages: talk(MIRA, LONG_LINE), stream: true },
      { signal: controller.signal },
    );
    let received = 0;
    let abortedAt = 0;
    const consume = async () => {
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content) received++;
        if (received === 2 && !abortedAt) {
          abortedAt = performance.now();
          setTimeout(() => controller.abort(), 10);
        }
      }
    };
    const outcome = await consume().then(
      () => 'ended',
      (e: unknown) => (e instanceof APIUserAbortError ? 'aborted' : e),
    );
    const took = performance.now() - abortedAt;
    expect(['ended', 'aborted']).toContain(outcome);
    expect(received).toBeLessThanOrEqual(3);
    expect(took).toBeLessThan(100);
  });

  it('clears its timer and errors the body on abort, like fetch', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const controller = new AbortController();
    const response = await createOfflineFetch({ tokenDelayMs: 1000 })(
      `${OFFLINE_BASE_URL}/chat/completions`,
      {
        method: 'POST',
        body: JSON.stringify({ model: 'parley-offline', messages: talk(MIRA, LONG_LINE), stream: true }),
        signal: controller.signal,
      },
    );
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('"role":"assistant"');
    const pending = reader.read();
    await vi.waitFor(() => expect(vi.getTimerCount()).toBe(1));
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('clears its timer when the reader cancels', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const response = await createOfflineFetch({ tokenDelayMs: 1000 })(
      `${OFFLINE_BASE_URL}/chat/completions`,
      {
        method: 'POST',
        body: JSON.stringify({ model: 'parley-offline', messages: talk(MIRA, LONG_LINE), stream: true }),
      },
    );
    const reader = response.body!.getReader();
    await reader.read();
    await vi.waitFor(() => expect(vi.getTimerCount()).toBe(1));
    await reader.cancel();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      createOfflineFetch()(`${OFFLINE_BASE_URL}/models`, { signal: controller.signal }),
    ).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('paces words by tokenDelayMs', async () => {
    const started = performance.now();
    const { chunks } = await collect(
      await client({ tokenDelayMs: 20 }).chat.completions.create({
        model: 'parley-offline',
        messages: talk(MIRA, 'Hello!'),
        stream: true,
      }),
    );
    const words = chunks.filter((c) => c.choices[0]?.delta.content).length;
    expect(words).toBeGreaterThan(3);
    expect(performance.now() - started).toBeGreaterThanOrEqual(words * 20 - 5);
  });
});
