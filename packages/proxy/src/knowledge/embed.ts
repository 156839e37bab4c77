import type OpenAI from 'openai';
import { estimateTokens } from '../tokens.js';

/**
 * An embedding model, as knowledge uses it: chunks embedded while indexing, queries while searching. Every
 * vector comes back with unit length, so cosine similarity is a dot product.
 */
export interface Embedder {
  /** The model's name, kept with each file's vectors (vectors of two models never meet). */
  readonly model: string;
  /** Embeds `texts`, charged to `player`'s budget when one is named (the game's own lore is not). */
  embed(texts: readonly string[], options?: EmbedOptions): Promise<Float32Array[]>;
}

export interface EmbedOptions {
  signal?: AbortSignal | undefined;
  /** Whose budget pays: the player who uploaded the file, or who searches. */
  player?: string | undefined;
}

/**
 * Charges embedding tokens to a player's budget: reserves `estimate` prompt tokens before the request (it
 * rejects when the player is over budget, and knowledge then falls back on full text), and the returned
 * function settles what the upstream reported, or refunds it when the request failed.
 */
export type EmbeddingBudget = (
  player: string,
  model: string,
  estimate: number,
) => Promise<(promptTokens: number | undefined) => Promise<void>>;

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
export function upstreamEmbedder(
  client: Pick<OpenAI, 'embeddings'>,
  model: string,
  budget?: EmbeddingBudget,
): Embedder {
  /** One upstream request, paid for by `player` when there is a budget and a player. */
  const request = async (input: string[], { signal, player }: EmbedOptions) => {
    const settle =
      budget && player !== undefined
        ? await budget(
            player,
            model,
            input.reduce((sum, text) => sum + estimateTokens(text), 0),
          )
        : undefined;
    try {
      const response = await client.embeddings.create({ model, input }, signal ? { signal } : {});
      await settle?.(response.usage?.prompt_tokens);
      return response;
    } catch (error) {
      await settle?.(undefined).catch(() => {});
      throw error;
    }
  };
  return {
    model,
    async embed(texts, options = {}) {
      const out: Float32Array[] = [];
      for (let from = 0; from < texts.length; from += BATCH) {
        const input = texts.slice(from, from + BATCH);
        const response = await request(input, options);
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
