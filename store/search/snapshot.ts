// Everything search needs about ONE commit's tree, loaded from the history store once and kept
// in memory (a commit's tree never changes, so a snapshot never goes stale). Each index is built
// on first use: a TEXT query does not pay for the call graph, a FUZZY query not for embeddings.
import { qualify, type EntityKind } from '../../indexer/types.ts';
import { chainParams, treeSql, type Chain } from '../chain.ts';
import type { Queryable } from '../db.ts';
import type { VectorSource } from '../ann/source.ts';
import { readBodyVectors } from '../embed.ts';
import usearch from 'usearch';
import { resolveTree } from '../hot/tree.ts';
import { isTypeSpaceKind, parseEntityId, type StoredEntity } from '../types.ts';
import { Digraph, pageRank } from './algorithms.ts';
import { isTestPath, joinedRuns, trigrams, words } from './tokens.ts';

/** An entity of the snapshot; `i` is its position in `Snapshot.entities`. */
export interface SnapEntity extends StoredEntity {
  i: number;
  blobSha: string;
  idx: number;
  parentIdx: number;
  startByte: number;
  endByte: number;
}

/** Searchable text fields, strongest first. */
export const FIELDS = ['name', 'qualifiedName', 'signature', 'doc'] as const;
export type Field = (typeof FIELDS)[number];

export interface TextIndex {
  /** token -> entity * FIELDS.length + field, ascending. */
  postings: Map<string, number[]>;
  /** Every token, sorted (prefix lookups by binary search); `postings` also holds the names'
   * joined runs (`joinedRuns`), which only a whole query word reaches. */
  vocabulary: string[];
  /** Tokens of each entity's name, in order. */
  nameTokens: string[][];
}

export interface FuzzyIndex {
  /** Distinct lower-cased names. */
  names: string[];
  /** Entities per distinct name. */
  entitiesOf: number[][];
  /** trigram -> positions in `names`. */
  postings: Map<string, number[]>;
}

export interface SnapGraph {
  calls: Digraph;
  inherits: Digraph;
  contains: Digraph;
  /** Between module entities (one per file). */
  imports: Digraph;
  /** Call-graph PageRank per entity. */
  rank: Float64Array;
}

export interface Embeddings {
  /** Row of each entity's body in `matrix`, -1 for none. */
  byEntity: Int32Array;
  /** Entities (positions) of each row, in position order. */
  entitiesOfRow: number[][];
  /** `rows` x `dims`, L2-normalised. */
  matrix: Float32Array;
  dims: number;
  rows: number;
}

export interface AnnIndex {
  rows: number;
  /** The `k` nearest rows to `q`, best first (approximate). */
  search(q: Float32Array, k: number): number[];
}

export class Snapshot {
  private text: TextIndex | null = null;
  private fuzzy: FuzzyIndex | null = null;
  private vectors: Promise<Embeddings> | null = null;
  private readonly otherVectors = new Map<string, Promise<Embeddings>>();
  private annIndex: AnnIndex | null = null;
  private annSource: string | null = null;
  private graphP: Promise<SnapGraph> | null = null;
  /** Per path: entity idx -> position (holes: none). */
  private readonly posOf = new Map<string, number[]>();
  private lowerNames: Map<string, number[]> | null = null;
  private tests: Uint8Array | null = null;
  private readonly byQn = new Map<string, number>();

  private constructor(private readonly q: Queryable, private readonly chain: Chain, readonly entities: SnapEntity[]) {
    for (const e of entities) {
      let pos = this.posOf.get(e.path);
      if (!pos) this.posOf.set(e.path, (pos = []));
      pos[e.idx] = e.i;
      // The first entity of a qualified name names it, a value before a type-space entity of the
      // same name (whose id is `<qualifiedName>#<kind>`), as Resolver.find does.
      const had = this.byQn.get(e.qualifiedName);
      if (e.kind !== 'import' && (had === undefined || (isTypeSpaceKind(entities[had]!.kind) && !isTypeSpaceKind(e.kind)))) this.byQn.set(e.qualifiedName, e.i);
    }
  }

