import type { Message } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { makeAssistant, makeMessage, makeRun, makeThread } from '../objects.js';
import { buildChatRequest, historyMessages, runFields, trimHistory } from './prompt.js';

const thread = makeThread({});
const assistant = makeAssistant({ model: 'm', instructions: 'You are Brom, the gate guard.' });
const say = (role: 'user' | 'assistant', content: string, extra: Partial<Message> = {}) =>
  makeMessage(thread.id, { role, content }, extra);

describe('runFields', () => {
  it('puts the run’s additional instructions after the assistant’s, and overrides win', () => {
    const fields = runFields(
      assistant,
      { additional_instructions: 'The gate is open now.' },
      (m) => m ?? 'x',
    );
    expect(fields.instructions).toBe('You are Brom, the gate guard.\n\nThe gate is open now.');
    expect(runFields(assistant, { instructions: 'Be Tilda.' }, (m) => m ?? 'x').instructions).toBe(
      'Be Tilda.',
    );
    expect(runFields(assistant, { model: 'other' }, (m) => `resolved:${m}`).model).toBe('resolved:other');
  });
});

describe('historyMessages', () => {
  it('leaves out lines refused by moderation, so one flagged line never rides along again', () => {
    const refused = say('user', 'Say the forbidden word.', {
      status: 'incomplete',
      incomplete_details: { reason: 'content_filter' },
    });
    const out = historyMessages(
      [refused, say('assistant', 'I will not.', { run_id: 'run_a' }), say('user', 'Hello.')],
      'run_b',
    );
    expect(out).toEqual([
      { role: 'assistant', content: 'I will not.' },
      { role: 'user', content: 'Hello.' },
    ]);
  });

  it('never sends an empty assistant turn (a reply that failed before its first word)', () => {
    const empty = say('assistant', '', { run_id: 'run_a', status: 'incomplete' });
    expect(historyMessages([say('user', 'Hi.'), empty, say('user', 'Hello?')], 'run_b')).toEqual([
      { role: 'user', content: 'Hi.' },
      { role: 'user', content: 'Hello?' },
    ]);
  });

  it('keeps what the player saw of an interrupted reply', () => {
    const cut = say('assistant', 'The password is', {
      run_id: 'run_a',
      status: 'incomplete',
      incomplete_details: { reason: 'run_cancelled' },
    });
    expect(historyMessages([cut], 'run_b')).toEqual([{ role: 'assistant', content: 'The password is' }]);
  });

  it('leaves out this run’s own replies (they are replayed from its steps)', () => {
    expect(historyMessages([say('assistant', 'Mine.', { run_id: 'run_b' })], 'run_b')).toEqual([]);
  });
});

describe('buildChatRequest', () => {
  it('sends instructions first, then the newest history that fits, then the run’s own steps', () => {
    const run = makeRun(
      thread,
      assistant,
      runFields(assistant, {}, (m) => m ?? 'm'),
      600,
    );
    const history = Array.from({ length: 50 }, (_, i) => ({
      role: 'user' as const,
      content: `line ${i} `.repeat(20),
    }));
    const { request } = buildChatRequest(run, { history, tail: [], contextTokens: 300 });
    expect(request.messages[0]).toEqual({ role: 'system', content: 'You are Brom, the gate guard.' });
    expect(request.messages.at(-1)).toEqual(history.at(-1));
    expect(request.messages.length).toBeLessThan(history.length);
    expect(request.tools).toBeUndefined();
  });

  it('keeps the newest line even when it alone is over the budget', () => {
    const kept = trimHistory([{ role: 'user', content: 'x'.repeat(10_000) }], {
      budget: 10,
      lastMessages: null,
    });
    expect(kept).toHaveLength(1);
  });

  it('honours a last_messages truncation strategy', () => {
    const messages = ['a', 'b', 'c'].map((content) => ({ role: 'user' as const, content }));
    expect(trimHistory(messages, { budget: 1e6, lastMessages: 2 }).map((m) => m.content)).toEqual(['b', 'c']);
  });
});

describe('long memory', () => {
  it('keeps the player’s name after the line that told it has fallen out of the prompt', () => {
    const run = makeRun(
      thread,
      assistant,
      runFields(assistant, {}, (m) => m ?? 'm'),
      600,
    );
    const history = [
      { role: 'user' as const, content: 'Good evening. My name is Ada, and I will bring you the lantern.' },
      { role: 'assistant' as const, content: 'Hm. I will remember that.' },
      ...Array.from({ length: 60 }, (_, i) => ({
        role: (i % 2 === 0 ? 'user' : 'assistant') as 'user' | 'assistant',
        content: `Small talk about the weather, line ${i}. `.repeat(6),
      })),
      { role: 'user' as const, content: 'So, what is my name?' },
    ];
    const { request, memory } = buildChatRequest(run, { history, tail: [], contextTokens: 600 });
    // The first line is gone from the prompt...
    expect(
      request.messages.some((m) => typeof m.content === 'string' && m.content.includes('Good evening')),
    ).toBe(false);
    // ...but the system message remembers what mattered in it.
    expect(memory).toContain("The player's name is Ada.");
    expect(memory).toContain('The player promised');
    const system = request.messages[0]!;
    expect(system.role).toBe('system');
    expect(system.content).toContain('You are Brom, the gate guard.');
    expect(system.content).toContain("The player's name is Ada.");
    expect(request.messages.at(-1)).toEqual({ role: 'user', content: 'So, what is my name?' });
  });

  it('adds nothing while the whole conversation fits', () => {
    const run = makeRun(
      thread,
      assistant,
      runFields(assistant, {}, (m) => m ?? 'm'),
      600,
    );
    const { request, memory } = buildChatRequest(run, {
      history: [{ role: 'user', content: 'My name is Ada.' }],
      tail: [],
      contextTokens: 8000,
    });
    expect(memory).toBeUndefined();
    expect(request.messages[0]).toEqual({ role: 'system', content: 'You are Brom, the gate guard.' });
  });
});
