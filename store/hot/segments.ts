// The hot store's units of storage. A file segment holds what depends on one file's content only
// (its entities, import specifiers, and the references other files' call resolution reads: imports,
// type facts, base types); an edge segment holds one file's resolved outgoing edges at one tree and
// what their resolution read (store/graph.ts ResolveTrace).
// Both are content-addressed, so tips that share files share segments (on disk and in memory).
import { createHash } from 'node:crypto';
import type { EntityKind } from '../../indexer/types.ts';
import { chainParams, touchedBetween, treeSql, type Chain } from '../chain.ts';
import type { Queryable } from '../db.ts';
import { callOrder, type FileEdges, type RefRow, type Via } from '../graph.ts';

/** One file of a tree, as the tree listing names it. */
export interface Listed {
  path: string;
  extractionId: number;
  blobSha: string;
  language: string;
  extractorVersion: number;
}

/** An entity row: [idx, parentIdx, kind, name, qname, startLine, endLine, startByte, endByte,
 * signature, doc, exported, bodyHash], sorted by (startLine, idx) as the snapshot orders them. */
export type EntityRow = [number, number, EntityKind, string, string, number, number, number, number, string | null, string | null, boolean, string];

export interface FileSeg {
  key: string;
  path: string;
  extractionId: number;
  blobSha: string;
  language: string;
  extractorVersion: number;
  entities: EntityRow[];
  /** Import specifiers (modules) of the file, distinct, for import edges. */
  specs: string[];
  /** The references call resolution reads besides calls, in the extraction's order: imports
   * [name, module, alias], type facts [name, qualifier, fromIdx], base types [kind, name, fromIdx, line]. */
  refs: { imports: Array<[string, string | null, string | null]>; types: Array<[string, string | null, number]>; bases: Array<[string, string, number, number]> };
  /** Hash of the file's (owner class, base name) pairs: the tree's base-type map. */
  basesKey: string;
}

/** A resolved call: [k (position among the file's calls), fromIdx, line, name, via, toPath, toIdx]. */
export type CallRow = [number, number, number, string, Via, string, number];
/** A resolved `extends`: [fromIdx, line, toPath, toIdx]. */
export type InheritRow = [number, number, string, number];

export interface OutSeg {
  key: string;
  calls: CallRow[];
  inherits: InheritRow[];
  /** ResolveTrace: dependency keys and `fromPath\0module` import specifiers, sorted. */
  trace: { keys: string[]; specs: string[] };
}

const sha1 = (s: string): string => createHash('sha1').update(s).digest('hex');

/** `basesKey` of a file without base types. */
export const NO_BASES = sha1('[]');

export function fileKeyOf(l: Listed): string {
  return sha1(JSON.stringify([l.path, l.extractionId, l.blobSha, l.extractorVersion, l.language]));
}

/** Every parsed file of the tree at `chain`. */
export async function listTree(q: Queryable, chain: Chain): Promise<Listed[]> {
  const { rows } = await q.query<{ path: string; extraction_id: number; blob_sha: string; language: string; extractor_version: number }>(
    `SELECT p.path, t.extraction_id, t.blob_sha, t.language, x.extractor_version
     FROM (${treeSql()}) t JOIN paths p ON p.id = t.path_id JOIN extractions x ON x.id = t.extraction_id
     WHERE t.extraction_id IS NOT NULL AND t.blob_sha IS NOT NULL`, chainParams(chain));
  return rows.map((r) => ({ path: r.path, extractionId: r.extraction_id, blobSha: r.blob_sha, language: r.language, extractorVersion: r.extractor_version }));
}

/**
 * The tree at `chain` from a tree held at `from` (its listing `held`): only the paths the deltas
 * between the two chains touch are read (`touchedBetween`), so a 1-file move reads one row, not
 * the tree. Same rows as `listTree`, in no particular order.
 */
export async function listFrom(q: Queryable, from: Chain, held: Listed[], chain: Chain): Promise<Listed[]> {
  const ids = await touchedBetween(q, from, chain);
  const out = new Map(held.map((l) => [l.path, l]));
  if (ids.length === 0) return [...out.values()];
  const { rows } = await q.query<{ path: string; extraction_id: number | null; blob_sha: string | null; language: string | null; extractor_version: number | null }>(
    `SELECT p.path, t.extraction_id, t.blob_sha, t.language, x.extractor_version
     FROM paths p LEFT JOIN (${treeSql('d.path_id = ANY($3::int[])')}) t ON t.path_id = p.id LEFT JOIN extractions x ON x.id = t.extraction_id
     WHERE p.id = ANY($3::int[])`, [...chainParams(chain), ids]);
  for (const r of rows) {
    if (r.extraction_id === null || r.blob_sha === null || r.language === null || r.extractor_version === null) out.delete(r.path);
    else out.set(r.path, { path: r.path, extractionId: r.extraction_id, blobSha: r.blob_sha, language: r.language, extractorVersion: r.extractor_version });
  }
  return [...out.values()];
}

/** Paths sorted as the database sorts them (its collation), so entity order equals the order the
 * history store's snapshot reads (`ORDER BY p.path`), and so do rank ties. */
export async function sortPaths(q: Queryable, paths: string[]): Promise<string[]> {
  const { rows } = await q.query<{ p: string }>('SELECT p FROM unnest($1::text[]) AS u(p) ORDER BY 1', [paths]);
  return rows.map((r) => r.p);
}

const CLASS_LIKE = new Set(['class', 'struct', 'interface', 'trait', 'enum']);

