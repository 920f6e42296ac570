// A tip's tree as the call resolver reads it (store/graph.ts `TreeMemory`), served from the file
// segments the hot store already holds: no database round trip per file, per name looked up or
// for the base-type map. Only the calls of the files being resolved are read from the database,
// in batches (segments.ts `loadCalls`). The name index and the base-type map are derived from the
// previous tip's when a tip is updated, so an update costs what changed, not the tree.
import type { Chain } from '../chain.ts';
import { Resolver, fileDeps, type Def, type FileData, type RefRow, type ResolvedGraph, type TreeMemory } from '../graph.ts';
import type { Queryable } from '../db.ts';
import { listTree, loadCalls, loadFileSegs, sortPaths, type FileSeg } from './segments.ts';

/** Files whose calls are read and resolved together (one statement per batch). */
export const RESOLVE_BATCH = 64;

const CLASS_LIKE = new Set(['class', 'struct', 'interface', 'trait', 'enum']);
const NO_DEFS: Def[] = [];

// Segments are immutable and shared between tips: what is derived from one is memoized on it.
const dataOf = new WeakMap<FileSeg, FileData>();
const depsOf = new WeakMap<FileSeg, Map<string, string>>();

/** The resolver's view of one file segment (without calls). */
export function fileData(seg: FileSeg): FileData {
  let d = dataOf.get(seg);
  if (!d) {
    const entities = [...seg.entities].sort((a, b) => a[0] - b[0])
      .map((e) => ({ idx: e[0], parent_idx: e[1], kind: e[2], name: e[3], qname: e[4], start_line: e[5], end_line: e[6] }));
    const ref = (kind: string, name: string, qualifier: string | null, fromIdx: number, line: number, module: string | null, alias: string | null): RefRow =>
      ({ kind, name, qualifier, line, from_idx: fromIdx, module, alias, binding: null, args: null });
    d = {
      entities,
      calls: [],
      imports: seg.refs.imports.map(([name, module, alias]) => ref('import', name, null, 0, 0, module, alias)),
      types: seg.refs.types.map(([name, qualifier, fromIdx]) => ref('type', name, qualifier, fromIdx, 0, null, null)),
      bases: seg.refs.bases.map(([kind, name, fromIdx, line]) => ref(kind, name, null, fromIdx, line, null, null)),
      language: seg.language,
    };
    dataOf.set(seg, d);
  }
  return d;
}

/** What other files' resolution can read of a segment, per dependency key (graph.ts fileDeps). */
export function depValues(seg: FileSeg): Map<string, string> {
  let m = depsOf.get(seg);
  if (!m) depsOf.set(seg, (m = fileDeps(seg.path, fileData(seg))));
  return m;
}

/** Adds to `into` the keys whose value differs between two versions of a file (either may be absent). */
export function changedKeys(before: FileSeg | undefined, after: FileSeg | undefined, into: Set<string>): void {
  const a = before ? depValues(before) : new Map<string, string>();
  const b = after ? depValues(after) : new Map<string, string>();
  for (const [k, v] of a) if (b.get(k) !== v) into.add(k);
  for (const k of b.keys()) if (!a.has(k)) into.add(k);
}

/** Definitions by name: the names a tip changed, over the index of the tip it was derived from
 * (so a move copies nothing), flattened once the layers get deep. */
export class NameIndex {
  private constructor(private readonly own: Map<string, Def[] | null>, private readonly under: NameIndex | null, readonly depth: number) {}

  static of(names: Map<string, Def[]>): NameIndex {
    return new NameIndex(names, null, 0);
  }

  get(name: string): Def[] | undefined {
    // At most 16 layers deep (`with`).
    const hit = this.own.get(name);
    if (hit !== undefined) return hit ?? undefined;
    return this.under?.get(name);
  }

  /** The layers, oldest first. */
  private layers(): Array<Map<string, Def[] | null>> {
    return [...(this.under?.layers() ?? []), this.own];
  }

  /** This index with `changes` applied (null: no definition left). */
  with(changes: Map<string, Def[] | null>): NameIndex {
    if (this.depth < 16) return new NameIndex(changes, this, this.depth + 1);
    const flat = new Map<string, Def[]>();
    for (const l of [...this.layers(), changes]) {
      for (const [k, v] of l) {
        if (v === null) flat.delete(k);
        else flat.set(k, v);
      }
    }
    return NameIndex.of(flat);
  }
}

/** Derived lookups of a tree, carried from one tip to the next. */
export interface TreeMemo {
  names: NameIndex;
  /** The base-type map, and the `basesKey` of each path it was computed from. */
  bases: Promise<Map<string, string[]>> | null;
  basesOf: Map<string, string> | null;
}

const defsOf = (seg: FileSeg): Def[] => seg.entities.filter((e) => e[2] !== 'module' && e[2] !== 'import')
  .map((e) => ({ path: seg.path, extractionId: seg.extractionId, idx: e[0], parentIdx: e[1], kind: e[2], name: e[3], qname: e[4], startLine: e[5], endLine: e[6] }));
const byPathIdx = (a: Def, b: Def): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.idx - b.idx);

export class TreeView implements TreeMemory {
  private readonly byX = new Map<number, FileSeg>();
  private loaded = new Map<number, RefRow[]>();
  readonly memo: TreeMemo;

  /**
   * `segs`: the tree's files. `prev` and `changed` (paths whose segment differs from prev's tree,
   * with their old segments, or added / removed) let the name index be derived, not rebuilt.
   */
  constructor(private readonly q: Queryable, private readonly segs: FileSeg[], prev?: { memo: TreeMemo; old: Map<string, FileSeg | undefined> }) {
    for (const s of segs) if (!this.byX.has(s.extractionId)) this.byX.set(s.extractionId, s);
    this.memo = prev ? derive(prev.memo, prev.old, new Map(segs.map((s) => [s.path, s]))) : { names: NameIndex.of(buildNames(segs)), bases: null, basesOf: null };
  }

