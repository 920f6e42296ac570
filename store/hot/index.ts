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
import { Resolver, specMayName } from '../graph.ts';
import type { Snapshot } from '../search/index.ts';
import type { CallEdge, StoredEntity } from '../types.ts';
import { TipImage, type HotFile } from './image.ts';
import { HotStoreError, Kv, type KvOp } from './kv.ts';
import { fileKeyOf, listFrom, listTree, loadCalls, loadFileSegs, outSegOf, sortPaths, type FileSeg, type Listed, type OutSeg } from './segments.ts';
import { changedKeys, RESOLVE_BATCH, TreeView } from './tree.ts';

/** Files resolved per batch: their calls are read in one statement, and close() is checked
 * between batches. */

// An edge segment's trace as sets, once per segment (segments are shared between tips).
const traces = new WeakMap<OutSeg, { keys: Set<string>; specs: Array<[string, string]> }>();
function traceOf(out: OutSeg): { keys: Set<string>; specs: Array<[string, string]> } {
  let t = traces.get(out);
  if (!t) {
    t = { keys: new Set(out.trace.keys), specs: out.trace.specs.map((s) => { const i = s.indexOf('\0'); return [s.slice(0, i), s.slice(i + 1)] as [string, string]; }) };
    traces.set(out, t);
  }
  return t;
}

export { HOT_FORMAT_VERSION } from './kv.ts';

export type ChainOf = (repoId: number, sha: string) => Promise<{ sha: string; chain: Chain }>;

/** Distinct tip commits the hot working set holds per repository by default (`hotTips`;
 * HistoryStore.hotRefs chooses them; #9). */
export const DEFAULT_HOT_TIPS = 16;

