// migrations/0002_commit_lines.sql: first-parent lines backfilled for commits stored before it, with
// the same rule the writer uses (a commit continues its base's line when it is the base's first
// child). Both backends.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { DEFAULT_MIGRATIONS_DIR, migrate } from '../store/migrate.ts';
import { withBackends } from './harness/pg.ts';

await withBackends('commit lines migration', (b) => {
  it('backfills line ids: one line per fork', async () => {
    const only1 = mkdtempSync(path.join(os.tmpdir(), 'codegraph-mig-'));
    copyFileSync(path.join(DEFAULT_MIGRATIONS_DIR, '0001_history.sql'), path.join(only1, '0001_history.sql'));
    const db = await (await b.fresh()).open();
    try {
      await migrate(db, only1);
      await db.query("INSERT INTO repositories (path) VALUES ('/r')");
      // a <- b <- c, b <- d <- e (d forks after c was stored), and a second base x.
      const ins = async (sha: string, base: number | null, depth: number): Promise<number> => (await db.query<{ id: number }>(
        `INSERT INTO commits (repo_id, sha, parents, tree, author_name, author_email, author_date, committer_name, committer_email,
                              committer_date, message, base_id, depth)
         VALUES (1, $1, '{}', 't', 'n', 'e', now(), 'n', 'e', now(), 'm', $2, $3) RETURNING id`, [sha, base, depth])).rows[0]!.id;
      const a = await ins('a', null, 0);
      const bb = await ins('b', a, 1);
      await ins('c', bb, 2);
      const d = await ins('d', bb, 2);
      await ins('e', d, 3);
      const x = await ins('x', null, 0);
      await migrate(db);
      const { rows } = await db.query<{ sha: string; line: string }>(
        'SELECT c.sha, l.sha AS line FROM commits c JOIN commits l ON l.id = c.line_id ORDER BY c.sha');
      assert.deepEqual(rows.map((r) => `${r.sha}:${r.line}`), ['a:a', 'b:a', 'c:a', 'd:d', 'e:d', 'x:x']);
      assert.ok(x > 0);
      // Two commits at one depth of one line would make chains ambiguous: the unique index refuses it.
      await assert.rejects(db.query(
        `INSERT INTO commits (repo_id, sha, parents, tree, author_name, author_email, author_date, committer_name, committer_email,
                              committer_date, message, base_id, depth, line_id)
         VALUES (1, 'f', '{}', 't', 'n', 'e', now(), 'n', 'e', now(), 'm', $1, 2, $2)`, [bb, a]), { code: '23505' });
    } finally {
      await db.close();
      rmSync(only1, { recursive: true, force: true });
    }
  });
});
