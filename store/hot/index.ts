// The hot working set's graph (issue #12): for the tip of each tracked ref, the entity tables, the
// resolved call / inheritance / import adjacency, PageRank and what TEXT/FUZZY/REGEX search needs,
// in RocksDB (`<dataDir>/hot/graph`) and, for the live tips, in memory (image.ts). A cache of the
// history store: rebuilt from it when missing, damaged or of another format version.
//
// Updates are incremental: a new tip is derived from the nearest tip held (by changed files), and
// only the files whose resolution can have changed are resolved again (see `update`).
import path from 'node:path';
import type { Chain } from '../chain.ts';
import type { Queryable } from '../db.ts';
import { Resolver } from '../graph.ts';
import type { Snapshot } from '../search/index.ts';
import type { CallEdge, StoredEntity } from '../types.ts';
import { TipImage, type HotFile } from './image.ts';
import { Kv, type KvOp } from './kv.ts';
import { fileKeyOf, listTree, NO_BASES, loadFileSegs, outSegOf, sortPaths, type FileSeg, type Listed, type OutSeg } from './segments.ts';

export { HOT_FORMAT_VERSION } from './kv.ts';

export type ChainOf = (repoId: number, sha: string) => Promise<{ sha: string; chain: Chain }>;

/** Refs whose tips are held: HEAD, local and remote-tracking branches (not tags: a repository may
 * have thousands, and they rarely move). */
export function isTracked(ref: string): boolean {
  return ref === 'HEAD' || ref.startsWith('refs/heads/') || (ref.startsWith('refs/remotes/') && !ref.endsWith('/HEAD'));
}

/** Figures of one update, for logs and the bench. */
export interface UpdateStats {
  sha: string;
  /** `load` (read back from RocksDB), `update` (from another tip), `build` (from nothing). */
  how: 'load' | 'update' | 'build';
  changedFiles: number;
  resolvedFiles: number;
  ms: number;
}

interface Manifest {
  /** [path, file segment key, edge segment key, import targets], in the database's path order. */
  files: Array<[string, string, string, string[]]>;
}

const tipKey = (repoId: number, sha: string): string => `t/${repoId}/${sha}`;
const refKey = (repoId: number, ref: string): string => `r/${repoId}/${ref}`;
const rankKey = (repoId: number, sha: string): string => `p/${repoId}/${sha}`;
const fileKey = (k: string): string => `f/${k}`;
const outKey = (k: string): string => `o/${k}`;

export class HotStore {
  private readonly images = new Map<string, TipImage>();
  /** Tracked refs -> tip sha, per repository. */
  private readonly refs = new Map<number, Map<string, string>>();
  private readonly busy = new Map<number, Promise<unknown>>();
  /** What `open` found: null (reused) or why it started empty. */
  readonly reset: string | null;

  private constructor(private readonly kv: Kv, private readonly q: Queryable, private readonly chainOf: ChainOf) {
    this.reset = kv.reset;
  }

  /** Opens the hot store at `location` (e.g. `<dataDir>/hot/graph`). */
  static async open(location: string, q: Queryable, chainOf: ChainOf): Promise<HotStore> {
    return new HotStore(await Kv.open(path.resolve(location)), q, chainOf);
  }

  /** The image of a tip held in memory (full sha), or undefined. */
  image(repoId: number, sha: string): TipImage | undefined {
    return this.images.get(`${repoId}:${sha}`);
  }

  /** The search snapshot at a held tip, or undefined (the caller loads it from the store). */
  snapshot(repoId: number, sha: string): Snapshot | undefined {
    return this.image(repoId, sha)?.snapshot(this.q);
  }

  /** Callers / callees at a held tip (Resolver.walk's answer), or undefined when the tip is not
   * held or has files too old for call edges (the store then refuses with REINDEX_REQUIRED). */
  walk(repoId: number, sha: string, qualifiedName: string, depth: number, direction: 'up' | 'down', minVia: CallEdge['via'], limit?: number): CallEdge[] | undefined {
    const img = this.image(repoId, sha);
    if (!img || img.stale > 0) return undefined;
    return img.walk(qualifiedName, depth, direction, minVia, limit);
  }

