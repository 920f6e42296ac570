// Embedding providers behind one interface (issue #12). The store embeds each distinct entity body
// once (store/write.ts) and search embeds queries (store/search/rank.ts); both must use the same
// provider, which `id` names.
//
// - `builtin` (default): store/embed.ts, feature hashing of identifier sub-tokens and character
//   trigrams. Deterministic, weight-free, nothing downloaded. It captures lexical and naming
//   similarity (shared words, small edits), NOT meaning: "fetch the user" is not near "load account".
// - `onnx`: a local ONNX text encoder (model file + tokenizer.json by path), mean pooling +
//   L2 normalisation (store/embedders/onnx.ts).
// - `http`: any OpenAI-compatible `POST /v1/embeddings` endpoint, batched, with timeouts and retries.
//   Today only the built-in provider is wired into the store's write path; the http provider is
//   ready for it (its dimensions differ from the `vector(256)` column, so it needs its own column).
import { EMBEDDING_DIMS, embed } from '../embed.ts';

/** A source of embeddings (provider + model). */
export interface Embedder {
  /** Names the provider and model, e.g. `builtin:fnv-256`; embeddings of different ids never mix. */
  readonly id: string;
  readonly dims: number;
  /** One L2-normalised vector per text, in order. */
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
}

export { EmbedderError, type EmbedderErrorCode } from './errors.ts';

export class BuiltinEmbedder implements Embedder {
  readonly id = `builtin:fnv-${EMBEDDING_DIMS}`;
  readonly dims = EMBEDDING_DIMS;

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    return texts.map((t) => embed(t));
  }
}

export { HttpEmbedder, type HttpEmbedderOptions } from './http.ts';
export { OnnxEmbedder, type OnnxEmbedderOptions } from './onnx.ts';
