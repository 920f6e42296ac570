// Function-level `git log` and blame from the per-commit entity change lists (internal to store/).
// Both walk the FIRST-PARENT chain, like `git log --first-parent`: a merge is one commit whose
// changes are everything it brought in against its first parent.
import { qualify, type EntityKind } from '../indexer/types.ts';
import { CHAIN_COMMITS, chainBase, chainParams, treeSql, type Chain } from './chain.ts';
import type { Queryable } from './db.ts';
import { DIFF_EXCLUDED_KINDS } from './diff.ts';
import { StoreError } from './errors.ts';
import type { BlameEntry, EntityChangeRecord, EntityRef } from './types.ts';

interface ChangeRow {
  sha: string;
  depth: number;
  change: EntityChangeRecord['change'];
  kind: EntityKind;
  path: string | null;
  qname: string | null;
  old_path: string | null;
  old_qname: string | null;
  signature_changed: boolean;
  visibility_changed: boolean;
  committer_date: Date | string;
  author_name: string;
  message: string;
}

function splitQualified(qualifiedName: string): { path: string; qname: string } {
  const cut = qualifiedName.indexOf('::');
  return cut < 0 ? { path: qualifiedName, qname: '' } : { path: qualifiedName.slice(0, cut), qname: qualifiedName.slice(cut + 2) };
}

const iso = (d: Date | string): string => (d instanceof Date ? d.toISOString() : new Date(d).toISOString());

/** The kind whose history `path::qname` asks for: the one given, else the kind of the entity of
 * that name at the chain's head, else the kind of the changes recorded under that name. Two live
 * entities of one name and different kinds (a TS interface and a const `$Thing`) are two histories:
 * without a kind that is an error naming the kinds, never an interleaving of both (issue 11). */
async function kindOf(q: Queryable, repoId: number, chain: Chain, path: string, qname: string): Promise<EntityKind | null> {
  const { rows: live } = await q.query<{ kind: EntityKind }>(
    `SELECT DISTINCT e.kind FROM (${treeSql('d.path_id = (SELECT id FROM paths WHERE repo_id = $3 AND path = $4)')}) t
     JOIN entities e ON e.extraction_id = t.extraction_id
     WHERE e.qname = $5 AND e.kind <> ALL($6::text[]) ORDER BY e.kind`,
    [...chainParams(chain), repoId, path, qname, DIFF_EXCLUDED_KINDS]);
  let kinds = live.map((r) => r.kind);
  if (kinds.length === 0) {
    const { rows } = await q.query<{ kind: EntityKind }>(
      `SELECT DISTINCT ec.kind FROM ${CHAIN_COMMITS} JOIN entity_changes ec ON ec.commit_id = c.id JOIN paths p ON p.id = ec.path_id
       WHERE p.repo_id = $3 AND p.path = $4 AND ec.qname = $5 ORDER BY ec.kind`,
      [...chainParams(chain), repoId, path, qname]);
    kinds = rows.map((r) => r.kind);
  }
  if (kinds.length > 1) {
    throw new StoreError('AMBIGUOUS_ENTITY',
      `${qualify(path, qname)} names ${kinds.length} entities of different kinds (${kinds.join(', ')}); choose one with kind (CLI: --kind ${kinds[0]!}).`,
      { qualifiedName: qualify(path, qname), kinds });
  }
  return kinds[0] ?? null;
}

/** Commits (newest first) in which the entity changed, following renames and moves backwards.
 * `kind` chooses among entities sharing the name (see kindOf). */
export async function entityHistory(q: Queryable, repoId: number, chain: Chain, qualifiedName: string, kindIn?: EntityKind): Promise<EntityChangeRecord[]> {
  let { path, qname } = splitQualified(qualifiedName);
  const kind = kindIn ?? await kindOf(q, repoId, chain, path, qname);
  if (kind === null) return [];
  let maxDepth = chain.his[0] ?? 0;
  const out: EntityChangeRecord[] = [];
  for (let guard = 0; guard < 100_000; guard++) {
    const { rows } = await q.query<ChangeRow>(
      `SELECT c.sha, c.depth, ec.change, ec.kind, p.path, ec.qname, op.path AS old_path, ec.old_qname, ec.signature_changed,
              ec.visibility_changed, c.committer_date, c.author_name, c.message
       FROM ${CHAIN_COMMITS}
       JOIN entity_changes ec ON ec.commit_id = c.id
       JOIN paths p ON p.id = ec.path_id
       LEFT JOIN paths op ON op.id = ec.old_path_id
       WHERE p.repo_id = $3 AND p.path = $4 AND ec.qname = $5 AND c.depth <= $6 AND ec.kind = $7
       ORDER BY c.depth DESC`,
      [...chainParams(chain), repoId, path, qname, maxDepth, kind],
    );
    let switched = false;
    for (const r of rows) {
      out.push({
        sha: r.sha, change: r.change, kind: r.kind, qualifiedName: qualify(r.path!, r.qname!),
        previousQualifiedName: r.old_path !== null && r.old_qname !== null ? qualify(r.old_path, r.old_qname) : null,
        signatureChanged: r.signature_changed, visibilityChanged: r.visibility_changed, committerDate: iso(r.committer_date), author: r.author_name, message: r.message,
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
       WHERE d.commit_id = $1 AND p.repo_id = $2 AND p.path = $3 AND e.qname = $4 AND e.kind = $5 LIMIT 1`, [baseId, repoId, path, qname, kind]);
    if (exists.rows.length > 0) {
      out.push({
        sha: base.sha, change: 'added', kind, qualifiedName: qualify(path, qname), previousQualifiedName: null, signatureChanged: false,
        visibilityChanged: false,
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
