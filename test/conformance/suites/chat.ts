import { beforeAll, expect, it } from 'vitest';
import { collectSse, FAKE_MODEL, type Harness, postJson, type SharedHarnesses } from '../../support/proxy.js';

/** Section 11: Chat Completions pass-through through the SDK. */
export function chatSuite(shared: SharedHarnesses): void {
  const { mode } = shared;
  let h: Harness;
  const model = mode === 'fake' ? FAKE_MODEL : 'parley-offline';
  const messages = [
    { role: 'system' as const, content: 'You are Mira, a cheerful baker.' },
    { role: 'user' as const, content: 'Good morning! Is the bread fresh?' },
  ];
  beforeAll(() => {
    h = shared.h;
  });

  it('answers without streaming', async () => {
    const completion = await h.client.chat.completions.create({ model, messages });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0]!.message.role).toBe('assistant');
    expect(completion.choices[0]!.message.content?.length).toBeGreaterThan(0);
    expect(completion.choices[0]!.finish_reason).toBe('stop');
    expect(completion.usage?.total_tokens).toBeGreaterThan(0);
    if (mode === 'fake') {
      expect(completion.choices[0]!.message.content).toBe(`Fake reply to: ${messages[1]!.content}`);
      expect(h.fake!.requests.at(-1)!.body['stream']).toBe(false);
    }
  });

  it('streams without usage: no usage chunk, no usage field', async () => {
    const stream = await h.client.chat.completions.create({ model, messages, stream: true });
    let text = '';
    const chunks: Array<Record<string, unknown>> = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      chunks.push(chunk as unknown as Record<string, unknown>);
      expect(chunk.object).toBe('chat.completion.chunk');
      const choice = chunk.choices[0];
      if (choice?.delta.content) text += choice.delta.content;
      if (choice?.finish_reason) finish = choice.finish_reason;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(finish).toBe('stop');
    expect(chunks.some((c) => c['usage'] != null)).toBe(false);
    if (mode === 'fake') expect(text).toBe(`Fake reply to: ${messages[1]!.content}`);
  });

  it('streams with include_usage: a final usage chunk with empty choices', async () => {
    const stream = await h.client.chat.completions.create({
      model,
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage?.total_tokens).toBeGreaterThan(0);
    expect(chunks.filter((c) => c.usage).length).toBe(1);
  });

  it('raw stream ends with data: [DONE] and has no event: lines', async () => {
    const res = await postJson(`${h.url}/v1/chat/completions`, { model, messages, stream: true });
    const events = await collectSse(res);
    expect(events.at(-1)!.data).toBe('[DONE]');
    expect(events.every((e) => e.event === undefined)).toBe(true);
  });
}
