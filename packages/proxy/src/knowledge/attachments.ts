import { ErrorCode, type Thread } from '@parley/protocol';
import { ProxyError } from '../errors.js';
import type { Owner, Store } from '../store/types.js';
import type { Knowledge } from './service.js';

/** How long a thread's own vector store lives unused, as OpenAI's thread helpers set it. */
const THREAD_STORE_DAYS = 7;

/**
 * The files that messages attach for `file_search` (`attachments: [{ file_id, tools: [{ type:
 * "file_search" }] }]`), each checked to be the caller's own before anything is stored. An attachment for
 * other tools only (`code_interpreter`) is kept on the message and attached nowhere.
 *
 * @example
 * ```ts
 * const files = await fileSearchAttachments(knowledge, player, [input], 'attachments');
 * // ['file-abc…']
 * ```
 */
export async function fileSearchAttachments(
  knowledge: Knowledge,
  owner: Owner,
  inputs: ReadonlyArray<{ attachments?: readonly unknown[] | null | undefined }>,
  param: (message: number) => string,
): Promise<string[]> {
  const files: string[] = [];
  for (const [message, input] of inputs.entries()) {
    for (const [index, raw] of (input.attachments ?? []).entries()) {
      const at = `${param(message)}[${index}]`;
      const attachment = raw as { file_id?: unknown; tools?: unknown };
      if (typeof attachment.file_id !== 'string' || attachment.file_id === '') {
        throw new ProxyError(ErrorCode.MissingParameter, `Missing required parameter: '${at}.file_id'.`, {
          param: `${at}.file_id`,
        });
      }
      if (!toolTypes(attachment.tools, `${at}.tools`).includes('file_search')) continue;
      await knowledge.file(owner, attachment.file_id, `${at}.file_id`);
      if (!files.includes(attachment.file_id)) files.push(attachment.file_id);
    }
  }
  return files;
}

/** The tool types an attachment names; anything but OpenAI's two is refused. */
function toolTypes(tools: unknown, param: string): string[] {
  if (tools === undefined || tools === null) return [];
  const types = Array.isArray(tools)
    ? tools.map((tool) => (tool as { type?: unknown } | null)?.type)
    : [undefined];
  const bad = types.findIndex((type) => type !== 'file_search' && type !== 'code_interpreter');
  if (bad >= 0) {
    throw new ProxyError(
      ErrorCode.InvalidValue,
      `Invalid '${param}${Array.isArray(tools) ? `[${bad}].type` : ''}': expected 'file_search' or 'code_interpreter'.`,
      { param: Array.isArray(tools) ? `${param}[${bad}].type` : param },
    );
  }
  return types as string[];
}

/**
 * Puts files in the thread's vector store, as OpenAI's message attachments did: the first store of the
 * thread's `tool_resources.file_search.vector_store_ids` that the caller owns and that has not expired, or
 * else a new one (expiring 7 days after its last use), which the thread then names. The files are indexed
 * in the background. The thread object is updated in place and stored when it changed.
 */
export async function attachToThread(
  knowledge: Knowledge,
  store: Pick<Store, 'putThread'>,
  owner: Owner,
  thread: Thread,
  fileIds: readonly string[],
): Promise<void> {
  if (fileIds.length === 0) return;
  const named = vectorStoreIds(thread);
  let target: string | undefined;
  for (const id of named) {
    const found = await knowledge.store.getVectorStore([owner], id);
    if (found && found.status !== 'expired') {
      target = id;
      break;
    }
  }
  if (target === undefined) {
    const created = await knowledge.createVectorStore(
      owner,
      {
        name: `Files of ${thread.id}`,
        description: null,
        metadata: {},
        expires_after: { anchor: 'last_active_at', days: THREAD_STORE_DAYS },
      },
      [],
      undefined,
    );
    target = created.id;
    const resources = (thread.tool_resources ?? {}) as Record<string, unknown>;
    const fileSearch = (resources['file_search'] ?? {}) as Record<string, unknown>;
    thread.tool_resources = {
      ...resources,
      file_search: { ...fileSearch, vector_store_ids: [...named, target] },
    };
    await store.putThread(owner, thread);
  }
  for (const fileId of fileIds) await knowledge.attach(owner, target, { file_id: fileId });
}

function vectorStoreIds(thread: Thread): string[] {
  const fileSearch = (thread.tool_resources as { file_search?: { vector_store_ids?: unknown } } | null)
    ?.file_search;
  const ids = fileSearch?.vector_store_ids;
  return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [];
}
