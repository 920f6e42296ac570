// Search and global graph queries at any indexed commit (issue #12): TEXT, FUZZY, REGEX, VECTOR and
// HYBRID search; shortest call path, neighbourhood, PageRank and import cycles. Everything is
// computed in memory over one commit's snapshot (snapshot.ts), loaded from the history store on
// first use and kept in a small LRU: a commit's tree never changes, so a cached snapshot is
// never stale, and the store's SQL stays the same on PGlite and PostgreSQL.
import picomatch from 'picomatch';
import type { EntityKind } from '../../indexer/types.ts';
import type { AnnIndex, VectorSource } from '../ann/index.ts';
import type { Chain } from '../chain.ts';
import type { Queryable } from '../db.ts';
import { BuiltinEmbedder, type Embedder } from '../embedders/index.ts';
import type { StoredEntity } from '../types.ts';
import { shortestPath, stronglyConnected, type Digraph } from './algorithms.ts';
import { SearchError } from './errors.ts';
import { exactNames, fuse, rankFuzzy, rankText, rankVector, type AnnSearch, type Ranked, type SearchMatch } from './rank.ts';
import { compile, RegexScanner } from './regex.ts';
import { Snapshot, type SnapEntity, type SnapGraph } from './snapshot.ts';

export { Snapshot, type SnapEntity, type SnapGraph } from './snapshot.ts';
export { Digraph, pageRank } from './algorithms.ts';

export { SearchError, type SearchErrorCode } from './errors.ts';
export type { SearchMatch, MatchField } from './rank.ts';

export const SEARCH_MODES = ['text', 'fuzzy', 'regex', 'vector', 'hybrid'] as const;
export type SearchMode = (typeof SEARCH_MODES)[number];

export const EDGE_KINDS = ['calls', 'called_by', 'inherits', 'inherited_by', 'contains', 'contained_by', 'imports', 'imported_by'] as const;
export type EdgeKind = (typeof EDGE_KINDS)[number];

export interface SearchLimits {
  /** Largest page (`first`). @default 100 */
  maxPage: number;
  /** Largest neighbourhood depth. @default 5 */
  maxDepth: number;
  /** Longest query text. @default 1000 */
  maxQueryLength: number;
  /** Longest REGEX pattern. @default 512 */
  maxPatternLength: number;
  /** Time budget of one REGEX scan. @default 250 */
  regexTimeoutMs: number;
  /** Most body bytes one REGEX query over bodies may read. @default 64 MiB */
  maxBodyBytes: number;
  /** Trees with at least this many distinct bodies answer unfiltered VECTOR and HYBRID queries from
   * an HNSW index (usearch) instead of an exact scan. @default 20_000 */
  annMinBodies: number;
}

export const DEFAULT_LIMITS: SearchLimits = {
  maxPage: 100, maxDepth: 5, maxQueryLength: 1000, maxPatternLength: 512, regexTimeoutMs: 250, maxBodyBytes: 64 << 20, annMinBodies: 20_000,
};

/** Nearest bodies an ANN-served VECTOR query ranks (its results are these bodies' entities). */
const ANN_DEPTH = 1000;
/** Nearest bodies an ANN-served HYBRID query fuses (rank.ts fuses the top 200 vector hits). */
const ANN_HYBRID_DEPTH = 200;

export interface SearchQuery {
  query: string;
  /** @default 'hybrid' */
  mode?: SearchMode;
  /** Entity kinds to return. @default every kind but `import` */
  kinds?: EntityKind[] | null;
  /** A path prefix (`src/`), or a picomatch glob when it has glob characters (`src/**\/*.ts`). */
  path?: string | null;
  /** @default 20 */
  first?: number;
  after?: string | null;
  /** REGEX only: match entity bodies too (needs `readBlob`). @default false */
  bodies?: boolean;
}

