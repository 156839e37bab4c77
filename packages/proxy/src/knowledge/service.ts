import { ErrorCode, IdPrefix } from '@parley/protocol';
import { notFound, ProxyError } from '../errors.js';
import { newId, nowSeconds } from '../ids.js';
import type { Limiter } from '../limits/limiter.js';
import type { Metrics } from '../ops/metrics.js';
import { GAME_OWNER } from '../policy/policy.js';
import type { ChunkingStrategyInput } from '../schemas/vector-stores.js';
import type { Database } from '../store/database.js';
import type { Owner, Store } from '../store/types.js';
import type { Upstream } from '../upstream/upstream.js';
import { AUTO_CHUNKING } from './chunk.js';
import type { KnowledgeConfig } from './config.js';
import { type Embedder, type EmbeddingBudget, upstreamEmbedder } from './embed.js';
import { Indexer } from './indexer.js';
import { extractText } from './parse.js';
import { checkPdfBytes } from './pdf.js';
import type { Semantic } from './search.js';
import { checkFilename, kindOfMime, sniff } from './sniff.js';
import { KnowledgeStore, type StoredFile, type VectorStoreFields } from './storage.js';
import type { Attributes, FileBatch, StaticChunking, VectorStore, VectorStoreFile } from './types.js';
import { VectorIndex } from './vectors.js';

/** A file to attach, with its own settings (a batch's `files` entry) or the request's. */
export interface AttachInput {
  file_id: string;
  chunking_strategy?: ChunkingStrategyInput | undefined;
  attributes?: Attributes | null | undefined;
}

/**
 * The knowledge surface behind the files and vector store routes: uploads checked and kept within each
 * player's quota, vector stores owned like threads (another player's id is a 404), attachments indexed
 * in the background. Vector stores the game defines (owner `parley:game`) can be read and searched by
 * every player and changed by none.
 */
export class Knowledge {
  readonly store: KnowledgeStore;
  readonly indexer: Indexer;
  /**
   * With an embedding model: what `searchKnowledge` needs for hybrid ranking (pass it as
   * `options.semantic`); undefined without one (offline), where full-text search ranks alone.
   */
  readonly semantic: Semantic | undefined;

  constructor(
    db: Database,
    readonly config: KnowledgeConfig,
    onError: (error: unknown) => void = () => {},
    embedder?: Embedder,
  ) {
    this.store = new KnowledgeStore(db);
    this.indexer = new Indexer(this.store, onError, config.pdf, embedder);
    this.semantic = embedder && { embedder, vectors: new VectorIndex() };
  }

  // ── files ────────────────────────────────────────────────────────────────────────────────────────────

  /** Checks an upload (name, bytes, readability, quota) and stores it. Nothing is stored when it fails. */
  async upload(
    owner: Owner,
    upload: {
      filename: string;
      bytes: Uint8Array;
      declaredType: string;
      expiresAfterSeconds?: number | undefined;
    },
  ): Promise<StoredFile> {
    checkFilename(upload.filename);
    const { kind, mime } = sniff(upload.bytes, upload.filename, upload.declaredType);
    if (kind === 'pdf') checkPdfBytes(upload.bytes);
    await this.store.dropExpired(owner);
    const used = await this.store.usage(owner);
    const { maxFilesPerPlayer, maxBytesPerPlayer } = this.config;
    if (used.files + 1 > maxFilesPerPlayer) {
      throw new ProxyError(
        ErrorCode.StorageQuota,
        `A player may keep at most ${maxFilesPerPlayer} files on this server; delete some first.`,
        { param: 'file' },
      );
    }
    if (used.bytes + upload.bytes.length > maxBytesPerPlayer) {
      throw new ProxyError(
        ErrorCode.StorageQuota,
        `A player may keep at most ${maxBytesPerPlayer} bytes of files on this server (${used.bytes} used); delete some first.`,
        { param: 'file' },
      );
    }
    const createdAt = nowSeconds();
    const file: StoredFile = {
      id: newId(IdPrefix.File),
      object: 'file',
      bytes: upload.bytes.length,
      created_at: createdAt,
      expires_at: upload.expiresAfterSeconds === undefined ? null : createdAt + upload.expiresAfterSeconds,
      filename: upload.filename,
      purpose: 'assistants',
      status: 'processed',
      status_details: null,
      owner,
      mime,
    };
    await this.store.insertFile(file, upload.bytes);
    return file;
  }

  /** A file of the caller's, or 404. */
  async file(owner: Owner, id: string, param?: string): Promise<StoredFile> {
    const found = await this.store.getFile([owner], id);
    if (!found) throw notFound('file', id, param);
    return found;
  }

