// One tip's graph in memory, assembled from its segments: the entity table (in the history store
// snapshot's order), symbol lookups, call / inheritance / containment / import adjacency in both
// directions (CSR), lazily its PageRank, and a search Snapshot over it. Callers/callees walks
// answer here exactly as store/graph.ts `Resolver.walk` answers from PostgreSQL (same order, same
// `via` filter, same cut-off), which the equality tests check.
import { qualify } from '../../indexer/types.ts';
import type { Chain } from '../chain.ts';
import type { Queryable } from '../db.ts';
import { StoreError } from '../errors.ts';
import { MAX_ALIAS_STEPS, VIA_ORDER, type Via } from '../graph.ts';
import { Digraph, pageRank, Snapshot, type SnapEntity, type SnapGraph } from '../search/index.ts';
import { isTypeSpaceKind, parseEntityId, type CallEdge, type EntityRef, type StoredEntity } from '../types.ts';
import type { FileSeg, OutSeg } from './segments.ts';
import type { TreeMemo } from './tree.ts';

export interface HotFile {
  seg: FileSeg;
  out: OutSeg;
  /** Files this file imports (import edges). */
  imports: string[];
}

const CALLABLE = new Set(['function', 'method', 'constructor']);
/** Search tokens of a segment's entities (in its order): segments are shared by the tips holding
 * the file, so a ref move tokenizes only the files it changed. */
const tokensOfSeg = new WeakMap<FileSeg, string[][][]>();
/** Offsets (in the segment's order) of its entities by local qualified name: all of them, and all
 * but imports. */
const qnsOfSeg = new WeakMap<FileSeg, { all: Map<string, number[]>; values: Map<string, number[]> }>();
const CLASS_LIKE = new Set(['class', 'struct', 'interface', 'trait', 'enum']);
const containerOf = (qn: string): string => {
  const parts = qn.split('.');
  return parts.length >= 2 ? parts[parts.length - 2]! : '';
};

export class TipImage {
  readonly entities: SnapEntity[] = [];
  readonly byPath = new Map<string, HotFile>();
  /** Per file: entity idx -> position in `entities` (-1: none). */
  private readonly posOf = new Map<string, Int32Array>();
  private readonly fileOfEntity: Int32Array;
  /** Position of each file's first entity. */
  private readonly starts: number[];
  /** File number of each path. */
  private readonly fileNo = new Map<string, number>();
  /** Call edges: caller, callee, line, `via` (VIA_ORDER index), call name. */
  private readonly cFrom: Int32Array;
  private readonly cTo: Int32Array;
  private readonly cLine: Int32Array;
  private readonly cVia: Uint8Array;
  private readonly cName: string[];
  private readonly outStart: Int32Array;
  private readonly outEdges: Int32Array;
  private readonly inStart: Int32Array;
  private readonly inEdges: Int32Array;
  /** Position of each call among its file's calls (Resolver's call order). */
  private readonly cK: Int32Array;
  /** Whether an entity's callers are sorted yet (sortCallers). */
  private readonly inSorted: Uint8Array;
  readonly graph: SnapGraph;
  /** Files indexed by an extractor older than call bindings (callers/callees then go to the store,
   * which refuses them with REINDEX_REQUIRED). */
  readonly stale: number;
  private snap: Snapshot | null = null;
  /** Import / re-export aliases by imported name over the whole tree (built on first callers walk). */
  private aliasesByName: Map<string, string[]> | null = null;
  private rank: Float64Array | null;
  /** The resolver's lookups over this tree (tree.ts), kept for the next update from this tip. */
  memo: TreeMemo | null = null;

