// The outbox of commits stored but not announced yet (issue 8, item 5; migrations/0003). The row is
// written by a trigger in the transaction that stores the commit, so no crash can leave a stored
// commit without either its announcement or its outbox row. The daemon drains it (daemon/service.ts):
// send the notice, then delete the row; a crash in between sends it again (at least once).
import type { Queryable } from './db.ts';

/** Shas of the repository's unannounced commits, in the order they were stored. */
export async function unannounced(q: Queryable, repoId: number): Promise<string[]> {
  const { rows } = await q.query<{ sha: string }>(
    'SELECT c.sha FROM commit_outbox o JOIN commits c ON c.id = o.commit_id WHERE o.repo_id = $1 ORDER BY o.commit_id', [repoId]);
  return rows.map((r) => r.sha);
}

/** Removes a commit from the outbox (its notice was sent). */
export async function markAnnounced(q: Queryable, repoId: number, sha: string): Promise<void> {
  await q.query('DELETE FROM commit_outbox o USING commits c WHERE c.id = o.commit_id AND o.repo_id = $1 AND c.sha = $2', [repoId, sha]);
}

/** Commits stored for the repository from now on go to the outbox. Until then (its first index)
 * none do: a first index announces nothing. Returns false when it was already on. */
export async function startAnnouncing(q: Queryable, repoId: number): Promise<boolean> {
  const r = await q.query('UPDATE repositories SET announce = true WHERE id = $1 AND NOT announce', [repoId]);
  return (r.rowCount ?? 0) > 0;
}

/** Did the repository's first index complete (startAnnouncing)? */
export async function announcing(q: Queryable, repoId: number): Promise<boolean> {
  const { rows } = await q.query<{ announce: boolean }>('SELECT announce FROM repositories WHERE id = $1', [repoId]);
  return rows[0]?.announce === true;
}

/** Removes commits from the outbox by id, unannounced (HistoryStore.storeCommits `announce: false`). */
export async function dropFromOutbox(q: Queryable, repoId: number, commitIds: readonly number[]): Promise<void> {
  if (commitIds.length === 0) return;
  await q.query('DELETE FROM commit_outbox WHERE repo_id = $1 AND commit_id = ANY($2::int[])', [repoId, commitIds]);
}