  /** A file the caller may read: theirs, or one of the game's lore files; or 404. */
  async readableFile(owner: Owner, id: string): Promise<StoredFile> {
    const found = await this.store.getFile([owner, GAME_OWNER], id);
    if (!found) throw notFound('file', id);
    return found;
  }

  /** Deletes a file of the caller's; the game's lore files are read-only (403), anything else 404. */
  async deleteFile(owner: Owner, id: string): Promise<void> {
    if (await this.store.deleteFile(owner, id)) return;
    if (await this.store.getFile([GAME_OWNER], id)) {
      throw new ProxyError(
        ErrorCode.PermissionDenied,
        "This file is part of the game's lore and is read-only.",
        { param: 'file_id' },
      );
    }
    throw notFound('file', id);
  }

  // ── vector stores ────────────────────────────────────────────────────────────────────────────────────

  async createVectorStore(
    owner: Owner,
    fields: VectorStoreFields,
    fileIds: readonly string[],
    chunking: ChunkingStrategyInput | undefined,
  ): Promise<VectorStore> {
    const sizes = staticChunking(chunking, 'chunking_strategy');
    const unique = [...new Set(fileIds)];
    for (const id of unique) await this.file(owner, id, 'file_ids');
    const id = newId(IdPrefix.VectorStore);
    await this.store.insertVectorStore(owner, id, nowSeconds(), fields);
    await this.#attachAll(
      owner,
      id,
      null,
      unique.map((file_id) => ({ file_id })),
      sizes,
      null,
    );
    return (await this.vectorStore(owner, id))!;
  }

  /** A vector store the caller may read (theirs or the game's), or 404. */
  async vectorStore(owner: Owner, id: string): Promise<VectorStore> {
    const found = await this.store.getVectorStore([owner, GAME_OWNER], id);
    if (!found) throw notFound('vector store', id);
    const { owner: _owner, ...store } = found;
    return store;
  }

  /** A vector store the caller may change: their own (the game's are read-only), or 404. */
  async ownVectorStore(owner: Owner, id: string): Promise<VectorStore> {
    const found = await this.store.getVectorStore([owner, GAME_OWNER], id);
    if (found?.owner === GAME_OWNER && owner !== GAME_OWNER) {
      throw new ProxyError(
        ErrorCode.PermissionDenied,
        'This vector store is defined by the game and is read-only.',
      );
    }
    if (!found) throw notFound('vector store', id);
    const { owner: _owner, ...store } = found;
    return store;
  }

  // ── attached files and batches ───────────────────────────────────────────────────────────────────────

  /** Attaches one file of the caller's to their store and starts indexing it. */
  async attach(owner: Owner, vectorStoreId: string, input: AttachInput): Promise<VectorStoreFile> {
    await this.ownVectorStore(owner, vectorStoreId);
    await this.file(owner, input.file_id, 'file_id');
    const sizes = staticChunking(input.chunking_strategy, 'chunking_strategy');
    const [attached] = await this.#attachAll(owner, vectorStoreId, null, [input], sizes, null);
    return attached!;
  }

  /** An attached file of a store the caller may read, or 404. */
  async attached(owner: Owner, vectorStoreId: string, fileId: string): Promise<VectorStoreFile> {
    await this.vectorStore(owner, vectorStoreId);
    const found = await this.store.getAttached(vectorStoreId, fileId);
    if (!found) throw notFound('file', fileId);
    return found;
  }

  /** The text the index reads from a file (what `GET …/files/{id}/content` shows). */
  async parsedText(fileId: string): Promise<string> {
    const source = await this.store.fileSource(fileId);
    const kind = source && kindOfMime(source.mime);
    if (!source || !kind) throw notFound('file', fileId);
    return extractText(kind, source.content, this.config.pdf);
  }

  /** Attaches several files as one batch; every file id is checked before anything is attached. */
  async createBatch(
    owner: Owner,
    vectorStoreId: string,
    inputs: readonly AttachInput[],
    defaults: {
      chunking_strategy?: ChunkingStrategyInput | undefined;
      attributes?: Attributes | null | undefined;
    },
  ): Promise<FileBatch> {
    await this.ownVectorStore(owner, vectorStoreId);
    const sizes = staticChunking(defaults.chunking_strategy, 'chunking_strategy');
    for (const [index, input] of inputs.entries()) {
      staticChunking(input.chunking_strategy, `files[${index}].chunking_strategy`);
      await this.file(owner, input.file_id, 'file_ids');
    }
    const id = newId(IdPrefix.FileBatch);
    await this.store.insertBatch(owner, id, vectorStoreId, nowSeconds());
    await this.#attachAll(owner, vectorStoreId, id, inputs, sizes, defaults.attributes ?? null);
    return (await this.batch(owner, vectorStoreId, id))!;
  }

  async batch(owner: Owner, vectorStoreId: string, id: string): Promise<FileBatch> {
    await this.vectorStore(owner, vectorStoreId);
    const found = await this.store.getBatch(owner, vectorStoreId, id);
    if (!found) throw notFound('file batch', id);
    return found;
  }

  async #attachAll(
    owner: Owner,
    vectorStoreId: string,
    batchId: string | null,
    inputs: readonly AttachInput[],
    sizes: StaticChunking,
    attributes: Attributes | null,
  ): Promise<VectorStoreFile[]> {
    const out: VectorStoreFile[] = [];
    for (const input of inputs) {
      const attached = await this.store.attach(owner, {
        vectorStoreId,
        fileId: input.file_id,
        batchId,
        createdAt: nowSeconds(),
        chunking: input.chunking_strategy
          ? staticChunking(input.chunking_strategy, 'chunking_strategy')
          : sizes,
        attributes: input.attributes ?? attributes,
      });
      if (attached.status === 'in_progress') this.indexer.enqueue(vectorStoreId, input.file_id);
      out.push(attached);
    }
    return out;
  }
}