  constructor(readonly repoId: number, readonly sha: string, readonly chain: Chain, readonly files: HotFile[], rank: Float64Array | null = null) {
    this.rank = rank;
    const starts: number[] = [];
    let stale = 0;
    for (const file of files) {
      const { seg } = file;
      if (seg.extractorVersion < 4) stale++;
      this.byPath.set(seg.path, file);
      starts.push(this.entities.length);
      let max = -1;
      for (const e of seg.entities) if (e[0] > max) max = e[0];
      const pos = new Int32Array(max + 1).fill(-1);
      for (const e of seg.entities) {
        const i = this.entities.length;
        pos[e[0]] = i;
        this.entities.push({
          i, kind: e[2], name: e[3], qualifiedName: qualify(seg.path, e[4]), path: seg.path, startLine: e[5], endLine: e[6],
          signature: e[9], doc: e[10], exported: e[11], bodyHash: e[12], language: seg.language, localName: e[4],
          blobSha: seg.blobSha, idx: e[0], parentIdx: e[1], startByte: e[7], endByte: e[8],
        });
      }
      this.posOf.set(seg.path, pos);
    }
    this.stale = stale;
    const n = this.entities.length;
    this.fileOfEntity = new Int32Array(n);
    starts.push(n);
    this.starts = starts;
    for (let f = 0; f < files.length; f++) this.fileOfEntity.fill(f, starts[f]!, starts[f + 1]!);
    files.forEach((f, i) => this.fileNo.set(f.seg.path, i));

    // Call edges in file order, then call order: the order calleesOf reads them. Typed arrays
    // sized once: this runs at every ref move.
    let total = 0;
    for (const { out } of files) total += out.calls.length;
    let cFrom = new Int32Array(total);
    let cTo = new Int32Array(total);
    let cLine = new Int32Array(total);
    let cVia = new Uint8Array(total);
    let cK = new Int32Array(total);
    const cName: string[] = [];
    const inherits: number[] = [];
    let m = 0;
    let lastPath = '';
    let lastPos: Int32Array | undefined;
    const atTarget = (path: string, idx: number): number => {
      if (path !== lastPath) { lastPath = path; lastPos = this.posOf.get(path); }
      return lastPos === undefined || idx < 0 || idx >= lastPos.length ? -1 : lastPos[idx]!;
    };
    for (const { seg, out } of files) {
      const own = this.posOf.get(seg.path)!;
      for (const c of out.calls) {
        const a = c[1] >= 0 && c[1] < own.length ? own[c[1]]! : -1;
        const b = atTarget(c[5], c[6]);
        if (a < 0 || b < 0) continue;
        cFrom[m] = a; cTo[m] = b; cLine[m] = c[2]; cVia[m] = VIA_ORDER.indexOf(c[4]); cK[m] = c[0]; cName.push(c[3]);
        m++;
      }
      for (const h of out.inherits) {
        const a = this.at(seg.path, h[0]);
        const b = this.at(h[2], h[3]);
        if (a >= 0 && b >= 0) inherits.push(a, b);
      }
    }
    if (m < total) {
      cFrom = cFrom.slice(0, m); cTo = cTo.slice(0, m); cLine = cLine.slice(0, m); cVia = cVia.slice(0, m); cK = cK.slice(0, m);
    }
    this.cFrom = cFrom;
    this.cTo = cTo;
    this.cLine = cLine;
    this.cVia = cVia;
    this.cK = cK;
    this.cName = cName;
    [this.outStart, this.outEdges] = bucket(n, m, this.cFrom);
    [this.inStart, this.inEdges] = bucket(n, m, this.cTo);
    this.inSorted = new Uint8Array(n);

    const pairs = new Int32Array(m * 2);
    for (let e = 0; e < m; e++) { pairs[2 * e] = this.cFrom[e]!; pairs[2 * e + 1] = this.cTo[e]!; }
    const containsPairs = (): number[] => {
      const contains: number[] = [];
      for (const e of this.entities) {
        if (e.parentIdx < 0 || e.parentIdx === e.idx) continue;
        const p = this.at(e.path, e.parentIdx);
        if (p >= 0) contains.push(p, e.i);
      }
      return contains;
    };
    const importPairs = (): number[] => {
      const moduleOf = new Map<string, number>();
      for (const e of this.entities) if (e.kind === 'module') moduleOf.set(e.path, e.i);
      const imports: number[] = [];
      for (const { seg, imports: targets } of files) {
        const a = moduleOf.get(seg.path);
        for (const t of targets) {
          const b = moduleOf.get(t);
          if (a !== undefined && b !== undefined) imports.push(a, b);
        }
      }
      return imports;
    };
    // The search graphs (deduplicated CSR in both directions) and PageRank (whole-graph power
    // iteration) are built on first use (search, HYBRID, topEntities), not on every ref move:
    // callers / callees walks use the adjacency above.
    let calls: Digraph | null = null;
    let inh: Digraph | null = null;
    let con: Digraph | null = null;
    let imp: Digraph | null = null;
    const callsOf = (): Digraph => (calls ??= new Digraph(n, pairs));
    const rankOf = (): Float64Array => (this.rank ??= pageRank(callsOf()));
    this.graph = {
      get calls(): Digraph {
        return callsOf();
      },
      get inherits(): Digraph {
        return (inh ??= new Digraph(n, inherits));
      },
      get contains(): Digraph {
        return (con ??= new Digraph(n, containsPairs()));
      },
      get imports(): Digraph {
        return (imp ??= new Digraph(n, importPairs()));
      },
      get rank(): Float64Array {
        return rankOf();
      },
    };
  }

  /** PageRank if computed (to persist it). */
  rankIfComputed(): Float64Array | null {
    return this.rank;
  }

