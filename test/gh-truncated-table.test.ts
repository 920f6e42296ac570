// Regression (issue 8, item 4): truncating the `entities` table file of a PGlite data dir and
// restarting gave a ready daemon serving wrong kinds, one-version histories and changed diffs. Now
// start-up compares every graph table with the row counts written with it (store/verify.ts) and
// refuses with STORE_CORRUPT (exit 7). PGlite: a real table file truncated on disk; PostgreSQL:
// rows deleted behind the store's back.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { truncate } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { runHistoryIndex } from '../daemon/history.ts';
import { GitRepo } from '../indexer/git/index.ts';
import { Indexer } from '../indexer/index.ts';
import { openDatabase } from '../store/db.ts';
import { StoreCorruptError, verifyStore } from '../store/index.ts';
import { migrate } from '../store/migrate.ts';
import { cleanupAll, makeRepo, makeTempDir } from './helpers/gitrepo.ts';
import { withBackends } from './harness/pg.ts';
import { buildFixture } from './store-fixtures.ts';

after(() => cleanupAll());

async function indexInto(repoDir: string, target: { dataDir?: string; databaseUrl?: string }): Promise<void> {
  const repo = await GitRepo.open(repoDir);
  const indexer = new Indexer({ threads: 1 });
  try {
    await runHistoryIndex({ repo, indexer, history: 'all', ...target });
  } finally {
    await indexer.close();
    await repo.close();
  }
}

function serve(repoDir: string, dataDir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/codegraph.js', 'serve', repoDir, '--port', '0', '--data', dataDir, '--history', '50', '--threads', '1'], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CODEGRAPH_LOG_LEVEL: 'warn' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += String(d);
      // It started serving: the bug. Stop it so the test reports instead of hanging.
      child.kill('SIGTERM');
    });
    child.stderr.on('data', (d: Buffer) => (stderr += String(d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('a truncated table file stops the daemon (PGlite)', { timeout: 900_000 }, () => {
  it('codegraph serve exits 7 with STORE_CORRUPT naming the table, instead of serving', async () => {
    const fx = await buildFixture();
    const data = await makeTempDir('cg-truncate-');
    await indexInto(fx.repo.dir, { dataDir: data });
    const db = await openDatabase({ dataDir: data });
    const { rows } = await db.query<{ file: string }>("SELECT pg_relation_filepath('entities') AS file", []);
    const { rows: [n] } = await db.query<{ n: string }>('SELECT count(*) AS n FROM entities', []);
    await db.close();
    assert.ok(Number(n!.n) > 10);

    await truncate(path.join(data, 'pg', rows[0]!.file), 0);
    const r = await serve(fx.repo.dir, data);
    assert.equal(r.stdout, '', 'the daemon must not start serving');
    assert.equal(r.code, 7, r.stderr.slice(-3000));
    assert.match(r.stderr, new RegExp(`is damaged: entities holds 0 rows, ${n!.n} were written`));
    assert.match(r.stderr, /delete the data directory .* and index again/);
  });

  it('a healthy store starts, and a restart checks the counts again', async () => {
    const repo = await makeRepo();
    await repo.write('a.py', 'def one():\n    return 1\n');
    await repo.commit('one');
    const data = await makeTempDir('cg-verify-ok-');
    await indexInto(repo.dir, { dataDir: data });
    await indexInto(repo.dir, { dataDir: data });
    const db = await openDatabase({ dataDir: data });
    try {
      const r = await verifyStore(db, data);
      assert.equal(r.outcome, 'counted');
      assert.equal(r.rows.commits, 1);
      assert.ok((r.rows.entities ?? 0) >= 1);
      // Folded into one row per table.
      const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM store_counts GROUP BY tbl HAVING count(*) > 1', []);
      assert.deepEqual(rows, []);
    } finally {
      await db.close();
    }
  });
});

await withBackends('rows deleted behind the store', (b) => {
  it('verifyStore refuses with STORE_CORRUPT and names each damaged table', { timeout: 900_000 }, async () => {
    const fx = await buildFixture();
    const t = await b.fresh();
    await indexInto(fx.repo.dir, t.options);
    const db = await t.open();
    try {
      await migrate(db);
      assert.equal((await verifyStore(db, 'test')).outcome, 'counted');
      // Rows gone without a counted DELETE: triggers off (`replica`), as rows lost by damage are.
      await db.transaction(async (tx) => {
        await tx.query('SET LOCAL session_replication_role = replica', []);
        await tx.query('DELETE FROM entities WHERE ctid IN (SELECT ctid FROM entities LIMIT 3)', []);
        await tx.query('DELETE FROM entity_changes WHERE ctid IN (SELECT ctid FROM entity_changes LIMIT 1)', []);
      });
      await assert.rejects(verifyStore(db, 'test'), (err: unknown) => {
        assert.ok(err instanceof StoreCorruptError);
        assert.equal(err.code, 'STORE_CORRUPT');
        assert.deepEqual(err.data.mismatches.map((m) => [m.table, m.expected - m.actual]), [['entities', 3], ['entity_changes', 1]]);
        return true;
      });
    } finally {
      await db.close();
    }
  });

  // Review of issue 8: every DELETE on a counted table had to adjust store_counts by hand in the
  // same transaction (one caller did); any other DELETE made the next start refuse a healthy store.
  it('a DELETE from any code path is counted: the store still verifies', { timeout: 900_000 }, async () => {
    const fx = await buildFixture();
    const t = await b.fresh();
    await indexInto(fx.repo.dir, t.options);
    const db = await t.open();
    try {
      await migrate(db);
      assert.equal((await verifyStore(db, 'test')).outcome, 'counted');
      const del = await db.query('DELETE FROM entity_changes WHERE ctid IN (SELECT ctid FROM entity_changes LIMIT 2)', []);
      assert.equal(del.rowCount, 2);
      await db.transaction(async (tx) => {
        await tx.query('DELETE FROM file_deltas WHERE ctid IN (SELECT ctid FROM file_deltas LIMIT 1)', []);
        await tx.query('DELETE FROM entity_changes WHERE ctid IN (SELECT ctid FROM entity_changes LIMIT 1)', []);
      });
      // Rolled back: neither the rows nor their counts go.
      await assert.rejects(db.transaction(async (tx) => {
        await tx.query('DELETE FROM entities', []);
        throw new Error('roll back');
      }), /roll back/);
      const r = await verifyStore(db, 'test');
      assert.equal(r.outcome, 'counted');
      const { rows: [n] } = await db.query<{ n: string }>('SELECT count(*) AS n FROM entity_changes', []);
      assert.equal(r.rows.entity_changes, Number(n!.n));
    } finally {
      await db.close();
    }
  });
});
