// Regression (#9, found on expressjs/express): the writer hands each commit's tree to its first
// child, so a commit changing a few files reads nothing back. A child whose parent's tree was not
// held (the parent is a branch point and another child took it) read the versions of its own
// delta's paths only, and then had no tree to hand on: every later commit of its chain read its
// paths' versions too, a read that costs more as the chain deepens. On express, 6,005 of 6,210
// commits of `index --history all` did, 18 of 49 s. Now such a child reads its parent's tree
// whole, once, and the chain goes on without reads. On both backends.
import assert from 'node:assert/strict';
import { realpathSync } from 'node:fs';
import { after, it } from 'node:test';
import { indexHistory } from '../daemon/history.ts';
import type { Db, Queryable } from '../store/db.ts';
import { HistoryStore } from '../store/index.ts';
import { cleanupAll, makeRepo } from './helpers/gitrepo.ts';
import { withBackends } from './harness/pg.ts';
import { openStore, withGit, withIndexer } from './store-fixtures.ts';

after(cleanupAll);

/** `db`, with the tree reads (store/chain.ts treeSql) of its transactions counted. */
function counting(db: Db): { db: Db; treeReads: () => number } {
  let n = 0;
  const count = (sql: string) => {
    if (sql.includes('SELECT DISTINCT ON (d.path_id) d.path_id, d.blob_sha')) n++;
  };
  const tx = (q: Queryable): Queryable => ({ query: (sql, params) => (count(sql), q.query(sql, params)) });
  const transaction: Db['transaction'] = (fn) => db.transaction((q) => fn(tx(q)));
  const wrapped = new Proxy(db, {
    get: (target, key) => {
      if (key === 'transaction') return transaction;
      const v: unknown = Reflect.get(target, key);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { db: wrapped, treeReads: () => n };
}

await withBackends('tree handover', (b) => {
  it('a commit whose parent\'s tree another child took reads it whole once; the chain after it reads none', async () => {
    const repo = await makeRepo();
    await repo.writeFiles({ 'src/a.ts': 'export const a = 0;\n', 'src/b.ts': 'export const b = 0;\n' });
    const fork = await repo.commit('fork point');
    // A side branch off the fork point, older than main's commits: stored first, it takes the tree.
    await repo.branch('side', fork);
    await repo.checkout('side');
    await repo.write('src/side.ts', 'export const side = 1;\n');
    await repo.commit('side');
    await repo.checkout('main');
    for (let i = 1; i <= 12; i++) {
      await repo.write('src/a.ts', `export const a = ${i};\n`);
      await repo.commit(`main ${i}`);
    }
    const db = await (await b.fresh()).open();
    try {
      await openStore(db); // migrated
      const c = counting(db);
      const store = new HistoryStore(c.db);
      const { indexed } = await withGit(repo.dir, (git) => withIndexer((indexer) => indexHistory({ repo: git, store, indexer, history: 'all' })));
      assert.equal(indexed.length, 14);
      assert.equal(c.treeReads(), 1, 'one whole-tree read, for main\'s first commit after the fork');
      // The histories are those of the reads: `a` changed by every main commit, `side` on its branch.
      const head = await repo.git(['rev-parse', 'main']);
      const repoId = await store.repository(realpathSync(repo.dir));
      assert.equal((await store.entityHistory(repoId, head, 'src/a.ts::a')).length, 13);
      const names = (await store.entities(repoId, head)).filter((e) => e.kind !== 'module').map((e) => e.qualifiedName).sort();
      assert.deepEqual(names, ['src/a.ts::a', 'src/b.ts::b']);
    } finally {
      await db.close();
    }
  });
});
