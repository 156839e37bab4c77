import { ProxyError } from '../errors.js';
import { GAME_OWNER } from '../policy/policy.js';
import { estimateTokens } from '../tokens.js';
import { chunkText } from './chunk.js';
import { type Embedder, toBytes } from './embed.js';
import { extractText } from './parse.js';
import { DEFAULT_PDF_LIMITS, type PdfLimits } from './pdf.js';
import { kindOfMime } from './sniff.js';
import type { KnowledgeStore } from './storage.js';
import type { FileError } from './types.js';

/** OpenAI's limit on what one file may hold for file_search. */
export const MAX_FILE_TOKENS = 2_000_000;

interface Job {
  vectorStoreId: string;
  fileId: string;
}

/**
 * Indexes attached files in the background, one at a time (parsing and chunking are CPU work, and the
 * proxy shares its cores with the turns it serves). A file that cannot be read is marked `failed` with
 * OpenAI's `last_error` codes; nothing else of its store changes. Jobs live in memory: after a restart,
 * {@link Indexer.resume} picks up every file still `in_progress` in the database.
 */
export class Indexer {
  readonly #store: KnowledgeStore;
  readonly #onError: (error: unknown) => void;
  readonly #pdfLimits: PdfLimits;
  readonly #embedder: Embedder | undefined;
  readonly #queue: Job[] = [];
  #draining: Promise<void> | undefined;

  constructor(
    store: KnowledgeStore,
    onError: (error: unknown) => void = () => {},
    pdfLimits: PdfLimits = DEFAULT_PDF_LIMITS,
    embedder?: Embedder,
  ) {
    this.#store = store;
    this.#onError = onError;
    this.#pdfLimits = pdfLimits;
    this.#embedder = embedder;
  }

  /** Queues a file for indexing; returns at once. */
  enqueue(vectorStoreId: string, fileId: string): void {
    this.#queue.push({ vectorStoreId, fileId });
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = undefined;
    });
  }

  /** Queues every file the database still has `in_progress` (left by a previous process). */
  async resume(): Promise<void> {
    for (const job of await this.#store.pending()) this.enqueue(job.vectorStoreId, job.fileId);
  }

  /** Resolves once the queue is empty (tests, and a clean shutdown). */
  async idle(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  async #drain(): Promise<void> {
    for (let job = this.#queue.shift(); job; job = this.#queue.shift()) {
      // Let requests in between files: each job is a burst of synchronous work.
      await new Promise((resolve) => setImmediate(resolve));
      try {
        await this.#index(job);
      } catch (error) {
        this.#onError(error);
        await this.#store.fail(job.vectorStoreId, job.fileId, failure(error)).catch(this.#onError);
      }
    }
  }

  async #index({ vectorStoreId, fileId }: Job): Promise<void> {
    const source = await this.#store.source(vectorStoreId, fileId);
    if (!source) return; // detached, cancelled or deleted meanwhile: nothing to do
    const fail = (message: string) =>
      this.#store.fail(vectorStoreId, fileId, { code: 'invalid_file', message });
    const kind = kindOfMime(source.mime);
    if (!kind) return fail('The file is of a kind this server no longer reads.');
    const text = await extractText(kind, source.content, this.#pdfLimits);
    if (estimateTokens(text) > MAX_FILE_TOKENS)
      return fail(`The file holds more than ${MAX_FILE_TOKENS.toLocaleString('en')} tokens of text.`);
    const { max_chunk_size_tokens, chunk_overlap_tokens } = source.chunking.static;
    const chunks = chunkText(text, { maxTokens: max_chunk_size_tokens, overlapTokens: chunk_overlap_tokens });
    if (chunks.length === 0) return fail('The file holds no text.');
    const usage = chunks.reduce((sum, chunk) => sum + Buffer.byteLength(chunk), 0);
    // The player who owns the store pays for its vectors; the game's own lore is the game's.
    const payer = source.owner === GAME_OWNER ? undefined : source.owner;
    await this.#store.complete(vectorStoreId, fileId, chunks, usage, await this.#embed(chunks, payer));
  }

  /**
   * The chunks' vectors, when an embedding model is configured. An upstream that fails (or an owner over
   * budget) leaves the file
   * searchable by full text alone (reported to `onError`), rather than failing a file that reads fine.
   */
  async #embed(
    chunks: readonly string[],
    player: string | undefined,
  ): Promise<{ model: string; vectors: Uint8Array[] } | undefined> {
    if (!this.#embedder) return undefined;
    try {
      const vectors = await this.#embedder.embed(chunks, { player });
      return { model: this.#embedder.model, vectors: vectors.map(toBytes) };
    } catch (error) {
      this.#onError(error);
      return undefined;
    }
  }
}

/** What a failed file says: the reason, when it is one a player can act on; otherwise a server error. */
function failure(error: unknown): FileError {
  if (error instanceof ProxyError && (error.code === 'unsupported_file' || error.code === 'invalid_file'))
    return { code: error.code, message: error.message };
  return { code: 'server_error', message: 'The file could not be indexed.' };
}