  /** Position of the entity `idx` of `path`, or -1. */
  at(path: string, idx: number): number {
    const pos = this.posOf.get(path);
    return pos === undefined || idx < 0 || idx >= pos.length ? -1 : pos[idx]!;
  }

  /** The search snapshot over this image (built on first use). */
  snapshot(q: Queryable): Snapshot {
    this.snap ??= Snapshot.fromParts(q, this.chain, this.entities, this.graph, (e) => {
      const f = this.fileOfEntity[e.i]!;
      const seg = this.files[f]!.seg;
      let list = tokensOfSeg.get(seg);
      if (!list) tokensOfSeg.set(seg, (list = []));
      return (list[e.i - this.starts[f]!] ??= Snapshot.fieldTokens(e));
    });
    return this.snap;
  }

  /** Positions of the entities of a qualified name (all in one file), any kind or not imports. */
  private positionsOf(qualifiedName: string, withImports: boolean): number[] {
    const cut = qualifiedName.indexOf('::');
    const path = cut < 0 ? qualifiedName : qualifiedName.slice(0, cut);
    const f = this.fileNo.get(path);
    if (f === undefined) return [];
    const seg = this.files[f]!.seg;
    let memo = qnsOfSeg.get(seg);
    if (!memo) {
      memo = { all: new Map(), values: new Map() };
      seg.entities.forEach((e, o) => {
        for (const m of e[2] === 'import' ? [memo!.all] : [memo!.all, memo!.values]) {
          const l = m.get(e[4]);
          if (l) l.push(o);
          else m.set(e[4], [o]);
        }
      });
      qnsOfSeg.set(seg, memo);
    }
    const start = this.starts[f]!;
    return ((withImports ? memo.all : memo.values).get(cut < 0 ? '' : qualifiedName.slice(cut + 2)) ?? []).map((o) => start + o);
  }

  /** The first entity (in path and position order, any kind) of a qualified name, as a store
   * query by path finds it; undefined when none. */
  /** Every entity of a qualified name (imports included), in file order. */
  entitiesNamed(qualifiedName: string): StoredEntity[] {
    return this.positionsOf(qualifiedName, true).map((i) => {
      const e = this.entities[i]!;
      return {
        kind: e.kind, name: e.name, qualifiedName: e.qualifiedName, path: e.path, startLine: e.startLine, endLine: e.endLine,
        signature: e.signature, doc: e.doc, exported: e.exported, bodyHash: e.bodyHash, language: e.language, localName: e.localName,
      };
    });
  }

  /** Resolver.find: of the entities sharing a qualified name, the callable one with the longest body. */
  find(id: string): number {
    // An entity id (store/types.ts entityId) names the kind of a type-space entity.
    const { qualifiedName, kind } = parseEntityId(id);
    const hits = this.positionsOf(qualifiedName, false).filter((i) => kind === null || this.entities[i]!.kind === kind);
    const rank = (i: number): number => {
      const e = this.entities[i]!;
      return (CALLABLE.has(e.kind) ? 0 : isTypeSpaceKind(e.kind) ? 3 : CLASS_LIKE.has(e.kind) ? 1 : 2) * 1e6 - (e.endLine - e.startLine);
    };
    // Resolver.find sorts the file's entities in idx order, stably.
    const best = [...hits].sort((a, b) => this.entities[a]!.idx - this.entities[b]!.idx).sort((a, b) => rank(a) - rank(b))[0];
    if (best === undefined) {
      throw new StoreError('ENTITY_NOT_FOUND', `No entity ${JSON.stringify(id)} at this commit. Qualified names look like \`src/a.ts::Parser.parse\`; list them with entities().`, { qualifiedName });
    }
    return best;
  }

  private ref(i: number): EntityRef {
    const e = this.entities[i]!;
    return { kind: e.kind, name: e.name, qualifiedName: e.qualifiedName, path: e.path, startLine: e.startLine, endLine: e.endLine };
  }

  /** Resolver.calleesOf: calls made in the body of `d` and of the entities sharing its qualified
   * name (overloads), in the file's call order. */
  private calleeEdges(d: number): number[] {
    const e = this.entities[d]!;
    const f = this.fileOfEntity[d]!;
    const same: number[] = [d];
    for (const r of this.files[f]!.seg.entities) {
      if (r[4] === e.localName && CALLABLE.has(r[2]) && r[0] !== e.idx) {
        const i = this.at(e.path, r[0]);
        if (i >= 0) same.push(i);
      }
    }
    const out: number[] = [];
    for (const v of same) for (let p = this.outStart[v]!; p < this.outStart[v + 1]!; p++) out.push(this.outEdges[p]!);
    return same.length > 1 ? out.sort((a, b) => a - b) : out;
  }

