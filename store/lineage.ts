// Function-level `git log` and blame from the per-commit entity change lists (internal to store/).
// Both walk the FIRST-PARENT chain, like `git log --first-parent`: a merge is one commit whose
// changes are everything it brought in against its first parent.
import { qualify } from '../indexer/types.ts';
import { CHAIN_COMMITS, chainBase, chainParams, type Chain } from './chain.ts';
import type { Queryable } from './db.ts';
import type { BlameEntry, EntityChangeRecord, EntityRef } from './types.ts';

interface ChangeRow {
  sha: string;
  depth: number;
  change: EntityChangeRecord['change'];
  path: string | null;
  qname: string | null;
  old_path: string | null;
  old_qname: string | null;
  signature_changed: boolean;
  committer_date: Date | string;
  author_name: string;
  message: string;
}

function splitQualified(qualifiedName: string): { path: string; qname: string } {
  const cut = qualifiedName.indexOf('::');
  return cut < 0 ? { path: qualifiedName, qname: '' } : { path: qualifiedName.slice(0, cut), qname: qualifiedName.slice(cut + 2) };
}

const iso = (d: Date | string): string => (d instanceof Date ? d.toISOString() : new Date(d).toISOString());

/** Commits (newest first) in which the entity changed, following renames and moves backwards. */
export async function entityHistory(q: Queryable, repoId: number, chain: Chain, qualifiedName: string): Promise<EntityChangeRecord[]> {
  let { path, qname } = splitQualified(qualifiedName);
  let maxDepth = chain.his[0] ?? 0;
  const out: EntityChangeRecord[] = [];
  for (let guard = 0; guard < 100_000; guard++) {
    const { rows } = await q.query<ChangeRow>(
      `SELECT c.sha, c.depth, ec.change, p.path, ec.qname, op.path AS old_path, ec.old_qname, ec.signature_changed,
              c.committer_date, c.author_name, c.message
       FROM ${CHAIN_COMMITS}
       JOIN entity_changes ec ON ec.commit_id = c.id
       JOIN paths p ON p.id = ec.path_id
       LEFT JOIN paths op ON op.id = ec.old_path_id
       WHERE p.repo_id = $3 AND p.path = $4 AND ec.qname = $5 AND c.depth <= $6
       ORDER BY c.depth DESC`,
      [...chainParams(chain), repoId, path, qname, maxDepth],
    );
    let switched = false;
    for (const r of rows) {
      out.push({
        sha: r.sha, change: r.change, qualifiedName: qualify(r.path!, r.qname!),
        previousQualifiedName: r.old_path !== null && r.old_qname !== null ? qualify(r.old_path, r.old_qname) : null,
        signatureChanged: r.signature_changed, committerDate: iso(r.committer_date), author: r.author_name, message: r.message,
        boundary: false,
      });
      if (r.change === 'added') return out;
      if ((r.change === 'renamed' || r.change === 'moved') && r.old_path !== null && r.old_qname !== null) {
        path = r.old_path;
        qname = r.old_qname;
        maxDepth = r.depth - 1;
        switched = true;
        break;
      }
    }
    if (!switched) break;
  }
  // The walk reached the chain's base without an 'added': the entity existed there already.
  const baseId = chainBase(chain);
  const { rows } = await q.query<{ sha: string; committer_date: Date | string; author_name: string; message: string; parents: string[] }>(
    'SELECT sha, committer_date, author_name, message, parents FROM commits WHERE id = $1', [baseId]);
  const base = rows[0];
  if (base && (out.length === 0 || out[out.length - 1]!.change !== 'added')) {
    const exists = await q.query(
      `SELECT 1 FROM file_deltas d JOIN paths p ON p.id = d.path_id JOIN entities e ON e.extraction_id = d.extraction_id
       WHERE d.commit_id = $1 AND p.repo_id = $2 AND p.path = $3 AND e.qname = $4 LIMIT 1`, [baseId, repoId, path, qname]);
    if (exists.rows.length > 0) {
      out.push({
        sha: base.sha, change: 'added', qualifiedName: qualify(path, qname), previousQualifiedName: null, signatureChanged: false,
        committerDate: iso(base.committer_date), author: base.author_name, message: base.message,
        // A root commit really added it; any other base only marks where the indexed window starts.
        boundary: base.parents.length > 0,
      });
    }
  }
  return out;
}

/** For each entity of `entities` (all in one file at the chain's head): the last commit that changed it. */
export async function blame(q: Queryable, repoId: number, chain: Chain, path: string, entities: Array<EntityRef & { localName: string }>): Promise<BlameEntry[]> {
  const { rows } = await q.query<{ qname: string; sha: string }>(
    `SELECT DISTINCT ON (ec.qname) ec.qname, c.sha
     FROM ${CHAIN_COMMITS}
     JOIN entity_changes ec ON ec.commit_id = c.id
     JOIN paths p ON p.id = ec.path_id
     WHERE p.repo_id = $3 AND p.path = $4 AND ec.qname = ANY($5::text[])
     ORDER BY ec.qname, c.depth DESC`,
    [...chainParams(chain), repoId, path, entities.map((e) => e.localName)],
  );
  const last = new Map(rows.map((r) => [r.qname, r.sha]));
  const { rows: baseRows } = await q.query<{ sha: string }>('SELECT sha FROM commits WHERE id = $1', [chainBase(chain)]);
  const baseSha = baseRows[0]?.sha ?? '';
  return entities.map(({ localName, ...entity }) => {
    const sha = last.get(localName);
    return { entity, sha: sha ?? baseSha, boundary: sha === undefined };
  });
}
