// The persisted ANN index of the ref tips (issue #12): one usearch HNSW graph (cosine, f16) over the
// distinct entity bodies present at the tips of the tracked refs, shared by every tip that has the
// body, at `<dataDir>/hot/ann`. Each tip keeps which entities (path, idx) have which body, so
// `nearest(vector, k, tip)` answers with entities of that tree. `sync(tips)` brings it to a new set
// of tips: a tip that moved from one already held is updated from the paths that differ (remove the
// bodies no tip uses any more, add the new ones); any other tip is read whole from the store. The
// graph and its key table are saved together and reloaded at start; a missing, unreadable or
// other-format index (or one built from another embedder) is rebuilt from the store.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import usearch, { type Index as UsearchIndex } from 'usearch';
import { CodedError } from '../../errors/index.ts';
import type { Chain } from '../chain.ts';
import type { Queryable } from '../db.ts';
import { pathsBetween, tipEntities, type TipEntity, type VectorSource } from './source.ts';

export { builtinVectors, type TipEntity, type VectorSource } from './source.ts';

/** Bumped when the files' meaning changes: an index of another format is rebuilt, never misread. */
export const ANN_FORMAT = 1;

export type AnnErrorCode = 'ANN_TIP_UNKNOWN';

export class AnnError extends CodedError<AnnErrorCode> {
  override name = 'AnnError';
}

export interface AnnTip {
  repoId: number;
  sha: string;
}

/** A tip to hold, with its chain (store/chain.ts) and, when it moved, the tip it moved from. */
export interface AnnTipInput extends AnnTip {
  chain: Chain;
  previous?: string | null;
}

export interface AnnHit extends TipEntity {
  /** Cosine distance (1 - cosine similarity) of the entity's body to the query. */
  distance: number;
}

export interface SyncStats {
  /** Bodies added to and removed from the graph. */
  added: number;
  removed: number;
  /** Tips read whole from the store, and tips derived from a previous tip by their changed paths. */
  fullTips: number;
  deltaTips: number;
  /** Bodies at the tips without a vector (not embedded yet): left out until a later sync. */
  missing: number;
}

export interface AnnOptions {
  /** Directory of the index files (`<dataDir>/hot/ann`); created if missing. */
  dir: string;
  vectors: VectorSource;
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

interface Meta {
  format: number;
  embedder: string;
  dims: number;
  /** File name of the graph this key table belongs to, and its sha256: usearch's loader trusts
   * its input (a truncated file corrupts the heap and aborts the process), so a file that does
   * not hash to this is never handed to it. */
  file: string;
  sha256: string;
  nextKey: number;
  keys: Array<[string, number]>;
}

interface TipState {
  repoId: number;
  sha: string;
  chain: Chain;
  byPath: Map<string, TipEntity[]>;
  /** Graph key -> entities of the tip with that body. */
  byKey: Map<number, TipEntity[]>;
}

const tipKey = (t: AnnTip): string => `${t.repoId}:${t.sha}`;
/** Bodies added per native call when many are added: the event loop runs between chunks. */
const ADD_CHUNK = 1024;

/** The HNSW graph every AnnIndex builds (bench/ann.bench.ts measures these parameters). */
export function newGraph(dims: number): UsearchIndex {
  return new usearch.Index({ dimensions: dims, metric: usearch.MetricKind.Cos, quantization: usearch.ScalarKind.F16, connectivity: 16, expansion_add: 128, expansion_search: 128, multi: false });
}

export class AnnIndex {
  private graph: UsearchIndex;
  private keyOf = new Map<string, number>();
  private hashOf = new Map<number, string>();
  private nextKey = 0;
  private tips = new Map<string, TipState>();
  private queue: Promise<unknown> = Promise.resolve();
  private dirty = false;
  /** Queries answered (tests check that a VECTOR search at a tip came from here). */
  searches = 0;

  private constructor(private readonly opts: AnnOptions, readonly loadedFrom: 'disk' | 'rebuilt', reason: string | null) {
    this.graph = newGraph(opts.vectors.dims);
    if (reason) opts.log?.info({ dir: opts.dir, reason }, 'ANN index will be rebuilt from the store');
  }

