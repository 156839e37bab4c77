import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI, { toFile } from 'openai';
import type { AssistantStreamEvent } from 'openai/resources/beta/assistants';
import type { FileCitationAnnotation } from 'openai/resources/beta/threads/messages';
import type { RunStep } from 'openai/resources/beta/threads/runs/steps';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProxy, loadConfig } from '../../packages/proxy/src/index.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.js';
import { proxyEnv } from '../support/proxy.js';

/**
 * The `file_search` tool inside runs, through the official `openai` SDK against a real proxy built from
 * source: with the fake OpenAI upstream (the passages must reach the model's request, its markers become
 * annotations) and with the offline model. See docs/decisions/0012-file-search-in-runs.md.
 */

const CHRONICLE = `# The Chronicle of Varn

The city of Varn was founded by Queen Ysolde in the year 412, after the flood drowned the old harbour.
Her seal, a silver heron, still hangs above the gate of the library.
`;
/** A name with spaces: the fake upstream streams word by word, so its marker arrives split across deltas. */
const FILE_NAME = 'lore of varn.md';
const MARKER = `【0†${FILE_NAME}】`;
const INCLUDE = 'step_details.tool_calls[*].file_search.results[*].content' as const;
const POLL = { pollIntervalMs: 20 };
const GIVE_ITEM = {
  type: 'function' as const,
  function: {
    name: 'give_item',
    parameters: { type: 'object', properties: { item: { type: 'string' } }, required: ['item'] },
  },
};

type Proxy = Awaited<ReturnType<typeof createProxy>>;
type ChatMessage = {
  role: string;
  content: string | null;
  tool_calls?: Array<{ id: string; function: { name: string; arguments: string } }>;
  tool_call_id?: string;
};

async function start(env: Record<string, string>): Promise<{ proxy: Proxy; client: OpenAI }> {
  const proxy = await createProxy(loadConfig(env));
  const url = await proxy.listen();
  const client = new OpenAI({
    baseURL: `${url}/v1`,
    apiKey: 'anything',
    maxRetries: 0,
    defaultHeaders: { 'x-parley-player': 'scholar' },
  });
  return { proxy, client };
}

/** A vector store holding the chronicle, indexed; its file's id. */
async function library(client: OpenAI): Promise<{ storeId: string; fileId: string }> {
  const file = await client.files.create({
    file: await toFile(Buffer.from(CHRONICLE), FILE_NAME),
    purpose: 'assistants',
  });
  const store = await client.vectorStores.create({ name: 'Library', file_ids: [file.id] });
  const indexed = await client.vectorStores.files.poll(store.id, file.id, POLL);
  expect(indexed.status).toBe('completed');
  return { storeId: store.id, fileId: file.id };
}

function fileSearchCalls(step: RunStep) {
  if (step.step_details.type !== 'tool_calls') return [];
  return step.step_details.tool_calls.flatMap((call) => (call.type === 'file_search' ? [call] : []));
}

function expectCitation(value: string, annotations: unknown[], fileId: string): void {
  const start = value.indexOf(MARKER);
  expect(start).toBeGreaterThan(0);
  expect(annotations).toEqual([
    {
      type: 'file_citation',
      text: MARKER,
      start_index: start,
      end_index: start + MARKER.length,
      file_citation: { file_id: fileId },
    },
  ]);
  const [note] = annotations as FileCitationAnnotation[];
  expect(value.slice(note!.start_index, note!.end_index)).toBe(note!.text);
}

/** Every assistant message with tool calls is followed by one tool message per call (the wire's rule). */
function expectAnsweredCalls(messages: ChatMessage[]): void {
  messages.forEach((message, i) => {
    if (!message.tool_calls) return;
    const answers = messages.slice(i + 1, i + 1 + message.tool_calls.length);
    expect(answers.map((answer) => [answer.role, answer.tool_call_id])).toEqual(
      message.tool_calls.map((call) => ['tool', call.id]),
    );
  });
}