  /** Entities by qualified name at a held tip (null: no such entity), or undefined when the tip
   * is not held. */
  entities(repoId: number, sha: string, qualifiedNames: string[]): Array<StoredEntity | null> | undefined {
    const img = this.image(repoId, sha);
    return img && qualifiedNames.map((q) => img.entity(q) ?? null);
  }

  /** Tips held of a repository, by ref. */
  tips(repoId: number): Map<string, string> {
    return new Map(this.refs.get(repoId) ?? []);
  }

  /**
   * Brings the held tips of `repoId` to `refs` (the store's refs after an indexing run): loads or
   * derives each new tip, drops tips no tracked ref points at. Runs one at a time per repository.
   */
  sync(repoId: number, refs: Array<{ name: string; sha: string }>): Promise<UpdateStats[]> {
    const prev = this.busy.get(repoId) ?? Promise.resolve();
    const run = prev.then(() => this.syncNow(repoId, refs), () => this.syncNow(repoId, refs));
    this.busy.set(repoId, run.catch(() => undefined));
    return run;
  }

  private async syncNow(repoId: number, refsNow: Array<{ name: string; sha: string }>): Promise<UpdateStats[]> {
    if (!this.refs.has(repoId)) await this.loadRefs(repoId);
    const held = this.refs.get(repoId)!;
    const tracked = refsNow.filter((r) => isTracked(r.name));
    const stats: UpdateStats[] = [];
    const ops: KvOp[] = [];
    const next = new Map<string, string>();
    for (const r of tracked) {
      let full: { sha: string; chain: Chain };
      try {
        full = await this.chainOf(repoId, r.sha);
      } catch {
        continue; // not indexed (yet): served by the store
      }
      next.set(r.name, full.sha);
      if (!this.image(repoId, full.sha)) {
        const base = held.get(r.name);
        stats.push(await this.ensure(repoId, full.sha, full.chain, base === undefined ? undefined : this.image(repoId, base)));
      }
    }
    for (const [name] of held) if (!next.has(name)) ops.push({ type: 'del', key: refKey(repoId, name) });
    for (const [name, sha] of next) if (held.get(name) !== sha) ops.push({ type: 'put', key: refKey(repoId, name), value: sha });
    this.refs.set(repoId, next);
    const live = new Set(next.values());
    for (const [k, img] of this.images) {
      if (img.repoId === repoId && !live.has(img.sha)) {
        this.images.delete(k);
        ops.push({ type: 'del', key: tipKey(repoId, img.sha) }, { type: 'del', key: rankKey(repoId, img.sha) });
      }
    }
    await this.kv.write(ops);
    if (ops.some((o) => o.type === 'del' && o.key.startsWith('t/'))) await this.collect();
    return stats;
  }

  private async loadRefs(repoId: number): Promise<void> {
    const m = new Map<string, string>();
    const prefix = refKey(repoId, '');
    const keys = await this.kv.keys(prefix);
    const vals = await this.kv.getJson<string>(keys).catch(() => keys.map(() => undefined));
    keys.forEach((k, i) => {
      const v = vals[i];
      if (typeof v === 'string') m.set(k.slice(prefix.length), v);
    });
    this.refs.set(repoId, m);
  }

  /** Makes the tip `sha` held: read back from RocksDB when it is there and matches the store's
   * tree, else derived from the nearest held tip, else built from nothing. */
  private async ensure(repoId: number, sha: string, chain: Chain, hint: TipImage | undefined): Promise<UpdateStats> {
    const t0 = performance.now();
    const listing = await listTree(this.q, chain);
    const loaded = await this.load(repoId, sha, chain, listing).catch(() => null);
    if (loaded) {
      this.images.set(`${repoId}:${sha}`, loaded);
      return { sha, how: 'load', changedFiles: 0, resolvedFiles: 0, ms: performance.now() - t0 };
    }
    let base = hint;
    let best = base ? changedCount(base, listing) : Infinity;
    for (const img of this.images.values()) {
      if (img.repoId !== repoId || img === base) continue;
      const c = changedCount(img, listing);
      if (c < best) { best = c; base = img; }
    }
    const { image, changedFiles, resolvedFiles } = await this.update(repoId, sha, chain, base, listing);
    this.images.set(`${repoId}:${sha}`, image);
    return { sha, how: base ? 'update' : 'build', changedFiles, resolvedFiles, ms: performance.now() - t0 };
  }