/** Refs whose tips may be held: HEAD, local and remote-tracking branches (not tags: a repository may
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
  /** Milliseconds per phase: `list` (the store's tree listing), `segs` (changed files' segments),
   * `dirty` (which files to resolve), `view` (the resolver's lookups), `calls` (calls read),
   * `resolve` (files resolved), `image` (the tip's graph in memory), `persist`. */
  phases: Record<string, number>;
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
  private closing = false;
  /** What `open` found: null (reused) or why it started empty. */
  readonly reset: string | null;

  private constructor(private readonly kv: Kv, private readonly q: Queryable, private readonly chainOf: ChainOf) {
    this.reset = kv.reset;
  }

  /** Opens the hot store at `location` (e.g. `<dataDir>/hot/graph`). */
  static async open(location: string, q: Queryable, chainOf: ChainOf): Promise<HotStore> {
    return new HotStore(await Kv.open(path.resolve(location)), q, chainOf);
  }

  /** Drops the images of `repoId` held in memory (after the sync in flight), for when their trees'
   * extractions changed (HistoryStore.storeRefreshed): the next sync reads each tip back from
   * RocksDB only if every file still matches the store's tree, else builds it again. */
  forget(repoId: number): Promise<void> {
    const prev = this.busy.get(repoId) ?? Promise.resolve();
    const run = prev.then(() => {
      for (const [k, img] of this.images) if (img.repoId === repoId) this.images.delete(k);
    });
    this.busy.set(repoId, run.catch(() => undefined));
    return run;
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

  /** The entities of each qualified name at a held tip (imports included, in file order; empty:
   * none), or undefined when the tip is not held. */
  entities(repoId: number, sha: string, qualifiedNames: string[]): StoredEntity[][] | undefined {
    const img = this.image(repoId, sha);
    return img && qualifiedNames.map((q) => img.entitiesNamed(q));
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
    // From the tip the ref held (its chain read again: indexing older history moves commits down
    // their chains), only the paths changed between the two are read.
    const listing = hint
      ? await listFrom(this.q, (await this.chainOf(repoId, hint.sha)).chain, hint.files.map((f) => f.seg), chain)
      : await listTree(this.q, chain);
    const phases: Record<string, number> = { list: performance.now() - t0 };
    const loaded = await this.load(repoId, sha, chain, listing).catch(() => null);
    if (loaded) {
      this.images.set(`${repoId}:${sha}`, loaded);
      return { sha, how: 'load', changedFiles: 0, resolvedFiles: 0, ms: performance.now() - t0, phases };
    }
    let base = hint;
    let best = base ? changedCount(base, listing) : Infinity;
    for (const img of this.images.values()) {
      if (img.repoId !== repoId || img === base) continue;
      const c = changedCount(img, listing);
      if (c < best) { best = c; base = img; }
    }
    const { image, changedFiles, resolvedFiles } = await this.update(repoId, sha, chain, base, listing, phases);
    this.images.set(`${repoId}:${sha}`, image);
    return { sha, how: base ? 'update' : 'build', changedFiles, resolvedFiles, ms: performance.now() - t0, phases };
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
   * its own content, parts of other files: definitions by name, one file's entities of one name,
   * its imports, one entity's type facts, constructors or enclosing scope, base types of one type
   * name, and the files an import specifier names (store/graph.ts ResolveTrace, DEP). The update
   * diffs each changed file's old and new value of every such key (tree.ts changedKeys) and
   * resolves again the changed files and the files that recorded a changed key, or an import
   * specifier an added or removed path can answer (specMayName). Every other file's edges are what
   * a full resolution would give, so the result equals a rebuild (test/hot.test.ts).
   */
  private async update(repoId: number, sha: string, chain: Chain, base: TipImage | undefined, listing: Listed[], phases: Record<string, number>): Promise<{ image: TipImage; changedFiles: number; resolvedFiles: number }> {
    let t = performance.now();
    const lap = (name: string): void => {
      const n = performance.now();
      phases[name] = (phases[name] ?? 0) + n - t;
      t = n;
    };
    const old = base?.byPath ?? new Map<string, HotFile>();
    const now = new Map(listing.map((l) => [l.path, l]));
    const changed: Listed[] = [];
    const removed: HotFile[] = [];
    for (const l of listing) {
      const o = old.get(l.path);
      if (!o || o.seg.key !== fileKeyOf(l)) changed.push(l);
    }
    for (const [p, f] of old) if (!now.has(p)) removed.push(f);
    const added = changed.filter((l) => !old.has(l.path)).map((l) => l.path);
    const pathSetChanged = removed.length > 0 || added.length > 0;

    const segs = new Map<string, FileSeg>();
    for (const s of await this.fileSegs(changed)) segs.set(s.path, s);
    this.checkOpen();
    lap('segs');
    const dirty = new Set(changed.map((l) => l.path));
    if (base) {
      const keys = new Set<string>();
      for (const l of changed) changedKeys(old.get(l.path)?.seg, segs.get(l.path), keys);
      for (const f of removed) changedKeys(f.seg, undefined, keys);
      const moved = [...added, ...removed.map((f) => f.seg.path)];
      for (const f of base.files) {
        const p = f.seg.path;
        if (dirty.has(p) || !now.has(p)) continue;
        const tr = traceOf(f.out);
        let hit = false;
        for (const k of keys) if (tr.keys.has(k)) { hit = true; break; }
        if (!hit && moved.length > 0) hit = tr.specs.some(([from, module]) => moved.some((m) => specMayName(from, module, m)));
        if (hit) dirty.add(p);
      }
    }

    lap('dirty');
    const order = pathSetChanged || !base ? await sortPaths(this.q, listing.map((l) => l.path)) : base.files.map((f) => f.seg.path);
    const treeSegs = order.map((p) => segs.get(p) ?? old.get(p)!.seg);
    const oldSegs = new Map<string, FileSeg | undefined>();
    for (const l of changed) oldSegs.set(l.path, old.get(l.path)?.seg);
    for (const f of removed) oldSegs.set(f.seg.path, f.seg);
    const view = new TreeView(this.q, treeSegs, base?.memo ? { memo: base.memo, old: oldSegs } : undefined);
    const resolver = Resolver.inMemory(this.q, treeSegs, view);
    lap('view');
    const outs = new Map<string, OutSeg>();
    const todo = order.filter((p) => dirty.has(p));
    let lastYield = performance.now();
    for (let i = 0; i < todo.length; i += RESOLVE_BATCH) {
      // Between batches: a close() stops a long build here instead of waiting for its end.
      this.checkOpen();
      const batch = todo.slice(i, i + RESOLVE_BATCH);
      const segOf = (p: string): FileSeg => segs.get(p) ?? old.get(p)!.seg;
      view.setCalls(await loadCalls(this.q, [...new Set(batch.map((p) => segOf(p).extractionId))]));
      lap('calls');
      for (const p of batch) {
        outs.set(p, outSegOf(await resolver.resolveFile(p)));
        // Resolution from memory awaits only settled promises, which never yield to the event
        // loop: yield between files, so a build does not stall the daemon's requests (issue #9).
        if (performance.now() - lastYield > 10) {
          await new Promise((r) => setImmediate(r));
          lastYield = performance.now();
          this.checkOpen();
        }
      }
      lap('resolve');
    }
    view.setCalls(new Map());
    const files: HotFile[] = [];
    for (const [i, p] of order.entries()) {
      const prev = old.get(p);
      const seg = treeSegs[i]!;
      const out = outs.get(p) ?? prev!.out;
      const imports = pathSetChanged || !prev || prev.seg !== seg ? resolver.importEdgesOf(p, seg.specs) : prev.imports;
      files.push({ seg, out, imports });
    }
    this.checkOpen();
    const image = new TipImage(repoId, sha, chain, files);
    image.memo = view.memo;
    lap('image');
    await this.persist(image, files.filter((f) => segs.has(f.seg.path)), files.filter((f) => outs.has(f.seg.path)));
    lap('persist');
    return { image, changedFiles: changed.length + removed.length, resolvedFiles: dirty.size };
  }

  /** Throws HOT_CLOSED once close() was called (a build in flight then stops between batches). */
  private checkOpen(): void {
    if (this.closing) throw new HotStoreError('HOT_CLOSED', 'the hot store was closed while a tip was being built; the history store answers at that tip.', {});
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

  /** Stops a build or update in flight (between batches of files), waits for it, persists the
   * computed PageRanks and closes RocksDB. */
  async close(): Promise<void> {
    this.closing = true;
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