describe('file_search in runs, with the fake upstream', () => {
  let fake: FakeUpstream;
  let proxy: Proxy;
  let client: OpenAI;
  let fileId: string;
  let assistantId: string;
  const question = 'Who founded the city of Varn?';
  const reply = `Queen Ysolde founded Varn in 412.${MARKER} Ask Odo about the rest.`;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    ({ proxy, client } = await start(proxyEnv('fake', fake)));
    const shelf = await library(client);
    fileId = shelf.fileId;
    const assistant = await client.beta.assistants.create({
      model: 'gpt-4o-mini',
      name: 'Odo',
      instructions: 'You are Odo the scholar.',
      tools: [{ type: 'file_search' }, GIVE_ITEM],
      tool_resources: { file_search: { vector_store_ids: [shelf.storeId] } },
    });
    assistantId = assistant.id;
  });
  afterAll(async () => {
    await proxy.close();
    await fake.close();
  });

  const askedThread = () => client.beta.threads.create({ messages: [{ role: 'user', content: question }] });
  const searchFor = (query: string) => ({
    kind: 'tools' as const,
    calls: [{ name: 'file_search', arguments: JSON.stringify({ query }) }],
  });

  it('createAndPoll: the passages reach the model, the run goes on by itself, the reply cites them', async () => {
    const thread = await askedThread();
    const before = fake.requests.length;
    fake.enqueue(searchFor('founder of Varn'), { kind: 'text', text: reply });
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistantId }, POLL);
    expect(run.status).toBe('completed');
    expect(run.required_action).toBeNull();

    const [first, second] = fake.requests.slice(before).map((request) => request.body);
    expect(fake.requests.length - before).toBe(2);
    const offered = (first!['tools'] as Array<{ function: { name: string } }>).map((tool) => tool.function);
    expect(offered).toContainEqual({
      name: 'file_search',
      description: expect.stringContaining('Search the knowledge files'),
      parameters: {
        type: 'object',
        properties: { query: { type: 'string', description: 'What to look up' } },
        required: ['query'],
        additionalProperties: false,
      },
    });
    const messages = second!['messages'] as ChatMessage[];
    expectAnsweredCalls(messages);
    const call = messages.find((message) => message.tool_calls)!;
    expect(call.tool_calls![0]!.function).toEqual({
      name: 'file_search',
      arguments: JSON.stringify({ query: 'founder of Varn' }),
    });
    const passages = messages.find((message) => message.role === 'tool')!.content!;
    expect(passages.split('\n')[0]).toBe(
      'Passages from the knowledge files. Cite a passage by writing its marker right after the sentence that uses it, e.g. 【0†chronicle.md】.',
    );
    expect(passages).toContain(
      `${MARKER} # The Chronicle of Varn The city of Varn was founded by Queen Ysolde`,
    );

    const [answer] = (await client.beta.threads.messages.list(thread.id, { run_id: run.id })).data;
    const text = answer!.content[0]!;
    if (text.type !== 'text') throw new Error('expected text');
    expect(text.text.value).toBe(reply);
    expectCitation(text.text.value, text.text.annotations, fileId);

    const steps = (await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id, order: 'asc' }))
      .data;
    expect(steps.map((step) => [step.type, step.status])).toEqual([
      ['tool_calls', 'completed'],
      ['message_creation', 'completed'],
    ]);
    const [search] = fileSearchCalls(steps[0]!);
    expect(search).toMatchObject({
      type: 'file_search',
      file_search: { ranking_options: { ranker: 'default_2024_08_21', score_threshold: 0 } },
    });
    expect(search!.id).toMatch(/^call_/);
    const [result] = search!.file_search.results!;
    expect(result).toEqual({ file_id: fileId, file_name: FILE_NAME, score: expect.any(Number) });
    expect(result!.score).toBeGreaterThan(0);
    expect(result!.score).toBeLessThanOrEqual(1);
  });

  it('steps show the passages only when include[] asks for them', async () => {
    const thread = await askedThread();
    fake.enqueue(searchFor('Queen Ysolde'), { kind: 'text', text: reply });
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistantId }, POLL);
    const listed = await client.beta.threads.runs.steps.list(run.id, {
      thread_id: thread.id,
      order: 'asc',
      include: [INCLUDE],
    });
    const step = listed.data[0]!;
    const withContent = fileSearchCalls(step)[0]!.file_search.results![0]!;
    expect(withContent.content).toEqual([{ type: 'text', text: expect.stringContaining('Queen Ysolde') }]);
    const retrieved = await client.beta.threads.runs.steps.retrieve(step.id, {
      thread_id: thread.id,
      run_id: run.id,
      include: [INCLUDE],
    });
    expect(retrieved).toEqual(step);
    const plain = await client.beta.threads.runs.steps.retrieve(step.id, {
      thread_id: thread.id,
      run_id: run.id,
    });
    expect(fileSearchCalls(plain)[0]!.file_search.results![0]).not.toHaveProperty('content');
  });

  it('streamed: the search step, then deltas whose annotation comes with the piece that completes the marker', async () => {
    const thread = await askedThread();
    fake.enqueue(searchFor('Varn'), { kind: 'text', text: reply });
    const stream = client.beta.threads.runs.stream(thread.id, {
      assistant_id: assistantId,
      include: [INCLUDE],
    });
    const events: AssistantStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const names = events.map((event) => event.event);
    expect(names).not.toContain('thread.run.requires_action');
    expect(names.filter((name) => name === 'thread.run.in_progress')).toHaveLength(1);
    expect(names.at(-1)).toBe('thread.run.completed');

    const toolStep = (name: string) =>
      events.find(
        (event) =>
          event.event === name &&
          (event.data as RunStep).object === 'thread.run.step' &&
          (event.data as RunStep).step_details.type === 'tool_calls',
      )?.data as RunStep | undefined;
    const created = toolStep('thread.run.step.created')!;
    expect(created.status).toBe('in_progress');
    const completed = toolStep('thread.run.step.completed')!;
    expect(completed.id).toBe(created.id);
    // Asked with include[] when the run was created: the streamed step shows the passages.
    expect(fileSearchCalls(completed)[0]!.file_search.results![0]!.content![0]!.text).toContain('Ysolde');
    expect(names.indexOf('thread.run.step.completed')).toBeLessThan(names.indexOf('thread.message.created'));
    const announced = events.find((event) => event.event === 'thread.run.step.delta');
    expect(announced?.data).toMatchObject({
      id: created.id,
      delta: { step_details: { tool_calls: [{ index: 0, type: 'file_search', file_search: {} }] } },
    });

    let value = '';
    const cited: Array<{ at: number; before: number; annotation: unknown }> = [];
    for (const event of events) {
      if (event.event !== 'thread.message.delta') continue;
      const part = event.data.delta.content?.[0];
      if (part?.type !== 'text') continue;
      const before = value.length;
      value += part.text?.value ?? '';
      for (const annotation of part.text?.annotations ?? [])
        cited.push({ at: value.length, before, annotation });
    }
    expect(value).toBe(reply);
    const start = reply.indexOf(MARKER);
    expect(cited).toEqual([
      {
        at: expect.any(Number),
        before: expect.any(Number),
        annotation: {
          index: 0,
          type: 'file_citation',
          text: MARKER,
          start_index: start,
          end_index: start + MARKER.length,
          file_citation: { file_id: fileId },
        },
      },
    ]);
    // The marker came in several pieces, and the annotation with the last of them.
    expect(cited[0]!.before).toBeGreaterThan(start);
    expect(cited[0]!.before).toBeLessThan(start + MARKER.length);
    expect(cited[0]!.at).toBeGreaterThanOrEqual(start + MARKER.length);

    const done = events.find((event) => event.event === 'thread.message.completed');
    if (done?.event !== 'thread.message.completed') throw new Error('no completed message');
    const part = done.data.content[0]!;
    if (part.type !== 'text') throw new Error('expected text');
    expectCitation(part.text.value, part.text.annotations, fileId);
  });

  it('a search and a game function in one answer: the search runs, the run waits for the function only', async () => {
    const thread = await askedThread();
    const before = fake.requests.length;
    fake.enqueue(
      {
        kind: 'tools',
        calls: [
          { name: 'file_search', arguments: JSON.stringify({ query: 'heron seal' }) },
          { name: 'give_item', arguments: JSON.stringify({ item: 'lantern' }) },
        ],
      },
      { kind: 'text', text: `The heron seal is above the gate.${MARKER} Take the lantern.` },
    );
    const waiting = await client.beta.threads.runs.createAndPoll(
      thread.id,
      { assistant_id: assistantId },
      POLL,
    );
    expect(waiting.status).toBe('requires_action');
    const asked = waiting.required_action!.submit_tool_outputs.tool_calls;
    expect(asked.map((call) => call.function.name)).toEqual(['give_item']);

    const steps = (
      await client.beta.threads.runs.steps.list(waiting.id, { thread_id: thread.id, order: 'asc' })
    ).data;
    const search = steps.find((step) => fileSearchCalls(step).length > 0)!;
    expect(search.status).toBe('completed');
    const pending = steps.find((step) => step.id !== search.id)!;
    expect(pending).toMatchObject({ type: 'tool_calls', status: 'in_progress' });

    const run = await client.beta.threads.runs.submitToolOutputsAndPoll(
      waiting.id,
      { thread_id: thread.id, tool_outputs: [{ tool_call_id: asked[0]!.id, output: '{"given":true}' }] },
      POLL,
    );
    expect(run.status).toBe('completed');
    expect(fake.requests.length - before).toBe(2);
    const messages = fake.requests.at(-1)!.body['messages'] as ChatMessage[];
    expectAnsweredCalls(messages);
    const tools = messages.filter((message) => message.role === 'tool').map((message) => message.content);
    expect(tools).toHaveLength(2);
    expect(tools).toContain('{"given":true}');
    expect(tools.some((content) => content?.includes('silver heron'))).toBe(true);

    const [answer] = (await client.beta.threads.messages.list(thread.id, { run_id: run.id })).data;
    const text = answer!.content[0]!;
    if (text.type !== 'text') throw new Error('expected text');
    expectCitation(text.text.value, text.text.annotations, fileId);
  });

  it("a search waits for the thread's files still being indexed, as OpenAI's runs did", async () => {
    const { storeId, fileId } = await library(client);
    const reader = await client.beta.assistants.create({
      model: 'gpt-4o-mini',
      tools: [{ type: 'file_search' }],
    });
    const thread = await client.beta.threads.create({
      messages: [{ role: 'user', content: question }],
      tool_resources: { file_search: { vector_store_ids: [storeId] } },
    });
    // The file is put back in the indexer's hands: a search now would not see it until it is done.
    const db = proxy.store.database();
    const setStatus = (status: string) =>
      db.query('UPDATE parley_vector_store_files SET status = $1 WHERE vector_store_id = $2', [
        status,
        storeId,
      ]);
    await setStatus('in_progress');
    fake.enqueue(searchFor('Queen Ysolde'), { kind: 'text', text: reply });
    const polled = client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: reader.id }, POLL);
    await new Promise((resolve) => setTimeout(resolve, 400));
    await setStatus('completed');
    const run = await polled;
    expect(run.status).toBe('completed');
    const [step] = (await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id, order: 'asc' }))
      .data;
    expect(fileSearchCalls(step!)[0]!.file_search.results![0]).toMatchObject({ file_id: fileId });
    const [answer] = (await client.beta.threads.messages.list(thread.id, { run_id: run.id })).data;
    const text = answer!.content[0]!;
    if (text.type !== 'text') throw new Error('expected text');
    expectCitation(text.text.value, text.text.annotations, fileId);
  });

  it('a marker that cites no passage of the run stays text, without annotation', async () => {
    const thread = await askedThread();
    fake.enqueue(searchFor('Varn'), { kind: 'text', text: 'Ysolde did.【4†lore of varn.md】【0†other.md】' });
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistantId }, POLL);
    const [answer] = (await client.beta.threads.messages.list(thread.id, { run_id: run.id })).data;
    expect(answer!.content[0]).toEqual({
      type: 'text',
      text: { value: 'Ysolde did.【4†lore of varn.md】【0†other.md】', annotations: [] },
    });
  });

  it('the search loop is bounded: the tool is withdrawn after 4 searches, a fifth fails the run', async () => {
    const thread = await askedThread();
    const before = fake.requests.length;
    fake.enqueue(...Array.from({ length: 5 }, (_, i) => searchFor(`Varn ${i}`)));
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistantId }, POLL);
    expect(run.status).toBe('failed');
    expect(run.last_error?.message).toMatch(/searched the knowledge files more than 4 times/);
    const offered = fake.requests
      .slice(before)
      .map((request) =>
        ((request.body['tools'] as Array<{ function: { name: string } }>) ?? []).some(
          (tool) => tool.function.name === 'file_search',
        ),
      );
    expect(offered).toEqual([true, true, true, true, false]);
  });

  it("tool_choice {type: 'file_search'} makes the model search first, then lets it answer", async () => {
    const thread = await askedThread();
    const before = fake.requests.length;
    fake.enqueue(searchFor('Varn'), { kind: 'text', text: reply });
    const run = await client.beta.threads.runs.createAndPoll(
      thread.id,
      { assistant_id: assistantId, tool_choice: { type: 'file_search' } },
      POLL,
    );
    expect(run).toMatchObject({ status: 'completed', tool_choice: { type: 'file_search' } });
    expect(fake.requests.slice(before).map((request) => request.body['tool_choice'])).toEqual([
      { type: 'function', function: { name: 'file_search' } },
      'auto',
    ]);
  });

  it('is offered only with a vector store to search', async () => {
    const bare = await client.beta.assistants.create({
      model: 'gpt-4o-mini',
      tools: [{ type: 'file_search' }],
    });
    const thread = await askedThread();
    const before = fake.requests.length;
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: bare.id }, POLL);
    expect(run.status).toBe('completed');
    expect(fake.requests[before]!.body['tools']).toBeUndefined();
  });

  it('refuses a developer function named file_search next to the built-in tool', async () => {
    const clash = {
      model: 'gpt-4o-mini',
      tools: [
        { type: 'file_search' as const },
        { type: 'function' as const, function: { name: 'file_search' } },
      ],
    };
    await expect(client.beta.assistants.create(clash)).rejects.toMatchObject({
      status: 400,
      param: 'tools',
      code: 'invalid_value',
      message: expect.stringContaining("may not be named 'file_search'"),
    });
    const thread = await askedThread();
    await expect(
      client.beta.threads.runs.create(thread.id, { assistant_id: assistantId, tools: clash.tools }),
    ).rejects.toMatchObject({ status: 400, param: 'tools' });
    // Without the built-in tool the name is the developer's to use.
    const own = await client.beta.assistants.create({ model: 'gpt-4o-mini', tools: [clash.tools[1]!] });
    expect(own.tools).toEqual([clash.tools[1]]);
  });
});

