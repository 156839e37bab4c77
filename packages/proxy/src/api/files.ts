import { ErrorCode } from '@parley/protocol';
import { notFound, ProxyError } from '../errors.js';
import { readForm } from '../knowledge/multipart.js';
import type { Knowledge } from '../knowledge/service.js';
import { publicFile } from '../knowledge/storage.js';
import { fileListQuery, uploadFields } from '../schemas/files.js';
import { parse } from '../schemas/issues.js';
import { list, type Routes, type Services, STREAMED } from './context.js';

/** `/v1/files`: uploads for `file_search` (purpose `assistants`), each player's own. */
export function fileRoutes(router: Routes, _services: Services, knowledge: Knowledge): void {
  router
    .add('POST', '/v1/files', 'files.create', async (ctx) => {
      const form = await readForm(ctx.req, knowledge.config.maxFileBytes);
      const extra = [...form.files.keys()].find((name) => name !== 'file');
      if (extra !== undefined) {
        throw new ProxyError(ErrorCode.UnknownParameter, `Unrecognized request argument supplied: ${extra}`, {
          param: extra,
        });
      }
      const fields = parse(uploadFields, Object.fromEntries(form.fields));
      const file = form.files.get('file');
      if (!file) {
        throw new ProxyError(ErrorCode.MissingParameter, "Missing required parameter: 'file'.", {
          param: 'file',
        });
      }
      const stored = await knowledge.upload(ctx.owner, {
        filename: file.name,
        bytes: new Uint8Array(await file.arrayBuffer()),
        declaredType: file.type,
        expiresAfterSeconds: fields['expires_after[seconds]'],
      });
      return publicFile(stored);
    })
    .add('GET', '/v1/files', 'files.list', async (ctx) => {
      const query = parse(fileListQuery, Object.fromEntries(ctx.query));
      // Only `assistants` files are kept here: any other purpose lists nothing.
      if (query.purpose !== undefined && query.purpose !== 'assistants')
        return list({ data: [], has_more: false });
      const page = await knowledge.store.listFiles(ctx.owner, {
        limit: query.limit,
        order: query.order,
        after: query.after,
      });
      return list({ data: page.data.map(publicFile), has_more: page.has_more });
    })
    .add('GET', '/v1/files/:file_id', 'files.retrieve', async (ctx) =>
      publicFile(await knowledge.readableFile(ctx.owner, ctx.params['file_id']!)),
    )
    .add('DELETE', '/v1/files/:file_id', 'files.delete', async (ctx) => {
      const id = ctx.params['file_id']!;
      // Its attachments and their chunks go with it (the vector stores stop finding it).
      await knowledge.deleteFile(ctx.owner, id);
      return { id, object: 'file', deleted: true };
    })
    .add('GET', '/v1/files/:file_id/content', 'files.content', async (ctx) => {
      const file = await knowledge.readableFile(ctx.owner, ctx.params['file_id']!);
      const content = (await knowledge.store.fileSource(file.id))?.content;
      if (!content) throw notFound('file', file.id);
      ctx.res.writeHead(200, {
        'Content-Type': file.mime.startsWith('text/') ? `${file.mime}; charset=utf-8` : file.mime,
        'Content-Length': content.byteLength,
        // The bytes are a player's upload: never to be sniffed or run as a page by a browser.
        'X-Content-Type-Options': 'nosniff',
        'Content-Disposition': `attachment; filename*=UTF-8''${encodeURIComponent(file.filename)}`,
      });
      ctx.res.end(content);
      return STREAMED;
    });
}
