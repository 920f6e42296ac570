// Issue #12: the first snapshot written into an empty store leaves its B-tree indexes compact
// (HistoryStore.compactIndexes): body hashes and names arrive in no order, so pages split while
// filling and stay about half full unless rebuilt. Both backends.
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { indexCommit } from '../daemon/history.ts';
import type { Db } from '../store/db.ts';
import { cleanupAll, makeRepo } from './helpers/gitrepo.ts';
import { withBackends } from './harness/pg.ts';
import { openStore, withGit, withIndexer } from './store-fixtures.ts';

after(cleanupAll);

const INDEXES = ['bodies_pkey', 'entities_name'];

async function sizes(db: Db): Promise<Record<string, number>> {
  const { rows } = await db.query<{ name: string; b: number }>(
    'SELECT c.relname AS name, pg_relation_size(c.oid)::float8 AS b FROM pg_class c WHERE c.relname = ANY($1::text[]) ORDER BY 1', [INDEXES]);
  return Object.fromEntries(rows.map((r) => [r.name, r.b]));
}

await withBackends('first snapshot index compaction', (b) => {
  it('the first snapshot\'s body-hash and name indexes are as small as rebuilt ones; a later commit does not rebuild them', async () => {
    const repo = await makeRepo();
    // 4,000 functions with distinct names and bodies: enough index pages for splits to show.
    const files: Record<string, string> = {};
    for (let f = 0; f < 40; f++) {
      const fns: string[] = [];
      for (let i = 0; i < 100; i++) fns.push(`export function f${(f * 7919 + i * 104729) % 1_000_003}_${i}(x: number): number {\n  return x * ${f * 100 + i};\n}\n`);
      files[`src/m${f}.ts`] = fns.join('\n');
    }
    await repo.writeFiles(files);
    await repo.commit('start');
    const db = await (await b.fresh()).open();
    try {
      const store = await openStore(db);
      await withGit(repo.dir, (git) => withIndexer((indexer) => indexCommit({ repo: git, store, indexer }, 'HEAD')));
      const stored = await sizes(db);
      assert.deepEqual(Object.keys(stored), INDEXES.slice().sort());
      await db.query('REINDEX TABLE bodies');
      await db.query('REINDEX TABLE entities');
      assert.deepEqual(await sizes(db), stored, 'rebuilding them again gains nothing');

      // A later commit is written without a rebuild: its pages fill as they go.
      await repo.writeFiles({ 'src/more.ts': files['src/m0.ts']!.replace(/export function f/g, 'export function g') });
      await repo.commit('more');
      const before = await sizes(db);
      const calls: string[] = [];
      const query = db.query.bind(db);
      db.query = ((sql: string, ...rest: unknown[]) => {
        calls.push(sql);
        return (query as (...a: unknown[]) => unknown)(sql, ...rest);
      }) as Db['query'];
      await withGit(repo.dir, (git) => withIndexer((indexer) => indexCommit({ repo: git, store, indexer }, 'HEAD')));
      db.query = query;
      assert.equal(calls.filter((s) => /REINDEX/.test(s)).length, 0);
      assert.ok((await sizes(db)).bodies_pkey! >= before.bodies_pkey!);
    } finally {
      await db.close();
    }
  });
});
