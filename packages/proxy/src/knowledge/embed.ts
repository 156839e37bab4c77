import type OpenAI from 'openai';

/**
 * An embedding model, as knowledge uses it: chunks embedded while indexing, queries while searching. Every
 * vector comes back with unit length, so cosine similarity is a dot product.
 */
export interface Embedder {
  /** The model's name, kept with each file's vectors (vectors of two models never meet). */
  readonly model: string;
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
}

/** Inputs per upstream request: OpenAI takes up to 2048; fewer keep one failure cheap to retry. */
const BATCH = 64;

/**
 * An {@link Embedder} over the upstream's `/v1/embeddings` (the SDK client the proxy already holds, so
 * the key, base URL and retries are the upstream's).
 *
 * @example
 * ```ts
 * const embedder = upstreamEmbedder(upstream.client, 'text-embedding-3-small');
 * const [vector] = await embedder.embed(['Who founded Varn?']);
 * ```
 */
export function upstreamEmbedder(client: Pick<OpenAI, 'embeddings'>, model: string): Embedder {
  return {
    model,
    async embed(texts, signal) {
      const out: Float32Array[] = [];
      for (let from = 0; from < texts.length; from += BATCH) {
        const input = texts.slice(from, from + BATCH);
        const response = await client.embeddings.create({ model, input }, signal ? { signal } : {});
        const ordered = [...response.data].sort((a, b) => a.index - b.index);
        if (ordered.length !== input.length)
          throw new Error(
            `The embedding model answered ${ordered.length} vectors for ${input.length} inputs.`,
          );
        for (const entry of ordered) out.push(unit(Float32Array.from(entry.embedding)));
      }
      return out;
    },
  };
}

/** The vector scaled to length 1 (a zero vector stays zero: it matches nothing). */
export function unit(vector: Float32Array): Float32Array {
  let norm = 0;
  for (const value of vector) norm += value * value;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < vector.length; i++) vector[i] = vector[i]! / norm;
  return vector;
}

/** A vector as the bytes the database keeps (float32, little-endian). */
export function toBytes(vector: Float32Array): Uint8Array {
  const bytes = new Uint8Array(vector.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < vector.length; i++) view.setFloat32(i * 4, vector[i]!, true);
  return bytes;
}

/** The vector kept as bytes by {@link toBytes}. */
export function fromBytes(bytes: Uint8Array): Float32Array {
  const vector = new Float32Array(bytes.byteLength >> 2);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < vector.length; i++) vector[i] = view.getFloat32(i * 4, true);
  return vector;
}