  /** The tip as RocksDB holds it, when every segment is there and it is the store's tree. */
  private async load(repoId: number, sha: string, chain: Chain, listing: Listed[]): Promise<TipImage | null> {
    const [m] = await this.kv.getJson<Manifest>([tipKey(repoId, sha)]);
    if (!m || m.files.length !== listing.length) return null;
    const want = new Map(listing.map((l) => [l.path, fileKeyOf(l)]));
    for (const [p, fk] of m.files) if (want.get(p) !== fk) return null;
    const segs = await this.kv.getJson<FileSeg>(m.files.map((f) => fileKey(f[1])));
    const outs = await this.kv.getJson<OutSeg>(m.files.map((f) => outKey(f[2])));
    const files: HotFile[] = [];
    for (let i = 0; i < m.files.length; i++) {
      const seg = segs[i];
      const out = outs[i];
      if (!seg || !out) return null;
      files.push({ seg, out, imports: m.files[i]![3] });
    }
    const bytes = await this.kv.getBytes(rankKey(repoId, sha));
    const rank = bytes && bytes.length === 0 ? null : bytes ? new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)) : null;
    return new TipImage(repoId, sha, chain, files, rank);
  }

  /**
   * The tip `sha` derived from `base` (or from nothing). A file's call resolution reads, besides
   * its own content, other files' "shapes" (entities, imports, base types), definitions by name,
   * the set of paths, and the base-type map (store/graph.ts ResolveTrace). A file is resolved
   * again when it changed, or when a file whose shape changed is one it read, defines a name it
   * looked up, or (when files were added or removed) it resolved an import specifier, or (when
   * base types changed) it walked ancestor chains. Every other file's edges are what a full
   * resolution would give, so the result equals a rebuild.
   */
  private async update(repoId: number, sha: string, chain: Chain, base: TipImage | undefined, listing: Listed[]): Promise<{ image: TipImage; changedFiles: number; resolvedFiles: number }> {
    const old = base?.byPath ?? new Map<string, HotFile>();
    const now = new Map(listing.map((l) => [l.path, l]));
    const changed: Listed[] = [];
    const removed: HotFile[] = [];
    for (const l of listing) {
      const o = old.get(l.path);
      if (!o || o.seg.key !== fileKeyOf(l)) changed.push(l);
    }
    for (const [p, f] of old) if (!now.has(p)) removed.push(f);
    const pathSetChanged = removed.length > 0 || changed.some((l) => !old.has(l.path));

    const segs = new Map<string, FileSeg>();
    for (const s of await this.fileSegs(changed)) segs.set(s.path, s);
    const dirty = new Set(changed.map((l) => l.path));
    const shapeNames = new Set<string>();
    const shapePaths: string[] = [];
    let basesChanged = false;
    const shapeChange = (before: FileSeg | undefined, after: FileSeg | undefined): void => {
      if (before && after && before.shape === after.shape) return;
      shapePaths.push((before ?? after)!.path);
      for (const s of [before, after]) for (const e of s?.entities ?? []) shapeNames.add(e[3]);
      if ((before?.basesKey ?? NO_BASES) !== (after?.basesKey ?? NO_BASES)) basesChanged = true;
    };
    for (const l of changed) shapeChange(old.get(l.path)?.seg, segs.get(l.path));
    for (const f of removed) shapeChange(f.seg, undefined);
    if (base) {
      const deps = base.depIndex();
      const mark = (paths: string[] | undefined): void => {
        for (const p of paths ?? []) if (now.has(p)) dirty.add(p);
      };
      for (const n of shapeNames) mark(deps.byName.get(n));
      for (const p of shapePaths) mark(deps.byPath.get(p));
      if (pathSetChanged) mark(deps.pathSetUsers);
      if (basesChanged) mark(deps.basesUsers);
    }

    const resolver = await Resolver.at(this.q, chain);
    const order = pathSetChanged || !base ? await sortPaths(this.q, listing.map((l) => l.path)) : base.files.map((f) => f.seg.path);
    const files: HotFile[] = [];
    for (const p of order) {
      const prev = old.get(p);
      const seg = segs.get(p) ?? prev!.seg;
      const out = dirty.has(p) ? outSegOf(await resolver.resolveFile(p)) : prev!.out;
      const imports = pathSetChanged || !prev || prev.seg !== seg ? resolver.importEdgesOf(p, seg.specs) : prev.imports;
      files.push({ seg, out, imports });
    }
    const image = new TipImage(repoId, sha, chain, files);
    await this.persist(image, files.filter((f) => segs.has(f.seg.path)), files.filter((f) => dirty.has(f.seg.path)));
    return { image, changedFiles: changed.length + removed.length, resolvedFiles: dirty.size };
  }

  /** File segments of `files`: from memory (another held tip), RocksDB, or the history store. */
  private async fileSegs(files: Listed[]): Promise<FileSeg[]> {
    const known = new Map<string, FileSeg>();
    for (const img of this.images.values()) for (const f of img.files) known.set(f.seg.key, f.seg);
    const missing = files.filter((l) => !known.has(fileKeyOf(l)));
    const stored = await this.kv.getJson<FileSeg>(missing.map((l) => fileKey(fileKeyOf(l)))).catch(() => missing.map(() => undefined));
    const fromDb: Listed[] = [];
    missing.forEach((l, i) => {
      const s = stored[i];
      if (s && s.path === l.path) known.set(s.key, s);
      else fromDb.push(l);
    });
    for (const s of await loadFileSegs(this.q, fromDb)) known.set(s.key, s);
    return files.map((l) => known.get(fileKeyOf(l))!);
  }

  private async persist(image: TipImage, newSegs: HotFile[], newOuts: HotFile[]): Promise<void> {
    const ops: KvOp[] = [];
    for (const f of newSegs) ops.push({ type: 'put', key: fileKey(f.seg.key), value: JSON.stringify(f.seg) });
    for (const f of newOuts) ops.push({ type: 'put', key: outKey(f.out.key), value: JSON.stringify(f.out) });
    const m: Manifest = { files: image.files.map((f) => [f.seg.path, f.seg.key, f.out.key, f.imports]) };
    ops.push({ type: 'put', key: tipKey(image.repoId, image.sha), value: JSON.stringify(m) });
    await this.kv.write(ops);
  }

  /** Persists the PageRank of held tips that computed it since (cheap to skip: it is recomputed). */
  async persistRanks(): Promise<void> {
    const ops: KvOp[] = [];
    for (const img of this.images.values()) {
      const r = img.rankIfComputed();
      if (r) ops.push({ type: 'put', key: rankKey(img.repoId, img.sha), value: Buffer.from(r.buffer, r.byteOffset, r.byteLength) });
    }
    await this.kv.write(ops);
  }

  /** Deletes segments no stored tip names (after tips were dropped). */
  private async collect(): Promise<void> {
    const liveF = new Set<string>();
    const liveO = new Set<string>();
    const tips = await this.kv.keys('t/');
    for (const m of await this.kv.getJson<Manifest>(tips)) {
      for (const f of m?.files ?? []) { liveF.add(fileKey(f[1])); liveO.add(outKey(f[2])); }
    }
    const ops: KvOp[] = [];
    for (const k of await this.kv.keys('f/')) if (!liveF.has(k)) ops.push({ type: 'del', key: k });
    for (const k of await this.kv.keys('o/')) if (!liveO.has(k)) ops.push({ type: 'del', key: k });
    await this.kv.write(ops);
  }

  async close(): Promise<void> {
    await Promise.all([...this.busy.values()]);
    await this.persistRanks().catch(() => undefined);
    await this.kv.close();
  }
}

function changedCount(img: TipImage, listing: Listed[]): number {
  let n = Math.abs(img.files.length - listing.length);
  for (const l of listing) if (img.byPath.get(l.path)?.seg.key !== fileKeyOf(l)) n++;
  return n;
}