export interface SearchHit {
  entity: StoredEntity;
  score: number;
  matches: SearchMatch[];
  /** Start lines of the other entities of the same file, qualified name and kind that this hit
   * stands for (they share its id), ascending; usually empty. */
  alsoAt: number[];
}

export interface Paged<T> {
  items: Array<{ cursor: string; node: T }>;
  hasNextPage: boolean;
  /** Every result of the query, all pages together. */
  total: number;
}

export interface Neighbour {
  entity: StoredEntity;
  distance: number;
  /** The edge that reached it, from `from`. */
  via: EdgeKind;
  from: StoredEntity;
}

export interface ImportCycle {
  /** The files of one strongly connected component of the import graph, sorted. */
  files: string[];
}

export interface SearchEngineOptions {
  limits?: Partial<SearchLimits>;
  /** Snapshots kept in memory. @default 4 */
  cacheSize?: number;
  /** The persisted ANN index of the ref tips (store/ann): unfiltered VECTOR and HYBRID queries at a
   * tip it holds are answered from it, whatever the tree's size. */
  ann?: () => AnnIndex | null;
  /** The provider VECTOR and HYBRID use, with its stored vectors (store/reembed.ts), once they
   * are complete; null: the built-in embedder and `bodies`. */
  vectors?: () => { embedder: Embedder; source: VectorSource } | null;
}

/** The snapshot of a commit the hot store holds (a ref tip), or undefined: load it from the store. */
export type HotSnapshots = (repoId: number, sha: string) => Snapshot | undefined;

/** Reads a git blob's bytes (REGEX over bodies). */
export type BlobReader = (blobSha: string) => Promise<Buffer>;

type ChainOf = (repoId: number, sha: string) => Promise<{ sha: string; chain: Chain }>;

const strip = (e: SnapEntity): StoredEntity => ({
  kind: e.kind, name: e.name, qualifiedName: e.qualifiedName, path: e.path, startLine: e.startLine, endLine: e.endLine,
  signature: e.signature, doc: e.doc, exported: e.exported, bodyHash: e.bodyHash, language: e.language, localName: e.localName,
});

function fnv(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16);
}

export class SearchEngine {
  readonly limits: SearchLimits;
  private readonly cacheSize: number;
  private readonly cache = new Map<string, Promise<Snapshot>>();
  /** The commit of each cached snapshot (the ANN index is asked by commit). */
  private readonly commitOf = new WeakMap<Snapshot, { repoId: number; sha: string }>();
  private readonly annOf: () => AnnIndex | null;
  private readonly vectorsOf: () => { embedder: Embedder; source: VectorSource } | null;
  private readonly regex = new RegexScanner();
  /** Per snapshot, the entities REGEX matches names of under the default filter, and their names. */
  private readonly named = new WeakMap<Snapshot, { ents: SnapEntity[]; names: string[] }>();
  /** Embeds VECTOR/HYBRID queries: the provider the store embedded bodies with (built-in today). */
  private readonly embedder: Embedder = new BuiltinEmbedder();

  constructor(private readonly q: Queryable, private readonly chainOf: ChainOf, opts: SearchEngineOptions = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.cacheSize = opts.cacheSize ?? 4;
    this.annOf = opts.ann ?? (() => null);
    this.vectorsOf = opts.vectors ?? (() => null);
    if (!Number.isInteger(this.cacheSize) || this.cacheSize < 1) throw new SearchError('INVALID_ARGUMENT', 'options.cacheSize must be a positive integer');
  }

  /** Where snapshots of ref tips come from (store/hot), ahead of the database. */
  hot: HotSnapshots | null = null;

  /** Drops the cached snapshots: a tree's extractions changed (HistoryStore.storeRefreshed). */
  forget(): void {
    this.cache.clear();
  }

