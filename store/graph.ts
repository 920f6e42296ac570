// Call and import resolution at a commit (internal to store/).
//
// A callee name resolves to the definitions visible at the commit, ranked:
//   same file > a file the caller's file imports > same directory > the unique definition anywhere.
// Anything else is unresolved (no definition) or ambiguous (several, none ranked higher).
// Resolution runs at query time over the stored references, so it always reflects the commit's
// whole tree (a changed callee elsewhere re-resolves old callers without re-indexing them).
import { posix } from 'node:path';
import { qualify } from '../indexer/types.ts';
import { chainParams, treeSql, type Chain } from './chain.ts';
import type { Queryable } from './db.ts';
import { StoreError } from './errors.ts';
import type { CallEdge, EntityRef, ResolutionStats } from './types.ts';

/** Kinds a call or type reference can resolve to. */
const DEF_KINDS = ['function', 'method', 'constructor', 'class', 'struct', 'interface', 'trait', 'enum', 'type'];

export interface Def {
  path: string;
  extractionId: number;
  idx: number;
  parentIdx: number;
  kind: string;
  name: string;
  qname: string;
  startLine: number;
  endLine: number;
}

export type Via = CallEdge['via'];

/** An entity of the tree by its path and its index in the file's extraction. */
export interface EntityAt {
  path: string;
  idx: number;
}

/** The resolved graph of a whole tree (Resolver.allEdges). */
export interface ResolvedGraph {
  calls: Array<{ from: EntityAt; to: EntityAt; line: number }>;
  inherits: Array<{ from: EntityAt; to: EntityAt; line: number }>;
  imports: Array<{ from: string; to: string }>;
}

/** The references of extractions, one row per reference (extraction_refs packs them per extraction). */
const REFS = `(SELECT r.extraction_id, u.kind, u.name, u.qualifier, u.line, u.from_idx, u.module, u.alias
   FROM extraction_refs r, unnest(r.kind, r.name, r.qualifier, r.line, r.from_idx, r.module, r.alias)
     AS u(kind, name, qualifier, line, from_idx, module, alias))`;

const keyOf = (d: { path: string; idx: number }): string => `${d.path}\0${d.idx}`;

export function defRef(d: Def): EntityRef {
  return { kind: d.kind as EntityRef['kind'], name: d.name, qualifiedName: qualify(d.path, d.qname), path: d.path, startLine: d.startLine, endLine: d.endLine };
}

