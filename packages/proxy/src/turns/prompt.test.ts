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
    const request = buildChatRequest(run, { history, tail: [], contextTokens: 300 });
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
