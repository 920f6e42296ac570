// The history backfill (#9, "full history by default where it is cheap"): behind the initial
// window, the first-parent history of HEAD is filled in, oldest first and a chunk at a time, so
// function histories reach where an entity was really added. On both backends: the histories equal
// a one-step index of the same commits, the commits are not announced, `depth` bounds it, it
// resumes, and `serve` runs it behind readiness (`backfill: 0` keeps the window alone).
import assert from 'node:assert/strict';
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../daemon/config.ts';
import { backfillPlan, branchesPlan, indexHistory, storeBackfill, type HistoryContext, type HistoryProgress } from '../daemon/history.ts';
import { InProcessEvents } from '../daemon/server/pubsub.ts';
import { startService } from '../daemon/service.ts';
import type { Db } from '../store/db.ts';
import { cleanupAll, makeRepo, makeTempDir, type TestRepo } from './helpers/gitrepo.ts';
import { backends, withBackends } from './harness/pg.ts';
import { captureLogs, until, untilReady } from './helpers/serve.ts';
import { allHistories, brief, openStore, withGit, withIndexer } from './store-fixtures.ts';

after(cleanupAll);

/** One turn of the daemon's backfill (RepoRunner.runBackfill): the plan within `depth`, then its
 * first `maxCommits` commits stored; `total` in progress counts the whole plan, `remaining` is
 * what the plan still misses after the turn. */
async function backfillHistory(opts: HistoryContext & { depth: number; maxCommits: number; onProgress?: (p: HistoryProgress) => void }): Promise<{ indexed: string[]; remaining: number }> {
  const missing = await backfillPlan(opts, opts.depth);
  const { onProgress } = opts;
  const indexed = await storeBackfill(opts, missing.slice(0, opts.maxCommits), onProgress ? (p) => onProgress({ ...p, total: missing.length }) : undefined);
  return { indexed, remaining: missing.length - indexed.length };
}

/** Thirteen commits on main, c1..c8, a merge m of a side branch (deleted after), c9..c12: `total`
 * is added at c1, modified at c4, renamed to `sum` at c7 and moved to src/sum.ts at c10. */
async function buildRepo(): Promise<{ repo: TestRepo; main: string[]; side: string }> {
  const repo = await makeRepo();
  const main: string[] = [];
  const fn = (name: string, body: string) => `export function ${name}(xs: number[]): number {\n  ${body}\n}\n`;
  await repo.writeFiles({ 'src/math.ts': fn('total', 'return xs.reduce((a, b) => a + b, 0);'), 'src/app.ts': "import { total } from './math';\n\nexport function run(): number {\n  return total([1, 2]);\n}\n" });
  main.push(await repo.commit('c1'));
  for (let i = 2; i <= 12; i++) {
    if (i === 4) await repo.write('src/math.ts', fn('total', 'let s = 0;\n  for (const x of xs) s += x;\n  return s;'));
    else if (i === 7) await repo.write('src/math.ts', fn('sum', 'let s = 0;\n  for (const x of xs) s += x;\n  return s;'));
    else if (i === 10) {
      await repo.remove('src/math.ts');
      await repo.write('src/sum.ts', fn('sum', 'let s = 0;\n  for (const x of xs) s += x;\n  return s;'));
    } else if (i === 8) {
      await repo.branch('side', main[main.length - 1]!);
      await repo.checkout('side');
      await repo.write('src/side.ts', 'export function side(): number {\n  return 1;\n}\n');
      await repo.commit('side');
      await repo.checkout('main');
      await repo.write(`src/n${i}.ts`, `export const n${i} = ${i};\n`);
      main.push(await repo.commit(`c${i}`));
      await repo.git(['merge', '-q', '--no-ff', '--no-commit', 'side']);
      main.push(await repo.commit('m'));
      continue;
    } else await repo.write(`src/n${i}.ts`, `export const n${i} = ${i};\n`);
    main.push(await repo.commit(`c${i}`));
  }
  // Reachable only through the merge's second parent: not on the first-parent chain of HEAD.
  const side = await repo.git(['rev-parse', 'side']);
  await repo.git(['branch', '-q', '-D', 'side']);
  return { repo, main, side };
}

let fx: Awaited<ReturnType<typeof buildRepo>>;
before(async () => {
  fx = await buildRepo();
});