  /** The snapshot of the tree at `sha`: the hot store's at a ref tip, else loaded from the store
   * (cached; least recently used dropped first). */
  async snapshot(repoId: number, sha: string): Promise<Snapshot> {
    const direct = this.hot?.(repoId, sha);
    if (direct) {
      this.commitOf.set(direct, { repoId, sha });
      return direct;
    }
    const { sha: full, chain } = await this.chainOf(repoId, sha);
    const hot = full === sha ? undefined : this.hot?.(repoId, full);
    if (hot) {
      this.commitOf.set(hot, { repoId, sha: full });
      return hot;
    }
    const key = `${repoId}:${full}`;
    let hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
    } else {
      hit = Snapshot.load(this.q, chain).then((snap) => {
        this.commitOf.set(snap, { repoId, sha: full });
        return snap;
      });
      hit.catch(() => this.cache.delete(key));
    }
    this.cache.set(key, hit);
    while (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    return hit;
  }

  private page(first: number | undefined): number {
    const n = first ?? 20;
    if (!Number.isInteger(n) || n < 1 || n > this.limits.maxPage) {
      throw new SearchError('LIMIT_EXCEEDED', `first must be an integer from 1 to ${this.limits.maxPage}, got ${n}. Page with \`after\` instead.`, { first: n, limit: this.limits.maxPage });
    }
    return n;
  }

  private paginate<T>(list: T[], fingerprint: string, first: number | undefined, after: string | null | undefined): Paged<T> {
    const n = this.page(first);
    let start = 0;
    if (after !== null && after !== undefined) {
      const m = /^([0-9a-f]+):(\d+)$/.exec(Buffer.from(after, 'base64url').toString('utf8'));
      if (!m || m[1] !== fingerprint) {
        throw new SearchError('INVALID_CURSOR', 'the cursor does not belong to this query; pass the endCursor of the previous page of the same query, or none.', { after });
      }
      start = Number(m[2]);
    }
    const cursor = (k: number): string => Buffer.from(`${fingerprint}:${k}`).toString('base64url');
    const items = list.slice(start, start + n).map((node, k) => ({ cursor: cursor(start + k + 1), node }));
    return { items, hasNextPage: start + n < list.length, total: list.length };
  }

  private filter(snap: Snapshot, kinds: EntityKind[] | null | undefined, path: string | null | undefined): (i: number) => boolean {
    const kindSet = kinds && kinds.length > 0 ? new Set<string>(kinds) : null;
    let pathOk: (p: string) => boolean = () => true;
    if (path) {
      if (picomatch.scan(path).isGlob) pathOk = picomatch(path, { dot: true });
      else pathOk = (p) => p.startsWith(path);
    }
    return (i) => {
      const e = snap.entities[i]!;
      return (kindSet ? kindSet.has(e.kind) : e.kind !== 'import') && pathOk(e.path);
    };
  }