  /** A snapshot over entities and a graph the hot store (store/hot) already holds: nothing is read
   * from the database but body embeddings (VECTOR, HYBRID). `tokensOf`: `fieldTokens` memoized by
   * the holder (per unchanged file across tips), so a ref move does not tokenize the whole tree. */
  static fromParts(q: Queryable, chain: Chain, entities: SnapEntity[], graph: SnapGraph, tokensOf?: (e: SnapEntity) => string[][]): Snapshot {
    const s = new Snapshot(q, chain, entities);
    s.graphP = Promise.resolve(graph);
    if (tokensOf) s.tokensOf = tokensOf;
    return s;
  }

  private tokensOf: (e: SnapEntity) => string[][] = (e) => Snapshot.fieldTokens(e);

  /** `fieldTokens` of the entity at position `i` (memoized when the holder memoizes them). */
  tokens(i: number): string[][] {
    return this.tokensOf(this.entities[i]!);
  }

  static async load(q: Queryable, chain: Chain): Promise<Snapshot> {
    const { rows } = await q.query<{
      path: string; language: string; blob_sha: string; idx: number; parent_idx: number; kind: EntityKind; name: string; qname: string;
      start_line: number; end_line: number; start_byte: number; end_byte: number; signature: string | null; doc: string | null;
      exported: boolean; body_hash: string;
    }>(
      `SELECT p.path, t.language, t.blob_sha, e.idx, e.parent_idx, e.kind, e.name, e.qname, e.start_line, e.end_line, e.start_byte,
              e.end_byte, e.signature, e.doc, e.exported, encode(e.body_hash, 'hex') AS body_hash
       FROM (${treeSql()}) t JOIN paths p ON p.id = t.path_id JOIN entities e ON e.extraction_id = t.extraction_id
       WHERE t.blob_sha IS NOT NULL ORDER BY p.path, e.start_line, e.idx`, chainParams(chain));
    const entities = rows.map((r, i): SnapEntity => ({
      i, kind: r.kind, name: r.name, qualifiedName: qualify(r.path, r.qname), path: r.path, startLine: r.start_line, endLine: r.end_line,
      signature: r.signature, doc: r.doc, exported: r.exported, bodyHash: r.body_hash, language: r.language, localName: r.qname,
      blobSha: r.blob_sha, idx: r.idx, parentIdx: r.parent_idx, startByte: r.start_byte, endByte: r.end_byte,
    }));
    return new Snapshot(q, chain, entities);
  }

  /** The entity of a qualified name (`path::Local.name`, or a path for the module). */
  /** The entity a qualified name or an entity id (store/types.ts entityId) names. */
  find(id: string): SnapEntity | undefined {
    const { qualifiedName, kind } = parseEntityId(id);
    if (kind !== null) return this.entities.find((e) => e.qualifiedName === qualifiedName && e.kind === kind);
    const i = this.byQn.get(qualifiedName);
    return i === undefined ? undefined : this.entities[i];
  }

  at(path: string, idx: number): SnapEntity | undefined {
    const i = this.posOf.get(path)?.[idx];
    return i === undefined ? undefined : this.entities[i];
  }

  private groups: { of: Int32Array; members: Map<number, number[]> } | null = null;

  /** Per entity position: 1 when its file is test code (`isTestPath`), for search's demotion of
   * tests below the code they test. */
  testMask(): Uint8Array {
    if (this.tests) return this.tests;
    const mask = new Uint8Array(this.entities.length);
    const byPath = new Map<string, boolean>();
    for (const e of this.entities) {
      let t = byPath.get(e.path);
      if (t === undefined) byPath.set(e.path, (t = isTestPath(e.path)));
      if (t) mask[e.i] = 1;
    }
    this.tests = mask;
    return mask;
  }

