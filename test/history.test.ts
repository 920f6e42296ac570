// Function-level history, blame, call resolution, impact, entity queries and skip counts on the
// fixture history, on both backends.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { indexCommit, indexHistory, recordRefs } from '../daemon/history.ts';
import type { Db } from '../store/db.ts';
import { storeDigest, type CallEdge, type HistoryStore } from '../store/index.ts';
import { cleanupAll } from './helpers/gitrepo.ts';
import { withBackends } from './harness/pg.ts';
import { buildFixture, fmt, openStore, withGit, withIndexer, type Fixture } from './store-fixtures.ts';

after(cleanupAll);

const edge = (e: CallEdge): string => `${e.from.qualifiedName} -> ${e.to.qualifiedName} line ${e.line} via ${e.via} depth ${e.depth}`;

await withBackends('entity history, blame, graph queries', (b) => {
  let fx: Fixture;
  let db: Db;
  let store: HistoryStore;
  let repoId: number;
  let extra: string;
  before(async () => {
    fx = await buildFixture();
    // A side branch with files that are skipped, each for its own reason.
    await fx.repo.branch('extra', fx.c.m1!);
    await fx.repo.checkout('extra');
    await fx.repo.writeFiles({ 'README.md': '# hi\n', 'notes.txt': 'x\n', 'dist/bundle.js': 'function f() {}\n', 'src/blob.ts': Buffer.from([0x65, 0, 1, 2]) });
    extra = await fx.repo.commit('extra: skipped files');
    await fx.repo.checkout('main');
    db = await (await b.fresh()).open();
    store = await openStore(db);
    await withGit(fx.repo.dir, (repo) => withIndexer(async (indexer) => {
      repoId = (await indexHistory({ repo, store, indexer, history: 'all' })).repoId;
    }));
  });
  after(async () => db.close());

  it('follows an entity back across a file rename and a function rename', async () => {
    const h = await store.entityHistory(repoId, fx.c.m1!, 'py/helpers.py::welcome');
    assert.deepEqual(h.map((x) => [x.sha, x.change, x.qualifiedName, x.previousQualifiedName, x.boundary]), [
      [fx.c.c7, 'moved', 'py/helpers.py::welcome', 'py/util.py::welcome', false],
      [fx.c.c5, 'renamed', 'py/util.py::welcome', 'py/util.py::greet', false],
      [fx.c.c1, 'added', 'py/util.py::greet', null, false],
    ]);
    assert.equal(h[0]!.message, 'c7: rename file\n');
    const mul = await store.entityHistory(repoId, fx.c.m1!, 'src/ops.ts::mul');
    assert.deepEqual(mul.map((x) => [x.sha, x.change, x.signatureChanged]), [
      [fx.c.c6, 'moved', false], [fx.c.c3, 'modified', true], [fx.c.c1, 'added', false],
    ]);
    assert.deepEqual(await store.entityHistory(repoId, fx.c.m1!, 'src/ops.ts::nothing'), []);
  });

  it('keeps each commit\'s own entity changes (against its first parent)', async () => {
    assert.deepEqual(await store.commitChanges(repoId, fx.c.c5!), [
      { change: 'renamed', kind: 'function', qualifiedName: 'py/util.py::welcome', previousQualifiedName: 'py/util.py::greet', signatureChanged: false, visibilityChanged: false },
      { change: 'modified', kind: 'function', qualifiedName: 'py/util.py::shout', previousQualifiedName: 'py/util.py::shout', signatureChanged: false, visibilityChanged: false },
    ].sort((a, b) => (a.qualifiedName < b.qualifiedName ? -1 : 1)));
    assert.deepEqual(await store.commitChanges(repoId, fx.c.c4!), []); // whitespace only
    assert.deepEqual(await store.commitChanges(repoId, fx.c.c1!), []); // a base: its tree is the state
  });

  it('blames each entity of a file on the last commit that changed it', async () => {
    const bl = await store.blame(repoId, fx.c.m1!, 'src/math.ts');
    assert.deepEqual(bl.map((x) => [x.entity.qualifiedName, x.sha, x.boundary]), [
      ['src/math.ts::add', fx.c.c9, false], ['src/math.ts::sub', fx.c.c2, false], ['src/math.ts::div', fx.c.c8, false],
    ]);
  });

  it('marks the start of an indexed window as a boundary', async () => {
    const db2 = await (await b.fresh()).open();
    try {
      const s2 = await openStore(db2);
      await withGit(fx.repo.dir, (repo) => withIndexer((indexer) => indexCommit({ repo, store: s2, indexer }, fx.c.c5!)));
      const id = await s2.repository(fx.repo.dir);
      const h = await s2.entityHistory(id, fx.c.c5!, 'py/util.py::welcome');
      assert.deepEqual(h.map((x) => [x.sha, x.change, x.boundary]), [[fx.c.c5, 'added', true]]);
      const bl = await s2.blame(id, fx.c.c5!, 'py/util.py');
      assert.deepEqual(bl.map((x) => [x.entity.name, x.sha, x.boundary]), [['welcome', fx.c.c5, true], ['shout', fx.c.c5, true]]);
    } finally {
      await db2.close();
    }
  });

  it('resolves calls: imported module, same file; counts unresolved', async () => {
    assert.deepEqual((await store.callers(repoId, fx.c.c1!, 'src/math.ts::add')).map(edge), [
      'src/app.ts::main -> src/math.ts::add line 4 via import depth 1',
    ]);
    assert.deepEqual((await store.callees(repoId, fx.c.c1!, 'src/app.ts::main')).map(edge), [
      'src/app.ts::main -> src/math.ts::add line 4 via import depth 1',
    ]);
    assert.deepEqual((await store.callers(repoId, fx.c.c1!, 'py/util.py::greet', 3)).map(edge), [
      'py/util.py::shout -> py/util.py::greet line 6 via exact depth 1',
    ]);
    // At c8 app.ts is gone: add has no caller any more.
    assert.deepEqual(await store.callers(repoId, fx.c.c8!, 'src/math.ts::add'), []);
    // main -> add resolved, shout -> greet resolved, `.upper()` unresolved (a str method).
    assert.deepEqual(await store.resolutionStats(repoId, fx.c.c1!), { resolved: 2, unresolved: 1, ambiguous: 0, byReason: { none: 1 } });
    await assert.rejects(store.callers(repoId, fx.c.c1!, 'src/math.ts::nope'), { code: 'ENTITY_NOT_FOUND' });
  });

  it('resolves imports to files of the tree at the commit', async () => {
    assert.deepEqual(await store.imports(repoId, fx.c.c1!, 'src/app.ts'), [{ module: './math', path: 'src/math.ts' }]);
    assert.deepEqual(await store.imports(repoId, fx.c.c1!, 'src/math.ts'), []);
  });

  it('lists the callers affected by a diff', async () => {
    const d = await store.diff(repoId, fx.c.c4!, fx.c.c5!);
    const impact = await store.impact(repoId, d, 3);
    assert.deepEqual(impact.map((i) => [fmt(i.entity), i.depth, i.because]), [
      ['function shout py/util.py::shout @py/util.py:5-6', 1, 'py/util.py::welcome'],
    ]);
  });

  it('queries entities at a commit by path prefix, kind, name (exact, prefix, fuzzy), paginated', async () => {
    const q = async (query: Parameters<HistoryStore['entities']>[2]): Promise<string[]> =>
      (await store.entities(repoId, fx.c.m1!, query)).map((e) => e.qualifiedName);
    assert.deepEqual(await q({ pathPrefix: 'src/', kind: 'function' }),
      ['src/math.ts::add', 'src/math.ts::sub', 'src/math.ts::div', 'src/ops.ts::mul', 'src/ops.ts::mod']);
    assert.deepEqual(await q({ pathPrefix: 'src/', kind: 'function', limit: 2, offset: 2 }), ['src/math.ts::div', 'src/ops.ts::mul']);
    assert.deepEqual(await q({ name: 'mod' }), ['src/ops.ts::mod']);
    assert.deepEqual(await q({ name: 'mu', nameMatch: 'prefix' }), ['src/ops.ts::mul']);
    assert.deepEqual((await q({ name: 'welcom', nameMatch: 'fuzzy' }))[0], 'py/helpers.py::welcome');
    assert.deepEqual(await q({ pathPrefix: 'src/ops.ts', kind: 'module' }), ['src/ops.ts']);
    // The same query at an older commit sees the older graph.
    assert.deepEqual(await store.entities(repoId, fx.c.c1!, { name: 'mod' }), []);
    await assert.rejects(store.entities(repoId, fx.c.m1!, { limit: 0 }), { code: 'INVALID_INPUT' });
  });

  it('records every skipped file with its reason', async () => {
    assert.deepEqual(await store.skipCounts(repoId, extra), { binary: 1, excluded: 1, unknown_language: 2 });
    assert.deepEqual(await store.skipCounts(repoId, fx.c.m1!), {});
    const tree = await store.tree(repoId, extra);
    assert.deepEqual(tree.filter((f) => f.skipReason !== null).map((f) => [f.path, f.skipReason]), [
      ['README.md', 'unknown_language'], ['dist/bundle.js', 'excluded'], ['notes.txt', 'unknown_language'], ['src/blob.ts', 'binary'],
    ]);
    assert.deepEqual(tree.filter((f) => f.parsed).map((f) => f.path), ['py/helpers.py', 'src/math.ts', 'src/ops.ts']);
  });

  it('finds entities by body similarity (HNSW over the built-in embeddings)', async () => {
    const top = await store.similar(repoId, fx.c.m1!, 'return a * b;', 1);
    assert.deepEqual(top.map((e) => e.qualifiedName), ['src/ops.ts::mul']);
  });

  it('stores each distinct blob extraction once, whatever the paths and commits', async () => {
    const { rows } = await db.query<{ n: number; d: number }>('SELECT count(*)::int AS n, count(DISTINCT (blob_sha, language))::int AS d FROM extractions');
    assert.equal(rows[0]!.n, rows[0]!.d);
    // py/util.py at c5 and py/helpers.py at c7 are the same blob: one extraction serves both paths.
    const { rows: shared } = await db.query<{ n: number }>(
      `SELECT count(DISTINCT p.path)::int AS n FROM file_deltas d JOIN paths p ON p.id = d.path_id
       WHERE d.extraction_id = (SELECT d2.extraction_id FROM file_deltas d2 JOIN paths p2 ON p2.id = d2.path_id WHERE p2.path = 'py/helpers.py' LIMIT 1)`);
    assert.equal(shared[0]!.n, 2);
  });

  // #9: several commits per transaction. c8 has two children (f1 on feature, c9 on main) in one
  // transaction; the tree handed from c8 to its first child was handed, mutated, to the second too.
  it('stores the same graph with all commits in one transaction as with one transaction per commit', { timeout: 300_000 }, async () => {
    const grouped = await (await b.fresh()).open();
    const single = await (await b.fresh()).open();
    try {
      const g = await openStore(grouped);
      const s = await openStore(single);
      await withGit(fx.repo.dir, (repo) => withIndexer(async (indexer) => {
        await indexHistory({ repo, store: g, indexer, history: 'all', transactionBudgetMs: Infinity });
        await recordRefs({ repo, store: s, indexer });
        for (const sha of [fx.c.c1, fx.c.c2, fx.c.c3, fx.c.c4, fx.c.c5, fx.c.c6, fx.c.c7, fx.c.c8, fx.c.f1, fx.c.c9, fx.c.m1, extra]) {
          await indexCommit({ repo, store: s, indexer }, sha!);
        }
      }));
      const want = await storeDigest(single);
      assert.equal(want.rows.commits, 12);
      assert.ok(want.rows.entity_changes! > 0);
      const got = await storeDigest(grouped);
      assert.deepEqual(got.rows, want.rows);
      assert.equal(got.digest, want.digest);
    } finally {
      await grouped.close();
      await single.close();
    }
  });
});