/** Does import specifier `spec`, written in `fromPath`, name the file `candidate`? */
export function importNames(spec: string, fromPath: string, candidate: string): boolean {
  const noExt = candidate.replace(/\.[^./]+$/, '');
  if (spec.startsWith('./') || spec.startsWith('../')) {
    const target = posix.normalize(posix.join(posix.dirname(fromPath), spec)).replace(/\.[cm]?[jt]sx?$/, '');
    return noExt === target || noExt === `${target}/index`;
  }
  let s = spec;
  let dir = '';
  const dots = /^\.+/.exec(s)?.[0].length ?? 0;
  if (dots > 0) {
    // Python relative import: one dot = this package, each further dot one level up.
    dir = posix.dirname(fromPath);
    for (let i = 1; i < dots; i++) dir = posix.dirname(dir);
    s = s.slice(dots);
  }
  const rel = s.replace(/::/g, '/').replace(/\./g, '/').replace(/^crate\//, '');
  const target = dir === '' || dir === '.' ? rel : rel === '' ? dir : `${dir}/${rel}`;
  if (target === '') return false;
  return noExt === target || noExt.endsWith(`/${target}`) || noExt === `${target}/__init__` || noExt.endsWith(`/${target}/__init__`)
    || posix.dirname(candidate) === target || posix.dirname(candidate).endsWith(`/${target}`);
}

export class Resolver {
  private pathsByExtraction = new Map<number, string[]>();
  private extractionByPath = new Map<string, number>();
  private defsCache = new Map<string, Def[]>();
  private importsCache = new Map<number, string[]>();

  private constructor(private readonly q: Queryable) {}

  static async at(q: Queryable, chain: Chain): Promise<Resolver> {
    const r = new Resolver(q);
    const { rows } = await q.query<{ path: string; extraction_id: number }>(
      `SELECT p.path, t.extraction_id FROM (${treeSql()}) t JOIN paths p ON p.id = t.path_id
       WHERE t.extraction_id IS NOT NULL AND t.blob_sha IS NOT NULL`,
      chainParams(chain),
    );
    for (const row of rows) {
      r.extractionByPath.set(row.path, row.extraction_id);
      const list = r.pathsByExtraction.get(row.extraction_id);
      if (list) list.push(row.path);
      else r.pathsByExtraction.set(row.extraction_id, [row.path]);
    }
    return r;
  }

  private get xids(): number[] {
    return [...this.pathsByExtraction.keys()];
  }

  private expand(rows: DefRow[]): Def[] {
    return rows.flatMap((r) => (this.pathsByExtraction.get(r.extraction_id) ?? []).map((path) => ({
      path, extractionId: r.extraction_id, idx: r.idx, parentIdx: r.parent_idx, kind: r.kind, name: r.name, qname: r.qname,
      startLine: r.start_line, endLine: r.end_line,
    })));
  }

  /** Definitions named `name` anywhere in the tree. */
  async defsNamed(names: string[]): Promise<Map<string, Def[]>> {
    const todo = [...new Set(names)].filter((n) => !this.defsCache.has(n));
    if (todo.length > 0) {
      const { rows } = await this.q.query<DefRow>(
        `SELECT extraction_id, idx, parent_idx, kind, name, qname, start_line, end_line FROM entities
         WHERE extraction_id = ANY($1::int[]) AND name = ANY($2::text[]) AND kind = ANY($3::text[])`,
        [this.xids, todo, DEF_KINDS],
      );
      for (const n of todo) this.defsCache.set(n, []);
      for (const d of this.expand(rows)) this.defsCache.get(d.name)!.push(d);
    }
    return new Map(names.map((n) => [n, this.defsCache.get(n) ?? []]));
  }

  async importsOf(path: string): Promise<string[]> {
    const x = this.extractionByPath.get(path);
    if (x === undefined) return [];
    let specs = this.importsCache.get(x);
    if (!specs) {
      const { rows } = await this.q.query<{ module: string }>(
        `SELECT DISTINCT module FROM ${REFS} f WHERE extraction_id = $1 AND kind = 'import' AND module IS NOT NULL`, [x]);
      specs = rows.map((r) => r.module);
      this.importsCache.set(x, specs);
    }
    return specs;
  }

  /** The imports of `path`, each with the file of the tree it names (null: external or unknown). */
  async importsResolved(path: string): Promise<Array<{ module: string; path: string | null }>> {
    const files = [...this.extractionByPath.keys()].sort();
    return (await this.importsOf(path)).sort().map((module) => {
      const hits = files.filter((f) => f !== path && importNames(module, path, f));
      // Prefer a file over a package directory match (`a/b.py` over `a/b/x.py`).
      const exact = hits.find((f) => f.replace(/\.[^./]+$/, '').replace(/\/(index|__init__)$/, '').endsWith(module.replace(/^[./]+/, '').replace(/::|\./g, '/')));
      return { module, path: exact ?? hits[0] ?? null };
    });
  }

  /** The definitions `name`, referenced from `fromPath`, resolves to, and how. */
  async resolve(fromPath: string, name: string): Promise<{ targets: Def[]; via: Via } | { targets: []; via: null; ambiguous: boolean }> {
    const cands = (await this.defsNamed([name])).get(name) ?? [];
    if (cands.length === 0) return { targets: [], via: null, ambiguous: false };
    const same = cands.filter((d) => d.path === fromPath);
    if (same.length > 0) return { targets: same, via: 'same_file' };
    const specs = await this.importsOf(fromPath);
    const imported = cands.filter((d) => specs.some((s) => importNames(s, fromPath, d.path)));
    if (imported.length > 0) return { targets: imported, via: 'import' };
    const dir = posix.dirname(fromPath);
    const sameDir = cands.filter((d) => posix.dirname(d.path) === dir);
    if (sameDir.length > 0) return { targets: sameDir, via: 'same_directory' };
    if (cands.length === 1) return { targets: cands, via: 'unique_global' };
    return { targets: [], via: null, ambiguous: true };
  }

  /** The entity at `qualifiedName` (`path::Local.name`, or a path for the module). */
  async find(qualifiedName: string): Promise<Def> {
    const cut = qualifiedName.indexOf('::');
    const path = cut < 0 ? qualifiedName : qualifiedName.slice(0, cut);
    const qname = cut < 0 ? '' : qualifiedName.slice(cut + 2);
    const x = this.extractionByPath.get(path);
    if (x !== undefined) {
      const { rows } = await this.q.query<DefRow>(
        `SELECT extraction_id, idx, parent_idx, kind, name, qname, start_line, end_line FROM entities
         WHERE extraction_id = $1 AND qname = $2 AND kind <> 'import' ORDER BY idx LIMIT 1`, [x, qname]);
      const d = rows[0] && { ...this.expand(rows).find((e) => e.path === path)! };
      if (d) return d;
    }
    throw new StoreError('ENTITY_NOT_FOUND', `No entity ${JSON.stringify(qualifiedName)} at this commit. Qualified names look like \`src/a.ts::Parser.parse\`; list them with entities().`, { qualifiedName });
  }

  private async entityAt(path: string, extractionId: number, idx: number): Promise<Def | null> {
    const { rows } = await this.q.query<DefRow>(
      `SELECT extraction_id, idx, parent_idx, kind, name, qname, start_line, end_line FROM entities
       WHERE extraction_id = $1 AND idx = $2`, [extractionId, idx]);
    return rows[0] ? { ...this.expand(rows).find((e) => e.path === path)! } : null;
  }

  /** Direct callees of `d`: calls made in its body (nested entities included). */
  async calleesOf(d: Def): Promise<Array<{ target: Def; line: number; via: Via }>> {
    const { rows: ents } = await this.q.query<{ idx: number; parent_idx: number }>(
      'SELECT idx, parent_idx FROM entities WHERE extraction_id = $1', [d.extractionId]);
    const inside = new Set([d.idx]);
    for (const e of [...ents].sort((a, b) => a.idx - b.idx)) if (inside.has(e.parent_idx)) inside.add(e.idx);
    const { rows } = await this.q.query<{ name: string; line: number; from_idx: number }>(
      `SELECT name, line, from_idx FROM ${REFS} f WHERE extraction_id = $1 AND kind = 'call' ORDER BY line, name`, [d.extractionId]);
    const out: Array<{ target: Def; line: number; via: Via }> = [];
    for (const r of rows) {
      if (!inside.has(r.from_idx)) continue;
      const res = await this.resolve(d.path, r.name);
      if (res.via !== null) for (const t of res.targets) out.push({ target: t, line: r.line, via: res.via });
    }
    return out;
  }

  /** Direct callers of `d`: calls anywhere in the tree that resolve to it. */
  async callersOf(d: Def): Promise<Array<{ caller: Def; line: number; via: Via }>> {
    const { rows } = await this.q.query<{ extraction_id: number; line: number; from_idx: number }>(
      `SELECT extraction_id, line, from_idx FROM ${REFS} f
       WHERE extraction_id = ANY($1::int[]) AND name = $2 AND kind = 'call' ORDER BY extraction_id, line`, [this.xids, d.name]);
    const out: Array<{ caller: Def; line: number; via: Via }> = [];
    for (const r of rows) {
      for (const path of this.pathsByExtraction.get(r.extraction_id) ?? []) {
        const res = await this.resolve(path, d.name);
        if (res.via === null || !res.targets.some((t) => keyOf(t) === keyOf(d))) continue;
        const caller = await this.entityAt(path, r.extraction_id, r.from_idx);
        if (caller) out.push({ caller, line: r.line, via: res.via });
      }
    }
    return out;
  }

  /** Callers of a name that resolve to nothing at this commit (e.g. after the callee was removed). */
  async brokenCallersOf(name: string): Promise<Def[]> {
    const { rows } = await this.q.query<{ extraction_id: number; from_idx: number }>(
      `SELECT DISTINCT extraction_id, from_idx FROM ${REFS} f
       WHERE extraction_id = ANY($1::int[]) AND name = $2 AND kind = 'call'`, [this.xids, name]);
    const out: Def[] = [];
    for (const r of rows) {
      for (const path of this.pathsByExtraction.get(r.extraction_id) ?? []) {
        const res = await this.resolve(path, name);
        if (res.via !== null) continue;
        const caller = await this.entityAt(path, r.extraction_id, r.from_idx);
        if (caller) out.push(caller);
      }
    }
    return out;
  }

  /** Breadth-first walk of callers (`up`) or callees (`down`) to `depth` levels. */
  async walk(start: Def, depth: number, direction: 'up' | 'down'): Promise<CallEdge[]> {
    const edges: CallEdge[] = [];
    const seen = new Set([keyOf(start)]);
    let frontier = [start];
    for (let level = 1; level <= depth && frontier.length > 0; level++) {
      const next: Def[] = [];
      for (const d of frontier) {
        const steps = direction === 'up'
          ? (await this.callersOf(d)).map((s) => ({ from: s.caller, to: d, line: s.line, via: s.via, other: s.caller }))
          : (await this.calleesOf(d)).map((s) => ({ from: d, to: s.target, line: s.line, via: s.via, other: s.target }));
        for (const s of steps) {
          edges.push({ from: defRef(s.from), to: defRef(s.to), line: s.line, via: s.via, depth: level });
          if (!seen.has(keyOf(s.other))) {
            seen.add(keyOf(s.other));
            next.push(s.other);
          }
        }
      }
      frontier = next;
    }
    return edges;
  }

  /** Every resolved call and inheritance edge of the tree, plus file-to-file imports: the whole
   * graph at the commit, for global queries (search ranking, PageRank, paths, cycles). Uses the same
   * `resolve` as callers/callees, so both always agree. */
  async allEdges(): Promise<ResolvedGraph> {
    const { rows } = await this.q.query<{ extraction_id: number; kind: string; name: string; line: number; from_idx: number; module: string | null }>(
      `SELECT extraction_id, kind, name, line, from_idx, module FROM ${REFS} f
       WHERE extraction_id = ANY($1::int[]) AND kind IN ('call', 'extends', 'import')`, [this.xids]);
    await this.defsNamed(rows.filter((r) => r.kind !== 'import').map((r) => r.name));
    // Imports of every file in one query, instead of one per file inside resolve().
    const specsByX = new Map<number, Set<string>>();
    for (const r of rows) {
      if (r.kind !== 'import' || r.module === null) continue;
      let set = specsByX.get(r.extraction_id);
      if (!set) specsByX.set(r.extraction_id, (set = new Set()));
      set.add(r.module);
    }
    for (const x of this.xids) if (!this.importsCache.has(x)) this.importsCache.set(x, [...(specsByX.get(x) ?? [])]);
    const out: ResolvedGraph = { calls: [], inherits: [], imports: [] };
    for (const r of rows) {
      if (r.kind === 'import') continue;
      for (const path of this.pathsByExtraction.get(r.extraction_id) ?? []) {
        const res = await this.resolve(path, r.name);
        if (res.via === null) continue;
        const list = r.kind === 'call' ? out.calls : out.inherits;
        for (const t of res.targets) list.push({ from: { path, idx: r.from_idx }, to: { path: t.path, idx: t.idx }, line: r.line });
      }
    }
    out.imports = this.fileImports(specsByX);
    return out;
  }

  /** File -> file import edges, with the same rule as importsResolved (candidates narrowed by name
   * first, so it stays near-linear in the number of imports). */
  private fileImports(specsByX: Map<number, Set<string>>): Array<{ from: string; to: string }> {
    const files = [...this.extractionByPath.keys()].sort();
    const byStem = new Map<string, string[]>();
    const push = (k: string, f: string): void => {
      const l = byStem.get(k);
      if (l) l.push(f);
      else byStem.set(k, [f]);
    };
    for (const f of files) {
      const stem = posix.basename(f).replace(/\.[^.]+$/, '');
      push(stem, f);
      push(`dir:${posix.basename(posix.dirname(f))}`, f);
    }
    const out: Array<{ from: string; to: string }> = [];
    for (const [path, x] of this.extractionByPath) {
      for (const module of specsByX.get(x) ?? []) {
        const last = module.replace(/\.[cm]?[jt]sx?$/, '').replace(/\/+$/, '').split(/\/|::|\./).filter((s) => s !== '').pop() ?? '';
        // A bare relative package (`from . import x`) may name any file of its directory.
        const cands = last === '' ? new Set(files) : new Set([...(byStem.get(last) ?? []), ...(byStem.get(`dir:${last}`) ?? []),
          ...(byStem.get('index') ?? []), ...(byStem.get('__init__') ?? [])]);
        const hits = [...cands].filter((f) => f !== path && importNames(module, path, f)).sort();
        const want = module.replace(/^[./]+/, '').replace(/::|\./g, '/');
        const exact = hits.find((f) => f.replace(/\.[^./]+$/, '').replace(/\/(index|__init__)$/, '').endsWith(want));
        const target = exact ?? hits[0];
        if (target !== undefined) out.push({ from: path, to: target });
      }
    }
    return out;
  }

  /** Resolution counts over every call reference in the tree. */
  async stats(): Promise<ResolutionStats> {
    const { rows } = await this.q.query<{ extraction_id: number; name: string }>(
      `SELECT extraction_id, name FROM ${REFS} f WHERE extraction_id = ANY($1::int[]) AND kind = 'call'`, [this.xids]);
    await this.defsNamed(rows.map((r) => r.name));
    const stats: ResolutionStats = { resolved: 0, unresolved: 0, ambiguous: 0 };
    for (const r of rows) {
      for (const path of this.pathsByExtraction.get(r.extraction_id) ?? []) {
        const res = await this.resolve(path, r.name);
        if (res.via !== null) stats.resolved++;
        else if (res.ambiguous) stats.ambiguous++;
        else stats.unresolved++;
      }
    }
    return stats;
  }
}

interface DefRow {
  extraction_id: number;
  idx: number;
  parent_idx: number;
  kind: string;
  name: string;
  qname: string;
  start_line: number;
  end_line: number;
}
