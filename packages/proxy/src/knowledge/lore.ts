import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { IdPrefix } from '@parley/protocol';
import { nowSeconds } from '../ids.js';
import type { Logger } from '../log.js';
import { GAME_OWNER, type LoreFolder } from '../policy/policy.js';
import { AUTO_CHUNKING } from './chunk.js';
import type { Knowledge } from './service.js';
import { checkFilename, sniff } from './sniff.js';
import type { VectorStoreFields } from './storage.js';

/** The prefix of every lore store's id: `vs_lore_<name>`. */
export const LORE_STORE_PREFIX = `${IdPrefix.VectorStore}lore_`;

/** The id of a lore folder's vector store: stable, so assistants and configs can name it. */
export const loreStoreId = (name: string) => `${LORE_STORE_PREFIX}${name}`;

/** What start-up did with one lore folder (paths relative to the folder). */
export interface LoreReport {
  name: string;
  vectorStoreId: string;
  /** New or changed files, queued for indexing. */
  indexed: string[];
  /** Files whose content hash is the one indexed before: left as they are. */
  unchanged: string[];
  /** Files gone from the folder since the last start: removed from the store. */
  removed: string[];
  /** Files that cannot be a knowledge file (kind, name, size), with why. */
  skipped: Array<{ path: string; reason: string }>;
}

/** Kept in the lore store's own row: which file each path became, and the hash it was indexed from. */
interface LoreRecord {
  files: Record<string, { id: string; sha256: string }>;
}

type LoreFields = VectorStoreFields & { lore?: LoreRecord };

/**
 * Indexes the policy's lore folders into read-only vector stores owned by the game (`vs_lore_<name>`),
 * and removes the lore stores the policy no longer names. Only files whose content hash changed since the
 * last start are stored and indexed again; indexing itself runs in the background like any attachment.
 * A file that cannot be a knowledge file is skipped with a warning; the proxy still starts.
 *
 * @example
 * ```ts
 * await indexLore(knowledge, config.policy.lore, log);
 * ```
 */
export async function indexLore(
  knowledge: Knowledge,
  folders: readonly LoreFolder[],
  log?: Pick<Logger, 'info' | 'warn'>,
): Promise<LoreReport[]> {
  const reports: LoreReport[] = [];
  for (const folder of folders) {
    let report: LoreReport;
    try {
      report = await indexFolder(knowledge, folder);
    } catch (error) {
      // Another instance starting at the same moment may have written the same rows first: it indexes the
      // folder, and this instance serves what it wrote. The hashes are recorded last, so the next start
      // catches up with anything left half done.
      log?.warn('lore folder not indexed by this instance', {
        lore: folder.name,
        error: error instanceof Error ? error.message : String(error),
      });
      continue;
    }
    for (const { path, reason } of report.skipped)
      log?.warn('lore file skipped', { lore: folder.name, path, reason });
    log?.info('lore ready', {
      lore: folder.name,
      vector_store_id: report.vectorStoreId,
      indexing: report.indexed.length,
      unchanged: report.unchanged.length,
      removed: report.removed.length,
    });
    reports.push(report);
  }
  const named = new Set(folders.map((folder) => loreStoreId(folder.name)));
  for (const id of await knowledge.store.vectorStoreIdsStartingWith(GAME_OWNER, LORE_STORE_PREFIX)) {
    if (named.has(id)) continue;
    const record = await loreRecord(knowledge, id);
    for (const { id: fileId } of Object.values(record?.files ?? {}))
      await knowledge.store.deleteFile(GAME_OWNER, fileId);
    await knowledge.store.deleteVectorStore(GAME_OWNER, id);
    log?.info('lore store removed (no longer in the policy)', { vector_store_id: id });
  }
  return reports;
}

