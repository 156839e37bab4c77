// `pnpm bench knowledge`: indexing a generated 300-page lore PDF (time, the store's size), and search
// latency (p50/p99 over HTTP) at ~1k and ~20k chunks, full-text alone (offline) and hybrid (a local fake
// embedding server of 1536 dimensions, the size of text-embedding-3-small). Numbers only; nothing fails.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProxy, loadConfig } from '@parley/proxy';
import { UNLIMITED } from '../support/limits.ts';
import { makePdf } from '../support/pdf.ts';

const DIMENSIONS = 1536;
const QUERIES = 120;
const WARMUP = 10;

/** A seeded generator, so every run indexes the same corpus. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/**
 * Lore-like text: a vocabulary of 4000 made-up words (as a world's names and things), so that each word
 * is in a few percent of the passages, as in real lore, not in all of them.
 */
const SYLLABLES = [
  'al',
  'bro',
  'cor',
  'da',
  'el',
  'fen',
  'gar',
  'hol',
  'is',
  'jor',
  'ka',
  'lun',
  'mar',
  'nor',
  'os',
  'pel',
  'quin',
  'ros',
  'sil',
  'tor',
];
const VOCABULARY = Array.from({ length: 4000 }, (_, i) =>
  [i % 20, Math.floor(i / 20) % 20, Math.floor(i / 400) % 10].map((s) => SYLLABLES[s]).join(''),
);
const VERBS = [
  'built',
  'carried',
  'lost',
  'found',
  'mended',
  'sold',
  'guarded',
  'burned',
  'buried',
  'sang of',
];

function sentence(next: () => number): string {
  const word = () => VOCABULARY[Math.floor(next() * VOCABULARY.length)]!;
  const verb = VERBS[Math.floor(next() * VERBS.length)]!;
  return `${word()} ${verb} the ${word()} of ${word()} near ${word()}.`;
}

/** A question as a player would ask it: a verb and two of the world's words. */
function question(next: () => number): string {
  const word = () => VOCABULARY[Math.floor(next() * VOCABULARY.length)]!;
  return `Who ${VERBS[Math.floor(next() * VERBS.length)]} the ${word()} of ${word()}?`;
}

function words(count: number, seed: number): string {
  const next = random(seed);
  const out: string[] = [];
  let total = 0;
  while (total < count) {
    const line = sentence(next);
    out.push(line);
    total += line.split(' ').length;
  }
  return out.join(' ');
}

/**
 * A deterministic stand-in for a model: each word lights a few dimensions, over dense low noise (real
 * embeddings are dense, and a sparse vector would compress in the database and flatter its size).
 */
function embedText(text: string): Float32Array {
  const vector = new Float32Array(DIMENSIONS);
  const noise = random(text.length * 7919 + text.charCodeAt(0));
  for (let i = 0; i < DIMENSIONS; i++) vector[i] = (noise() - 0.5) * 0.1;
  for (const word of text.toLowerCase().match(/[a-z]+/g) ?? []) {
    let hash = 2166136261;
    for (let i = 0; i < word.length; i++) hash = Math.imul(hash ^ word.charCodeAt(i), 16777619);
    for (let k = 0; k < 3; k++) vector[(hash >>> (k * 5)) % DIMENSIONS]! += 1;
  }
  return vector;
}

