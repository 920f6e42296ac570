// First-parent chains and "the version of a path at a commit" (internal to store/).
//
// A commit's file delta is stored against its first parent (`base_id`); a base commit (root, or
// first parent outside the indexed window) stores its whole tree. The tree at C is, per path, the
// deepest delta row on C's chain C -> base_id -> ... -> base. Chains are held as segments of
// first-parent lines (migrations/0002_commit_lines.sql): one (line, max depth) per fork, so query
// parameters do not grow with history depth. A chain changes only when a base gets its parent
// indexed (store/write.ts attachOrphans), so chains are cached and validated by depth.
import { EXTRACTOR_VERSION } from '../indexer/types.ts';
import type { Queryable } from './db.ts';

/** A commit's first-parent chain as segments: commits on line `lines[i]` with depth <= `his[i]`.
 * Segments are ordered from the commit's own line (his[0] = its depth) down to the base's line. */
export interface Chain {
  lines: number[];
  his: number[];
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

  /** `depth`, when the caller read it with the commit id, validates a cached chain: attaching a
   * base to a newly indexed parent (store/write.ts attachOrphans) moves the commits above it down,
   * possibly in another process sharing the database. */
  async get(q: Queryable, commitId: number, depth?: number): Promise<Chain> {
    const hit = this.cache.get(commitId);
    if (hit && (depth === undefined || hit.his[0] === depth)) return hit;
    // One step per line (fork), not per commit: from a line's first commit to its base's line.
    const { rows } = await q.query<{ line: number; hi: number }>(
      `WITH RECURSIVE seg(line, hi) AS (
         SELECT line_id, depth FROM commits WHERE id = $1
         UNION ALL
         SELECT p.line_id, p.depth FROM seg JOIN commits f ON f.id = seg.line JOIN commits p ON p.id = f.base_id)
       SELECT line, hi FROM seg`,
      [commitId],
    );
    rows.sort((a, b) => b.hi - a.hi);
    const chain = { lines: rows.map((r) => r.line), his: rows.map((r) => r.hi) };
    this.put(commitId, chain);
    return chain;
  }

  /** The chain of a commit being stored on `line` at `depth`, from its base's chain. */
  extend(commitId: number, depth: number, line: number, base: Chain | null): Chain {
    let chain: Chain;
    if (!base) chain = { lines: [line], his: [depth] };
    else if (base.lines[0] === line) chain = { lines: base.lines, his: [depth, ...base.his.slice(1)] };
    else chain = { lines: [line, ...base.lines], his: [depth, ...base.his] };
    this.put(commitId, chain);
    return chain;
  }

  /** Forgets every chain (after commits moved down their chain). */
  clear(): void {
    this.cache.clear();
  }

  private put(id: number, chain: Chain): void {
    if (this.cache.size >= CACHE_LIMIT) {
      const first = this.cache.keys().next();
      if (first.done !== true) this.cache.delete(first.value);
    }
    this.cache.set(id, chain);
  }
}

/** Parameters `$1`, `$2` of the chain SQL fragments. */
export function chainParams(chain: Chain): [number[], number[]] {
  return [chain.lines, chain.his];
}

/** FROM-clause fragment: the commits `c` of the chain in `$1`, `$2` (chainParams). */
export const CHAIN_COMMITS = `unnest($1::int[], $2::int[]) AS seg(line, hi)
  JOIN commits c ON c.line_id = seg.line AND c.depth <= seg.hi`;

/** The SQL of the tree at a chain: one row per path (deleted paths included, blob_sha NULL).
 * `$1`, `$2` = chainParams; `extra` is ANDed into the WHERE clause (on the deltas `d`).
 *
 * A store outlives upgrades: a delta stored by an older build points at its blob's extraction by
 * that build's rules (EXTRACTOR_VERSION). When the store also holds the blob extracted by this
 * build's rules (the daemon extracts the tips' stale blobs again at start, daemon/history.ts
 * `refreshStale`; the indexer extracts the old side of a modified file, `staleBlobs`), the tree
 * names that extraction instead, so every reader (graph, search, diff, hot store) sees one set of
 * rules. Deltas are never rewritten. */
export function treeSql(extra = 'true'): string {
  return `SELECT r.path_id, r.blob_sha, r.language, COALESCE(n.id, r.extraction_id) AS extraction_id, r.skip_reason, r.skip_detail
          FROM (SELECT DISTINCT ON (d.path_id) d.path_id, d.blob_sha, d.language, d.extraction_id, d.skip_reason, d.skip_detail
                  FROM ${CHAIN_COMMITS} JOIN file_deltas d ON d.commit_id = c.id
                  WHERE ${extra}
                  ORDER BY d.path_id, c.depth DESC) r
          LEFT JOIN extractions o ON o.id = r.extraction_id AND o.extractor_version < ${EXTRACTOR_VERSION}
          LEFT JOIN extractions n ON n.blob_sha = o.blob_sha AND n.language = o.language AND n.extractor_version = ${EXTRACTOR_VERSION}`;
}

/** The base (depth 0, whole tree) commit of a chain: the first commit of its last line. */
export function chainBase(chain: Chain): number {
  return chain.lines[chain.lines.length - 1]!;
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
    ? await q.query<VersionRow>(treeSql(), chainParams(chain))
    : await q.query<VersionRow>(treeSql('d.path_id = ANY($3::int[])'), [...chainParams(chain), pathIds]);
  for (const r of rows) if (r.blob_sha !== null) out.set(r.path_id, toVersion(r));
  return out;
}

/** Paths touched by deltas on either chain but not on both: the only paths that can differ between
 * the two trees. Cost grows with the commits between them, not with the tree. */
export async function touchedBetween(q: Queryable, a: Chain, b: Chain): Promise<number[]> {
  // Per line, the depths one chain has and the other has not: (other's hi, own hi].
  const seg = { line: [] as number[], lo: [] as number[], hi: [] as number[] };
  for (const [x, y] of [[a, b], [b, a]] as const) {
    const other = new Map(y.lines.map((l, i) => [l, y.his[i]!]));
    x.lines.forEach((line, i) => {
      const lo = other.get(line) ?? -1;
      if (x.his[i]! > lo) { seg.line.push(line); seg.lo.push(lo); seg.hi.push(x.his[i]!); }
    });
  }
  if (seg.line.length === 0) return [];
  const { rows } = await q.query<{ path_id: number }>(
    `SELECT DISTINCT d.path_id FROM unnest($1::int[], $2::int[], $3::int[]) AS s(line, lo, hi)
     JOIN commits c ON c.line_id = s.line AND c.depth > s.lo AND c.depth <= s.hi
     JOIN file_deltas d ON d.commit_id = c.id`, [seg.line, seg.lo, seg.hi]);
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
