// Entity-level diff between two stored trees (internal to store/; the facade is store/index.ts).
//
// Cost: paths touched by the deltas between the two commits (chains.touchedBetween), one version
// lookup per such path on each side, then the entities of the CHANGED paths only. Unchanged files
// are never reparsed or rescanned.
import { qualify } from '../indexer/types.ts';
import { pathNames, versionsAt, touchedBetween, type Chain, type Version } from './chain.ts';
import type { Queryable } from './db.ts';
import { cosine, readBodyVectors } from './embed.ts';
import { matchExact, matchSimilar, sortResult, type MatchEntity, type MatchResult } from './match.ts';
import type { EntityDiff, EntityRef } from './types.ts';

/** Kinds a diff reports: modules are files (diff-tree already says that) and imports are lines. */
export const DIFF_EXCLUDED_KINDS = ['module', 'import'];

export interface DiffEntity extends MatchEntity {
  pathId: number;
}

export interface EntityRow {
  extraction_id: number;
  kind: string;
  name: string;
  qname: string;
  start_line: number;
  end_line: number;
  body_hash: string;
  signature: string | null;
  bytes: number;
  exported: boolean;
  /** md5 of the doc comment; read only when the diff compares docs. */
  doc_hash?: string | null;
}

/** Matches the entities of two versions of a set of paths (null = absent on that side). */
/** What the writer already holds in memory (store/write.ts WriteCache), so storing a commit need not
 * read it back: entity rows per extraction (DIFF_EXCLUDED_KINDS left out) and path names. */
export interface DiffSources {
  entities(extractionId: number): EntityRow[] | undefined;
  /** True when the extraction is known to be at the current EXTRACTOR_VERSION (no lookup needed). */
  isCurrent?(extractionId: number): boolean;
  remember(extractionId: number, rows: EntityRow[]): void;
  pathName(pathId: number): string | undefined;
}

export async function diffVersions(
  q: Queryable, before: Map<number, Version | null>, after: Map<number, Version | null>, sources?: DiffSources, docs = false,
): Promise<MatchResult<DiffEntity>> {
  const changed: number[] = [];
  for (const pathId of new Set([...before.keys(), ...after.keys()])) {
    const b = before.get(pathId) ?? null;
    const a = after.get(pathId) ?? null;
    if (b?.blobSha !== a?.blobSha || b?.extractionId !== a?.extractionId) changed.push(pathId);
  }
  const sameRules = await alignVersions(q, changed, before, after, sources);
  const extractionOf = (versions: Map<number, Version | null>, pathId: number): number | null | undefined => {
    const x = versions.get(pathId)?.extractionId;
    return x == null ? x : sameRules.get(x) ?? x;
  };
  const xids = new Set<number>();
  for (const p of changed) {
    const b = extractionOf(before, p);
    const a = extractionOf(after, p);
    if (b != null) xids.add(b);
    if (a != null) xids.add(a);
  }
  const byExtraction = new Map<number, EntityRow[]>();
  const unknown: number[] = [];
  for (const x of xids) {
    // Cached rows carry no doc digest: a diff that compares docs reads its rows.
    const known = docs ? undefined : sources?.entities(x);
    if (known) byExtraction.set(x, known);
    else unknown.push(x);
  }
  if (unknown.length > 0) {
    const { rows } = await q.query<EntityRow>(
      `SELECT extraction_id, kind, name, qname, start_line, end_line, encode(body_hash, 'hex') AS body_hash, signature, end_byte - start_byte AS bytes, exported${docs ? ', md5(doc) AS doc_hash' : ''} FROM entities
       WHERE extraction_id = ANY($1::int[]) AND kind <> ALL($2::text[])`,
      [unknown, DIFF_EXCLUDED_KINDS],
    );
    for (const x of unknown) byExtraction.set(x, []);
    for (const r of rows) byExtraction.get(r.extraction_id)!.push(r);
    if (sources && !docs) for (const x of unknown) sources.remember(x, byExtraction.get(x)!);
  }
  const names = new Map<number, string>();
  const unnamed: number[] = [];
  for (const p of changed) {
    const n = sources?.pathName(p);
    if (n === undefined) unnamed.push(p);
    else names.set(p, n);
  }
  for (const [id, n] of await pathNames(q, unnamed)) names.set(id, n);
  const side = (versions: Map<number, Version | null>): DiffEntity[] => changed.flatMap((pathId) => {
    const x = extractionOf(versions, pathId);
    if (x == null) return [];
    const path = names.get(pathId)!;
    return (byExtraction.get(x) ?? []).map((r) => ({
      pathId, path, kind: r.kind, name: r.name, qname: r.qname, startLine: r.start_line, endLine: r.end_line,
      bodyHash: r.body_hash, signature: r.signature, bytes: r.bytes, exported: r.exported, docHash: r.doc_hash ?? null,
    }));
  });
  const existsBefore = new Set(changed.filter((p) => before.get(p) != null).map((p) => names.get(p)!));
  const existsAfter = new Set(changed.filter((p) => after.get(p) != null).map((p) => names.get(p)!));
  const res = matchExact(side(before), side(after), {
    existsBefore: (p) => existsBefore.has(p), existsAfter: (p) => existsAfter.has(p), docs,
  });

  // Rule 4 needs embeddings; load them only for leftovers that share a file and a kind.
  const removedKeys = new Set(res.removed.map((e) => `${e.path}\0${e.kind}`));
  const candidates = res.added.filter((e) => removedKeys.has(`${e.path}\0${e.kind}`));
  if (candidates.length > 0) {
    const addedKeys = new Set(candidates.map((e) => `${e.path}\0${e.kind}`));
    const hashes = new Set([...candidates, ...res.removed.filter((e) => addedKeys.has(`${e.path}\0${e.kind}`))].map((e) => e.bodyHash));
    const vec = await readBodyVectors(q, [...hashes]);
    matchSimilar(res, (a, b) => {
      const va = vec.get(a.bodyHash);
      const vb = vec.get(b.bodyHash);
      return va && vb ? cosine(va, vb) : null;
    });
  }
  return sortResult(res);
}