async function startEmbeddings(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { input: string | string[] };
    const inputs = typeof body.input === 'string' ? [body.input] : body.input;
    const data = inputs.map((input, index) => ({
      object: 'embedding',
      index,
      embedding: Buffer.from(embedText(input).buffer).toString('base64'),
    }));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        object: 'list',
        data,
        model: 'bench-embed',
        usage: { prompt_tokens: 1, total_tokens: 1 },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

type Proxy = Awaited<ReturnType<typeof createProxy>>;

async function startProxy(extra: Record<string, string>): Promise<{ proxy: Proxy; url: string }> {
  const proxy = await createProxy(
    loadConfig({
      PORT: '0',
      PARLEY_LOG: 'silent',
      PARLEY_MAX_FILE_STORAGE_BYTES: String(1024 * 1024 * 1024),
      ...UNLIMITED,
      ...extra,
    }),
  );
  return { proxy, url: await proxy.listen() };
}

async function api<T>(url: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${url}/v1${path}`, {
    method,
    headers: { 'content-type': 'application/json', 'x-parley-player': 'bench' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

async function upload(url: string, name: string, bytes: Uint8Array): Promise<string> {
  const form = new FormData();
  form.set('purpose', 'assistants');
  form.set('file', new Blob([new Uint8Array(bytes)]), name);
  const response = await fetch(`${url}/v1/files`, {
    method: 'POST',
    headers: { 'x-parley-player': 'bench' },
    body: form,
  });
  if (!response.ok) throw new Error(`upload ${name}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}

/** Indexes files into a new store and waits; returns the store id and the seconds it took. */
async function index(
  url: string,
  files: ReadonlyArray<[string, Uint8Array]>,
  chunking?: unknown,
): Promise<{ id: string; seconds: number }> {
  const started = performance.now();
  const ids = [];
  for (const [name, bytes] of files) ids.push(await upload(url, name, bytes));
  const store = await api<{ id: string }>(url, 'POST', '/vector_stores', {
    name: 'bench',
    file_ids: ids,
    ...(chunking ? { chunking_strategy: chunking } : {}),
  });
  for (;;) {
    const now = await api<{ status: string; file_counts: { failed: number } }>(
      url,
      'GET',
      `/vector_stores/${store.id}`,
    );
    if (now.status === 'completed') {
      if (now.file_counts.failed > 0) throw new Error('a bench file failed to index');
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { id: store.id, seconds: (performance.now() - started) / 1000 };
}

async function chunkCount(proxy: Proxy, storeId: string): Promise<number> {
  const { rows } = await proxy.store
    .database()
    .query<{ n: string | number }>('SELECT count(*) AS n FROM parley_chunks WHERE vector_store_id = $1', [
      storeId,
    ]);
  return Number(rows[0]?.n ?? 0);
}

async function storeBytes(proxy: Proxy): Promise<number> {
  const { rows } = await proxy.store
    .database()
    .query<{ n: string | number }>(
      `SELECT pg_total_relation_size('parley_chunks') + pg_total_relation_size('parley_files') AS n`,
    );
  return Number(rows[0]?.n ?? 0);
}

async function searchLatency(url: string, storeId: string): Promise<{ p50: number; p99: number }> {
  const next = random(99);
  const times: number[] = [];
  for (let i = 0; i < WARMUP + QUERIES; i++) {
    const query = question(next);
    const started = performance.now();
    await api(url, 'POST', `/vector_stores/${storeId}/search`, { query, max_num_results: 10 });
    if (i >= WARMUP) times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  return { p50: at(0.5), p99: at(0.99) };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const ms = (value: number) => `${value.toFixed(1)} ms`;

/** Text files of about `chunks` chunks of 100 tokens (no overlap), a few MB each. */
function corpus(chunks: number, seed: number): Array<[string, Uint8Array]> {
  const wordsPerChunk = 58; // ~100 estimated tokens of these sentences
  const perFile = 20_000; // chunks per file, so no file nears the 20 MB cap
  const files: Array<[string, Uint8Array]> = [];
  for (let left = chunks, n = 0; left > 0; left -= perFile, n++) {
    const text = words(Math.min(left, perFile) * wordsPerChunk, seed + n);
    files.push([`annals-${n}.txt`, new TextEncoder().encode(text)]);
  }
  return files;
}

const SMALL_CHUNKS = { type: 'static', static: { max_chunk_size_tokens: 100, chunk_overlap_tokens: 0 } };

async function run(label: string, extra: Record<string, string>): Promise<void> {
  const { proxy, url } = await startProxy(extra);
  try {
    const pages = Array.from({ length: 300 }, (_, page) => {
      const next = random(1000 + page);
      return [`Page ${page + 1} of the Annals`, ...Array.from({ length: 40 }, () => sentence(next))];
    });
    const pdf = makePdf(pages, { compress: true });
    const before = await storeBytes(proxy);
    const book = await index(url, [['annals.pdf', pdf]]);
    const bookChunks = await chunkCount(proxy, book.id);
    console.log(
      `${label}: 300-page PDF (${mb(pdf.length)}): indexed in ${book.seconds.toFixed(2)} s, ${bookChunks} chunks (800/400), store +${mb((await storeBytes(proxy)) - before)}`,
    );
    for (const target of [1000, 20_000]) {
      const sizeBefore = await storeBytes(proxy);
      const store = await index(url, corpus(target, target), SMALL_CHUNKS);
      const chunks = await chunkCount(proxy, store.id);
      const { p50, p99 } = await searchLatency(url, store.id);
      console.log(
        `${label}: ${chunks} chunks: indexed in ${store.seconds.toFixed(1)} s, store +${mb((await storeBytes(proxy)) - sizeBefore)}; search p50 ${ms(p50)}, p99 ${ms(p99)}`,
      );
    }
  } finally {
    await proxy.close();
  }
}

await run('full-text', {});
const embeddings = await startEmbeddings();
try {
  await run('hybrid', {
    OPENAI_BASE_URL: embeddings.url,
    OPENAI_API_KEY: 'bench-key',
    PARLEY_MODEL: 'bench-model',
    PARLEY_EMBEDDING_MODEL: 'bench-embed',
  });
} finally {
  await embeddings.close();
}
