// An OpenAI-compatible embeddings client: `POST <baseUrl>/v1/embeddings` with
// `{model, input: string[]}`, answered by `{data: [{index, embedding: number[]}]}`.
// Batches of `batchSize` texts; each request has its own timeout; 429, 5xx, timeouts and network
// errors are retried with exponential backoff (honouring `Retry-After`), other 4xx are not.
import { EmbedderError } from './errors.ts';
import type { Embedder } from './index.ts';

/** Scales `v` to unit length in place (all zeros stay zeros): cosine is then a dot product. */
function normalise(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i]! /= n;
  return v;
}

export interface HttpEmbedderOptions {
  /** Base URL of the service, e.g. `http://127.0.0.1:8080` (the client appends `/v1/embeddings`). */
  baseUrl: string;
  model: string;
  /** Dimensions the model returns; a response with other dimensions is an error. */
  dims: number;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Texts per request. @default 64 */
  batchSize?: number;
  /** Per request. @default 30_000 */
  timeoutMs?: number;
  /** Retries after the first attempt. @default 3 */
  retries?: number;
  /** First backoff; doubles per retry. @default 250 */
  backoffMs?: number;
}

function positive(v: number | undefined, name: string, fallback: number, allowZero = false): number {
  const n = v ?? fallback;
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1)) {
    throw new EmbedderError('INVALID_OPTIONS', `options.${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${String(v)}`);
  }
  return n;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> => new Promise((resolve, reject) => {
  const t = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => {
    clearTimeout(t);
    reject(signal.reason as Error);
  }, { once: true });
});

class Retryable extends Error {
  constructor(message: string, readonly retryAfterMs: number | null) {
    super(message);
  }
}

export class HttpEmbedder implements Embedder {
  readonly id: string;
  readonly dims: number;
  private readonly url: string;
  private readonly batchSize: number;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;

  constructor(private readonly opts: HttpEmbedderOptions) {
    let base: URL;
    try {
      base = new URL(opts.baseUrl);
    } catch {
      throw new EmbedderError('INVALID_OPTIONS', `options.baseUrl must be an http(s) URL, got ${JSON.stringify(opts.baseUrl)}`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new EmbedderError('INVALID_OPTIONS', `options.baseUrl must be an http(s) URL, got ${JSON.stringify(opts.baseUrl)}`);
    if (typeof opts.model !== 'string' || opts.model === '') throw new EmbedderError('INVALID_OPTIONS', 'options.model must be a non-empty string');
    this.dims = positive(opts.dims, 'dims', 0);
    this.batchSize = positive(opts.batchSize, 'batchSize', 64);
    this.timeoutMs = positive(opts.timeoutMs, 'timeoutMs', 30_000);
    this.retries = positive(opts.retries, 'retries', 3, true);
    this.backoffMs = positive(opts.backoffMs, 'backoffMs', 250, true);
    this.url = new URL('v1/embeddings', base.href.endsWith('/') ? base.href : `${base.href}/`).href;
    this.id = `http:${opts.model}@${base.host}`;
  }

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += this.batchSize) out.push(...(await this.batch(texts.slice(i, i + this.batchSize), signal)));
    return out;
  }

  private async batch(input: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    let last: Error | null = null;
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) {
        const wait = last instanceof Retryable && last.retryAfterMs !== null ? last.retryAfterMs : this.backoffMs * 2 ** (attempt - 1);
        await sleep(wait, signal);
      }
      try {
        return await this.request(input, signal);
      } catch (err) {
        if (!(err instanceof Retryable)) throw err;
        last = err;
      }
    }
    throw new EmbedderError('EMBEDDING_FAILED', `embedding request to ${this.url} failed after ${this.retries + 1} attempts: ${last?.message ?? 'unknown error'}`, { url: this.url });
  }

  private async request(input: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(this.opts.apiKey ? { authorization: `Bearer ${this.opts.apiKey}` } : {}) },
        body: JSON.stringify({ model: this.opts.model, input }),
        signal: both,
      });
    } catch (err) {
      if (signal?.aborted) throw signal.reason as Error;
      throw new Retryable(timeout.aborted ? `no answer within ${this.timeoutMs} ms` : (err as Error).message, null);
    }
    if (res.status === 429 || res.status >= 500) {
      await res.body?.cancel();
      const ra = Number(res.headers.get('retry-after'));
      throw new Retryable(`HTTP ${res.status}`, Number.isFinite(ra) && ra >= 0 ? Math.min(ra * 1000, 60_000) : null);
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch (err) {
      if (timeout.aborted) throw new Retryable(`no answer within ${this.timeoutMs} ms`, null);
      throw new EmbedderError('EMBEDDING_BAD_RESPONSE', `${this.url} answered HTTP ${res.status} with a body that is not JSON: ${(err as Error).message}`);
    }
    if (!res.ok) {
      const msg = (body as { error?: { message?: string } } | null)?.error?.message ?? JSON.stringify(body).slice(0, 200);
      throw new EmbedderError('EMBEDDING_FAILED', `${this.url} refused the request (HTTP ${res.status}): ${msg}`, { status: res.status });
    }
    return this.parse(body, input.length);
  }

  private parse(body: unknown, n: number): Float32Array[] {
    const data = (body as { data?: unknown } | null)?.data;
    if (!Array.isArray(data) || data.length !== n) {
      throw new EmbedderError('EMBEDDING_BAD_RESPONSE', `${this.url} returned ${Array.isArray(data) ? data.length : 'no'} embeddings for ${n} inputs`);
    }
    const out = new Array<Float32Array | undefined>(n);
    data.forEach((d: unknown, k) => {
      const item = d as { index?: unknown; embedding?: unknown };
      const index = typeof item.index === 'number' ? item.index : k;
      const e = item.embedding;
      if (!Array.isArray(e) || e.length !== this.dims || !e.every((x) => typeof x === 'number' && Number.isFinite(x))) {
        throw new EmbedderError('EMBEDDING_BAD_RESPONSE', `${this.url} returned an embedding that is not ${this.dims} finite numbers (input ${index})`);
      }
      if (!Number.isInteger(index) || index < 0 || index >= n || out[index]) {
        throw new EmbedderError('EMBEDDING_BAD_RESPONSE', `${this.url} returned a bad or repeated index ${String(item.index)}`);
      }
      out[index] = normalise(Float32Array.from(e as number[]));
    });
    return out as Float32Array[];
  }
}
