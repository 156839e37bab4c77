/*
 * The wire shapes of OpenAI's files and vector stores, as the official OpenAPI spec and SDK describe them.
 * They live here rather than in @parley/protocol because no client of Parley reads them but the SDK.
 */

/** `GET /v1/files/{id}`. */
export interface FileObject {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  expires_at: number | null;
  filename: string;
  purpose: 'assistants';
  /** Deprecated by OpenAI but still required by its spec: always `processed` once stored. */
  status: 'processed';
  status_details: null;
}

/** How a file was cut into chunks (`auto` is reported as the static sizes it stands for). */
export interface StaticChunking {
  type: 'static';
  static: { max_chunk_size_tokens: number; chunk_overlap_tokens: number };
}

/** A file's attributes: up to 16 keys, each a string, a number or a boolean. */
export type Attributes = Record<string, string | number | boolean>;

export interface FileCounts {
  in_progress: number;
  completed: number;
  failed: number;
  cancelled: number;
  total: number;
}

export interface ExpiresAfter {
  anchor: 'last_active_at';
  days: number;
}

/** `GET /v1/vector_stores/{id}`. */
export interface VectorStore {
  id: string;
  object: 'vector_store';
  created_at: number;
  name: string;
  usage_bytes: number;
  file_counts: FileCounts;
  status: 'expired' | 'in_progress' | 'completed';
  expires_after: ExpiresAfter | null;
  expires_at: number | null;
  last_active_at: number;
  metadata: Record<string, string>;
}

/** Why a file could not be indexed: OpenAI's three codes. */
export interface FileError {
  code: 'server_error' | 'unsupported_file' | 'invalid_file';
  message: string;
}

export type VectorStoreFileStatus = 'in_progress' | 'completed' | 'cancelled' | 'failed';

/** `GET /v1/vector_stores/{id}/files/{file_id}`. */
export interface VectorStoreFile {
  id: string;
  object: 'vector_store.file';
  usage_bytes: number;
  created_at: number;
  vector_store_id: string;
  status: VectorStoreFileStatus;
  last_error: FileError | null;
  chunking_strategy: StaticChunking;
  attributes: Attributes | null;
}

/** `GET /v1/vector_stores/{id}/file_batches/{batch_id}`. */
export interface FileBatch {
  id: string;
  object: 'vector_store.files_batch';
  created_at: number;
  vector_store_id: string;
  status: 'in_progress' | 'completed' | 'cancelled' | 'failed';
  file_counts: FileCounts;
}

/** One passage found by a search: a chunk of a file, with a score between 0 and 1. */
export interface SearchResult {
  file_id: string;
  filename: string;
  score: number;
  attributes: Attributes | null;
  content: Array<{ type: 'text'; text: string }>;
}
