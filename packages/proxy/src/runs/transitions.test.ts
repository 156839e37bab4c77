import { describe, expect, it } from 'vitest';
import { makeAssistant, makeRun, makeStep, makeThread } from '../objects.js';
import { endStep, transition } from './transitions.js';

const run = makeRun(
  makeThread({}),
  makeAssistant({ model: 'm' }),
  { model: 'm', instructions: '', tools: [] },
  600,
);
const usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 };
const action = {
  type: 'submit_tool_outputs' as const,
  submit_tool_outputs: {
    tool_calls: [{ id: 'call_1', type: 'function' as const, function: { name: 'f', arguments: '{}' } }],
  },
};

describe('transition (the fields each status carries, as OpenAI’s spec defines them)', () => {
  it('shows usage only once the run has ended', () => {
    const waiting = transition(run, 'requires_action', { now: 1, usage, requiredAction: action });
    expect(waiting.usage).toBeNull();
    const again = transition(waiting, 'queued', { now: 2, usage });
    expect(again.usage).toBeNull();
    expect(transition(again, 'in_progress', { now: 3, usage }).usage).toBeNull();
    expect(transition(again, 'cancelling', { now: 3, usage }).usage).toBeNull();
    for (const status of ['completed', 'incomplete', 'failed', 'cancelled', 'expired'] as const)
      expect(transition(again, status, { now: 4, usage }).usage).toEqual(usage);
  });

  it('keeps required_action only while the run requires action', () => {
    const waiting = transition(run, 'requires_action', { now: 1, requiredAction: action, expiresAt: 99 });
    expect(waiting.required_action).toEqual(action);
    expect(waiting.expires_at).toBe(99);
    expect(transition(waiting, 'cancelling', { now: 2 }).required_action).toBeNull();
    expect(transition(waiting, 'queued', { now: 2 }).required_action).toBeNull();
    expect(transition(waiting, 'expired', { now: 2 }).required_action).toBeNull();
  });

  it('gives incomplete_details only to an incomplete run, and last_error only to a failed one', () => {
    expect(transition(run, 'incomplete', { now: 1 }).incomplete_details).toEqual({
      reason: 'max_completion_tokens',
    });
    expect(transition(run, 'completed', { now: 1 }).incomplete_details).toBeNull();
    const failed = transition(run, 'failed', {
      now: 1,
      error: { code: 'rate_limit_exceeded', message: 'slow' },
    });
    expect(failed).toMatchObject({ last_error: { code: 'rate_limit_exceeded' }, failed_at: 1 });
    expect(transition(failed, 'completed', { now: 2 }).last_error).toBeNull();
  });

  it('stamps the ending once, and started_at when the run first starts', () => {
    const started = transition(run, 'in_progress', { now: 5 });
    expect(transition(started, 'in_progress', { now: 9 }).started_at).toBe(5);
    expect(transition(started, 'completed', { now: 7 })).toMatchObject({
      completed_at: 7,
      cancelled_at: null,
    });
    expect(transition(started, 'cancelled', { now: 8 })).toMatchObject({
      cancelled_at: 8,
      completed_at: null,
    });
    expect(run.status).toBe('queued'); // the input is never changed
  });
});

describe('endStep', () => {
  it('gives a step its usage only when it ends', () => {
    const step = makeStep(run, { type: 'tool_calls', tool_calls: [] });
    expect(step.usage).toBeNull();
    expect(endStep(step, 'completed', { now: 3, usage })).toMatchObject({
      status: 'completed',
      usage,
      completed_at: 3,
    });
    expect(endStep(step, 'failed', { now: 3 })).toMatchObject({
      failed_at: 3,
      last_error: { code: 'server_error' },
    });
  });
});