  /** Opens the index in `dir`: loads the saved graph and key table when they are there, whole and
   * of this format and embedder; otherwise starts empty (the first `sync` fills it). */
  static open(opts: AnnOptions): AnnIndex {
    mkdirSync(opts.dir, { recursive: true });
    let meta: Meta | null = null;
    let reason: string | null = null;
    try {
      meta = JSON.parse(readFileSync(join(opts.dir, 'meta.json'), 'utf8')) as Meta;
    } catch (err) {
      reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no index yet' : `unreadable meta.json: ${(err as Error).message}`;
    }
    if (meta) {
      if (meta.format !== ANN_FORMAT) reason = `format ${String(meta.format)}, this version reads ${ANN_FORMAT}`;
      else if (meta.embedder !== opts.vectors.id || meta.dims !== opts.vectors.dims) reason = `built from ${meta.embedder} (${meta.dims} dims), the store's vectors are ${opts.vectors.id} (${opts.vectors.dims} dims)`;
    }
    if (meta && !reason) {
      const ann = new AnnIndex(opts, 'disk', null);
      try {
        const bytes = readFileSync(join(opts.dir, meta.file));
        if (createHash('sha256').update(bytes).digest('hex') !== meta.sha256) throw new Error('its checksum does not match (truncated or overwritten)');
        ann.graph.load(join(opts.dir, meta.file));
        if (ann.graph.size() !== meta.keys.length || ann.graph.dimensions() !== opts.vectors.dims) throw new Error(`the graph holds ${ann.graph.size()} vectors, the key table ${meta.keys.length}`);
        for (const [hash, key] of meta.keys) {
          ann.keyOf.set(hash, key);
          ann.hashOf.set(key, hash);
        }
        ann.nextKey = meta.nextKey;
        return ann;
      } catch (err) {
        reason = `unreadable graph ${meta.file}: ${(err as Error).message}`;
      }
    }
    return new AnnIndex(opts, 'rebuilt', reason);
  }

  get dims(): number {
    return this.opts.vectors.dims;
  }

  get embedderId(): string {
    return this.opts.vectors.id;
  }

  /** Bodies in the graph. */
  get size(): number {
    return this.keyOf.size;
  }

  has(tip: AnnTip): boolean {
    return this.tips.has(tipKey(tip));
  }

  heldTips(): AnnTip[] {
    return [...this.tips.values()].map((t) => ({ repoId: t.repoId, sha: t.sha }));
  }

  /**
   * The `k` entities of the tree at `tip` whose bodies are nearest to `vector` (L2-normalised, the
   * index's dimensions), nearest first; approximate (HNSW). Throws `ANN_TIP_UNKNOWN` for a commit
   * that is not a held tip (search it through the store instead).
   */
  nearest(vector: Float32Array, k: number, tip: AnnTip): AnnHit[] {
    const state = this.tips.get(tipKey(tip));
    if (!state) throw new AnnError('ANN_TIP_UNKNOWN', `commit ${tip.sha} is not a tip held by the ANN index; search it through the history store.`, { sha: tip.sha });
    this.searches++;
    const size = this.graph.size();
    const out: AnnHit[] = [];
    if (size === 0 || k < 1) return out;
    // Other tips' bodies share the graph: widen the search until k of this tip's entities are found.
    // With one tip held every body in the graph is one of its own, so k bodies give k entities: a
    // wider first search only costs time (VECTOR asks for 1000, #12).
    const first = this.tips.size === 1 ? k : Math.max(2 * k, 32);
    for (let want = Math.min(size, first); ; want = Math.min(size, want * 4)) {
      const { keys, distances } = this.graph.search(vector, want, 1);
      out.length = 0;
      for (let j = 0; j < keys.length && out.length < k; j++) {
        for (const e of state.byKey.get(Number(keys[j])) ?? []) {
          out.push({ path: e.path, idx: e.idx, bodyHash: e.bodyHash, distance: distances[j]! });
          if (out.length >= k) break;
        }
      }
      if (out.length >= k || want >= size) return out;
    }
  }