describe('file_search in runs, offline', () => {
  let proxy: Proxy;
  let client: OpenAI;

  beforeAll(async () => {
    ({ proxy, client } = await start(proxyEnv('offline', undefined)));
  });
  afterAll(async () => {
    await proxy.close();
  });

  it('the offline model searches, answers from the passage and cites it', async () => {
    const { storeId, fileId } = await library(client);
    const assistant = await client.beta.assistants.create({
      model: 'gpt-4o-mini',
      name: 'Odo',
      instructions: 'You are Odo the scholar of Varn.',
      tools: [{ type: 'file_search' }],
      tool_resources: { file_search: { vector_store_ids: [storeId] } },
    });
    const thread = await client.beta.threads.create({
      messages: [{ role: 'user', content: 'Who founded the city of Varn?' }],
    });
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id }, POLL);
    expect(run.status).toBe('completed');
    const steps = (await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id, order: 'asc' }))
      .data;
    expect(steps.map((step) => step.type)).toEqual(['tool_calls', 'message_creation']);
    expect(fileSearchCalls(steps[0]!)[0]!.file_search.results![0]).toMatchObject({
      file_id: fileId,
      file_name: FILE_NAME,
    });
    const [answer] = (await client.beta.threads.messages.list(thread.id, { run_id: run.id })).data;
    const text = answer!.content[0]!;
    if (text.type !== 'text') throw new Error('expected text');
    expect(text.text.value).toContain('Ysolde');
    expectCitation(text.text.value, text.text.annotations, fileId);
  });
});

