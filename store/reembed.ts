// Background embedding of every stored body with a configured provider other than the built-in one
// (issue #12: switching providers re-embeds without blocking queries). Indexing keeps writing the
// built-in vectors (`bodies`); this job walks `extractions` in id order, reads each new distinct
// body's text from git, embeds it with the provider in batches and stores it in `model_embeddings`
// (migrations/0011_embedding_models.sql). Its cursor (`done_extraction`) is saved with each batch,
// so a restart resumes; extractions stored later have higher ids, so one loop also follows new
// commits. Until the model has caught up once (`complete`), queries use the built-in vectors.
import type { Embedder } from './embedders/index.ts';
import type { Db, Queryable } from './db.ts';
import { bodyHashIn } from './embed.ts';
import type { VectorSource } from './ann/index.ts';

/** Reads a blob's bytes by sha from whichever repository has it; null when none does. */
export type BlobSource = (blobSha: string) => Promise<Buffer | null>;

export interface ModelState {
  id: number;
  name: string;
  dims: number;
  doneExtraction: number;
  complete: boolean;
}

export interface ReembedProgress {
  model: string;
  /** Extractions walked, of all stored. */
  doneExtractions: number;
  totalExtractions: number;
  /** Bodies embedded by this process so far. */
  embedded: number;
  complete: boolean;
}

export interface ReembedOptions {
  /** Extractions read per step. @default 200 */
  extractionsPerStep?: number;
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  onProgress?: (p: ReembedProgress) => void;
}

const EXCLUDED = `e.kind NOT IN ('module', 'import')`;

/** int8 quantisation: float32 scale (max |component|), then one signed byte per component. */
export function encodeVector(v: Float32Array): Buffer {
  let max = 0;
  for (const x of v) max = Math.max(max, Math.abs(x));
  const out = Buffer.alloc(4 + v.length);
  out.writeFloatLE(max, 0);
  for (let i = 0; i < v.length; i++) out.writeInt8(max === 0 ? 0 : Math.round((v[i]! / max) * 127), 4 + i);
  return out;
}

/** The vector of `encodeVector`, L2-normalised again. */
export function decodeVector(b: Buffer): Float32Array {
  const scale = b.readFloatLE(0) / 127;
  const v = new Float32Array(b.length - 4);
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    v[i] = b.readInt8(4 + i) * scale;
    n += v[i]! * v[i]!;
  }
  n = Math.sqrt(n);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i]! /= n;
  return v;
}

