import { ErrorCode } from '@parley/protocol';
import { notFound, ProxyError } from '../errors.js';
import { searchKnowledge } from '../knowledge/search.js';
import type { Knowledge } from '../knowledge/service.js';
import type { VectorStoreFields } from '../knowledge/storage.js';
import { parse } from '../schemas/issues.js';
import { parsePageQuery } from '../schemas/query.js';
import {
  attachedFilter,
  createFileBatch,
  createVectorStore,
  createVectorStoreFile,
  modifyVectorStore,
  searchVectorStore,
  updateVectorStoreFile,
} from '../schemas/vector-stores.js';
import { list, type RequestContext, type Routes, type Services } from './context.js';

/** How soon the SDK's polling helpers (`createAndPoll`, `uploadAndPoll`) should ask again. */
const POLL_AFTER_MS = '200';

const pollSoon = (ctx: RequestContext, status: string) => {
  if (status === 'in_progress') ctx.res.setHeader('openai-poll-after-ms', POLL_AFTER_MS);
};

/**
 * `/v1/vector_stores`: stores, their files, file batches and search. Owned like threads: another player's
 * store is a 404; the game's stores can be read and searched, not changed.
 */
export function vectorStoreRoutes(router: Routes, _services: Services, knowledge: Knowledge): void {
  storeRoutes(router, knowledge);
  searchRoute(router, knowledge);
  attachedFileRoutes(router, knowledge);
  batchRoutes(router, knowledge);
}

/** The stores themselves: create, list, retrieve, modify, delete. */
function storeRoutes(router: Routes, knowledge: Knowledge): void {
  const { store } = knowledge;
  router
    .add('POST', '/v1/vector_stores', 'vectorStores.create', async (ctx) => {
      const body = parse(createVectorStore, await ctx.body());
      return knowledge.createVectorStore(
        ctx.owner,
        {
          name: body.name ?? '',
          description: body.description ?? null,
          metadata: body.metadata ?? {},
          expires_after: body.expires_after ?? null,
        },
        body.file_ids ?? [],
        body.chunking_strategy,
      );
    })
    .add('GET', '/v1/vector_stores', 'vectorStores.list', async (ctx) =>
      list(await store.listVectorStores(ctx.owner, parsePageQuery(ctx.query))),
    )
    .add('GET', '/v1/vector_stores/:vector_store_id', 'vectorStores.retrieve', async (ctx) => {
      const found = await knowledge.vectorStore(ctx.owner, ctx.params['vector_store_id']!);
      pollSoon(ctx, found.status);
      return found;
    })
    .add('POST', '/v1/vector_stores/:vector_store_id', 'vectorStores.modify', async (ctx) => {
      const body = parse(modifyVectorStore, await ctx.body());
      const id = ctx.params['vector_store_id']!;
      await knowledge.ownVectorStore(ctx.owner, id);
      const current = (await store.vectorStoreFields(ctx.owner, id)) as VectorStoreFields;
      await store.updateVectorStore(ctx.owner, id, {
        ...current,
        ...(body.name !== undefined ? { name: body.name ?? '' } : {}),
        ...(body.metadata !== undefined ? { metadata: body.metadata ?? {} } : {}),
        ...(body.expires_after !== undefined ? { expires_after: body.expires_after } : {}),
      });
      return knowledge.vectorStore(ctx.owner, id);
    })
    .add('DELETE', '/v1/vector_stores/:vector_store_id', 'vectorStores.delete', async (ctx) => {
      const id = ctx.params['vector_store_id']!;
      await knowledge.ownVectorStore(ctx.owner, id);
      if (!(await store.deleteVectorStore(ctx.owner, id))) throw notFound('vector store', id);
      return { id, object: 'vector_store.deleted', deleted: true };
    });
}

/** `POST /v1/vector_stores/{id}/search`: refused while the store is still indexing or has expired. */
function searchRoute(router: Routes, knowledge: Knowledge): void {
  const { store } = knowledge;
  router.add('POST', '/v1/vector_stores/:vector_store_id/search', 'vectorStores.search', async (ctx) => {
    const body = parse(searchVectorStore, await ctx.body());
    const id = ctx.params['vector_store_id']!;
    const found = await knowledge.vectorStore(ctx.owner, id);
    if (found.status === 'expired') {
      throw new ProxyError(ErrorCode.InvalidValue, `The vector store ${id} has expired.`, {
        param: 'vector_store_id',
      });
    }
    if (found.status === 'in_progress') {
      const { in_progress, total } = found.file_counts;
      throw new ProxyError(
        ErrorCode.VectorStoreNotReady,
        `The vector store ${id} is still indexing ${in_progress} of its ${total} files; retrieve it until its status is 'completed', then search.`,
        { param: 'vector_store_id' },
      );
    }
    const queries = typeof body.query === 'string' ? [body.query] : body.query;
    const data = await searchKnowledge(store.db, ctx.owner, [id], queries, {
      maxResults: body.max_num_results,
      scoreThreshold: body.ranking_options?.score_threshold,
      filters: body.filters ?? undefined,
      semantic: knowledge.semantic,
    });
    return {
      object: 'vector_store.search_results.page',
      search_query: queries,
      data,
      has_more: false,
      next_page: null,
    };
  });
}