  /**
   * Entities that share a file, qualified name and kind (inline callbacks repeated in a test
   * file, a C++ declaration and its definition) have one id (store/types.ts entityId) and answer
   * callers/callees as one:
   * `of[i]` is the first of i's group (itself when alone), `members` the positions of each group
   * of more than one, in entity order.
   */
  sameName(): { of: Int32Array; members: Map<number, number[]> } {
    if (this.groups) return this.groups;
    const of = new Int32Array(this.entities.length);
    const first = new Map<string, number>();
    const members = new Map<number, number[]>();
    for (const e of this.entities) {
      const key = `${e.kind}\0${e.qualifiedName}`;
      const g = first.get(key);
      if (g === undefined) {
        first.set(key, e.i);
        of[e.i] = e.i;
        continue;
      }
      of[e.i] = g;
      const list = members.get(g);
      if (list) list.push(e.i);
      else members.set(g, [g, e.i]);
    }
    this.groups = { of, members };
    return this.groups;
  }

  /** Entities by lower-cased name (names not empty), in entity order (HYBRID's exact-name list). */
  byLowerName(): Map<string, number[]> {
    if (this.lowerNames) return this.lowerNames;
    const m = new Map<string, number[]>();
    for (const e of this.entities) {
      if (e.name === '') continue;
      const k = e.name.toLowerCase();
      const list = m.get(k);
      if (list) list.push(e.i);
      else m.set(k, [e.i]);
    }
    this.lowerNames = m;
    return m;
  }

  /** The tokens of each field of an entity. */
  static fieldTokens(e: SnapEntity): string[][] {
    const name = words(e.name);
    const nameSet = new Set(name);
    return [name, words(e.qualifiedName).filter((t) => !nameSet.has(t)), words(e.signature ?? ''), words(e.doc ?? '')];
  }

  textIndex(): TextIndex {
    if (this.text) return this.text;
    const postings = new Map<string, number[]>();
    const nameTokens: string[][] = [];
    const post = (t: string, v: number): void => {
      const list = postings.get(t);
      if (list) list.push(v);
      else postings.set(t, [v]);
    };
    for (const e of this.entities) {
      const fields = this.tokensOf(e);
      nameTokens.push(fields[0]!);
      fields.forEach((tokens, f) => {
        for (const t of tokens) post(t, e.i * FIELDS.length + f);
      });
    }
    // Taken before the joined runs go in: a query word reaches a run written whole, never as a
    // prefix of one (`parse` would list `parsehttp` among its reasons).
    const vocabulary = [...postings.keys()].sort();
    const mixed = new Set<string>();
    for (let k = 0; k < nameTokens.length; k++) {
      const v = k * FIELDS.length;
      for (const t of joinedRuns(nameTokens[k]!)) {
        const list = postings.get(t);
        if (list && list[list.length - 1]! > v) mixed.add(t);
        post(t, v);
      }
    }
    for (const t of mixed) postings.get(t)!.sort((a, b) => a - b); // kept ascending
    this.text = { postings, vocabulary, nameTokens };
    return this.text;
  }

  fuzzyIndex(): FuzzyIndex {
    if (this.fuzzy) return this.fuzzy;
    const pos = new Map<string, number>();
    const names: string[] = [];
    const entitiesOf: number[][] = [];
    for (const e of this.entities) {
      if (e.kind === 'module' || e.kind === 'import') continue;
      const lower = e.name.toLowerCase();
      let p = pos.get(lower);
      if (p === undefined) {
        pos.set(lower, (p = names.length));
        names.push(lower);
        entitiesOf.push([]);
      }
      entitiesOf[p]!.push(e.i);
    }
    const postings = new Map<string, number[]>();
    names.forEach((n, p) => {
      for (const g of trigrams(n)) {
        const list = postings.get(g);
        if (list) list.push(p);
        else postings.set(g, [p]);
      }
    });
    this.fuzzy = { names, entitiesOf, postings };
    return this.fuzzy;
  }

  /** Body embeddings of the entities (`byEntity[i]` = row in `matrix`, -1 for none): the built-in
   * vectors (`bodies`), or with `source` another provider's (store/reembed.ts). */
  embeddings(source?: VectorSource): Promise<Embeddings> {
    if (source) {
      let hit = this.otherVectors.get(source.id);
      if (!hit) {
        hit = this.loadEmbeddings(source).catch((err: unknown) => {
          this.otherVectors.delete(source.id);
          throw err;
        });
        this.otherVectors.set(source.id, hit);
      }
      return hit;
    }
    this.vectors ??= this.loadEmbeddings().catch((err: unknown) => {
      this.vectors = null;
      throw err;
    });
    return this.vectors;
  }

