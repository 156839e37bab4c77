import type { RunStep } from '@parley/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileSearches, SEARCH_RESULTS_CONTENT } from './steps.js';
import { rejection, startTestProxy, type TestProxy } from './test-proxy.js';

let proxy: TestProxy;
beforeEach(async () => {
  proxy = await startTestProxy();
});
afterEach(async () => {
  await proxy.close();
});

const step = (id: string, details: RunStep['step_details']) =>
  ({ id, object: 'thread.run.step', run_id: 'run_1', status: 'completed', step_details: details }) as RunStep;

describe('fileSearches', () => {
  it('lists the file_search calls of a run with query, passages and scores, asking for the text', async () => {
    proxy.steps.set('run_1', [
      step('step_1', {
        type: 'tool_calls',
        tool_calls: [
          {
            id: 'call_fs',
            type: 'file_search',
            file_search: {
              ranking_options: { ranker: 'default_2024_08_21', score_threshold: 0 },
              query: 'When was the bell cast?',
              results: [
                {
                  file_id: 'file-a',
                  file_name: 'chronicle.md',
                  score: 0.82,
                  content: [{ type: 'text', text: 'The bell was cast in 812.' }],
                },
                { file_id: 'file-b', file_name: 'notes.pdf', score: 0.1 },
              ],
            },
          },
          { id: 'call_fn', type: 'function', function: { name: 'take_item', arguments: '{}', output: null } },
        ],
      }),
      step('step_2', { type: 'message_creation', message_creation: { message_id: 'msg_1' } }),
      step('step_3', {
        type: 'tool_calls',
        tool_calls: [{ id: 'call_2', type: 'file_search', file_search: {} }],
      }),
    ]);
    const calls = await fileSearches({ url: proxy.url }, 'thread_1', 'run_1');
    expect(calls).toEqual([
      {
        id: 'call_fs',
        query: 'When was the bell cast?',
        passages: [
          { fileId: 'file-a', filename: 'chronicle.md', score: 0.82, text: 'The bell was cast in 812.' },
          { fileId: 'file-b', filename: 'notes.pdf', score: 0.1, text: '' },
        ],
      },
      { id: 'call_2', query: '', passages: [] },
    ]);
    const asked = new URL(proxy.requests.at(-1)!.path, proxy.url);
    expect(asked.pathname).toBe('/v1/threads/thread_1/runs/run_1/steps');
    expect(asked.searchParams.getAll('include[]')).toEqual([SEARCH_RESULTS_CONTENT]);
  });

  it('rejects with a DialogueError for a run the proxy does not know', async () => {
    expect((await rejection(fileSearches({ url: proxy.url }, 'thread_1', 'run_x'))).code).toBe('not_found');
  });
});
