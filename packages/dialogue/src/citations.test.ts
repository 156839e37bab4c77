import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readCitations, stripCitations } from './citations.js';
import { createParley } from './parley.js';
import { memoryStore } from './store.js';
import { collect, type RunContext, startTestProxy, type TestProxy } from './test-proxy.js';

// As the proxy writes them (file-search contract §3): the marker stays in the text, one annotation per marker.
const annotation = (value: string, marker: string, fileId: string, from = 0) => {
  const start = value.indexOf(marker, from);
  return {
    type: 'file_citation',
    text: marker,
    start_index: start,
    end_index: start + marker.length,
    file_citation: { file_id: fileId },
  };
};

describe('stripCitations', () => {
  it('takes the markers out with the space before them, also one cut off at the end', () => {
    expect(stripCitations('The tower is old 【0†chronicle.md】. Ask me more.')).toBe(
      'The tower is old. Ask me more.',
    );
    expect(stripCitations('Built in 812. 【1†odo notes.pdf】 Then the wall.')).toBe(
      'Built in 812. Then the wall.',
    );
    expect(stripCitations('Built in 812. 【1†odo no')).toBe('Built in 812.');
    expect(stripCitations('No sources here.')).toBe('No sources here.');
  });
});

describe('readCitations', () => {
  it('gives file id, file name and the sentence before each marker, skipping other annotations', () => {
    const text =
      'Welcome, traveller. The bridge was built by Alda Venn 【0†chronicle.md】. The bell is older! 【1†bells.pdf】 Ask away 【0†chronicle.md】';
    const annotations = [
      annotation(text, '【0†chronicle.md】', 'file-a'),
      { type: 'file_path', text: 'x', start_index: 0, end_index: 1, file_path: { file_id: 'file-p' } },
      annotation(text, '【1†bells.pdf】', 'file-b'),
      annotation(text, '【0†chronicle.md】', 'file-a', 60),
    ];
    expect(readCitations(text, [{ text: { annotations } }])).toEqual([
      { fileId: 'file-a', filename: 'chronicle.md', quote: 'The bridge was built by Alda Venn' },
      { fileId: 'file-b', filename: 'bells.pdf', quote: 'The bell is older!' },
      // After an earlier marker, without it.
      { fileId: 'file-a', filename: 'chronicle.md', quote: 'Ask away' },
    ]);
    expect(readCitations(text, undefined)).toEqual([]);
    expect(readCitations(text, [{}, { text: { annotations: [] } }])).toEqual([]);
  });

  it('counts the indexes from where the message starts in a longer text', () => {
    const message = 'It was cast in 812 【0†chronicle.md】.';
    const said = `Let me look.\n\n${message}`;
    const note = annotation(message, '【0†chronicle.md】', 'file-a');
    const [citation] = readCitations(said, [{ text: { annotations: [note] } }], 14);
    expect(citation?.quote).toBe('It was cast in 812');
  });
});

describe('turns with file_search', () => {
  let proxy: TestProxy;
  beforeEach(async () => {
    proxy = await startTestProxy();
  });
  afterEach(async () => {
    await proxy.close();
  });

  const REPLY =
    'Ah, the chronicle! The first bell of Eastwatch was cast in 812 【0†chronicle.md】. Anything else?';
  const MARKER = '【0†chronicle.md】';

  // Streams REPLY in pieces that split the marker; the annotation comes with the delta completing it.
  const citing = async ({ run, send }: RunContext) => {
    send('thread.run.created', run('queued'));
    send('thread.run.in_progress', run('in_progress'));
    const note = annotation(REPLY, MARKER, 'file-chron');
    const end = note.end_index;
    const pieces = [REPLY.slice(0, end - 6), REPLY.slice(end - 6, end), REPLY.slice(end)];
    const message = { id: 'msg_cite', object: 'thread.message', role: 'assistant' };
    send('thread.message.created', { ...message, content: [] });
    for (const [i, value] of pieces.entries()) {
      const annotations = i === 1 ? [{ index: 0, ...note }] : [];
      send('thread.message.delta', {
        id: 'msg_cite',
        object: 'thread.message.delta',
        delta: { content: [{ index: 0, type: 'text', text: { value, annotations } }] },
      });
    }
    send('thread.message.completed', {
      ...message,
      content: [{ type: 'text', text: { value: REPLY, annotations: [note] } }],
    });
    send('thread.run.completed', run('completed'));
    send('done', '[DONE]');
  };

  const talk = () =>
    createParley({ url: proxy.url, store: memoryStore() })
      .npc({ id: 'odo', name: 'Odo', instructions: 'A scholar.' })
      .conversation();

  it('collects the citations of the streamed deltas (marker split across deltas) on turn.end', async () => {
    proxy.script = citing;
    const events = await collect(talk().say('When was the first bell cast?'));
    const end = events.at(-1);
    expect(end).toMatchObject({
      type: 'turn.end',
      text: REPLY,
      citations: [
        {
          fileId: 'file-chron',
          filename: 'chronicle.md',
          quote: 'The first bell of Eastwatch was cast in 812',
        },
      ],
    });
    expect(stripCitations(end?.type === 'turn.end' ? end.text : '')).toBe(
      'Ah, the chronicle! The first bell of Eastwatch was cast in 812. Anything else?',
    );
  });

  it('gives an NPC with vectorStoreIds the file_search tool and its stores, once', async () => {
    const store = memoryStore();
    const odo = {
      id: 'odo',
      name: 'Odo',
      instructions: 'A scholar.',
      tools: [{ name: 'take_item' }],
      vectorStoreIds: ['vs_lore_library'],
    };
    await createParley({ url: proxy.url, store }).npc(odo).ensure();
    expect(proxy.assistants[0]).toMatchObject({
      tools: [{ type: 'function', function: { name: 'take_item' } }, { type: 'file_search' }],
      tool_resources: { file_search: { vector_store_ids: ['vs_lore_library'] } },
    });
    // A reload finds it up to date; another store list is a change.
    await createParley({ url: proxy.url, store }).npc(odo).ensure();
    expect(proxy.calls('POST', /^\/v1\/assistants\/./)).toHaveLength(0);
    await createParley({ url: proxy.url, store })
      .npc({ ...odo, vectorStoreIds: ['vs_other'] })
      .ensure();
    expect(proxy.calls('POST', /^\/v1\/assistants\/./)).toHaveLength(1);
    expect(proxy.assistants[0]?.tool_resources).toEqual({ file_search: { vector_store_ids: ['vs_other'] } });
  });

  it('leaves turns without sources as they were', async () => {
    const events = await collect(talk().say('Hello'));
    expect(events.some((e) => 'citations' in e)).toBe(false);
  });
});