  /** An HNSW index (usearch, cosine) over the body rows, built on first use. */
  async ann(source?: VectorSource): Promise<AnnIndex> {
    if (this.annIndex && this.annSource === (source?.id ?? null)) return this.annIndex;
    const { matrix, dims, rows } = await this.embeddings(source);
    this.annSource = source?.id ?? null;
    const index = new usearch.Index({ dimensions: Math.max(dims, 1), metric: usearch.MetricKind.Cos, quantization: usearch.ScalarKind.F32, connectivity: 16, expansion_add: 128, expansion_search: 256, multi: false });
    if (rows > 0) index.add(BigUint64Array.from({ length: rows }, (_, k) => BigInt(k)), matrix);
    this.annIndex = {
      rows,
      search: (q, k) => (rows === 0 ? [] : Array.from(index.search(q, Math.min(k, rows), 0).keys, Number)),
    };
    return this.annIndex;
  }

  private async loadEmbeddings(source?: VectorSource): Promise<Embeddings> {
    const hashes = [...new Set(this.entities.filter((e) => e.kind !== 'module' && e.kind !== 'import').map((e) => e.bodyHash))];
    const rows = [...(await (source ? source.read(this.q, hashes) : readBodyVectors(this.q, hashes)))].map(([body_hash, v]) => ({ body_hash, v }));
    const row = new Map<string, number>();
    const vecs = rows.map((r, k) => {
      row.set(r.body_hash, k);
      return r.v;
    });
    const dims = vecs[0]?.length ?? 0;
    const matrix = new Float32Array(vecs.length * dims);
    vecs.forEach((v, k) => matrix.set(v, k * dims));
    const byEntity = new Int32Array(this.entities.length).fill(-1);
    const entitiesOfRow: number[][] = vecs.map(() => []);
    for (const e of this.entities) {
      if (e.kind === 'module' || e.kind === 'import') continue;
      const r = row.get(e.bodyHash) ?? -1;
      byEntity[e.i] = r;
      if (r >= 0) entitiesOfRow[r]!.push(e.i);
    }
    return { byEntity, entitiesOfRow, matrix, dims, rows: vecs.length };
  }

  /** The resolved graph of the tree (calls, inheritance, containment, imports) and PageRank. */
  graph(): Promise<SnapGraph> {
    this.graphP ??= this.loadGraph().catch((err: unknown) => {
      this.graphP = null;
      throw err;
    });
    return this.graphP;
  }

  private async loadGraph(): Promise<SnapGraph> {
    const resolved = await resolveTree(this.q, this.chain);
    const n = this.entities.length;
    const pairs = (list: Array<{ from: { path: string; idx: number }; to: { path: string; idx: number } }>): number[] => {
      const out: number[] = [];
      for (const e of list) {
        const a = this.at(e.from.path, e.from.idx);
        const b = this.at(e.to.path, e.to.idx);
        if (a && b) out.push(a.i, b.i);
      }
      return out;
    };
    const contains: number[] = [];
    for (const e of this.entities) {
      if (e.parentIdx < 0 || e.parentIdx === e.idx) continue;
      const p = this.at(e.path, e.parentIdx);
      if (p) contains.push(p.i, e.i);
    }
    const moduleOf = new Map(this.entities.filter((e) => e.kind === 'module').map((e) => [e.path, e.i]));
    const imports: number[] = [];
    for (const e of resolved.imports) {
      const a = moduleOf.get(e.from);
      const b = moduleOf.get(e.to);
      if (a !== undefined && b !== undefined) imports.push(a, b);
    }
    const calls = new Digraph(n, pairs(resolved.calls));
    return { calls, inherits: new Digraph(n, pairs(resolved.inherits)), contains: new Digraph(n, contains), imports: new Digraph(n, imports), rank: pageRank(calls) };
  }
}