  /** Ranked search at `sha`. */
  async search(repoId: number, sha: string, query: SearchQuery, readBlob?: BlobReader): Promise<Paged<SearchHit>> {
    const mode = query.mode ?? 'hybrid';
    if (!SEARCH_MODES.includes(mode)) throw new SearchError('INVALID_ARGUMENT', `mode must be one of ${SEARCH_MODES.join(', ')}, got ${JSON.stringify(mode)}.`);
    if (query.query.trim() === '') throw new SearchError('EMPTY_QUERY', 'the query is empty; give a name, keywords or a pattern.');
    if (query.query.length > this.limits.maxQueryLength) {
      throw new SearchError('LIMIT_EXCEEDED', `the query is ${query.query.length} characters long; the limit is ${this.limits.maxQueryLength}.`, { length: query.query.length });
    }
    if (query.bodies && mode !== 'regex') throw new SearchError('INVALID_ARGUMENT', 'bodies applies to mode REGEX only.');
    this.page(query.first);
    const snap = await this.snapshot(repoId, sha);
    const allowed = this.filter(snap, query.kinds, query.path);
    // Read once: a provider whose vectors complete mid-query changes nothing in this one.
    const other = this.vectorsOf();
    const active: { embedder: Embedder; source?: VectorSource } = other ?? { embedder: this.embedder };
    let ranked: Ranked[];
    switch (mode) {
      case 'text': ranked = rankText(snap, query.query, allowed); break;
      case 'fuzzy': ranked = rankFuzzy(snap, query.query, allowed); break;
      case 'vector': ranked = await rankVector(snap, query.query, allowed, active.embedder, await this.ann(snap, query, ANN_DEPTH, active), active.source); break;
      case 'regex': ranked = await this.rankRegex(snap, query.query, allowed, query.bodies ? readBlob ?? null : undefined, !(query.kinds && query.kinds.length > 0) && !query.path); break;
      case 'hybrid': {
        const text = (() => {
          try {
            return rankText(snap, query.query, allowed);
          } catch (err) {
            // A query of symbols only ("=>") has no words; the vector side may still match.
            if (SearchError.is(err, 'EMPTY_QUERY')) return [];
            throw err;
          }
        })();
        const ann = await this.ann(snap, query, ANN_HYBRID_DEPTH, active);
        const [vector, graph] = await Promise.all([rankVector(snap, query.query, allowed, active.embedder, ann, active.source), snap.graph()]);
        ranked = fuse(text, vector, exactNames(snap, query.query, allowed), graph.rank);
        break;
      }
    }
    const fingerprint = fnv(JSON.stringify([snap.entities.length, sha, mode, query.query, query.kinds ?? null, query.path ?? null, query.bodies ?? false]));
    const { of, members } = snap.sameName();
    // Paged before shaping: a hit's reasons are computed for the returned page only.
    const page = this.paginate(members.size > 0 ? onePerGroup(ranked, of, members) : ranked, fingerprint, query.first, query.after);
    return {
      ...page,
      items: page.items.map((x) => {
        const i = x.node.i;
        const group = members.get(of[i]!);
        const alsoAt = group ? group.filter((j) => j !== i).map((j) => snap.entities[j]!.startLine).sort((a, b) => a - b) : [];
        return { cursor: x.cursor, node: { entity: strip(snap.entities[i]!), score: x.node.score, matches: x.node.matches, alsoAt } };
      }),
    };
  }

  /** The ANN search for an unfiltered VECTOR/HYBRID query: the persisted index at a tip it holds,
   * else a per-snapshot index on a large tree; undefined: scan exactly. */
  private async ann(snap: Snapshot, query: SearchQuery, depth: number, active: { embedder: Embedder; source?: VectorSource }): Promise<{ search: AnnSearch; depth: number } | undefined> {
    if ((query.kinds && query.kinds.length > 0) || query.path) return undefined;
    const tip = this.commitOf.get(snap);
    const persisted = this.annOf();
    if (tip && persisted && persisted.has(tip) && persisted.embedderId === active.embedder.id) {
      const { byEntity } = await snap.embeddings(active.source);
      return {
        depth,
        search: (q, k) => {
          const rows = new Set<number>();
          for (const h of persisted.nearest(q, k, tip)) {
            const e = snap.at(h.path, h.idx);
            const row = e ? byEntity[e.i]! : -1;
            if (row >= 0) rows.add(row);
          }
          return [...rows];
        },
      };
    }
    const { rows } = await snap.embeddings(active.source);
    if (rows < this.limits.annMinBodies) return undefined;
    const index = await snap.ann(active.source);
    return { search: (q, k) => index.search(q, k), depth };
  }

