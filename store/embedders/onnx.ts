// A local ONNX sentence encoder: a model file and its Hugging Face `tokenizer.json`, both given by
// path; nothing is fetched at run time. The common case is a BERT-style encoder exported to ONNX
// (e.g. all-MiniLM-L6-v2: inputs input_ids / attention_mask / token_type_ids, output
// last_hidden_state [batch, tokens, dims]); the sentence vector is the attention-masked mean of the
// token vectors, L2-normalised (what sentence-transformers does for these models). A model whose
// output is already pooled ([batch, dims]) is used as it is, then normalised.
//
// onnxruntime-node (an optional dependency whose install script the repository skips; see README.md)
// and @huggingface/tokenizers (pure JS, no dependencies) are loaded
// on first use, so nothing else pays for them.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { EmbedderError } from './errors.ts';
import type { Embedder } from './index.ts';

export interface OnnxEmbedderOptions {
  /** Path of the `.onnx` model file. */
  model: string;
  /** Path of the model's Hugging Face `tokenizer.json`. */
  tokenizer: string;
  /** Dimensions the model returns; checked when the model loads. */
  dims: number;
  /** Tokens per text, special tokens included; longer texts are cut. @default the tokenizer's
   * `truncation.max_length`, else 256 */
  maxTokens?: number;
  /** Texts per inference call. @default 32 */
  batchSize?: number;
  /** Threads onnxruntime may use per call. @default 1 (the daemon shares the machine with its
   * parser threads and the database) */
  threads?: number;
}

interface Tokenizer {
  encode(text: string): { ids: number[] };
  token_to_id(token: string): number | undefined;
}

/** Characters kept per text before tokenizing: the tokenizer cost grows with the text, and no more
 * than about this many characters fit in `maxTokens` tokens anyway. */
const CHARS_PER_TOKEN = 12;

function positive(v: number | undefined, name: string, fallback: number): number {
  const n = v ?? fallback;
  if (!Number.isInteger(n) || n < 1) throw new EmbedderError('INVALID_OPTIONS', `options.${name} must be a positive integer, got ${String(v)}`);
  return n;
}

async function readInput(path: string, what: string): Promise<Buffer> {
  if (typeof path !== 'string' || path === '') throw new EmbedderError('INVALID_OPTIONS', `options.${what} must be a file path`);
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new EmbedderError('EMBEDDING_MODEL_NOT_FOUND', `cannot read the ${what} file ${path} (${code ?? (err as Error).message}); set embedder.${what} to an existing file`, { path });
  }
}

async function loadRuntime(): Promise<typeof Ort> {
  try {
    return await import('onnxruntime-node');
  } catch (err) {
    throw new EmbedderError('EMBEDDING_RUNTIME_MISSING', `the onnx embedder needs the optional dependency onnxruntime-node, which did not load (${(err as Error).message}); reinstall with \`npm ci\` from the repository (its .npmrc sets onnxruntime-node-install=skip)`);
  }
}

export class OnnxEmbedder implements Embedder {
  private constructor(
    readonly id: string,
    readonly dims: number,
    private readonly ort: typeof Ort,
    private readonly session: Ort.InferenceSession,
    private readonly tokenizer: Tokenizer,
    private readonly padId: number,
    private readonly maxTokens: number,
    private readonly batchSize: number,
  ) {}

