// kill -9 during history indexing, at several points (between commits, inside a commit's
// transaction, and at arbitrary moments from outside), then resume: the stored graph must be
// identical (storeDigest) to the one of an uninterrupted run. Both backends.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, it } from 'node:test';
import { storeDigest } from '../store/index.ts';
import { cleanupAll } from './helpers/gitrepo.ts';
import { withBackends, type TestDatabase } from './harness/pg.ts';
import { buildFixture, openStore } from './store-fixtures.ts';

const CHILD = fileURLToPath(new URL('./history-child.ts', import.meta.url));

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the child; `killAfterCommits` makes it SIGKILL itself, `killAfterMs` kills it from here. */
function runChild(repo: string, t: TestDatabase, opts: { killAfterCommits?: number; killInCommit?: number; killAfterMs?: number } = {}): Promise<ChildResult> {
  const target = t.options.databaseUrl ?? t.options.dataDir!;
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    if (opts.killAfterCommits !== undefined) env.CODEGRAPH_TEST_KILL_AFTER_COMMITS = String(opts.killAfterCommits);
    else delete env.CODEGRAPH_TEST_KILL_AFTER_COMMITS;
    if (opts.killInCommit !== undefined) env.CODEGRAPH_TEST_KILL_IN_COMMIT = String(opts.killInCommit);
    else delete env.CODEGRAPH_TEST_KILL_IN_COMMIT;
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, repo, target], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = opts.killAfterMs !== undefined ? setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs) : undefined;
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

async function digestOf(t: TestDatabase): Promise<{ digest: string; rows: Record<string, number> }> {
  const db = await t.open();
  try {
    await openStore(db); // migrated already; no-op
    return await storeDigest(db);
  } finally {
    await db.close();
  }
}

after(cleanupAll);

await withBackends('history indexing survives kill -9', (b) => {
  it('resumes to the same graph as an uninterrupted run', { timeout: 600_000 }, async () => {
    const fx = await buildFixture();
    const clean = await b.fresh();
    const ok = await runChild(fx.repo.dir, clean);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), { indexed: 11 });
    const want = await digestOf(clean);
    assert.equal(want.rows.commits, 11);

    const crashy = await b.fresh();
    // Self-kill right after the 1st, then 3 more, then 4 more commits; then kills from outside at
    // arbitrary moments (mid-transaction, mid-extraction, during start-up).
    for (const k of [1, 3, 4]) {
      const r = await runChild(fx.repo.dir, crashy, { killAfterCommits: k });
      assert.equal(r.signal, 'SIGKILL', `child should have killed itself after ${k} commits: ${r.stderr}`);
    }
    // Inside the transaction of the 2nd commit of a run (deltas written, COMMIT not reached).
    for (let i = 0; i < 2; i++) {
      const r = await runChild(fx.repo.dir, crashy, { killInCommit: 2 });
      assert.equal(r.signal, 'SIGKILL', `child should have killed itself mid-transaction: ${r.stderr}`);
    }
    for (const ms of [700, 1500, 2300]) {
      const r = await runChild(fx.repo.dir, crashy, { killAfterMs: ms });
      assert.ok(r.signal === 'SIGKILL' || r.code === 0, `unexpected exit ${r.code} ${r.stderr}`);
    }
    const mid = await digestOf(crashy);
    assert.ok(mid.rows.commits! >= 8, `expected at least 8 commits stored before the last run, got ${mid.rows.commits}`);
    const last = await runChild(fx.repo.dir, crashy);
    assert.equal(last.code, 0, last.stderr);
    const got = await digestOf(crashy);
    assert.deepEqual(got.rows, want.rows);
    assert.equal(got.digest, want.digest);
  });
});