  /** `unfiltered`: `allowed` is the default filter (no kinds, no path), whose name list is kept
   * per snapshot instead of being rebuilt for every query. */
  private async rankRegex(snap: Snapshot, pattern: string, allowed: (i: number) => boolean, readBlob: BlobReader | null | undefined, unfiltered: boolean): Promise<Ranked[]> {
    const re = compile(pattern, this.limits.maxPatternLength);
    let named = unfiltered ? this.named.get(snap) : undefined;
    if (!named) {
      const ents = snap.entities.filter((e) => allowed(e.i) && e.name !== '');
      named = { ents, names: ents.map((e) => e.name) };
      if (unfiltered) this.named.set(snap, named);
    }
    const { ents } = named;
    const found = new Map<number, SearchMatch[]>();
    for (const h of this.regex.scan(re, named.names, this.limits.regexTimeoutMs)) {
      found.set(ents[h.item]!.i, [{ field: 'name', tokens: [h.text] }]);
    }
    if (readBlob === null) throw new SearchError('INVALID_ARGUMENT', 'searching bodies needs the repository (git) at hand; this caller has none.');
    if (readBlob !== undefined) {
      const withBody = ents.filter((e) => e.kind !== 'module');
      const bytes = withBody.reduce((n, e) => n + (e.endByte - e.startByte), 0);
      if (bytes > this.limits.maxBodyBytes) {
        throw new SearchError('LIMIT_EXCEEDED', `the bodies to search hold ${bytes} bytes; the limit is ${this.limits.maxBodyBytes}. Narrow the search with path or kinds.`, { bytes });
      }
      const blobs = new Map<string, Buffer>();
      for (const sha of new Set(withBody.map((e) => e.blobSha))) blobs.set(sha, await readBlob(sha));
      const texts = withBody.map((e) => blobs.get(e.blobSha)!.subarray(e.startByte, e.endByte).toString('utf8'));
      for (const h of this.regex.scan(re, texts, this.limits.regexTimeoutMs)) {
        const i = withBody[h.item]!.i;
        const list = found.get(i) ?? [];
        list.push({ field: 'body', tokens: [h.text.slice(0, 200)] });
        found.set(i, list);
      }
    }
    // Every match is as good as another: score 1, in path and line order (name matches are found
    // in that order; body matches add to them).
    const list = [...found];
    if (readBlob) list.sort((a, b) => a[0] - b[0]);
    return list.map(([i, matches]) => ({ i, score: 1, matches }));
  }

  private async entityOf(snap: Snapshot, qualifiedName: string): Promise<SnapEntity> {
    const e = snap.find(qualifiedName);
    if (!e) {
      throw new SearchError('ENTITY_NOT_FOUND', `no entity ${JSON.stringify(qualifiedName)} at this commit. Qualified names look like \`src/a.ts::Parser.parse\`; find them with search.`, { qualifiedName });
    }
    return e;
  }

  /** A shortest call path from one entity to another (both ends included), or null when `to` is
   * not reachable from `from` along call edges. */
  async path(repoId: number, sha: string, from: string, to: string): Promise<StoredEntity[] | null> {
    const snap = await this.snapshot(repoId, sha);
    const [a, b] = [await this.entityOf(snap, from), await this.entityOf(snap, to)];
    const path = shortestPath((await snap.graph()).calls, a.i, b.i);
    return path && path.map((i) => strip(snap.entities[i]!));
  }

  /** Entities within `depth` edges of the given kinds (default all), nearest first, at most `first`. */
  async neighbourhood(repoId: number, sha: string, qualifiedName: string, opts: { depth?: number; kinds?: EdgeKind[] | null; first?: number } = {}): Promise<Neighbour[]> {
    const depth = opts.depth ?? 1;
    if (!Number.isInteger(depth) || depth < 1 || depth > this.limits.maxDepth) {
      throw new SearchError('LIMIT_EXCEEDED', `depth must be an integer from 1 to ${this.limits.maxDepth}, got ${depth}.`, { depth });
    }
    const first = this.page(opts.first ?? 50);
    const kinds = opts.kinds && opts.kinds.length > 0 ? opts.kinds : [...EDGE_KINDS];
    for (const k of kinds) if (!EDGE_KINDS.includes(k)) throw new SearchError('INVALID_ARGUMENT', `edge kind must be one of ${EDGE_KINDS.join(', ')}, got ${JSON.stringify(k)}.`);
    const snap = await this.snapshot(repoId, sha);
    const start = await this.entityOf(snap, qualifiedName);
    const g = await snap.graph();
    const steps: Array<[EdgeKind, (v: number) => Int32Array]> = kinds.map((k) => [k, stepOf(g, k)]);
    const seen = new Set([start.i]);
    const out: Neighbour[] = [];
    let frontier = [start.i];
    for (let d = 1; d <= depth && frontier.length > 0 && out.length < first; d++) {
      const next: number[] = [];
      for (const v of frontier) {
        for (const [kind, step] of steps) {
          for (const w of step(v)) {
            if (seen.has(w) || snap.entities[w]!.kind === 'import') continue;
            seen.add(w);
            next.push(w);
            if (out.length < first) out.push({ entity: strip(snap.entities[w]!), distance: d, via: kind, from: strip(snap.entities[v]!) });
          }
        }
      }
      frontier = next;
    }
    return out;
  }

