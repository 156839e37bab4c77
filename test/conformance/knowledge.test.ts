import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProxy, loadConfig } from '../../packages/proxy/src/index.ts';
import { searchKnowledge } from '../../packages/proxy/src/knowledge/search.ts';
import { KnowledgeStore } from '../../packages/proxy/src/knowledge/storage.ts';
import { makePdf } from '../support/pdf.js';
import { expectErrorBody, expectNoLeak, proxyEnv, SECRET_KEY } from '../support/proxy.js';

/**
 * Files, vector stores, search, embeddings and moderations through the official `openai` SDK against a
 * real proxy (offline model, embedded PGlite), and the bad inputs of issue #19 as raw HTTP. The proxy is
 * built from source, so the suite does not depend on a fresh `dist`.
 */

const MAX_FILE_BYTES = 8192;
const KNOWLEDGE_ENV = {
  PARLEY_MAX_FILE_BYTES: String(MAX_FILE_BYTES),
  PARLEY_MAX_FILES_PER_PLAYER: '12',
  PARLEY_MAX_FILE_STORAGE_BYTES: String(3 * MAX_FILE_BYTES),
  PARLEY_PDF_MAX_INFLATED_BYTES: String(1 << 20),
  PARLEY_PDF_MAX_PAGES: '3',
};

const CHRONICLE = `# The Chronicle of Varn

The city of Varn was founded by Queen Ysolde in the year 412, after the flood drowned the old harbour.
Her seal, a silver heron, still hangs above the gate of the library.

## The Library

Odo the scholar keeps the library. The oldest book there is the Ledger of Tides, written in green ink.
`;
const BESTIARY = `# Bestiary

The marsh wyrm sleeps under the mill in winter and hunts eels in spring.
Salt burns its skin; the millers keep barrels of it by the door.
`;
const RECIPES = '{"bread": {"flour": "rye", "baker": "Mira"}, "stew": {"meat": "hare", "cook": "Brom"}}';
const TAVERN =
  '<html><head><style>p{color:red}</style></head><body><p>The Gilded Goose serves <b>plum wine</b> &amp; rye bread.</p><script>alert(1)</script></body></html>';

type Proxy = Awaited<ReturnType<typeof createProxy>>;

async function startProxy(env: Record<string, string>): Promise<{ proxy: Proxy; url: string }> {
  const proxy = await createProxy(loadConfig(env));
  return { proxy, url: await proxy.listen() };
}

const clientFor = (url: string, player: string) =>
  new OpenAI({
    baseURL: `${url}/v1`,
    apiKey: 'anything',
    maxRetries: 0,
    defaultHeaders: { 'x-parley-player': player },
  });