describe('file_search in runs, over budget', () => {
  let fake: FakeUpstream;
  let proxy: Proxy;
  let client: OpenAI;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    // One model request a minute, answered in character past it: the search's own segment is the second.
    ({ proxy, client } = await start(
      proxyEnv('fake', fake, { PARLEY_PLAYER_REQUESTS_PER_MINUTE: '1', PARLEY_BUDGET_CANNED_REPLY: '1' }),
    ));
  });
  afterAll(async () => {
    await proxy.close();
    await fake.close();
  });

  it('the segment after a search is admitted like one after tool outputs', async () => {
    const { storeId } = await library(client);
    const assistant = await client.beta.assistants.create({
      model: 'gpt-4o-mini',
      name: 'Odo',
      tools: [{ type: 'file_search' }],
      tool_resources: { file_search: { vector_store_ids: [storeId] } },
    });
    const thread = await client.beta.threads.create({
      messages: [{ role: 'user', content: 'Who founded Varn?' }],
    });
    fake.enqueue({ kind: 'tools', calls: [{ name: 'file_search', arguments: '{"query":"Varn"}' }] });
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id }, POLL);
    expect(run.status).toBe('completed');
    // The model was asked once: the answer after the search is the proxy's own budget line.
    expect(fake.requests.filter((request) => request.path.endsWith('/chat/completions'))).toHaveLength(1);
    const steps = (await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id, order: 'asc' }))
      .data;
    expect(steps.map((step) => step.type)).toEqual(['tool_calls', 'message_creation']);
    const [answer] = (await client.beta.threads.messages.list(thread.id, { run_id: run.id })).data;
    const text = answer!.content[0]!;
    if (text.type !== 'text') throw new Error('expected text');
    expect(text.text.value).not.toBe('');
    expect(text.text.value).not.toContain('Fake reply');
  });
});