await withBackends('history backfill', (b) => {
  let db: Db;
  let oneStep: string[];
  before(async () => {
    // The reference: every commit indexed in one step.
    const ref = await (await b.fresh()).open();
    try {
      const s = await openStore(ref);
      const id = await withGit(fx.repo.dir, (repo) => withIndexer(async (indexer) => (await indexHistory({ repo, store: s, indexer, history: 'all' })).repoId));
      oneStep = await allHistories(s, id, fx.main);
    } finally {
      await ref.close();
    }
    db = await (await b.fresh()).open();
  });
  after(async () => db.close());

  it('fills the first-parent history behind a window, a chunk at a time, oldest first; the histories equal a one-step index; nothing is announced', async () => {
    const store = await openStore(db);
    await withGit(fx.repo.dir, (repo) => withIndexer(async (indexer) => {
      const { repoId } = await indexHistory({ repo, store, indexer, history: 3 });
      await store.startAnnouncing(repoId);
      const head = fx.main[fx.main.length - 1]!;
      // The window's start is a boundary: `sum` looks added where the window starts.
      assert.match(brief(await store.entityHistory(repoId, head, 'src/sum.ts::sum')).at(-1)!, /boundary$/);
      const calls: Array<{ indexed: string[]; remaining: number }> = [];
      let seenTotal = 0;
      for (;;) {
        const r = await backfillHistory({ repo, store, indexer, repoId, depth: 100, maxCommits: 4, onProgress: (p) => (seenTotal = p.total) });
        calls.push(r);
        if (r.indexed.length === 0) break;
      }
      // 13 first-parent commits, 3 in the window: 10 in chunks of 4, oldest first; then nothing.
      assert.deepEqual(calls.map((c) => [c.indexed.length, c.remaining]), [[4, 6], [4, 2], [2, 0], [0, 0]]);
      assert.equal(seenTotal, 2, 'progress counts every missing commit when the call started');
      assert.deepEqual(calls.flatMap((c) => c.indexed), fx.main.slice(0, 10));
      // First parents only: the merged side branch's own commit stays unindexed.
      assert.equal((await store.indexedCommits(repoId, [fx.side])).size, 0);
      assert.deepEqual(await allHistories(store, repoId, fx.main), oneStep);
      assert.deepEqual(brief(await store.entityHistory(repoId, head, 'src/sum.ts::sum')).map((l) => l.slice(8)), [
        'function moved src/sum.ts::sum <- src/math.ts::sum',
        'function renamed src/math.ts::sum <- src/math.ts::total',
        'function modified src/math.ts::total <- src/math.ts::total',
        'function added src/math.ts::total <- -',
      ]);
      // Old commits are not news: no `commitIndexed` notice is queued for them.
      assert.deepEqual(await store.unannounced(repoId), []);
    }));
  });

  // Regression: HEAD read by the backfill right after a ref move included the new commits, which
  // were then stored as old history, unannounced (test/gh-unannounced-commit.test.ts lost its 3).
  it('leaves commits above the newest stored one (HEAD moved since the last run) to the indexing run', async () => {
    const repo = await makeRepo();
    const shas: string[] = [];
    for (let i = 1; i <= 6; i++) {
      await repo.write('a.ts', `export const a = ${i};\n`);
      shas.push(await repo.commit(`a${i}`));
    }
    await repo.git(['reset', '-q', '--hard', shas[3]!]);
    const dbm = await (await b.fresh()).open();
    try {
      const store = await openStore(dbm);
      await withGit(repo.dir, (git) => withIndexer(async (indexer) => {
        const { repoId } = await indexHistory({ repo: git, store, indexer, history: 1 }); // a4
        await repo.git(['reset', '-q', '--hard', shas[5]!]); // main moves to a6: a5 and a6 are new
        const r = await backfillHistory({ repo: git, store, indexer, repoId, depth: 100, maxCommits: 100 });
        assert.deepEqual(r, { indexed: shas.slice(0, 3), remaining: 0 });
        assert.equal((await store.indexedCommits(repoId, shas.slice(4))).size, 0);
        // Nothing stored on that chain: nothing is behind a window.
        const empty = await (await b.fresh()).open();
        try {
          const s2 = await openStore(empty);
          const id2 = await s2.repository(git.path);
          assert.deepEqual(await backfillHistory({ repo: git, store: s2, indexer, repoId: id2, depth: 100, maxCommits: 100 }), { indexed: [], remaining: 0 });
        } finally {
          await empty.close();
        }
      }));
    } finally {
      await dbm.close();
    }
  });

  // Regression: branchesPlan read the repository's live branch tips, so a commit that arrived
  // between a run and the plan (a standby taking over the lock, then a push) was planned as another
  // branch's history and stored unannounced; serve.test.ts's standby never saw commit "three".
  it('plans the other branches from the tips the store recorded, leaving a commit that arrived since to the indexing run', async () => {
    const repo = await makeRepo();
    await repo.write('a.ts', 'export const a = 1;\n');
    const a1 = await repo.commit('a1');
    await repo.branch('topic', a1);
    await repo.checkout('topic');
    await repo.write('t.ts', 'export const t = 1;\n');
    const t1 = await repo.commit('t1');
    await repo.checkout('main');
    await repo.write('a.ts', 'export const a = 2;\n');
    const a2 = await repo.commit('a2');
    const dbm = await (await b.fresh()).open();
    try {
      const store = await openStore(dbm);
      await withGit(repo.dir, (git) => withIndexer(async (indexer) => {
        // serve's first index: HEAD's window alone, every ref recorded.
        const { repoId } = await indexHistory({ repo: git, store, indexer, history: 10, refs: [] });
        await store.startAnnouncing(repoId);
        assert.equal((await store.indexedCommits(repoId, [t1])).size, 0);
        await repo.write('a.ts', 'export const a = 3;\n');
        const a3 = await repo.commit('a3'); // pushed before the backfill plans
        assert.deepEqual(await branchesPlan({ repo: git, store, indexer, repoId }, 10), [t1]);
        // The indexing run the push queues stores a3 and queues its notice.
        const run = await indexHistory({ repo: git, store, indexer, repoId, history: 10, refs: [], moved: true });
        assert.deepEqual(run.indexed, [a3]);
        assert.deepEqual(await store.unannounced(repoId), [a3]);
        assert.equal((await store.indexedCommits(repoId, [a1, a2])).size, 2);
      }));
    } finally {
      await dbm.close();
    }
  });

  it('stops at `depth` commits from HEAD, where the history says it reached the horizon', async () => {
    const dbd = await (await b.fresh()).open();
    try {
      const store = await openStore(dbd);
      await withGit(fx.repo.dir, (repo) => withIndexer(async (indexer) => {
        const { repoId } = await indexHistory({ repo, store, indexer, history: 2 });
        const r = await backfillHistory({ repo, store, indexer, repoId, depth: 5, maxCommits: 100 });
        assert.deepEqual(r, { indexed: fx.main.slice(8, 11), remaining: 0 });
        const head = fx.main[fx.main.length - 1]!;
        const h = brief(await store.entityHistory(repoId, head, 'src/sum.ts::sum'));
        assert.equal(h.length, 2);
        assert.match(h[0]!, /moved src\/sum\.ts::sum <- src\/math\.ts::sum$/);
        assert.match(h[1]!, /boundary$/);
      }));
    } finally {
      await dbd.close();
    }
  });
});