  /** Entities by call-graph PageRank, highest first (modules and imports left out). */
  async topEntities(repoId: number, sha: string, opts: { first?: number; after?: string | null; kinds?: EntityKind[] | null } = {}): Promise<Paged<{ entity: StoredEntity; score: number }>> {
    this.page(opts.first);
    const snap = await this.snapshot(repoId, sha);
    const { rank } = await snap.graph();
    const kinds = opts.kinds && opts.kinds.length > 0 ? new Set<string>(opts.kinds) : null;
    const list = snap.entities
      .filter((e) => (kinds ? kinds.has(e.kind) : e.kind !== 'module' && e.kind !== 'import'))
      .map((e) => ({ i: e.i, score: rank[e.i]! }))
      .sort((a, b) => b.score - a.score || a.i - b.i)
      .map((r) => ({ entity: strip(snap.entities[r.i]!), score: r.score }));
    return this.paginate(list, fnv(JSON.stringify([sha, 'top', opts.kinds ?? null])), opts.first, opts.after);
  }

  /** Import cycles: strongly connected components of the file import graph with more than one
   * file (or a file importing itself), largest first. */
  async cycles(repoId: number, sha: string): Promise<ImportCycle[]> {
    const snap = await this.snapshot(repoId, sha);
    const { imports } = await snap.graph();
    return stronglyConnected(imports)
      .filter((c) => c.length > 1 || imports.out(c[0]!).includes(c[0]!))
      .map((c) => ({ files: c.map((i) => snap.entities[i]!.path).sort() }))
      .sort((a, b) => b.files.length - a.files.length || (a.files[0]! < b.files[0]! ? -1 : 1));
  }
}

/**
 * The best-ranked hit of each group of entities sharing a file, qualified name and kind
 * (`Snapshot.sameName`). They share one id, so a client that keys results by id (any GraphQL
 * cache) showed the same entity several times, and a dozen identical inline callbacks of a test
 * file pushed the definition of that name off the first page (#12; zustand's
 * `onRehydrateStorage`). The hit lists the others' lines (`alsoAt`).
 */
function onePerGroup(ranked: Ranked[], of: Int32Array, members: Map<number, number[]>): Ranked[] {
  const seen = new Set<number>();
  return ranked.filter((r) => {
    const g = of[r.i]!;
    if (!members.has(g)) return true;
    if (seen.has(g)) return false;
    seen.add(g);
    return true;
  });
}

function stepOf(g: SnapGraph, kind: EdgeKind): (v: number) => Int32Array {
  const pick = (d: Digraph, dir: 'out' | 'in') => (v: number) => (dir === 'out' ? d.out(v) : d.in(v));
  switch (kind) {
    case 'calls': return pick(g.calls, 'out');
    case 'called_by': return pick(g.calls, 'in');
    case 'inherits': return pick(g.inherits, 'out');
    case 'inherited_by': return pick(g.inherits, 'in');
    case 'contains': return pick(g.contains, 'out');
    case 'contained_by': return pick(g.contains, 'in');
    case 'imports': return pick(g.imports, 'out');
    case 'imported_by': return pick(g.imports, 'in');
  }
}
