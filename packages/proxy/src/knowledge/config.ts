import type { UpstreamKind } from '../config.js';
import { DEFAULT_PDF_LIMITS, type PdfLimits } from './pdf.js';

/** Limits on uploaded files, and the embedding model (when the upstream has one). */
export interface KnowledgeConfig {
  /** Largest file a player may upload (`PARLEY_MAX_FILE_BYTES`, default 20 MB). */
  maxFileBytes: number;
  /** Files one player may keep (`PARLEY_MAX_FILES_PER_PLAYER`, default 100). */
  maxFilesPerPlayer: number;
  /** Bytes of files one player may keep in all (`PARLEY_MAX_FILE_STORAGE_BYTES`, default 100 MB). */
  maxBytesPerPlayer: number;
  /**
   * The model `/v1/embeddings` may use without being in the policy's model list
   * (`PARLEY_EMBEDDING_MODEL`; `text-embedding-3-small` on OpenAI and Azure, none on a compatible server
   * unless named, never offline).
   */
  embeddingModel: string | undefined;
  /** What reading one PDF may cost (pages, inflated bytes, time). */
  pdf: PdfLimits;
}

type Env = Record<string, string | undefined>;

function int(env: Env, key: string, fallback: number, min: number): number {
  const raw = env[key]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min)
    throw new Error(`${key} must be an integer ≥ ${min}, got '${raw}'`);
  return value;
}

/**
 * Reads the knowledge limits from the environment.
 *
 * @example
 * ```ts
 * loadKnowledgeConfig({ PARLEY_MAX_FILE_BYTES: '1048576' }, 'offline').maxFileBytes; // 1048576
 * ```
 */
export function loadKnowledgeConfig(env: Env, kind: UpstreamKind): KnowledgeConfig {
  const named = env['PARLEY_EMBEDDING_MODEL']?.trim();
  const embeddingModel =
    kind === 'offline'
      ? undefined
      : named || (kind === 'openai' || kind === 'azure' ? 'text-embedding-3-small' : undefined);
  return {
    maxFileBytes: int(env, 'PARLEY_MAX_FILE_BYTES', 20 * 1024 * 1024, 1),
    maxFilesPerPlayer: int(env, 'PARLEY_MAX_FILES_PER_PLAYER', 100, 0),
    maxBytesPerPlayer: int(env, 'PARLEY_MAX_FILE_STORAGE_BYTES', 100 * 1024 * 1024, 0),
    embeddingModel,
    pdf: {
      maxPages: int(env, 'PARLEY_PDF_MAX_PAGES', DEFAULT_PDF_LIMITS.maxPages, 1),
      maxInflatedBytes: int(env, 'PARLEY_PDF_MAX_INFLATED_BYTES', DEFAULT_PDF_LIMITS.maxInflatedBytes, 1),
      timeoutMs: int(env, 'PARLEY_PDF_TIMEOUT_MS', DEFAULT_PDF_LIMITS.timeoutMs, 1),
    },
  };
}