  /** Forgets the entities held for the tips of `repoId` (queued behind a sync in flight): the next
   * sync reads them again. For when their trees' extractions changed (HistoryStore.storeRefreshed). */
  forget(repoId: number): Promise<void> {
    const run = this.queue.then(() => {
      for (const [k, t] of this.tips) if (t.repoId === repoId) this.tips.delete(k);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Brings the index to exactly `tips` (one call at a time; calls queue). */
  sync(q: Queryable, tips: AnnTipInput[]): Promise<SyncStats> {
    const run = this.queue.then(() => this.syncNow(q, tips));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async syncNow(q: Queryable, wanted: AnnTipInput[]): Promise<SyncStats> {
    const stats: SyncStats = { added: 0, removed: 0, fullTips: 0, deltaTips: 0, missing: 0 };
    const next = new Map<string, TipState>();
    for (const t of wanted) {
      const key = tipKey(t);
      if (next.has(key)) continue;
      const held = this.tips.get(key);
      if (held) {
        next.set(key, held);
        continue;
      }
      const from = t.previous ? this.tips.get(tipKey({ repoId: t.repoId, sha: t.previous })) : undefined;
      const byPath = new Map<string, TipEntity[]>();
      if (from) {
        const changed = await pathsBetween(q, from.chain, t.chain);
        for (const [p, list] of from.byPath) byPath.set(p, list);
        for (const p of changed.names) byPath.delete(p);
        for (const e of await tipEntities(q, t.chain, changed.ids)) push(byPath, e.path, e);
        stats.deltaTips++;
      } else {
        for (const e of await tipEntities(q, t.chain)) push(byPath, e.path, e);
        stats.fullTips++;
      }
      next.set(key, { repoId: t.repoId, sha: t.sha, chain: t.chain, byPath, byKey: new Map() });
    }
    const needed = new Set<string>();
    for (const s of next.values()) for (const list of s.byPath.values()) for (const e of list) needed.add(e.bodyHash);
    const toAdd = [...needed].filter((h) => !this.keyOf.has(h));
    const vectors = toAdd.length > 0 ? await this.opts.vectors.read(q, toAdd) : new Map<string, Float32Array>();
    stats.missing = toAdd.length - vectors.size;
    stats.added = await this.add(vectors);
    // From here on synchronous: queries never see tips that point at removed bodies.
    for (const s of next.values()) {
      s.byKey = new Map();
      for (const list of s.byPath.values()) {
        for (const e of list) {
          const k = this.keyOf.get(e.bodyHash);
          if (k !== undefined) push(s.byKey, k, e);
        }
      }
    }
    this.tips = next;
    const gone = [...this.keyOf.keys()].filter((h) => !needed.has(h));
    if (gone.length > 0) {
      this.graph.remove(BigUint64Array.from(gone, (h) => BigInt(this.keyOf.get(h)!)));
      for (const h of gone) {
        this.hashOf.delete(this.keyOf.get(h)!);
        this.keyOf.delete(h);
      }
    }
    stats.removed = gone.length;
    if (stats.added > 0 || stats.removed > 0) this.dirty = true;
    return stats;
  }

  private async add(vectors: Map<string, Float32Array>): Promise<number> {
    const dims = this.dims;
    const entries = [...vectors].filter(([, v]) => v.length === dims);
    for (let i = 0; i < entries.length; i += ADD_CHUNK) {
      const chunk = entries.slice(i, i + ADD_CHUNK);
      const keys = new BigUint64Array(chunk.length);
      const matrix = new Float32Array(chunk.length * dims);
      chunk.forEach(([hash, v], j) => {
        const key = this.nextKey++;
        keys[j] = BigInt(key);
        matrix.set(v, j * dims);
        this.keyOf.set(hash, key);
        this.hashOf.set(key, hash);
      });
      this.graph.add(keys, matrix, 1);
      if (i + ADD_CHUNK < entries.length) await yieldLoop();
    }
    return entries.length;
  }

  /** Writes the graph and its key table if they changed since the last save: the graph to a new
   * file, then the key table naming it (atomic rename), so a crash leaves the old pair or the new. */
  save(): Promise<void> {
    const run = this.queue.then(() => {
      if (!this.dirty) return;
      const file = `graph-${Date.now().toString(36)}-${this.nextKey}.usearch`;
      this.graph.save(join(this.opts.dir, file));
      const sha256 = createHash('sha256').update(readFileSync(join(this.opts.dir, file))).digest('hex');
      const meta: Meta = { format: ANN_FORMAT, embedder: this.embedderId, dims: this.dims, file, sha256, nextKey: this.nextKey, keys: [...this.keyOf] };
      writeFileSync(join(this.opts.dir, 'meta.json.tmp'), JSON.stringify(meta));
      renameSync(join(this.opts.dir, 'meta.json.tmp'), join(this.opts.dir, 'meta.json'));
      for (const f of readdirSync(this.opts.dir)) if (f.startsWith('graph-') && f !== file) rmSync(join(this.opts.dir, f), { force: true });
      this.dirty = false;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}