/**
 * A store outlives upgrades: a path's two sides may have been extracted by different extractor
 * versions (EXTRACTOR_VERSION), whose rules differ (version 12 made CommonJS `require` bindings
 * imports, no longer variables). Compared as they are, every rule change would read as an edit of
 * the code (a commit that added a comment to express's lib/response.js "removed" 17 variables).
 * Returns, for each older-side extraction, the extraction of the same blob by the newer side's
 * version when the store holds one (the indexer writes it when it stores such a commit,
 * daemon/history.ts `staleBlobs`); without one the sides are compared as stored.
 */
async function alignVersions(
  q: Queryable, changed: number[], before: Map<number, Version | null>, after: Map<number, Version | null>, sources?: DiffSources,
): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  const pairs: Array<[number, number]> = [];
  for (const p of changed) {
    const b = before.get(p)?.extractionId;
    const a = after.get(p)?.extractionId;
    if (b == null || a == null || b === a) continue;
    if (sources?.isCurrent?.(b) === true && sources.isCurrent(a)) continue;
    pairs.push([b, a]);
  }
  if (pairs.length === 0) return out;
  // One statement: the two sides' versions, and the older side's blob by the newer side's version.
  const found = await q.query<{ old: number; id: number }>(
    `SELECT o.id AS old, n.id FROM unnest($1::int[], $2::int[]) AS t(b, a)
       JOIN extractions xb ON xb.id = t.b JOIN extractions xa ON xa.id = t.a
       JOIN extractions o ON o.id = CASE WHEN xb.extractor_version < xa.extractor_version THEN t.b ELSE t.a END
       JOIN extractions n ON n.blob_sha = o.blob_sha AND n.language = o.language
                         AND n.extractor_version = GREATEST(xb.extractor_version, xa.extractor_version)
     WHERE xb.extractor_version <> xa.extractor_version`,
    [pairs.map((p) => p[0]), pairs.map((p) => p[1])]);
  for (const r of found.rows) out.set(r.old, r.id);
  return out;
}

function toRef(e: MatchEntity): EntityRef {
  return {
    kind: e.kind as EntityRef['kind'], name: e.name, qualifiedName: qualify(e.path, e.qname), path: e.path,
    startLine: e.startLine, endLine: e.endLine,
  };
}

/** Entity diff between any two stored commits (not only parent and child). */
export async function diffChains(q: Queryable, from: { sha: string; chain: Chain }, to: { sha: string; chain: Chain }): Promise<EntityDiff> {
  const touched = await touchedBetween(q, from.chain, to.chain);
  const [va, vb] = [await versionsAt(q, from.chain, touched), await versionsAt(q, to.chain, touched)];
  const before = new Map<number, Version | null>(touched.map((p) => [p, va.get(p) ?? null]));
  const after = new Map<number, Version | null>(touched.map((p) => [p, vb.get(p) ?? null]));
  const res = await diffVersions(q, before, after, undefined, true);
  return {
    from: from.sha,
    to: to.sha,
    added: res.added.map(toRef),
    removed: res.removed.map(toRef),
    modified: res.modified.map((m) => ({
      before: toRef(m.before), after: toRef(m.after), signatureChanged: m.signatureChanged, visibilityChanged: m.visibilityChanged,
      bodyChanged: m.bodyChanged, docChanged: m.docChanged,
    })),
    renamed: res.renamed.map((m) => ({ before: toRef(m.before), after: toRef(m.after) })),
    moved: res.moved.map((m) => ({ before: toRef(m.before), after: toRef(m.after) })),
  };
}
