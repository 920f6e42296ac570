// The hot store's units of storage. A file segment holds what depends on one file's content only
// (its entities, import specifiers, and the "shape" other files' call resolution can see); an edge
// segment holds one file's resolved outgoing edges at one tree and what their resolution read.
// Both are content-addressed, so tips that share files share segments (on disk and in memory).
import { createHash } from 'node:crypto';
import type { EntityKind } from '../../indexer/types.ts';
import { chainParams, treeSql, type Chain } from '../chain.ts';
import type { Queryable } from '../db.ts';
import type { FileEdges, Via } from '../graph.ts';

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
  /** Hash of what other files' call resolution can read of this file: language, entities
   * (without lines), import references, base-type references, type facts. */
  shape: string;
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
  trace: { names: string[]; paths: string[]; pathSet: boolean; bases: boolean };
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
      `SELECT extraction_id, idx, parent_idx, kind, name, qname, start_line, end_line, start_byte, end_byte, signature, doc, exported, body_hash
       FROM entities WHERE extraction_id = ANY($1::int[])`, [xids]),
    q.query<{ extraction_id: number; kind: string; name: string; qualifier: string | null; from_idx: number; module: string | null; alias: string | null; ord: number }>(
      `SELECT r.extraction_id, u.kind, u.name, u.qualifier, u.from_idx, u.module, u.alias, u.ord
       FROM extraction_refs r, unnest(r.kind, r.name, r.qualifier, r.from_idx, r.module, r.alias) WITH ORDINALITY AS u(kind, name, qualifier, from_idx, module, alias, ord)
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
    const imports = fileRefs.filter((r) => r.kind === 'import').map((r) => [r.name, r.module, r.alias]);
    const baseRefs = fileRefs.filter((r) => r.kind !== 'import' && r.kind !== 'type').map((r) => [r.kind, r.name, r.from_idx]);
    // Type facts (return, field, variable types): other files' receiver types are evaluated over them.
    const types = fileRefs.filter((r) => r.kind === 'type').map((r) => [r.name, r.qualifier, r.from_idx]);
    const pairs = fileRefs.filter((r) => r.kind !== 'import' && r.kind !== 'type').flatMap((r) => {
      const owner = byIdx.get(r.from_idx);
      return owner && CLASS_LIKE.has(owner[2]) ? [`${owner[3]}\0${r.name}`] : [];
    });
    const shapeEntities = [...entities].sort((a, b) => a[0] - b[0]).map((e) => [e[0], e[1], e[2], e[3], e[4]]);
    return {
      key: fileKeyOf(f), path: f.path, extractionId: f.extractionId, blobSha: f.blobSha, language: f.language, extractorVersion: f.extractorVersion,
      entities,
      specs: [...new Set(fileRefs.filter((r) => r.kind === 'import' && r.module !== null).map((r) => r.module!))],
      shape: sha1(JSON.stringify([f.language, shapeEntities, imports, baseRefs, types])),
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
  const trace = { names: [...e.trace.names].sort(), paths: [...e.trace.paths].sort(), pathSet: e.trace.pathSet, bases: e.trace.bases };
  const body = { calls, inherits, trace };
  return { key: sha1(JSON.stringify(body)), ...body };
}