/** The file segments of `files`, read from the history store in three statements. */
export async function loadFileSegs(q: Queryable, files: Listed[]): Promise<FileSeg[]> {
  if (files.length === 0) return [];
  const xids = [...new Set(files.map((f) => f.extractionId))];
  const [{ rows: ents }, { rows: refs }] = await Promise.all([
    q.query<{
      extraction_id: number; idx: number; parent_idx: number; kind: EntityKind; name: string; qname: string; start_line: number; end_line: number;
      start_byte: number; end_byte: number; signature: string | null; doc: string | null; exported: boolean; body_hash: string;
    }>(
      `SELECT extraction_id, idx, parent_idx, kind, name, qname, start_line, end_line, start_byte, end_byte, signature, doc, exported, encode(body_hash, 'hex') AS body_hash
       FROM entities WHERE extraction_id = ANY($1::int[])`, [xids]),
    q.query<{ extraction_id: number; kind: string; name: string; qualifier: string | null; from_idx: number; line: number; module: string | null; alias: string | null; ord: number }>(
      `SELECT r.extraction_id, u.kind, u.name, u.qualifier, u.from_idx, u.line, u.module, u.alias, u.ord
       FROM extraction_refs r, unnest(r.kind, r.name, r.qualifier, r.from_idx, r.line, r.module, r.alias) WITH ORDINALITY AS u(kind, name, qualifier, from_idx, line, module, alias, ord)
       WHERE r.extraction_id = ANY($1::int[]) AND u.kind IN ('import', 'extends', 'implements', 'embeds', 'type')`, [xids]),
  ]);
  const entsOf = new Map<number, EntityRow[]>();
  for (const r of ents) {
    let list = entsOf.get(r.extraction_id);
    if (!list) entsOf.set(r.extraction_id, (list = []));
    list.push([r.idx, r.parent_idx, r.kind, r.name, r.qname, r.start_line, r.end_line, r.start_byte, r.end_byte, r.signature, r.doc, r.exported, r.body_hash]);
  }
  const refsOf = new Map<number, typeof refs>();
  for (const r of refs) {
    let list = refsOf.get(r.extraction_id);
    if (!list) refsOf.set(r.extraction_id, (list = []));
    list.push(r);
  }
  return files.map((f) => {
    const entities = [...(entsOf.get(f.extractionId) ?? [])].sort((a, b) => a[5] - b[5] || a[0] - b[0]);
    const fileRefs = [...(refsOf.get(f.extractionId) ?? [])].sort((a, b) => a.ord - b.ord);
    const byIdx = new Map(entities.map((e) => [e[0], e]));
    const imports = fileRefs.filter((r) => r.kind === 'import').map((r): [string, string | null, string | null] => [r.name, r.module, r.alias]);
    const bases = fileRefs.filter((r) => r.kind !== 'import' && r.kind !== 'type').map((r): [string, string, number, number] => [r.kind, r.name, r.from_idx, r.line]);
    // Type facts (return, field, variable types): other files' receiver types are evaluated over them.
    const types = fileRefs.filter((r) => r.kind === 'type').map((r): [string, string | null, number] => [r.name, r.qualifier, r.from_idx]);
    const pairs = bases.flatMap((r) => {
      const owner = byIdx.get(r[2]);
      return owner && CLASS_LIKE.has(owner[2]) ? [`${owner[3]}\0${r[1]}`] : [];
    });
    return {
      key: fileKeyOf(f), path: f.path, extractionId: f.extractionId, blobSha: f.blobSha, language: f.language, extractorVersion: f.extractorVersion,
      entities,
      specs: [...new Set(fileRefs.filter((r) => r.kind === 'import' && r.module !== null).map((r) => r.module!))],
      refs: { imports, types, bases },
      basesKey: sha1(JSON.stringify([...new Set(pairs)].sort())),
    };
  });
}

/** The edge segment of one file from its resolution (Resolver.resolveFile). */
export function outSegOf(e: FileEdges): OutSeg {
  const calls: CallRow[] = [];
  for (const c of e.calls) for (const t of c.to) calls.push([c.k, c.fromIdx, c.line, c.name, c.via, t.path, t.idx]);
  const inherits: InheritRow[] = [];
  for (const h of e.inherits) for (const t of h.to) inherits.push([h.fromIdx, h.line, t.path, t.idx]);
  const trace = { keys: [...e.trace.keys].sort(), specs: [...e.trace.specs].sort() };
  const body = { calls, inherits, trace };
  return { key: sha1(JSON.stringify(body)), ...body };
}

/** The calls of extractions `xids` (one statement), each in the resolver's call order (callOrder). */
export async function loadCalls(q: Queryable, xids: number[]): Promise<Map<number, RefRow[]>> {
  const out = new Map<number, RefRow[]>(xids.map((x) => [x, []]));
  if (xids.length === 0) return out;
  const { rows } = await q.query<RefRow & { extraction_id: number; ord: number }>(
    `SELECT r.extraction_id, u.kind, u.name, u.qualifier, u.line, u.from_idx, u.module, u.alias, u.binding, u.args, u.ord
     FROM extraction_refs r, unnest(r.kind, r.name, r.qualifier, r.line, r.from_idx, r.module, r.alias, r.binding, r.args)
       WITH ORDINALITY AS u(kind, name, qualifier, line, from_idx, module, alias, binding, args, ord)
     WHERE r.extraction_id = ANY($1::int[]) AND u.kind = 'call'`, [xids]);
  rows.sort((a, b) => a.extraction_id - b.extraction_id || a.ord - b.ord);
  for (const r of rows) {
    out.get(r.extraction_id)!.push({ kind: r.kind, name: r.name, qualifier: r.qualifier, line: r.line, from_idx: r.from_idx, module: r.module, alias: r.alias, binding: r.binding, args: r.args });
  }
  for (const list of out.values()) list.sort(callOrder);
  return out;
}