/** The model row of `embedder`, created on first use. */
export async function registerModel(q: Queryable, embedder: Pick<Embedder, 'id' | 'dims'>): Promise<ModelState> {
  await q.query('INSERT INTO embedding_models (name, dims) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [embedder.id, embedder.dims]);
  const { rows } = await q.query<{ id: number; name: string; dims: number; done_extraction: number; complete: boolean }>(
    'SELECT id, name, dims, done_extraction, complete FROM embedding_models WHERE name = $1', [embedder.id]);
  const r = rows[0]!;
  return { id: r.id, name: r.name, dims: r.dims, doneExtraction: r.done_extraction, complete: r.complete };
}

/** A model's stored vectors, as a VectorSource (search, the ANN index). */
export function modelVectors(model: Pick<ModelState, 'id' | 'name' | 'dims'>): VectorSource {
  return {
    id: model.name,
    dims: model.dims,
    async read(q, hashes) {
      const out = new Map<string, Float32Array>();
      for (let i = 0; i < hashes.length; i += 10_000) {
        const { rows } = await q.query<{ body_hash: string; embedding: Buffer }>(
          `SELECT encode(body_hash, 'hex') AS body_hash, embedding FROM model_embeddings WHERE model_id = $1 AND ${bodyHashIn('body_hash', '$2')}`, [model.id, hashes.slice(i, i + 10_000)]);
        for (const r of rows) out.set(r.body_hash, decodeVector(r.embedding));
      }
      return out;
    },
  };
}

export class Reembedder {
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private embedded = 0;
  private constructor(private readonly db: Db, readonly embedder: Embedder, private model: ModelState, private readonly blobs: BlobSource, private readonly opts: ReembedOptions) {}

  static async open(db: Db, embedder: Embedder, blobs: BlobSource, opts: ReembedOptions = {}): Promise<Reembedder> {
    return new Reembedder(db, embedder, await registerModel(db, embedder), blobs, opts);
  }

  /** Whether the model caught up once: queries may use its vectors. */
  get complete(): boolean {
    return this.model.complete;
  }

  get state(): Readonly<ModelState> {
    return this.model;
  }

  /** Starts (or re-runs after the current run) the walk over extractions not done yet. */
  wake(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.walk();
        } while (this.again && !this.stopped);
      } catch (err) {
        this.opts.log?.warn({ err, model: this.model.name }, 're-embedding stopped; it resumes at the next index run');
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /** Stops after the current step. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async walk(): Promise<void> {
    const step = this.opts.extractionsPerStep ?? 200;
    const total = async () => Number((await this.db.query<{ n: string }>('SELECT count(*) AS n FROM extractions')).rows[0]!.n);
    const done = async () => Number((await this.db.query<{ n: string }>('SELECT count(*) AS n FROM extractions WHERE id <= $1', [this.model.doneExtraction])).rows[0]!.n);
    for (;;) {
      if (this.stopped) return;
      const { rows: ext } = await this.db.query<{ id: number; blob_sha: string }>(
        'SELECT id, blob_sha FROM extractions WHERE id > $1 ORDER BY id LIMIT $2', [this.model.doneExtraction, step]);
      if (ext.length === 0) break;
      const last = ext[ext.length - 1]!.id;
      await this.embedStep(ext);
      await this.db.query('UPDATE embedding_models SET done_extraction = $2 WHERE id = $1', [this.model.id, last]);
      this.model.doneExtraction = last;
      this.opts.onProgress?.({ model: this.model.name, doneExtractions: await done(), totalExtractions: await total(), embedded: this.embedded, complete: this.model.complete });
    }
    if (!this.model.complete) {
      await this.db.query('UPDATE embedding_models SET complete = true WHERE id = $1', [this.model.id]);
      this.model.complete = true;
      this.opts.log?.info({ model: this.model.name, embedded: this.embedded }, 'every stored body is embedded with the configured provider; searches use it from now on');
    }
    const n = await total();
    this.opts.onProgress?.({ model: this.model.name, doneExtractions: n, totalExtractions: n, embedded: this.embedded, complete: true });
  }

  /** Embeds the distinct bodies of these extractions that the model has no vector for. */
  private async embedStep(ext: Array<{ id: number; blob_sha: string }>): Promise<void> {
    const { rows } = await this.db.query<{ extraction_id: number; body_hash: string; start_byte: number; end_byte: number }>(
      `SELECT DISTINCT ON (e.body_hash) e.extraction_id, encode(e.body_hash, 'hex') AS body_hash, e.start_byte, e.end_byte FROM entities e
       WHERE e.extraction_id = ANY($1::int[]) AND ${EXCLUDED}
         AND NOT EXISTS (SELECT 1 FROM model_embeddings m WHERE m.model_id = $2 AND m.body_hash = e.body_hash)
       ORDER BY e.body_hash, e.extraction_id`, [ext.map((x) => x.id), this.model.id]);
    if (rows.length === 0) return;
    const shaOf = new Map(ext.map((x) => [x.id, x.blob_sha]));
    const blobs = new Map<string, Buffer | null>();
    const texts: string[] = [];
    const hashes: string[] = [];
    for (const r of rows) {
      const sha = shaOf.get(r.extraction_id)!;
      if (!blobs.has(sha)) blobs.set(sha, await this.blobs(sha));
      const blob = blobs.get(sha);
      // A blob no repository has any more (a rewritten history) cannot be embedded; the body is
      // then absent from this model's searches, as it is from every tree still in git.
      if (!blob) continue;
      texts.push(blob.subarray(r.start_byte, r.end_byte).toString('utf8'));
      hashes.push(r.body_hash);
    }
    if (texts.length === 0) return;
    const vectors = await this.embedder.embed(texts);
    const enc = vectors.map((v) => encodeVector(v));
    await this.db.query(
      `INSERT INTO model_embeddings (model_id, body_hash, embedding)
       SELECT $1, decode(h, 'hex'), e FROM unnest($2::text[], $3::bytea[]) AS t(h, e) ON CONFLICT DO NOTHING`, [this.model.id, hashes, enc]);
    this.embedded += texts.length;
  }
}