  /** Loads and checks the model and tokenizer: a missing file is `EMBEDDING_MODEL_NOT_FOUND`, a file
   * that is not a usable model or tokenizer `EMBEDDING_MODEL_INVALID`, a model whose vectors do not
   * have `dims` dimensions `EMBEDDING_DIMENSION_MISMATCH`. */
  static async open(opts: OnnxEmbedderOptions): Promise<OnnxEmbedder> {
    const dims = positive(opts.dims, 'dims', 0);
    const batchSize = positive(opts.batchSize, 'batchSize', 32);
    const threads = positive(opts.threads, 'threads', 1);
    if (opts.maxTokens !== undefined) positive(opts.maxTokens, 'maxTokens', 0);
    const [modelBytes, tokBytes] = await Promise.all([readInput(opts.model, 'model'), readInput(opts.tokenizer, 'tokenizer')]);

    let tokJson: { truncation?: { max_length?: unknown } | null; model?: { type?: unknown } };
    try {
      tokJson = JSON.parse(tokBytes.toString('utf8')) as typeof tokJson;
    } catch (err) {
      throw new EmbedderError('EMBEDDING_MODEL_INVALID', `the tokenizer file ${opts.tokenizer} is not JSON (${(err as Error).message}); give the model's tokenizer.json`, { path: opts.tokenizer });
    }
    let tokenizer: Tokenizer;
    try {
      const { Tokenizer } = await import('@huggingface/tokenizers');
      if (typeof tokJson.model?.type !== 'string') throw new Error('it has no model.type');
      tokenizer = new Tokenizer(tokJson, {}) as Tokenizer;
      tokenizer.encode('a');
    } catch (err) {
      throw new EmbedderError('EMBEDDING_MODEL_INVALID', `the tokenizer file ${opts.tokenizer} is not a usable tokenizer.json (${(err as Error).message})`, { path: opts.tokenizer });
    }
    const fromFile = tokJson.truncation?.max_length;
    const maxTokens = opts.maxTokens ?? (typeof fromFile === 'number' && Number.isInteger(fromFile) && fromFile > 1 ? fromFile : 256);
    const padId = tokenizer.token_to_id('[PAD]') ?? tokenizer.token_to_id('<pad>') ?? 0;

    const ort = await loadRuntime();
    let session: Ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(modelBytes, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
    } catch (err) {
      throw new EmbedderError('EMBEDDING_MODEL_INVALID', `onnxruntime cannot load the model file ${opts.model}: ${(err as Error).message}`, { path: opts.model });
    }
    if (!session.inputNames.includes('input_ids')) {
      await session.release();
      throw new EmbedderError('EMBEDDING_MODEL_INVALID', `the model ${opts.model} has no input_ids input (inputs: ${session.inputNames.join(', ')}); give a text encoder exported with Hugging Face input names`, { path: opts.model });
    }
    const unknown = session.inputNames.filter((n) => !['input_ids', 'attention_mask', 'token_type_ids'].includes(n));
    if (unknown.length > 0) {
      await session.release();
      throw new EmbedderError('EMBEDDING_MODEL_INVALID', `the model ${opts.model} wants inputs this embedder cannot give: ${unknown.join(', ')}`, { path: opts.model });
    }
    // The id names the model by content: replacing the file with another model is a provider change.
    const digest = createHash('sha256').update(modelBytes).update(tokBytes).digest('hex').slice(0, 12);
    const e = new OnnxEmbedder(`onnx:${basename(opts.model).replace(/\.onnx$/, '')}@${digest}`, dims, ort, session, tokenizer, padId, maxTokens, batchSize);
    const probe = await e.infer(['a']).catch(async (err: unknown) => {
      await session.release();
      throw err instanceof EmbedderError ? err : new EmbedderError('EMBEDDING_MODEL_INVALID', `the model ${opts.model} failed on a probe text: ${(err as Error).message}`, { path: opts.model });
    });
    if (probe[0]!.length !== dims) {
      await session.release();
      throw new EmbedderError('EMBEDDING_DIMENSION_MISMATCH', `the model ${opts.model} returns ${probe[0]!.length}-dimensional vectors, the configuration says ${dims}; set embedder.dims to ${probe[0]!.length}`, { model: probe[0]!.length, configured: dims });
    }
    return e;
  }

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += this.batchSize) {
      signal?.throwIfAborted();
      out.push(...(await this.infer(texts.slice(i, i + this.batchSize))));
    }
    return out;
  }

  close(): Promise<void> {
    return this.session.release();
  }

  /** Token ids of `text`, cut to `maxTokens` keeping the closing special token ([SEP]). */
  private tokenize(text: string): number[] {
    const ids = this.tokenizer.encode(text.slice(0, this.maxTokens * CHARS_PER_TOKEN)).ids;
    if (ids.length <= this.maxTokens) return ids;
    return [...ids.slice(0, this.maxTokens - 1), ids[ids.length - 1]!];
  }

  private async infer(texts: readonly string[]): Promise<Float32Array[]> {
    const encoded = texts.map((t) => this.tokenize(t));
    const n = texts.length;
    const len = Math.max(1, ...encoded.map((ids) => ids.length));
    const ids = new BigInt64Array(n * len).fill(BigInt(this.padId));
    const mask = new BigInt64Array(n * len);
    encoded.forEach((row, b) => row.forEach((id, t) => {
      ids[b * len + t] = BigInt(id);
      mask[b * len + t] = 1n;
    }));
    const feeds: Record<string, Ort.Tensor> = {};
    const tensor = (data: BigInt64Array) => new this.ort.Tensor('int64', data, [n, len]);
    for (const name of this.session.inputNames) {
      feeds[name] = tensor(name === 'input_ids' ? ids : name === 'attention_mask' ? mask : new BigInt64Array(n * len));
    }
    const results = await this.session.run(feeds);
    const output = results.last_hidden_state ?? results[this.session.outputNames[0]!]!;
    try {
      return pool(output, mask, n, len);
    } finally {
      for (const t of Object.values(results)) t.dispose();
    }
  }
}

/** Mean of the unmasked token vectors ([n, len, dims] output), or the vectors themselves ([n, dims]),
 * L2-normalised. */
function pool(output: Ort.Tensor, mask: BigInt64Array, n: number, len: number): Float32Array[] {
  const data = output.data;
  if (!(data instanceof Float32Array)) throw new EmbedderError('EMBEDDING_MODEL_INVALID', `the model's output is ${output.type}, not float32`);
  const shape = output.dims;
  const pooled = shape.length === 2;
  if (!(pooled || (shape.length === 3 && shape[1] === len)) || shape[0] !== n) {
    throw new EmbedderError('EMBEDDING_MODEL_INVALID', `the model's output has shape [${shape.join(', ')}]; expected [batch, tokens, dims] or [batch, dims]`);
  }
  const dims = shape[shape.length - 1]!;
  const out: Float32Array[] = [];
  for (let b = 0; b < n; b++) {
    const v = new Float32Array(dims);
    if (pooled) {
      v.set(data.subarray(b * dims, (b + 1) * dims));
    } else {
      let count = 0;
      for (let t = 0; t < len; t++) {
        if (mask[b * len + t] === 0n) continue;
        count++;
        const o = (b * len + t) * dims;
        for (let d = 0; d < dims; d++) v[d]! += data[o + d]!;
      }
      for (let d = 0; d < dims; d++) v[d]! /= Math.max(count, 1);
    }
    let norm = 0;
    for (const x of v) norm += x * x;
    norm = Math.sqrt(norm);
    if (norm > 0) for (let d = 0; d < dims; d++) v[d]! /= norm;
    out.push(v);
  }
  return out;
}
