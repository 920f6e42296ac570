// A deterministic digest of the stored graph's logical content: every table, surrogate ids and
// timestamps replaced by what they stand for (shas, paths), rows in a total order. Two stores with
// the same digest hold the same graph; used by the crash test and the bench.
import { createHash } from 'node:crypto';
import type { Queryable } from './db.ts';

/** One query per table (exported for tests comparing stores table by table). Body hashes are read
 * as hex text (`encode`), as they were stored before migrations/0012, so a store's digest is the
 * same before and after that migration. */
export const QUERIES: Record<string, string> = {
  commits: `SELECT r.path AS repo, c.sha, c.parents, c.tree, c.author_name, c.author_email, c.author_date::text, c.committer_name,
                   c.committer_email, c.committer_date::text, c.message, b.sha AS base, c.depth
            FROM commits c JOIN repositories r ON r.id = c.repo_id LEFT JOIN commits b ON b.id = c.base_id
            ORDER BY r.path, c.sha`,
  file_deltas: `SELECT r.path AS repo, c.sha, p.path, d.blob_sha, d.language, x.blob_sha AS x_sha, x.language AS x_lang,
                       x.extractor_version, d.skip_reason, d.skip_detail
                FROM file_deltas d JOIN commits c ON c.id = d.commit_id JOIN repositories r ON r.id = c.repo_id
                JOIN paths p ON p.id = d.path_id LEFT JOIN extractions x ON x.id = d.extraction_id
                ORDER BY r.path, c.sha, p.path`,
  extractions: `SELECT blob_sha, language, extractor_version, lines, bytes, error_count, invalid_utf8 FROM extractions
                ORDER BY blob_sha, language, extractor_version`,
  entities: `SELECT x.blob_sha, x.language, x.extractor_version, e.idx, e.parent_idx, e.kind, e.name, e.qname, e.start_line, e.end_line,
                    e.start_byte, e.end_byte, e.signature, e.doc, e.exported, encode(e.body_hash, 'hex') AS body_hash
             FROM entities e JOIN extractions x ON x.id = e.extraction_id
             ORDER BY x.blob_sha, x.language, x.extractor_version, e.idx`,
  extraction_refs: `SELECT x.blob_sha, x.language, x.extractor_version, f.kind, f.name, f.qualifier, f.line, f.from_idx, f.module, f.alias, f.binding
                    FROM extraction_refs f JOIN extractions x ON x.id = f.extraction_id
                    ORDER BY 1, 2, 3`,
  bodies: "SELECT encode(body_hash, 'hex') AS body_hash, embedding::text FROM bodies ORDER BY bodies.body_hash",
  entity_changes: `SELECT r.path AS repo, c.sha, ec.change, ec.kind, p.path, ec.qname, op.path AS old_path, ec.old_qname, ec.signature_changed,
                          ec.visibility_changed
                   FROM entity_changes ec JOIN commits c ON c.id = ec.commit_id JOIN repositories r ON r.id = c.repo_id
                   LEFT JOIN paths p ON p.id = ec.path_id LEFT JOIN paths op ON op.id = ec.old_path_id
                   ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10`,
  git_refs: 'SELECT r.path AS repo, g.name, g.sha FROM git_refs g JOIN repositories r ON r.id = g.repo_id ORDER BY 1, 2',
  ref_log: `SELECT r.path AS repo, l.name, l.old_sha, l.new_sha, l.forced FROM ref_log l JOIN repositories r ON r.id = l.repo_id
            ORDER BY r.path, l.id`,
};

/** sha256 over the logical content of every table, plus row counts per table. `queries` replaces
 * QUERIES in tests that digest a store of an older schema (test/body-hash-bytea.test.ts). */
export async function storeDigest(q: Queryable, queries: Record<string, string> = QUERIES): Promise<{ digest: string; rows: Record<string, number> }> {
  const all = createHash('sha256');
  const counts: Record<string, number> = {};
  for (const [table, sql] of Object.entries(queries)) {
    const { rows } = await q.query<Record<string, unknown>>(sql, []);
    counts[table] = rows.length;
    all.update(`${table}\n`);
    for (const row of rows) all.update(`${JSON.stringify(Object.values(row))}\n`);
  }
  return { digest: all.digest('hex'), rows: counts };
}