for (const b of await backends()) {
  describe(`codegraph serve fills in the history behind readiness [${b.name}]`, { skip: b.skip, timeout: 240_000 }, () => {
    it('indexes the first-parent history of HEAD after the window, and not with backfill 0', async () => {
      for (const backfill of ['0', '1000']) {
        const data = await makeTempDir('cg-backfill-');
        const extra = b.name === 'postgres' ? ['--database-url', (await b.fresh()).options.databaseUrl!] : [];
        const config = loadConfig({ argv: ['--repo', fx.repo.dir, '--port', '0', '--data-dir', data, '--history', '2', '--backfill', backfill, '--threads', '1', ...extra], env: {} });
        const events = new InProcessEvents();
        const progress = events.subscribe('indexProgress', path.basename(fx.repo.dir));
        const s = await startService({ config, logger: captureLogs().logger, events });
        try {
          await untilReady(s, 120_000);
          const repoId = await s.store.repository(realpathSync(fx.repo.dir));
          const stored = async () => (await s.store.indexedCommits(repoId, fx.main)).size;
          if (backfill === '0') {
            await new Promise((r) => setTimeout(r, 1000));
            assert.equal(await stored(), 2);
            continue;
          }
          await until(async () => (await stored()) === fx.main.length, 'the whole first-parent history is indexed', 120_000);
          // Regression: one notice per commit, sent concurrently, could arrive out of order, and
          // the dashboard kept "3687 / 3688". The last backfill notice says it is done.
          let last: { phase: string; done: number; total: number } | undefined;
          while (last?.phase !== 'backfill' || last.done < last.total) {
            last = (await progress.next()).value as { phase: string; done: number; total: number };
          }
          assert.deepEqual(last, { repository: path.basename(fx.repo.dir), phase: 'backfill', done: 11, total: 11 });
          const res = await fetch(`${s.server.url}/graphql`, {
            method: 'POST', headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ query: `{ repository(name: "${path.basename(fx.repo.dir)}") { entityHistory(qualifiedName: "src/sum.ts::sum") { change boundary commit { sha } } } }` }),
          });
          const body = (await res.json()) as { data: { repository: { entityHistory: Array<{ change: string; boundary: boolean; commit: { sha: string } }> } } };
          assert.deepEqual(body.data.repository.entityHistory.map((v) => [v.commit.sha, v.change, v.boundary]), [
            [fx.main[10], 'moved', false], [fx.main[6], 'renamed', false], [fx.main[3], 'modified', false], [fx.main[0], 'added', false],
          ]);
        } finally {
          await progress.return!();
          await s.close();
        }
      }
    });
  });
}