/** A toy embedding model that knows synonyms full-text search does not: one dimension per concept. */
const CONCEPTS = [
  ['founded', 'built', 'raised'],
  ['city', 'town', 'varn'],
];
function conceptVector(text: string): number[] {
  const vector = new Array<number>(CONCEPTS.length + 1).fill(0);
  for (const word of text.toLowerCase().match(/[a-z]+/g) ?? []) {
    const concept = CONCEPTS.findIndex((words) => words.includes(word));
    vector[concept >= 0 ? concept : CONCEPTS.length]! += concept >= 0 ? 1 : 0.05;
  }
  return vector;
}

/** An upstream that embeds with {@link conceptVector} and hands chat completions to the fake upstream. */
async function startEmbeddingUpstream(fake: FakeUpstream): Promise<{ url: string; server: Server }> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    if (!req.url?.endsWith('/embeddings')) {
      const answer = await fetch(`${fake.url}${req.url!.replace(/^\/v1/, '')}`, {
        method: req.method ?? 'POST',
        headers: { 'content-type': 'application/json' },
        body: raw,
      });
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' });
      for await (const chunk of answer.body ?? []) res.write(chunk);
      res.end();
      return;
    }
    const body = JSON.parse(raw) as { input: string | string[]; model: string; encoding_format?: string };
    const inputs = Array.isArray(body.input) ? body.input : [body.input];
    const encode = (vector: number[]) =>
      body.encoding_format === 'base64'
        ? Buffer.from(new Float32Array(vector).buffer).toString('base64')
        : vector;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        object: 'list',
        data: inputs.map((input, index) => ({
          object: 'embedding',
          index,
          embedding: encode(conceptVector(input)),
        })),
        model: body.model,
        usage: { prompt_tokens: inputs.length, total_tokens: inputs.length },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, server };
}