  /** Resolver.callNames: call names that can land on `d`. */
  private callNames(d: number): string[] {
    const e = this.entities[d]!;
    if (e.kind === 'constructor' || CLASS_LIKE.has(e.kind)) {
      const clsI = e.kind === 'constructor' ? this.at(e.path, e.parentIdx) : d;
      const cls = clsI >= 0 ? this.entities[clsI] : undefined;
      const own = e.kind === 'constructor' ? containerOf(e.localName) : e.name;
      return [...new Set([e.name, own, cls?.name ?? own, 'super'].filter((n) => n !== ''))];
    }
    return [e.name];
  }

  /** Callers in the order Resolver.callersOf finds them: by the caller file's extraction id, then
   * call order in that file, then path. Sorted per entity on first use, not for the whole tip at
   * every ref move. */
  private sortCallers(v: number): void {
    if (this.inSorted[v]) return;
    this.inSorted[v] = 1;
    const s = this.inStart[v]!;
    const t = this.inStart[v + 1]!;
    if (t - s < 2) return;
    const fileOf = (e: number): number => this.fileOfEntity[this.cFrom[e]!]!;
    const xOf = (e: number): number => this.files[fileOf(e)]!.seg.extractionId;
    const list = Array.from(this.inEdges.subarray(s, t)).sort((a, b) => xOf(a) - xOf(b) || this.cK[a]! - this.cK[b]! || fileOf(a) - fileOf(b) || a - b);
    this.inEdges.set(list, s);
  }

  /** Resolver.aliasNames: the names `names` are also imported or re-exported under anywhere in
   * the tree, a few steps deep. */
  private aliasNames(names: string[]): string[] {
    if (!this.aliasesByName) {
      const by = new Map<string, string[]>();
      for (const { seg } of this.files) {
        for (const [name, , alias] of seg.refs.imports) {
          if (alias === null || alias === '') continue;
          const l = by.get(name);
          if (!l) by.set(name, [alias]);
          else if (!l.includes(alias)) l.push(alias);
        }
      }
      this.aliasesByName = by;
    }
    const all = new Set(names);
    let frontier = names;
    for (let step = 0; step < MAX_ALIAS_STEPS && frontier.length > 0; step++) {
      const next: string[] = [];
      for (const n of frontier) for (const a of this.aliasesByName.get(n) ?? []) if (!all.has(a)) { all.add(a); next.push(a); }
      frontier = next;
    }
    return [...all];
  }

  private callerEdges(d: number): number[] {
    this.sortCallers(d);
    const names = this.aliasNames(this.callNames(d));
    const out: number[] = [];
    for (let p = this.inStart[d]!; p < this.inStart[d + 1]!; p++) {
      const edge = this.inEdges[p]!;
      if (names.includes(this.cName[edge]!)) out.push(edge);
    }
    return out;
  }

  /** Resolver.walk over this image. */
  walk(qualifiedName: string, depth: number, direction: 'up' | 'down', minVia: Via = 'name_only', limit = Infinity): CallEdge[] {
    const floor = VIA_ORDER.indexOf(minVia);
    const start = this.find(qualifiedName);
    const edges: CallEdge[] = [];
    const seen = new Set([start]);
    let frontier = [start];
    for (let level = 1; level <= depth && frontier.length > 0; level++) {
      const next: number[] = [];
      for (const d of frontier) {
        if (seen.size > limit + 1) return edges;
        const steps = direction === 'up' ? this.callerEdges(d) : this.calleeEdges(d);
        for (const s of steps) {
          const other = direction === 'up' ? this.cFrom[s]! : this.cTo[s]!;
          if (this.cVia[s]! < floor) continue;
          edges.push({ from: this.ref(this.cFrom[s]!), to: this.ref(this.cTo[s]!), line: this.cLine[s]!, via: VIA_ORDER[this.cVia[s]!]!, depth: level });
          if (!seen.has(other)) {
            seen.add(other);
            next.push(other);
          }
        }
      }
      frontier = next;
    }
    return edges;
  }
}

/** CSR of edge ids by `key[e]`, edge ids ascending within a bucket. */
function bucket(n: number, m: number, key: Int32Array): [Int32Array, Int32Array] {
  const start = new Int32Array(n + 1);
  for (let e = 0; e < m; e++) start[key[e]! + 1]!++;
  for (let v = 0; v < n; v++) start[v + 1]! += start[v]!;
  const fill = start.slice(0, n);
  const list = new Int32Array(m);
  for (let e = 0; e < m; e++) list[fill[key[e]!]!++] = e;
  return [start, list];
}