  file(x: number): FileData {
    const seg = this.byX.get(x);
    if (!seg) throw new Error(`extraction ${x} is not in this tree`);
    return fileData(seg);
  }

  calls(x: number): RefRow[] | undefined {
    return this.loaded.get(x);
  }

  /** The calls of the files about to be resolved (replacing the previous batch's). */
  setCalls(calls: Map<number, RefRow[]>): void {
    this.loaded = calls;
  }

  defsNamed(name: string): Def[] {
    return this.memo.names.get(name) ?? NO_DEFS;
  }

  bases(): Promise<Map<string, string[]>> {
    const memo = this.memo;
    if (memo.bases && memo.basesOf && this.segs.length === memo.basesOf.size && this.segs.every((s) => memo.basesOf!.get(s.path) === s.basesKey)) return memo.bases;
    memo.basesOf = new Map(this.segs.map((s) => [s.path, s.basesKey]));
    memo.bases = baseMap(this.q, this.segs);
    return memo.bases;
  }
}

function buildNames(segs: FileSeg[]): Map<string, Def[]> {
  const names = new Map<string, Def[]>();
  for (const s of segs) {
    for (const d of defsOf(s)) {
      const l = names.get(d.name);
      if (l) l.push(d);
      else names.set(d.name, [d]);
    }
  }
  for (const l of names.values()) l.sort(byPathIdx);
  return names;
}

/** The name index of the new tree from the previous one: only the names of changed files move. */
function derive(prev: TreeMemo, old: Map<string, FileSeg | undefined>, now: Map<string, FileSeg>): TreeMemo {
  const changes = new Map<string, Def[] | null>();
  const touched = new Map<string, Def[]>();
  for (const [p, before] of old) {
    for (const e of before?.entities ?? []) if (!touched.has(e[3])) touched.set(e[3], []);
    const after = now.get(p);
    if (!after) continue;
    for (const d of defsOf(after)) {
      const l = touched.get(d.name);
      if (l) l.push(d);
      else touched.set(d.name, [d]);
    }
  }
  for (const [n, fresh] of touched) {
    const list = (prev.names.get(n) ?? NO_DEFS).filter((d) => !old.has(d.path)).concat(fresh).sort(byPathIdx);
    changes.set(n, list.length > 0 ? list : null);
  }
  return { names: prev.names.with(changes), bases: prev.bases, basesOf: prev.basesOf };
}

/** Resolver.bases over segments: (owner, base) pairs of class-like owners, bases of one owner in
 * the database's collation order (the order its `ORDER BY` gives, so ancestor chains match). */
async function baseMap(q: Queryable, segs: FileSeg[]): Promise<Map<string, string[]>> {
  const pairs = new Map<string, Set<string>>();
  for (const s of segs) {
    if (s.refs.bases.length === 0) continue;
    const f = fileData(s);
    for (const [kind, base, fromIdx] of s.refs.bases) {
      if (kind !== 'extends' && kind !== 'implements' && kind !== 'embeds') continue;
      const owner = f.entities[fromIdx];
      if (!owner || !CLASS_LIKE.has(owner.kind) || owner.name === base) continue;
      let set = pairs.get(owner.name);
      if (!set) pairs.set(owner.name, (set = new Set()));
      set.add(base);
    }
  }
  const multi = new Set<string>();
  for (const set of pairs.values()) if (set.size > 1) for (const b of set) multi.add(b);
  const rank = new Map((await sortPaths(q, [...multi])).map((b, i) => [b, i]));
  const out = new Map<string, string[]>();
  for (const [owner, set] of pairs) out.set(owner, [...set].sort((a, b) => rank.get(a)! - rank.get(b)!));
  return out;
}

/**
 * The resolved graph of the whole tree at `chain` (calls, `extends`, file imports), as the hot
 * store builds a tip: the tree read in three statements and resolved in memory (`TreeView`), the
 * calls in batches of `RESOLVE_BATCH` files. Reading the tree file by file, name by name, cost
 * ~2,500 round trips on zod (11-14 s for `codegraph search` beside the daemon, #9).
 */
export async function resolveTree(q: Queryable, chain: Chain): Promise<ResolvedGraph> {
  const listing = await listTree(q, chain);
  const byPath = new Map((await loadFileSegs(q, listing)).map((s) => [s.path, s]));
  const segs = (await sortPaths(q, [...byPath.keys()])).map((p) => byPath.get(p)!);
  const view = new TreeView(q, segs);
  const resolver = Resolver.inMemory(q, segs, view);
  const out: ResolvedGraph = { calls: [], inherits: [], imports: [] };
  for (let i = 0; i < segs.length; i += RESOLVE_BATCH) {
    const batch = segs.slice(i, i + RESOLVE_BATCH);
    view.setCalls(await loadCalls(q, [...new Set(batch.map((s) => s.extractionId))]));
    for (const s of batch) {
      const e = await resolver.resolveFile(s.path);
      const from = (idx: number): { path: string; idx: number } => ({ path: s.path, idx });
      for (const c of e.calls) for (const to of c.to) out.calls.push({ from: from(c.fromIdx), to, line: c.line, via: c.via });
      for (const h of e.inherits) for (const to of h.to) out.inherits.push({ from: from(h.fromIdx), to, line: h.line });
      for (const to of resolver.importEdgesOf(s.path, s.specs)) out.imports.push({ from: s.path, to });
    }
  }
  view.setCalls(new Map());
  return out;
}