describe('file_search in runs, with an embedding model', () => {
  let fake: FakeUpstream;
  let upstream: { url: string; server: Server };
  let proxy: Proxy;
  let client: OpenAI;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    upstream = await startEmbeddingUpstream(fake);
    ({ proxy, client } = await start(
      proxyEnv('fake', fake, { OPENAI_BASE_URL: upstream.url, PARLEY_EMBEDDING_MODEL: 'concept-embed' }),
    ));
  });
  afterAll(async () => {
    await proxy.close();
    await new Promise((resolve) => upstream.server.close(resolve));
    await fake.close();
  });

  it("the run's search ranks by meaning too: a question in other words finds its passage", async () => {
    const { storeId, fileId } = await library(client);
    const assistant = await client.beta.assistants.create({
      model: 'gpt-4o-mini',
      tools: [{ type: 'file_search' }],
      tool_resources: { file_search: { vector_store_ids: [storeId] } },
    });
    const thread = await client.beta.threads.create({
      messages: [{ role: 'user', content: 'Who built the town?' }],
    });
    // No word of the query but 'the' is in the chronicle: full-text search alone finds nothing.
    fake.enqueue(
      { kind: 'tools', calls: [{ name: 'file_search', arguments: '{"query":"Who built the town?"}' }] },
      { kind: 'text', text: `Ysolde did.${MARKER}` },
    );
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id }, POLL);
    expect(run.status).toBe('completed');
    const [step] = (await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id, order: 'asc' }))
      .data;
    expect(fileSearchCalls(step!)[0]!.file_search.results![0]).toMatchObject({
      file_id: fileId,
      file_name: FILE_NAME,
    });
    const passages = (fake.requests.at(-1)!.body['messages'] as ChatMessage[]).find((m) => m.role === 'tool');
    expect(passages?.content).toContain('Queen Ysolde');
  });
});