/** A store's files: attach, list, retrieve, read, set attributes, detach. */
function attachedFileRoutes(router: Routes, knowledge: Knowledge): void {
  const { store } = knowledge;
  router
    .add('POST', '/v1/vector_stores/:vector_store_id/files', 'vectorStores.files.create', async (ctx) => {
      const body = parse(createVectorStoreFile, await ctx.body());
      return knowledge.attach(ctx.owner, ctx.params['vector_store_id']!, body);
    })
    .add('GET', '/v1/vector_stores/:vector_store_id/files', 'vectorStores.files.list', async (ctx) => {
      const id = ctx.params['vector_store_id']!;
      const { filter } = parse(attachedFilter, { filter: ctx.query.get('filter') ?? undefined });
      await knowledge.vectorStore(ctx.owner, id);
      return list(await store.listAttached(id, parsePageQuery(ctx.query), { status: filter }));
    })
    .add(
      'GET',
      '/v1/vector_stores/:vector_store_id/files/:file_id',
      'vectorStores.files.retrieve',
      async (ctx) => {
        const found = await knowledge.attached(
          ctx.owner,
          ctx.params['vector_store_id']!,
          ctx.params['file_id']!,
        );
        pollSoon(ctx, found.status);
        return found;
      },
    )
    .add(
      'GET',
      '/v1/vector_stores/:vector_store_id/files/:file_id/content',
      'vectorStores.files.content',
      async (ctx) => {
        const id = ctx.params['vector_store_id']!;
        const fileId = ctx.params['file_id']!;
        await knowledge.attached(ctx.owner, id, fileId);
        return {
          object: 'vector_store.file_content.page',
          data: [{ type: 'text', text: await knowledge.parsedText(fileId) }],
          has_more: false,
          next_page: null,
        };
      },
    )
    .add(
      'POST',
      '/v1/vector_stores/:vector_store_id/files/:file_id',
      'vectorStores.files.update',
      async (ctx) => {
        const body = parse(updateVectorStoreFile, await ctx.body());
        const id = ctx.params['vector_store_id']!;
        const fileId = ctx.params['file_id']!;
        await knowledge.ownVectorStore(ctx.owner, id);
        await knowledge.attached(ctx.owner, id, fileId);
        await store.setAttributes(id, fileId, body.attributes);
        return knowledge.attached(ctx.owner, id, fileId);
      },
    )
    .add(
      'DELETE',
      '/v1/vector_stores/:vector_store_id/files/:file_id',
      'vectorStores.files.delete',
      async (ctx) => {
        const id = ctx.params['vector_store_id']!;
        const fileId = ctx.params['file_id']!;
        await knowledge.ownVectorStore(ctx.owner, id);
        // The file itself stays (as OpenAI's): only its place in this store, and its chunks, go.
        if (!(await store.detach(id, fileId))) throw notFound('file', fileId);
        return { id: fileId, object: 'vector_store.file.deleted', deleted: true };
      },
    );
}

/** File batches: create, retrieve, cancel, list their files. */
function batchRoutes(router: Routes, knowledge: Knowledge): void {
  const { store } = knowledge;
  router
    .add(
      'POST',
      '/v1/vector_stores/:vector_store_id/file_batches',
      'vectorStores.fileBatches.create',
      async (ctx) => {
        const body = parse(createFileBatch, await ctx.body());
        const inputs = body.files ?? (body.file_ids ?? []).map((file_id) => ({ file_id }));
        if (inputs.length === 0) {
          throw new ProxyError(ErrorCode.MissingParameter, "Missing required parameter: 'file_ids'.", {
            param: 'file_ids',
          });
        }
        if (body.files && body.file_ids) {
          throw new ProxyError(ErrorCode.InvalidValue, "Send either 'file_ids' or 'files', not both.", {
            param: 'files',
          });
        }
        return knowledge.createBatch(ctx.owner, ctx.params['vector_store_id']!, inputs, body);
      },
    )
    .add(
      'GET',
      '/v1/vector_stores/:vector_store_id/file_batches/:batch_id',
      'vectorStores.fileBatches.retrieve',
      async (ctx) => {
        const found = await knowledge.batch(
          ctx.owner,
          ctx.params['vector_store_id']!,
          ctx.params['batch_id']!,
        );
        pollSoon(ctx, found.status);
        return found;
      },
    )
    .add(
      'POST',
      '/v1/vector_stores/:vector_store_id/file_batches/:batch_id/cancel',
      'vectorStores.fileBatches.cancel',
      async (ctx) => {
        const id = ctx.params['vector_store_id']!;
        const batchId = ctx.params['batch_id']!;
        await knowledge.ownVectorStore(ctx.owner, id);
        await knowledge.batch(ctx.owner, id, batchId);
        await store.cancelBatch(batchId);
        return knowledge.batch(ctx.owner, id, batchId);
      },
    )
    .add(
      'GET',
      '/v1/vector_stores/:vector_store_id/file_batches/:batch_id/files',
      'vectorStores.fileBatches.files',
      async (ctx) => {
        const id = ctx.params['vector_store_id']!;
        const batchId = ctx.params['batch_id']!;
        const { filter } = parse(attachedFilter, { filter: ctx.query.get('filter') ?? undefined });
        await knowledge.batch(ctx.owner, id, batchId);
        return list(await store.listAttached(id, parsePageQuery(ctx.query), { status: filter, batchId }));
      },
    );
}
