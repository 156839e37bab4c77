import type { DialogueError, DialogueEvent } from '@parley/dialogue';
import { describe, expect, it } from 'vitest';
import {
  type AssistantInfo,
  ConsoleModel,
  estimateCost,
  memoryNoteOf,
  priceFor,
  runToJSON,
} from './console-model.js';

const brom = { id: 'brom', name: 'Brom', instructions: 'A gruff gate guard.' };
const usage = { prompt_tokens: 1000, completion_tokens: 100, total_tokens: 1100 };

function setup() {
  let now = 1000;
  const model = new ConsoleModel({ now: () => now, wall: () => Date.UTC(2026, 0, 1) });
  const changes: number[] = [];
  model.subscribe(() => changes.push(now));
  model.addNpc(brom);
  return { model, changes, at: (t: number) => (now = 1000 + t) };
}

describe('prices', () => {
  it('prices a model by name, a dated snapshot by its family, the offline model at zero', () => {
    expect(priceFor('gpt-4o-mini')).toEqual({ input: 0.15, output: 0.6 });
    expect(priceFor('gpt-4o-mini-2024-07-18')).toEqual({ input: 0.15, output: 0.6 });
    expect(priceFor('gpt-4o-2024-08-06')).toEqual({ input: 2.5, output: 10 });
    expect(priceFor('llama3.2')).toBeUndefined();
    expect(priceFor('llama3.2', { default: { input: 1, output: 1 } })).toEqual({ input: 1, output: 1 });
  });

  it('estimates a run’s cost from its usage', () => {
    expect(estimateCost('gpt-4o-mini', usage)).toBeCloseTo(0.00021, 10);
    expect(estimateCost('parley-offline', usage)).toBe(0);
    expect(estimateCost('unknown-model', usage)).toBeUndefined();
    expect(estimateCost('gpt-4o', null)).toBeUndefined();
  });
});

describe('ConsoleModel', () => {
  it('records a run: thread, events with times, time to first token, total, tokens and cost', () => {
    const { model, at } = setup();
    model.setAssistant('brom', { id: 'asst_1', model: 'gpt-4o-mini' } as AssistantInfo);
    at(0);
    const run = model.startRun('brom', 'Is the gate open?');
    const events: Array<[number, DialogueEvent]> = [
      [40, { type: 'turn.start', runId: 'run_1', threadId: 'thread_1' }],
      [250, { type: 'text.delta', delta: 'Closed', text: 'Closed' }],
      [300, { type: 'text.delta', delta: ' at night.', text: 'Closed at night.' }],
      [900, { type: 'turn.end', text: 'Closed at night.', status: 'completed', runId: 'run_1', usage }],
    ];
    for (const [t, event] of events) {
      at(t);
      model.record(run, event);
    }
    expect(run).toMatchObject({
      seq: 1,
      runId: 'run_1',
      threadId: 'thread_1',
      status: 'completed',
      ttft: 250,
      total: 900,
      usage,
      model: 'gpt-4o-mini',
      text: 'Closed at night.',
    });
    expect(run.cost).toBeCloseTo(0.00021, 10);
    expect(run.events.map((e) => [e.at, e.type])).toEqual([
      [40, 'turn.start'],
      [250, 'text.delta'],
      [300, 'text.delta'],
      [900, 'turn.end'],
    ]);
    expect(model.npc('brom')?.threadId).toBe('thread_1');
  });

  it('pairs tool calls with their results and keeps error codes', () => {
    const { model, at } = setup();
    const run = model.startRun('brom', 'Open the gate', 'console');
    at(100);
    model.record(run, {
      type: 'tool.call',
      calls: [{ id: 'c1', name: 'open_gate', arguments: '{"gate":"north"}' }],
    });
    at(130);
    model.record(run, {
      type: 'tool.result',
      id: 'c1',
      name: 'open_gate',
      output: '{"error":"locked"}',
      error: 'locked',
    });
    at(500);
    const error = Object.assign(new Error('Too many requests'), { code: 'rate_limited', retryable: true });
    model.record(run, { type: 'error', error: error as DialogueError });
    expect(run.tools).toEqual([
      {
        id: 'c1',
        name: 'open_gate',
        arguments: '{"gate":"north"}',
        calledAt: 100,
        output: '{"error":"locked"}',
        answeredAt: 130,
        error: 'locked',
      },
    ]);
    expect(run).toMatchObject({
      status: 'failed',
      total: 500,
      source: 'console',
      error: { code: 'rate_limited', message: 'Too many requests', retryable: true },
    });
    expect(run.ttft).toBeUndefined();
  });

  it('marks an interrupted run as cancelled; offline runs cost nothing', () => {
    const { model } = setup();
    model.setAssistant('brom', { id: 'asst_1', model: 'parley-offline' } as AssistantInfo);
    const cut = model.startRun('brom', 'Tell me a story');
    const interrupted = Object.assign(new Error('The turn was interrupted'), {
      code: 'interrupted',
      retryable: false,
    });
    model.record(cut, { type: 'error', error: interrupted as DialogueError });
    expect(cut.status).toBe('cancelled');
    const free = model.startRun('brom', 'Hi');
    model.record(free, { type: 'turn.end', text: 'Hm.', status: 'completed', runId: 'run_2', usage });
    expect(free.cost).toBe(0);
    expect(model.runs('brom').map((r) => r.seq)).toEqual([1, 2]);
  });

  it('keeps the newest runs and notifies subscribers of changes', () => {
    const model = new ConsoleModel({ maxRuns: 2 });
    const changes: string[] = [];
    model.subscribe(() => changes.push('x'));
    model.addNpc(brom);
    for (const line of ['a', 'b', 'c']) model.startRun('brom', line);
    expect(model.runs().map((r) => r.line)).toEqual(['b', 'c']);
    expect(changes.length).toBe(4);
  });

  it('copies a run as JSON with its NPC', () => {
    const { model } = setup();
    const run = model.startRun('brom', 'Hello');
    const json = JSON.parse(JSON.stringify(runToJSON(run, model.npc('brom'))));
    expect(json).toMatchObject({
      line: 'Hello',
      status: 'running',
      startedAt: '2026-01-01T00:00:00.000Z',
      npc: { id: 'brom', name: 'Brom', assistant: null, threadId: null },
    });
  });
});

describe('memory note', () => {
  it('reads the note from thread metadata, null when the thread has none', () => {
    expect(memoryNoteOf({ parley_memory: "- The player's name is Ada.", quest: 'gate' })).toBe(
      "- The player's name is Ada.",
    );
    expect(memoryNoteOf({ quest: 'gate' })).toBeNull();
    expect(memoryNoteOf({ parley_memory: '  ' })).toBeNull();
    expect(memoryNoteOf(null)).toBeNull();
  });

  it('keeps the note on the NPC and tells listeners only when it changed', () => {
    const { model, changes } = setup();
    const before = changes.length;
    model.setMemory('brom', { parley_memory: "- The player's name is Ada." });
    expect(model.npc('brom')?.memory).toBe("- The player's name is Ada.");
    model.setMemory('brom', { parley_memory: "- The player's name is Ada." });
    expect(changes.length).toBe(before + 1);
    model.setMemory('brom', {});
    expect(model.npc('brom')?.memory).toBeNull();
    model.setMemory('nobody', { parley_memory: 'x' });
    expect(changes.length).toBe(before + 2);
  });
});
