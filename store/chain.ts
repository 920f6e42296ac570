// First-parent chains and "the version of a path at a commit" (internal to store/).
//
// A commit's file delta is stored against its first parent (`base_id`); a base commit (root, or
// first parent outside the indexed window) stores its whole tree. The tree at C is, per path, the
// deepest delta row on C's chain C -> base_id -> ... -> base. A chain never changes once stored,
// so chains are cached.
import type { Queryable } from './db.ts';

export interface Chain {
  /** Commit ids from the commit itself down to its base. */
  ids: number[];
  /** `commits.depth` of each id (strictly decreasing, the base has 0). */
  depths: number[];
}

export interface Version {
  pathId: number;
  /** null: the path was deleted. */
  blobSha: string | null;
  language: string | null;
  extractionId: number | null;
  skipReason: string | null;
  skipDetail: string | null;
}

const CACHE_LIMIT = 256;

export class ChainCache {
  private readonly cache = new Map<number, Chain>();

  async get(q: Queryable, commitId: number): Promise<Chain> {
    const hit = this.cache.get(commitId);
    if (hit) return hit;
    const { rows } = await q.query<{ id: number; base_id: number | null; depth: number }>(
      `WITH RECURSIVE ch(id, base_id, depth) AS (
         SELECT id, base_id, depth FROM commits WHERE id = $1
         UNION ALL
         SELECT c.id, c.base_id, c.depth FROM commits c JOIN ch ON c.id = ch.base_id)
       SELECT id, base_id, depth FROM ch`,
      [commitId],
    );
    rows.sort((a, b) => b.depth - a.depth);
    const chain = { ids: rows.map((r) => r.id), depths: rows.map((r) => r.depth) };
    this.put(commitId, chain);
    return chain;
  }

  /** The chain of a commit being stored, from its base's chain (or alone for a base commit). */
  extend(commitId: number, depth: number, base: Chain | null): Chain {
    const chain = base ? { ids: [commitId, ...base.ids], depths: [depth, ...base.depths] } : { ids: [commitId], depths: [depth] };
    this.put(commitId, chain);
    return chain;
  }

  private put(id: number, chain: Chain): void {
    if (this.cache.size >= CACHE_LIMIT) {
      const first = this.cache.keys().next();
      if (first.done !== true) this.cache.delete(first.value);
    }
    this.cache.set(id, chain);
  }
}

/** The SQL of the tree at a chain: one row per path (deleted paths included, blob_sha NULL).
 * `$1` = chain ids, `$2` = chain depths; `extra` is ANDed into the WHERE clause. */
export function treeSql(extra = 'true'): string {
  return `SELECT DISTINCT ON (d.path_id) d.path_id, d.blob_sha, d.language, d.extraction_id, d.skip_reason, d.skip_detail
          FROM file_deltas d JOIN unnest($1::int[], $2::int[]) AS ch(id, depth) ON d.commit_id = ch.id
          WHERE ${extra}
          ORDER BY d.path_id, ch.depth DESC`;
}

interface VersionRow {
  path_id: number;
  blob_sha: string | null;
  language: string | null;
  extraction_id: number | null;
  skip_reason: string | null;
  skip_detail: string | null;
}

function toVersion(r: VersionRow): Version {
  return {
    pathId: r.path_id, blobSha: r.blob_sha, language: r.language, extractionId: r.extraction_id,
    skipReason: r.skip_reason, skipDetail: r.skip_detail,
  };
}

/** Versions at `chain` of the given paths (all paths when `pathIds` is omitted). Deleted and
 * never-present paths are absent from the map. */
export async function versionsAt(q: Queryable, chain: Chain, pathIds?: number[]): Promise<Map<number, Version>> {
  const out = new Map<number, Version>();
  if (pathIds !== undefined && pathIds.length === 0) return out;
  const { rows } = pathIds === undefined
    ? await q.query<VersionRow>(treeSql(), [chain.ids, chain.depths])
    : await q.query<VersionRow>(treeSql('d.path_id = ANY($3::int[])'), [chain.ids, chain.depths, pathIds]);
  for (const r of rows) if (r.blob_sha !== null) out.set(r.path_id, toVersion(r));
  return out;
}

/** Paths touched by deltas on either chain but not on both: the only paths that can differ between
 * the two trees. Cost grows with the commits between them, not with the tree. */
export async function touchedBetween(q: Queryable, a: Chain, b: Chain): Promise<number[]> {
  const inA = new Set(a.ids);
  const inB = new Set(b.ids);
  const only = [...a.ids.filter((id) => !inB.has(id)), ...b.ids.filter((id) => !inA.has(id))];
  if (only.length === 0) return [];
  const { rows } = await q.query<{ path_id: number }>(
    'SELECT DISTINCT path_id FROM file_deltas WHERE commit_id = ANY($1::int[])', [only]);
  return rows.map((r) => r.path_id);
}

export async function pathNames(q: Queryable, ids: Iterable<number>): Promise<Map<number, string>> {
  const list = [...new Set(ids)];
  const out = new Map<number, string>();
  if (list.length === 0) return out;
  const { rows } = await q.query<{ id: number; path: string }>('SELECT id, path FROM paths WHERE id = ANY($1::int[])', [list]);
  for (const r of rows) out.set(r.id, r.path);
  return out;
}