describe('knowledge through the official SDK (offline)', () => {
  let proxy: Proxy;
  let url: string;
  let client: OpenAI;
  let other: OpenAI;
  const poll = { pollIntervalMs: 20 };

  beforeAll(async () => {
    ({ proxy, url } = await startProxy(proxyEnv('offline', undefined, KNOWLEDGE_ENV)));
    client = clientFor(url, 'scholar');
    other = clientFor(url, 'stranger');
  });
  afterAll(async () => {
    await proxy.close();
  });

  it('files.create uploads, lists, retrieves, downloads and deletes', async () => {
    const file = await client.files.create({
      file: await toFile(Buffer.from(CHRONICLE), 'chronicle.md'),
      purpose: 'assistants',
    });
    expect(file).toMatchObject({
      object: 'file',
      bytes: Buffer.byteLength(CHRONICLE),
      filename: 'chronicle.md',
      purpose: 'assistants',
      status: 'processed',
    });
    expect(file.id).toMatch(/^file-[A-Za-z0-9]{24}$/);
    expect((await client.files.retrieve(file.id)).filename).toBe('chronicle.md');
    const listed = [];
    for await (const entry of client.files.list()) listed.push(entry.id);
    expect(listed).toContain(file.id);
    const content = await client.files.content(file.id);
    expect(content.headers.get('content-type')).toMatch(/^text\/markdown/);
    expect(await content.text()).toBe(CHRONICLE);
    // Another player does not see it at all.
    await expect(other.files.retrieve(file.id)).rejects.toMatchObject({ status: 404 });
    expect((await other.files.list()).data).toEqual([]);
    expect(await client.files.delete(file.id)).toEqual({ id: file.id, object: 'file', deleted: true });
    await expect(client.files.retrieve(file.id)).rejects.toMatchObject({ status: 404 });
  });

  it('vectorStores.create with file_ids indexes in the background, then search finds the passage', async () => {
    const file = await client.files.create({
      file: await toFile(Buffer.from(CHRONICLE), 'chronicle.md'),
      purpose: 'assistants',
    });
    const created = await client.vectorStores.create({
      name: 'Library',
      file_ids: [file.id],
      expires_after: { anchor: 'last_active_at', days: 7 },
      metadata: { region: 'varn' },
    });
    expect(created).toMatchObject({
      object: 'vector_store',
      name: 'Library',
      metadata: { region: 'varn' },
      expires_after: { anchor: 'last_active_at', days: 7 },
    });
    expect(created.id).toMatch(/^vs_/);
    expect(created.file_counts.total).toBe(1);
    const attached = await client.vectorStores.files.poll(created.id, file.id, poll);
    expect(attached).toMatchObject({
      object: 'vector_store.file',
      status: 'completed',
      last_error: null,
      vector_store_id: created.id,
      chunking_strategy: {
        type: 'static',
        static: { max_chunk_size_tokens: 800, chunk_overlap_tokens: 400 },
      },
    });
    const store = await client.vectorStores.retrieve(created.id);
    expect(store.status).toBe('completed');
    expect(store.file_counts).toEqual({ in_progress: 0, completed: 1, failed: 0, cancelled: 0, total: 1 });
    expect(store.usage_bytes).toBeGreaterThan(0);
    expect(store.expires_at).toBe(store.last_active_at! + 7 * 86_400);

    const page = await client.vectorStores.search(created.id, { query: 'Who founded the city of Varn?' });
    const results = page.data;
    expect(results.length).toBeGreaterThan(0);
    expect(results[0]).toMatchObject({ file_id: file.id, filename: 'chronicle.md', attributes: null });
    expect(results[0]!.content[0]!.text).toContain('Queen Ysolde');
    expect(results[0]!.score).toBeGreaterThan(0);
    expect(results[0]!.score).toBeLessThanOrEqual(1);
    // Nothing about an unrelated topic.
    expect((await client.vectorStores.search(created.id, { query: 'dragon eggs' })).data).toEqual([]);
    // Another player's view: the store does not exist.
    await expect(other.vectorStores.retrieve(created.id)).rejects.toMatchObject({ status: 404 });
    await expect(other.vectorStores.search(created.id, { query: 'Varn' })).rejects.toMatchObject({
      status: 404,
    });

    const renamed = await client.vectorStores.update(created.id, { name: 'Old library', metadata: null });
    expect(renamed).toMatchObject({ name: 'Old library', metadata: {} });
    expect((await client.vectorStores.list()).data.map((entry) => entry.id)).toContain(created.id);
    expect(await client.vectorStores.delete(created.id)).toEqual({
      id: created.id,
      object: 'vector_store.deleted',
      deleted: true,
    });
    // The file itself stays: only the store went.
    expect((await client.files.retrieve(file.id)).id).toBe(file.id);
    await client.files.delete(file.id);
  });

  it('vectorStores.files.uploadAndPoll indexes with auto chunking; a static strategy is honoured', async () => {
    const long = Array.from({ length: 60 }, (_, i) => `Entry ${i}: the heron ${i} nests by the river.`).join(
      '\n',
    );
    const file = await client.files.create({
      file: await toFile(Buffer.from(long), 'herons.txt'),
      purpose: 'assistants',
    });
    const store = await client.vectorStores.create({
      name: 'Herons',
      file_ids: [file.id],
      chunking_strategy: { type: 'static', static: { max_chunk_size_tokens: 100, chunk_overlap_tokens: 20 } },
    });
    const attached = await client.vectorStores.files.poll(store.id, file.id, poll);
    expect(attached.chunking_strategy).toEqual({
      type: 'static',
      static: { max_chunk_size_tokens: 100, chunk_overlap_tokens: 20 },
    });
    const found = await client.vectorStores.search(store.id, { query: 'heron river', max_num_results: 50 });
    // About 700 tokens in chunks of 100 overlapping by 20: several passages, none longer than a chunk.
    expect(found.data.length).toBeGreaterThan(5);
    for (const result of found.data) expect(result.content[0]!.text.split(/\s+/).length).toBeLessThan(100);
    const uploaded = await client.vectorStores.files.uploadAndPoll(
      store.id,
      await toFile(Buffer.from(BESTIARY), 'bestiary.txt'),
      poll,
    );
    expect(uploaded).toMatchObject({
      status: 'completed',
      chunking_strategy: {
        type: 'static',
        static: { max_chunk_size_tokens: 800, chunk_overlap_tokens: 400 },
      },
    });
    const wyrm = await client.vectorStores.search(store.id, { query: 'marsh wyrm', max_num_results: 1 });
    expect(wyrm.data).toHaveLength(1);
    expect(wyrm.data[0]!.content[0]!.text).toBe(BESTIARY.trim());
    await client.vectorStores.delete(store.id);
    await client.files.delete(file.id);
    await client.files.delete(uploaded.id);
  });

  it('fileBatches.uploadAndPoll indexes Markdown, JSON and HTML; search filters on attributes', async () => {
    const store = await client.vectorStores.create({ name: 'Village' });
    const batch = await client.vectorStores.fileBatches.uploadAndPoll(
      store.id,
      {
        files: [
          await toFile(Buffer.from(BESTIARY), 'bestiary.md'),
          await toFile(Buffer.from(RECIPES), 'recipes.json'),
          await toFile(Buffer.from(TAVERN), 'tavern.html'),
        ],
      },
      poll,
    );
    expect(batch).toMatchObject({
      object: 'vector_store.files_batch',
      status: 'completed',
      vector_store_id: store.id,
    });
    expect(batch.id).toMatch(/^vsfb_/);
    expect(batch.file_counts).toEqual({ in_progress: 0, completed: 3, failed: 0, cancelled: 0, total: 3 });
    const inBatch = [];
    for await (const entry of client.vectorStores.fileBatches.listFiles(batch.id, {
      vector_store_id: store.id,
    }))
      inBatch.push(entry);
    expect(inBatch).toHaveLength(3);

    const tavern = await client.vectorStores.search(store.id, { query: 'plum wine' });
    expect(tavern.data[0]!.filename).toBe('tavern.html');
    expect(tavern.data[0]!.content[0]!.text).toBe('The Gilded Goose serves plum wine & rye bread.');
    const parsed = await client.vectorStores.files.content(tavern.data[0]!.file_id, {
      vector_store_id: store.id,
    });
    expect(parsed.data).toEqual([{ type: 'text', text: 'The Gilded Goose serves plum wine & rye bread.' }]);
    const recipes = await client.vectorStores.search(store.id, { query: 'who bakes the rye bread' });
    expect(recipes.data.map((result) => result.filename)).toContain('recipes.json');

    const bestiaryId = (await client.vectorStores.search(store.id, { query: 'marsh wyrm' })).data[0]!.file_id;
    expect(inBatch.map((entry) => entry.id)).toContain(bestiaryId);
    const tagged = await client.vectorStores.files.update(bestiaryId, {
      vector_store_id: store.id,
      attributes: { chapter: 3, kind: 'beast' },
    });
    expect(tagged.attributes).toEqual({ chapter: 3, kind: 'beast' });
    const filtered = await client.vectorStores.search(store.id, {
      query: 'salt rye',
      filters: {
        type: 'and',
        filters: [
          { type: 'eq', key: 'kind', value: 'beast' },
          { type: 'gte', key: 'chapter', value: 2 },
        ],
      },
    });
    expect(filtered.data.length).toBeGreaterThan(0);
    expect(new Set(filtered.data.map((result) => result.file_id))).toEqual(new Set([bestiaryId]));
    expect(filtered.data[0]!.attributes).toEqual({ chapter: 3, kind: 'beast' });
    const none = await client.vectorStores.search(store.id, {
      query: 'salt rye',
      filters: { type: 'eq', key: 'kind', value: 'dragon' },
    });
    expect(none.data).toEqual([]);
    // A high threshold leaves weak passages out.
    const strict = await client.vectorStores.search(store.id, {
      query: 'salt rye',
      ranking_options: { score_threshold: 0.99 },
    });
    expect(strict.data).toEqual([]);

    // Detaching removes the file from search; the file stays.
    await client.vectorStores.files.delete(bestiaryId, { vector_store_id: store.id });
    expect((await client.vectorStores.search(store.id, { query: 'marsh wyrm' })).data).toEqual([]);
    expect((await client.files.retrieve(bestiaryId)).filename).toBe('bestiary.md');
    await client.vectorStores.delete(store.id);
    for (const entry of inBatch) await client.files.delete(entry.id);
  });

  it('a file that cannot be indexed fails alone, with last_error; the store and its other files are fine', async () => {
    const store = await client.vectorStores.create({ name: 'Mixed' });
    const good = await client.vectorStores.files.uploadAndPoll(
      store.id,
      await toFile(Buffer.from(BESTIARY), 'b.md'),
      poll,
    );
    const blank = await client.vectorStores.files.uploadAndPoll(
      store.id,
      await toFile(Buffer.from('   \n\n   '), 'blank.txt'),
      poll,
    );
    expect(good.status).toBe('completed');
    expect(blank.status).toBe('failed');
    expect(blank.last_error).toEqual({ code: 'invalid_file', message: 'The file holds no text.' });
    const after = await client.vectorStores.retrieve(store.id);
    expect(after.status).toBe('completed');
    expect(after.file_counts).toMatchObject({ completed: 1, failed: 1, total: 2 });
    expect((await client.vectorStores.search(store.id, { query: 'marsh wyrm' })).data.length).toBeGreaterThan(
      0,
    );
    const failed = await client.vectorStores.files.list(store.id, { filter: 'failed' });
    expect(failed.data.map((entry) => entry.id)).toEqual([blank.id]);
    await client.vectorStores.delete(store.id);
    await client.files.delete(good.id);
    await client.files.delete(blank.id);
  });

  it('PDFs are read page by page; encrypted, broken, bomb and too-long PDFs fail alone with last_error', async () => {
    const store = await client.vectorStores.create({ name: 'Scrolls' });
    const pdf = async (name: string, bytes: Uint8Array) =>
      client.vectorStores.files.uploadAndPoll(store.id, await toFile(Buffer.from(bytes), name), poll);
    const good = await pdf(
      'odo-notes.pdf',
      makePdf([['Notes of Odo the scholar'], ['The sunken bell of Varn rings at the spring tide.']], {
        compress: true,
      }),
    );
    expect(good.status).toBe('completed');
    const found = await client.vectorStores.search(store.id, { query: 'When does the sunken bell ring?' });
    expect(found.data[0]).toMatchObject({ file_id: good.id, filename: 'odo-notes.pdf' });
    expect(found.data[0]!.content[0]!.text).toContain('rings at the spring tide');
    const content = await client.vectorStores.files.content(good.id, { vector_store_id: store.id });
    const pages = [];
    for await (const part of content) pages.push(part.text);
    expect(pages.join('')).toBe(
      'Notes of Odo the scholar\n\nThe sunken bell of Varn rings at the spring tide.',
    );
    // The download is the PDF's own bytes.
    const raw = await client.files.content(good.id);
    expect(raw.headers.get('content-type')).toBe('application/pdf');
    expect(new Uint8Array(await raw.arrayBuffer()).slice(0, 5)).toEqual(new TextEncoder().encode('%PDF-'));

    const bad: Array<[string, Uint8Array, string, RegExp]> = [
      ['sealed.pdf', makePdf([['secret']], { encrypted: true }), 'unsupported_file', /encrypted/],
      ['broken.pdf', makePdf([['Hello there']]).slice(0, 120), 'invalid_file', /could not be read/],
      [
        'bomb.pdf',
        makePdf([['x']], { bombBytes: 4 << 20 }),
        'unsupported_file',
        /inflates to more than 1048576/,
      ],
      [
        'tome.pdf',
        makePdf([['a'], ['b'], ['c'], ['d']]),
        'unsupported_file',
        /4 pages; this server reads at most 3/,
      ],
    ];
    for (const [name, bytes, code, message] of bad) {
      const failed = await pdf(name, bytes);
      expect(failed.status, name).toBe('failed');
      expect(failed.last_error, name).toMatchObject({ code, message: expect.stringMatching(message) });
    }
    const after = await client.vectorStores.retrieve(store.id);
    expect(after.status).toBe('completed');
    expect(after.file_counts).toMatchObject({ completed: 1, failed: bad.length, total: bad.length + 1 });
    // The proxy is fine: the good file is still found.
    expect((await client.vectorStores.search(store.id, { query: 'sunken bell' })).data.length).toBe(1);
    await client.vectorStores.delete(store.id);
    for await (const file of client.files.list()) await client.files.delete(file.id);
  });

  it("message attachments for file_search put the file in the thread's vector store, made when it has none", async () => {
    const chronicle = await client.files.create({
      file: await toFile(Buffer.from(CHRONICLE), 'chronicle.md'),
      purpose: 'assistants',
    });
    const bestiary = await client.files.create({
      file: await toFile(Buffer.from(BESTIARY), 'bestiary.md'),
      purpose: 'assistants',
    });
    const thread = await client.beta.threads.create();
    expect(thread.tool_resources).toEqual({});
    const message = await client.beta.threads.messages.create(thread.id, {
      role: 'user',
      content: 'Here is the chronicle.',
      attachments: [{ file_id: chronicle.id, tools: [{ type: 'file_search' }] }],
    });
    expect(message.attachments).toEqual([{ file_id: chronicle.id, tools: [{ type: 'file_search' }] }]);
    const ids = (await client.beta.threads.retrieve(thread.id)).tool_resources?.file_search?.vector_store_ids;
    expect(ids).toHaveLength(1);
    const storeId = ids![0]!;
    expect(await client.vectorStores.files.poll(storeId, chronicle.id, poll)).toMatchObject({
      status: 'completed',
    });
    expect(await client.vectorStores.retrieve(storeId)).toMatchObject({
      expires_after: { anchor: 'last_active_at', days: 7 },
      file_counts: { completed: 1, total: 1 },
    });
    // A second attachment joins the same store; one for code_interpreter only is kept on the message alone.
    await client.beta.threads.messages.create(thread.id, {
      role: 'user',
      content: 'And the bestiary.',
      attachments: [
        { file_id: bestiary.id, tools: [{ type: 'file_search' }, { type: 'code_interpreter' }] },
        { file_id: chronicle.id, tools: [{ type: 'code_interpreter' }] },
      ],
    });
    expect(
      (await client.beta.threads.retrieve(thread.id)).tool_resources?.file_search?.vector_store_ids,
    ).toEqual([storeId]);
    await client.vectorStores.files.poll(storeId, bestiary.id, poll);
    const found = await client.vectorStores.search(storeId, { query: 'marsh wyrm' });
    expect(found.data[0]?.file_id).toBe(bestiary.id);

    // On thread create: the thread is made with its store; a store the thread already names is used.
    const own = await client.vectorStores.create({ name: 'Mine' });
    const named = await client.beta.threads.create({
      tool_resources: { file_search: { vector_store_ids: [own.id] } },
      messages: [
        {
          role: 'user',
          content: 'Read this.',
          attachments: [{ file_id: bestiary.id, tools: [{ type: 'file_search' }] }],
        },
      ],
    });
    expect(named.tool_resources?.file_search?.vector_store_ids).toEqual([own.id]);
    expect((await client.vectorStores.files.poll(own.id, bestiary.id, poll)).status).toBe('completed');
    const fresh = await client.beta.threads.create({
      messages: [
        {
          role: 'user',
          content: 'Read this.',
          attachments: [{ file_id: chronicle.id, tools: [{ type: 'file_search' }] }],
        },
      ],
    });
    const freshIds = fresh.tool_resources?.file_search?.vector_store_ids ?? [];
    expect(freshIds).toHaveLength(1);
    expect(freshIds[0]).not.toBe(storeId);
    expect((await client.vectorStores.files.poll(freshIds[0]!, chronicle.id, poll)).status).toBe('completed');

    // additional_messages of a run attach the same way, before the run reads the thread.
    const assistant = await client.beta.assistants.create({
      model: 'gpt-4o-mini',
      tools: [{ type: 'file_search' }],
    });
    const later = await client.beta.threads.create();
    await client.beta.threads.runs.createAndPoll(
      later.id,
      {
        assistant_id: assistant.id,
        additional_messages: [
          {
            role: 'user',
            content: 'What is in the chronicle?',
            attachments: [{ file_id: chronicle.id, tools: [{ type: 'file_search' }] }],
          },
        ],
      },
      poll,
    );
    const laterIds = (await client.beta.threads.retrieve(later.id)).tool_resources?.file_search
      ?.vector_store_ids;
    expect(laterIds).toHaveLength(1);
    expect((await client.vectorStores.files.list(laterIds![0]!)).data.map((file) => file.id)).toEqual([
      chronicle.id,
    ]);
    for (const id of [storeId, own.id, freshIds[0]!, laterIds![0]!]) await client.vectorStores.delete(id);
    await client.files.delete(chronicle.id);
    await client.files.delete(bestiary.id);
  });

  it('bad attachments are refused before anything is stored', async () => {
    const mine = await client.files.create({
      file: await toFile(Buffer.from(BESTIARY), 'mine.md'),
      purpose: 'assistants',
    });
    const thread = await client.beta.threads.create();
    const post = (player: string, path: string, body: unknown) =>
      fetch(`${url}/v1${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-parley-player': player },
        body: JSON.stringify(body),
      });
    const message = (attachments: unknown) => ({ role: 'user', content: 'x', attachments });
    await expectErrorBody(
      await post(
        'scholar',
        `/threads/${thread.id}/messages`,
        message([{ file_id: 'file-nope', tools: [{ type: 'file_search' }] }]),
      ),
      404,
      'not_found',
      'attachments[0].file_id',
    );
    await expectErrorBody(
      await post(
        'scholar',
        `/threads/${thread.id}/messages`,
        message([{ file_id: mine.id, tools: [{ type: 'web_search' }] }]),
      ),
      400,
      'invalid_value',
      'attachments[0].tools[0].type',
    );
    await expectErrorBody(
      await post(
        'scholar',
        `/threads/${thread.id}/messages`,
        message([{ tools: [{ type: 'file_search' }] }]),
      ),
      400,
      'missing_required_parameter',
      'attachments[0].file_id',
    );
    // Another player's file is not there for them.
    await expectErrorBody(
      await post('stranger', '/threads', {
        messages: [message([{ file_id: mine.id, tools: [{ type: 'file_search' }] }])],
      }),
      404,
      'not_found',
      'messages[0].attachments[0].file_id',
    );
    expect((await client.beta.threads.messages.list(thread.id)).data).toEqual([]);
    expect((await client.beta.threads.retrieve(thread.id)).tool_resources).toEqual({});
    await client.files.delete(mine.id);
  });

  it('a batch cancelled before indexing leaves its files cancelled', async () => {
    const store = await client.vectorStores.create({ name: 'Cancelled' });
    const file = await client.files.create({
      file: await toFile(Buffer.from(BESTIARY), 'c.md'),
      purpose: 'assistants',
    });
    // Attached straight in the database, so no indexer picks it up before the cancel.
    const db = proxy.store.database();
    const { rows } = await db.query<{ owner: string }>(
      'SELECT owner FROM parley_vector_stores WHERE id = $1',
      [store.id],
    );
    const owner = rows[0]!.owner;
    const knowledge = new KnowledgeStore(db);
    await knowledge.insertBatch(owner, 'vsfb_manual', store.id, Math.floor(Date.now() / 1000));
    await knowledge.attach(owner, {
      vectorStoreId: store.id,
      fileId: file.id,
      batchId: 'vsfb_manual',
      createdAt: Math.floor(Date.now() / 1000),
      chunking: { type: 'static', static: { max_chunk_size_tokens: 800, chunk_overlap_tokens: 400 } },
      attributes: null,
    });
    // Searching while a file is still being indexed is refused clearly.
    const res = await fetch(`${url}/v1/vector_stores/${store.id}/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-parley-player': 'scholar' },
      body: JSON.stringify({ query: 'wyrm' }),
    });
    const error = await expectErrorBody(res, 400, 'vector_store_not_ready', 'vector_store_id');
    expect(error.message).toMatch(/still indexing 1 of its 1 files/);
    const cancelled = await client.vectorStores.fileBatches.cancel('vsfb_manual', {
      vector_store_id: store.id,
    });
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.file_counts).toMatchObject({ cancelled: 1, in_progress: 0 });
    expect((await client.vectorStores.retrieve(store.id)).status).toBe('completed');
    await client.vectorStores.delete(store.id);
    await client.files.delete(file.id);
  });

  it('moderations answer from the local word list in OpenAI shape; embeddings say no model is configured', async () => {
    const moderation = await client.moderations.create({ input: ['Good morning, baker!', 'you shit'] });
    expect(moderation.id).toMatch(/^modr-/);
    expect(moderation.results.map((result) => result.flagged)).toEqual([false, true]);
    expect(moderation.results[1]!.categories.harassment).toBe(true);
    expect(Object.keys(moderation.results[0]!.category_scores)).toHaveLength(13);
    const res = await fetch(`${url}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'text-embedding-3-small', input: 'lore' }),
    });
    const error = await expectErrorBody(res, 400, 'invalid_value', 'model');
    expect(error.message).toMatch(/No embedding model is configured/);
  });

  describe('bad input: a clear OpenAI error, nothing stored lost', () => {
    const upload = (
      parts: Array<{ name: string; value: string | Uint8Array; filename?: string; type?: string }>,
      player = 'uploader',
    ) => {
      const boundary = 'parleyboundary';
      const chunks: Buffer[] = [];
      for (const part of parts) {
        const disposition = `form-data; name="${part.name}"${part.filename === undefined ? '' : `; filename="${part.filename}"`}`;
        chunks.push(
          Buffer.from(
            `--${boundary}\r\nContent-Disposition: ${disposition}\r\n${part.type ? `Content-Type: ${part.type}\r\n` : ''}\r\n`,
          ),
        );
        chunks.push(Buffer.from(part.value));
        chunks.push(Buffer.from('\r\n'));
      }
      chunks.push(Buffer.from(`--${boundary}--\r\n`));
      return fetch(`${url}/v1/files`, {
        method: 'POST',
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'x-parley-player': player },
        body: Buffer.concat(chunks),
      });
    };
    const fileParts = (filename: string, value: string | Uint8Array, type?: string) => [
      { name: 'purpose', value: 'assistants' },
      { name: 'file', value, filename, ...(type ? { type } : {}) },
    ];

    it.each<[string, Parameters<typeof fileParts>, number, string]>([
      ['an empty file', ['empty.md', ''], 400, 'invalid_file'],
      ['a .pdf that is text', ['quest.pdf', 'not a pdf'], 400, 'unsupported_file'],
      ['a .md that is a PDF', ['lore.md', '%PDF-1.7\n'], 400, 'unsupported_file'],
      [
        'a .txt of binary bytes',
        ['lore.txt', new Uint8Array([0xff, 0xfe, 0x00, 0x01])],
        400,
        'unsupported_file',
      ],
      ['text sent as image/png', ['lore.md', '# Lore', 'image/png'], 400, 'unsupported_file'],
      ['an unsupported extension', ['tool.exe', 'MZ'], 400, 'unsupported_file'],
      ['no extension', ['README', 'lore'], 400, 'unsupported_file'],
      ['a .json that is not JSON', ['items.json', '{"sword": '], 400, 'invalid_file'],
      ['a path in the filename', ['../../etc/lore.md', '# Lore'], 400, 'invalid_file'],
      ['a Windows path in the filename', ['C:\\lore.md', '# Lore'], 400, 'invalid_file'],
      ['a control character in the filename', ['lo\u0007re.md', '# Lore'], 400, 'invalid_file'],
      ['a file over the cap', ['big.txt', 'x'.repeat(MAX_FILE_BYTES + 1)], 413, 'body_too_large'],
    ])('%s', async (_name, args, status, code) => {
      const error = await expectErrorBody(await upload(fileParts(...args)), status, code, 'file');
      expect(error.message.length).toBeGreaterThan(10);
    });

    it('a PDF that holds no PDF object is refused at upload', async () => {
      const error = await expectErrorBody(
        await upload(fileParts('quest.pdf', '%PDF-1.4\nnothing here\n%%EOF\n', 'application/pdf')),
        400,
        'invalid_file',
        'file',
      );
      expect(error.message).toMatch(/no PDF objects/);
    });

    it('wrong or missing form fields', async () => {
      await expectErrorBody(
        await upload([{ name: 'purpose', value: 'assistants' }]),
        400,
        'missing_required_parameter',
        'file',
      );
      await expectErrorBody(
        await upload([{ name: 'file', value: 'x', filename: 'a.md' }]),
        400,
        'missing_required_parameter',
        'purpose',
      );
      await expectErrorBody(
        await upload([
          { name: 'purpose', value: 'fine-tune' },
          { name: 'file', value: 'x', filename: 'a.md' },
        ]),
        400,
        'invalid_value',
        'purpose',
      );
      await expectErrorBody(
        await upload([...fileParts('a.md', 'x'), { name: 'colour', value: 'red' }]),
        400,
        'unknown_parameter',
        'colour',
      );
      const json = await fetch(`${url}/v1/files`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ purpose: 'assistants' }),
      });
      await expectErrorBody(json, 400, 'invalid_value');
      const broken = await fetch(`${url}/v1/files`, {
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data; boundary=nope' },
        body: 'garbage',
      });
      await expectErrorBody(broken, 400, 'invalid_value');
    });

    it('per-player quotas: files and bytes; other players are not affected', async () => {
      const whale = clientFor(url, 'whale');
      const big = 'w'.repeat(MAX_FILE_BYTES - 100);
      for (let i = 0; i < 3; i++)
        await whale.files.create({
          file: await toFile(Buffer.from(big), `w${i}.txt`),
          purpose: 'assistants',
        });
      const error = await expectErrorBody(
        await upload(fileParts('w3.txt', big), 'whale'),
        400,
        'storage_quota_exceeded',
        'file',
      );
      expect(error.message).toMatch(/bytes/);
      expect((await whale.files.list()).data).toHaveLength(3); // nothing lost
      const hoarder = clientFor(url, 'hoarder');
      for (let i = 0; i < 12; i++)
        await hoarder.files.create({
          file: await toFile(Buffer.from(`n${i}`), `n${i}.txt`),
          purpose: 'assistants',
        });
      await expectErrorBody(
        await upload(fileParts('n12.txt', 'n'), 'hoarder'),
        400,
        'storage_quota_exceeded',
        'file',
      );
      // Deleting frees room.
      const first = (await hoarder.files.list()).data[0]!;
      await hoarder.files.delete(first.id);
      expect((await upload(fileParts('n12.txt', 'n'), 'hoarder')).status).toBe(200);
    });

    it("vector store requests with bad ids, another player's ids, or bad fields", async () => {
      const mine = await client.files.create({
        file: await toFile(Buffer.from(BESTIARY), 'm.md'),
        purpose: 'assistants',
      });
      const theirs = await other.files.create({
        file: await toFile(Buffer.from(BESTIARY), 't.md'),
        purpose: 'assistants',
      });
      const store = await client.vectorStores.create({ name: 'Mine', file_ids: [mine.id] });
      const post = (path: string, body: unknown, player = 'scholar') =>
        fetch(`${url}/v1${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-parley-player': player },
          body: JSON.stringify(body),
        });
      await expectErrorBody(
        await post('/vector_stores', { file_ids: [theirs.id] }),
        404,
        'not_found',
        'file_ids',
      );
      await expectErrorBody(
        await post(`/vector_stores/${store.id}/files`, { file_id: theirs.id }),
        404,
        'not_found',
        'file_id',
      );
      await expectErrorBody(
        await post(`/vector_stores/${store.id}/files`, { file_id: mine.id }, 'stranger'),
        404,
        'not_found',
      );
      await expectErrorBody(
        await post(`/vector_stores/${store.id}/search`, { query: 'x' }, 'stranger'),
        404,
        'not_found',
      );
      await expectErrorBody(
        await post(`/vector_stores/${store.id}`, { name: 'Stolen' }, 'stranger'),
        404,
        'not_found',
      );
      await expectErrorBody(
        await post('/vector_stores', {
          chunking_strategy: {
            type: 'static',
            static: { max_chunk_size_tokens: 200, chunk_overlap_tokens: 150 },
          },
        }),
        400,
        'invalid_value',
        'chunking_strategy.static.chunk_overlap_tokens',
      );
      await expectErrorBody(
        await post('/vector_stores', {
          chunking_strategy: {
            type: 'static',
            static: { max_chunk_size_tokens: 50, chunk_overlap_tokens: 0 },
          },
        }),
        400,
        'invalid_value',
        'chunking_strategy.static.max_chunk_size_tokens',
      );
      await expectErrorBody(
        await post('/vector_stores', { expires_after: { anchor: 'created_at', days: 1 } }),
        400,
        'invalid_value',
        'expires_after.anchor',
      );
      await expectErrorBody(
        await post('/vector_stores', { colour: 'red' }),
        400,
        'unknown_parameter',
        'colour',
      );
      await expectErrorBody(
        await post(`/vector_stores/${store.id}/search`, {}),
        400,
        'missing_required_parameter',
        'query',
      );
      await expectErrorBody(
        await post(`/vector_stores/${store.id}/search`, { query: 'x', max_num_results: 51 }),
        400,
        'invalid_value',
        'max_num_results',
      );
      await expectErrorBody(
        await post(`/vector_stores/${store.id}/search`, {
          query: 'x',
          filters: { type: 'like', key: 'a', value: 'b' },
        }),
        400,
        'invalid_value',
      );
      // Nested deeper than any stack would survive if it were walked recursively.
      const depth = 20_000;
      const deep = `${'{"type":"and","filters":['.repeat(depth)}{"type":"eq","key":"a","value":1}${']}'.repeat(depth)}`;
      const deepRes = await fetch(`${url}/v1/vector_stores/${store.id}/search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-parley-player': 'scholar' },
        body: `{"query":"x","filters":${deep}}`,
      });
      await expectErrorBody(deepRes, 400, 'invalid_value', 'filters');
      await expectErrorBody(
        await post(`/vector_stores/${store.id}/file_batches`, {}),
        400,
        'missing_required_parameter',
        'file_ids',
      );
      await expectErrorBody(
        await post(`/vector_stores/${store.id}/files/${mine.id}`, { attributes: { a: { nested: true } } }),
        400,
        'invalid_value',
        'attributes.a',
      );
      const list = await fetch(`${url}/v1/vector_stores/${store.id}/files?filter=done`, {
        headers: { 'x-parley-player': 'scholar' },
      });
      await expectErrorBody(list, 400, 'invalid_value', 'filter');
      // Nothing of the store was lost along the way.
      const attached = await client.vectorStores.files.poll(store.id, mine.id, poll);
      expect(attached.status).toBe('completed');
      expect((await client.vectorStores.search(store.id, { query: 'wyrm' })).data.length).toBeGreaterThan(0);
    });
  });
});

/** A fake OpenAI-compatible upstream that answers embeddings (and records what it was sent). */
async function startEmbeddingUpstream(): Promise<{
  url: string;
  seen: Array<{ auth: string; body: Record<string, unknown> }>;
  server: Server;
}> {
  const seen: Array<{ auth: string; body: Record<string, unknown> }> = [];
  const server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    seen.push({ auth: String(req.headers.authorization), body });
    if (body['model'] === 'broken-embed') {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: {
            message: `Incorrect API key provided: ${SECRET_KEY}`,
            type: 'invalid_request_error',
            code: 'invalid_api_key',
          },
        }),
      );
      return;
    }
    const inputs = body['model'] === 'concept-embed' ? (body['input'] as string[]) : [String(body['input'])];
    const vectors = inputs.map((input) =>
      body['model'] === 'concept-embed' ? conceptVector(input) : [0.25, -0.5, 1],
    );
    const encode = (vector: number[]) =>
      body['encoding_format'] === 'base64'
        ? Buffer.from(new Float32Array(vector).buffer).toString('base64')
        : vector;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        object: 'list',
        data: vectors.map((vector, index) => ({ object: 'embedding', index, embedding: encode(vector) })),
        model: body['model'],
        usage: { prompt_tokens: 3 * inputs.length, total_tokens: 3 * inputs.length },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, seen, server };
}

/**
 * A toy embedding model that knows synonyms full-text search does not: each dimension is a concept, and a
 * text's vector counts the words of each concept it holds (the last dimension: any other word, a little).
 */
const CONCEPTS = [
  ['founded', 'built', 'raised', 'made'],
  ['city', 'town', 'village', 'varn'],
  ['wyrm', 'dragon', 'serpent', 'beast'],
  ['salt', 'brine'],
];
function conceptVector(text: string): number[] {
  const vector = new Array<number>(CONCEPTS.length + 1).fill(0);
  for (const word of text.toLowerCase().match(/[a-z]+/g) ?? []) {
    const concept = CONCEPTS.findIndex((words) => words.includes(word));
    if (concept >= 0) vector[concept]! += 1;
    else vector[CONCEPTS.length]! += 0.05;
  }
  return vector;
}

/** A proxy whose upstream is `upstreamUrl` with its `concept-embed` embedding model. */
function embeddingEnv(upstreamUrl: string, extra: Record<string, string> = {}) {
  return proxyEnv('offline', undefined, {
    ...KNOWLEDGE_ENV,
    OPENAI_BASE_URL: upstreamUrl,
    OPENAI_API_KEY: SECRET_KEY,
    PARLEY_MODEL: 'fake-model',
    PARLEY_EMBEDDING_MODEL: 'concept-embed',
    ...extra,
  });
}

describe('hybrid ranking with an embedding model (fake upstream)', () => {
  let proxy: Proxy;
  let client: OpenAI;
  let url: string;
  let upstream: Awaited<ReturnType<typeof startEmbeddingUpstream>>;

  beforeAll(async () => {
    upstream = await startEmbeddingUpstream();
    ({ proxy, url } = await startProxy(embeddingEnv(upstream.url)));
    client = clientFor(url, 'semantic');
  });
  afterAll(async () => {
    await proxy.close();
    await new Promise((resolve) => upstream.server.close(resolve));
  });

  it('chunks are embedded while indexing, and a question in other words finds its passage', async () => {
    const store = await client.vectorStores.create({ name: 'Semantic' });
    for (const [name, text] of [
      ['chronicle.md', CHRONICLE],
      ['bestiary.md', BESTIARY],
    ] as const) {
      const file = await client.vectorStores.files.uploadAndPoll(
        store.id,
        await toFile(Buffer.from(text), name),
        {
          pollIntervalMs: 20,
        },
      );
      expect(file.status).toBe('completed');
    }
    const embedded = upstream.seen.filter((call) => Array.isArray(call.body['input']));
    expect(embedded.map((call) => call.auth)).toEqual([`Bearer ${SECRET_KEY}`, `Bearer ${SECRET_KEY}`]);
    expect((embedded[0]!.body['input'] as string[]).join(' ')).toContain('Queen Ysolde');

    // No word in common with the chronicle but 'the': full text alone finds nothing; the concepts do.
    const ftsOnly = await searchKnowledge(
      proxy.store.database(),
      'dev:semantic',
      [store.id],
      'Who built the town?',
    );
    expect(ftsOnly).toEqual([]);
    const town = await client.vectorStores.search(store.id, { query: 'Who built the town?' });
    expect(town.data[0]).toMatchObject({ filename: 'chronicle.md' });
    expect(town.data[0]!.score).toBeGreaterThan(0.3);
    const dragon = await client.vectorStores.search(store.id, { query: 'What does the dragon fear? Brine?' });
    expect(dragon.data[0]).toMatchObject({ filename: 'bestiary.md' });
    // Full-text matches still count: the exact words rank their passage first.
    const exact = await client.vectorStores.search(store.id, { query: 'Ledger of Tides green ink' });
    expect(exact.data[0]).toMatchObject({ filename: 'chronicle.md' });
    // A threshold above every blend leaves nothing.
    expect(
      (
        await client.vectorStores.search(store.id, {
          query: 'Who built the town?',
          ranking_options: { score_threshold: 0.99 },
        })
      ).data,
    ).toEqual([]);
    await client.vectorStores.delete(store.id);
  });

  it('embeddings are paid from the players’ budgets: the uploader’s for the chunks, the searcher’s for the query', async () => {
    const tokens = async () => (await proxy.limiter.usage({ player: 'dev:billed' })).day.tokens;
    const billed = clientFor(url, 'billed');
    const store = await billed.vectorStores.create({ name: 'Billed' });
    const calls = upstream.seen.length;
    const file = await billed.vectorStores.files.uploadAndPoll(
      store.id,
      await toFile(Buffer.from(CHRONICLE), 'chronicle.md'),
      { pollIntervalMs: 20 },
    );
    expect(file.status).toBe('completed');
    const chunks = upstream.seen
      .slice(calls)
      .reduce((sum, call) => sum + (call.body['input'] as string[]).length, 0);
    // The fake model reports 3 prompt tokens an input: that is what is settled.
    expect(await tokens()).toBe(3 * chunks);
    await billed.vectorStores.search(store.id, { query: 'Who built the town?' });
    expect(await tokens()).toBe(3 * chunks + 3);
    await billed.vectorStores.delete(store.id);
  });
});

describe('an embedding model past a player’s budget', () => {
  let proxy: Proxy;
  let client: OpenAI;
  let upstream: Awaited<ReturnType<typeof startEmbeddingUpstream>>;

  beforeAll(async () => {
    upstream = await startEmbeddingUpstream();
    let url: string;
    ({ proxy, url } = await startProxy(embeddingEnv(upstream.url, { PARLEY_PLAYER_TOKENS_PER_DAY: '5' })));
    client = clientFor(url, 'thrifty');
  });
  afterAll(async () => {
    await proxy.close();
    await new Promise((resolve) => upstream.server.close(resolve));
  });

  it('is not asked for what does not fit: the file is indexed for full text and found by it, nothing is lost', async () => {
    const store = await client.vectorStores.create({ name: 'Thrifty' });
    const file = await client.vectorStores.files.uploadAndPoll(
      store.id,
      await toFile(Buffer.from(CHRONICLE), 'chronicle.md'),
      { pollIntervalMs: 20 },
    );
    expect(file.status).toBe('completed');
    const found = await client.vectorStores.search(store.id, { query: 'Queen Ysolde' });
    expect(found.data[0]).toMatchObject({ filename: 'chronicle.md' });
    // The chunks (hundreds of tokens) were never sent; the short query fits the 5 tokens and is paid for.
    expect(upstream.seen.map((call) => call.body['input'])).toEqual([['Queen Ysolde']]);
    expect((await proxy.limiter.usage({ player: 'dev:thrifty' })).day.tokens).toBe(3);
  });
});

describe('lore folders from the policy file (read-only vector stores)', () => {
  let proxy: Proxy;
  let url: string;
  let client: OpenAI;
  let other: OpenAI;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-lore-conformance-'));
    await mkdir(join(dir, 'lore', 'library'), { recursive: true });
    await writeFile(join(dir, 'lore', 'library', 'chronicle.md'), CHRONICLE);
    await writeFile(
      join(dir, 'lore', 'library', 'scroll.pdf'),
      makePdf([['The Ledger of Tides lists every flood since 412.']], { compress: true }),
    );
    await writeFile(
      join(dir, 'parley.config.json'),
      JSON.stringify({
        lore: { library: 'lore/library' },
        assistants: [
          {
            id: 'asst_odo',
            name: 'Odo',
            instructions: 'You are Odo the scholar.',
            tools: [{ type: 'file_search' }],
            tool_resources: { file_search: { vector_store_ids: ['vs_lore_library'] } },
          },
        ],
      }),
    );
    ({ proxy, url } = await startProxy(
      proxyEnv('offline', undefined, { ...KNOWLEDGE_ENV, PARLEY_CONFIG: join(dir, 'parley.config.json') }),
    ));
    client = clientFor(url, 'reader');
    other = clientFor(url, 'another-reader');
    // Indexed in the background from start-up: ready once the store says so.
    for (let i = 0; i < 200; i++) {
      if ((await client.vectorStores.retrieve('vs_lore_library')).status === 'completed') break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  });
  afterAll(async () => {
    await proxy.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('every player retrieves, lists, reads and searches vs_lore_library', async () => {
    for (const player of [client, other]) {
      const store = await player.vectorStores.retrieve('vs_lore_library');
      expect(store).toMatchObject({
        id: 'vs_lore_library',
        object: 'vector_store',
        name: 'library',
        status: 'completed',
        file_counts: { completed: 2, total: 2 },
        metadata: { parley_lore: 'library' },
      });
      const files = await player.vectorStores.files.list('vs_lore_library');
      expect(files.data).toHaveLength(2);
      const found = await player.vectorStores.search('vs_lore_library', { query: 'Who founded Varn?' });
      expect(found.data[0]).toMatchObject({ filename: 'chronicle.md' });
      const pdf = await player.vectorStores.search('vs_lore_library', { query: 'Ledger of Tides floods' });
      expect(pdf.data.map((result) => result.filename)).toContain('scroll.pdf');
      const chronicleId = found.data[0]!.file_id;
      expect(await player.files.retrieve(chronicleId)).toMatchObject({ filename: 'chronicle.md' });
      expect(await (await player.files.content(chronicleId)).text()).toBe(CHRONICLE);
    }
    // Not one of the player's own: their lists stay theirs.
    expect((await client.vectorStores.list()).data).toEqual([]);
    expect((await client.files.list()).data).toEqual([]);
    // The game's assistant names it.
    expect((await client.beta.assistants.retrieve('asst_odo')).tool_resources).toEqual({
      file_search: { vector_store_ids: ['vs_lore_library'] },
    });
  });

  it('no player can change it: 403 permission_denied, and it stays as it was', async () => {
    const { file_id: fileId } = (await client.vectorStores.search('vs_lore_library', { query: 'Varn' }))
      .data[0]!;
    const own = await client.files.create({
      file: await toFile(Buffer.from(BESTIARY), 'mine.md'),
      purpose: 'assistants',
    });
    const call = (method: string, path: string, body?: unknown) =>
      fetch(`${url}/v1${path}`, {
        method,
        headers: { 'content-type': 'application/json', 'x-parley-player': 'reader' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const attempts: Array<[string, string, unknown?]> = [
      ['POST', '/vector_stores/vs_lore_library', { name: 'mine now' }],
      ['DELETE', '/vector_stores/vs_lore_library'],
      ['POST', '/vector_stores/vs_lore_library/files', { file_id: own.id }],
      ['POST', '/vector_stores/vs_lore_library/file_batches', { file_ids: [own.id] }],
      ['POST', `/vector_stores/vs_lore_library/files/${fileId}`, { attributes: { x: 1 } }],
      ['DELETE', `/vector_stores/vs_lore_library/files/${fileId}`],
      ['DELETE', `/files/${fileId}`],
    ];
    for (const [method, path, body] of attempts) {
      const error = await expectErrorBody(await call(method, path, body), 403, 'permission_denied');
      expect(error.message, `${method} ${path}`).toMatch(/read-only/);
    }
    const after = await client.vectorStores.retrieve('vs_lore_library');
    expect(after).toMatchObject({ name: 'library', file_counts: { total: 2 } });
    expect((await client.files.retrieve(fileId)).filename).toBe('chronicle.md');
    await client.files.delete(own.id);
  });
});

describe('embeddings pass-through (fake upstream)', () => {
  let proxy: Proxy;
  let url: string;
  let upstream: Awaited<ReturnType<typeof startEmbeddingUpstream>>;

  beforeAll(async () => {
    upstream = await startEmbeddingUpstream();
    ({ proxy, url } = await startProxy(
      proxyEnv('offline', undefined, {
        OPENAI_BASE_URL: upstream.url,
        OPENAI_API_KEY: SECRET_KEY,
        PARLEY_MODEL: 'fake-model',
        PARLEY_EMBEDDING_MODEL: 'fake-embed',
        PARLEY_MODELS: 'broken-embed',
      }),
    ));
  });
  afterAll(async () => {
    await proxy.close();
    await new Promise((resolve) => upstream.server.close(resolve));
  });

  it('passes embeddings through with the proxy key, decoded by the SDK as usual', async () => {
    const bodies: string[] = [];
    const client = new OpenAI({
      baseURL: `${url}/v1`,
      apiKey: 'anything',
      maxRetries: 0,
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        bodies.push(await response.clone().text());
        return response;
      },
    });
    const result = await client.embeddings.create({ model: 'fake-embed', input: 'The heron of Varn' });
    expect(result.data[0]!.embedding).toEqual([0.25, -0.5, 1]);
    expect(result.usage.prompt_tokens).toBe(3);
    expect(upstream.seen.at(-1)).toMatchObject({
      auth: `Bearer ${SECRET_KEY}`,
      body: { model: 'fake-embed', input: 'The heron of Varn' },
    });
    await expect(client.embeddings.create({ model: 'gpt-4o-embed', input: 'x' })).rejects.toMatchObject({
      status: 400,
      code: 'model_not_allowed',
    });
    // The upstream refusing the proxy's key: a 502 that names no key.
    await expect(client.embeddings.create({ model: 'broken-embed', input: 'x' })).rejects.toMatchObject({
      status: 502,
      code: 'upstream_auth_failed',
    });
    for (const body of bodies) expectNoLeak(body);
  });

  it('moderations are local for a non-OpenAI upstream', async () => {
    const client = clientFor(url, 'p');
    const result = await client.moderations.create({ input: 'kill yourself' });
    expect(result.results[0]!.flagged).toBe(true);
    expect(upstream.seen.some((entry) => entry.body['input'] === 'kill yourself')).toBe(false);
  });
});