async function indexFolder(knowledge: Knowledge, folder: LoreFolder): Promise<LoreReport> {
  const { store } = knowledge;
  const id = loreStoreId(folder.name);
  const report: LoreReport = {
    name: folder.name,
    vectorStoreId: id,
    indexed: [],
    unchanged: [],
    removed: [],
    skipped: [],
  };
  const before = (await loreRecord(knowledge, id))?.files ?? {};
  const after: LoreRecord['files'] = {};
  for (const path of await filesUnder(folder.path)) {
    const relativePath = relative(folder.path, path).split(sep).join('/');
    const bytes = new Uint8Array(await readFile(path));
    const reason = unreadable(bytes, basename(path), knowledge.config.maxFileBytes);
    if (reason) {
      report.skipped.push({ path: relativePath, reason });
      continue;
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const fileId = loreFileId(folder.name, relativePath);
    after[relativePath] = { id: fileId, sha256 };
    const known = before[relativePath];
    if (known?.sha256 === sha256 && (await store.getAttached(id, fileId))) {
      report.unchanged.push(relativePath);
      continue;
    }
    report.indexed.push(relativePath);
  }
  const fields: LoreFields = {
    name: folder.name,
    description: `Lore files from the game's folder '${folder.name}' (read-only).`,
    metadata: { parley_lore: folder.name },
    expires_after: null,
    lore: { files: after },
  };
  if (!(await store.getVectorStore([GAME_OWNER], id)))
    await store.insertVectorStore(GAME_OWNER, id, nowSeconds(), fields);
  for (const [path, { id: fileId }] of Object.entries(before)) {
    if (after[path]?.id === fileId) continue;
    await store.deleteFile(GAME_OWNER, fileId);
    report.removed.push(path);
  }
  for (const path of report.indexed)
    await replaceFile(knowledge, id, join(folder.path, path), after[path]!.id);
  // Last: a start cut short before this line re-indexes these files next time rather than trust them.
  await store.updateVectorStore(GAME_OWNER, id, fields);
  return report;
}

/** Stores a lore file afresh under its stable id (its old attachment and chunks go with the old row). */
async function replaceFile(knowledge: Knowledge, vectorStoreId: string, path: string, fileId: string) {
  const { store } = knowledge;
  const bytes = new Uint8Array(await readFile(path));
  const filename = basename(path);
  await store.deleteFile(GAME_OWNER, fileId);
  await store.insertFile(
    {
      id: fileId,
      object: 'file',
      bytes: bytes.length,
      created_at: nowSeconds(),
      expires_at: null,
      filename,
      purpose: 'assistants',
      status: 'processed',
      status_details: null,
      owner: GAME_OWNER,
      mime: sniff(bytes, filename, '').mime,
    },
    bytes,
  );
  await store.attach(GAME_OWNER, {
    vectorStoreId,
    fileId,
    batchId: null,
    createdAt: nowSeconds(),
    chunking: {
      type: 'static',
      static: {
        max_chunk_size_tokens: AUTO_CHUNKING.maxTokens,
        chunk_overlap_tokens: AUTO_CHUNKING.overlapTokens,
      },
    },
    attributes: null,
  });
  knowledge.indexer.enqueue(vectorStoreId, fileId);
}

async function loreRecord(knowledge: Knowledge, id: string): Promise<LoreRecord | undefined> {
  return ((await knowledge.store.vectorStoreFields(GAME_OWNER, id)) as LoreFields | undefined)?.lore;
}

/** Why a file cannot be lore, or nothing when it can (the checks an upload passes). */
function unreadable(bytes: Uint8Array, filename: string, maxBytes: number): string | undefined {
  if (bytes.length > maxBytes) return `larger than the file cap (${maxBytes} bytes)`;
  try {
    checkFilename(filename);
    sniff(bytes, filename, '');
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Every file under a folder, in a stable order; hidden files and folders (`.git`, `.DS_Store`) left out. */
async function filesUnder(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .filter(
      (path) =>
        !relative(folder, path)
          .split(sep)
          .some((part) => part.startsWith('.')),
    )
    .sort();
}

/** A file id that stays the same for the same lore path, so citations and links keep working. */
function loreFileId(name: string, path: string): string {
  const digest = createHash('sha256').update(`lore\u0000${name}\u0000${path}`).digest();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let id = IdPrefix.File as string;
  for (let i = 0; i < 24; i++) id += alphabet[digest[i]! % alphabet.length];
  return id;
}