/**
 * A chunking strategy as the static sizes it stands for (`auto` is 800/400). The overlap may be at most
 * half the chunk, as OpenAI requires.
 */
export function staticChunking(strategy: ChunkingStrategyInput | undefined, param: string): StaticChunking {
  if (strategy?.type !== 'static') {
    return {
      type: 'static',
      static: {
        max_chunk_size_tokens: AUTO_CHUNKING.maxTokens,
        chunk_overlap_tokens: AUTO_CHUNKING.overlapTokens,
      },
    };
  }
  const { max_chunk_size_tokens, chunk_overlap_tokens } = strategy.static;
  if (chunk_overlap_tokens > max_chunk_size_tokens / 2) {
    throw new ProxyError(
      ErrorCode.InvalidValue,
      `Invalid '${param}.static.chunk_overlap_tokens': ${chunk_overlap_tokens} is more than half of max_chunk_size_tokens (${max_chunk_size_tokens}).`,
      { param: `${param}.static.chunk_overlap_tokens` },
    );
  }
  return { type: 'static', static: { max_chunk_size_tokens, chunk_overlap_tokens } };
}

/**
 * The knowledge surface of a proxy, over its store's database, with indexing resumed for every file a
 * previous process left `in_progress`. Indexing failures that are the server's (not the file's) are
 * counted in `parley_indexing_errors_total`.
 */
export function createKnowledge(deps: {
  store: Pick<Store, 'database'>;
  config: { knowledge: KnowledgeConfig };
  metrics?: Pick<Metrics, 'inc'> | undefined;
  /** With `config.knowledge.embeddingModel`: chunks and queries are embedded through it (hybrid ranking). */
  upstream?: Pick<Upstream, 'client' | 'kind'> | undefined;
  /** Charges the embeddings to the players' budgets: the uploader's for a file, the searcher's for a query. */
  limiter?: Pick<Limiter, 'reserve'> | undefined;
}): Knowledge {
  const model = deps.config.knowledge.embeddingModel;
  const embedder =
    model && deps.upstream && deps.upstream.kind !== 'offline'
      ? upstreamEmbedder(deps.upstream.client, model, deps.limiter && embeddingBudget(deps.limiter))
      : undefined;
  const knowledge = new Knowledge(
    deps.store.database(),
    deps.config.knowledge,
    (error) => {
      if (error instanceof ProxyError) return;
      deps.metrics?.inc('parley_indexing_errors_total', 'Files that failed to index for a server error.', {});
    },
    embedder,
  );
  // In the background: a slow database must not hold up the proxy's start.
  void knowledge.indexer.resume().catch(() => {});
  return knowledge;
}

/** Embedding tokens billed as prompt tokens, as `/v1/embeddings` bills them. */
function embeddingBudget(limiter: Pick<Limiter, 'reserve'>): EmbeddingBudget {
  return async (player, model, estimate) => {
    const reservation = await limiter.reserve({
      player,
      model,
      promptTokens: estimate,
      maxCompletionTokens: 0,
    });
    return (promptTokens) =>
      promptTokens === undefined
        ? reservation.release()
        : reservation.settle({ promptTokens, completionTokens: 0 });
  };
}
