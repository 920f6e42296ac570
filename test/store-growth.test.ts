// Storage grows with churn, not with commits x files: after a 200-file snapshot, each commit that
// changes one file adds O(1) rows to every table. Both backends.
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { indexCommit } from '../daemon/history.ts';
import { storeDigest } from '../store/index.ts';
import { cleanupAll, makeRepo } from './helpers/gitrepo.ts';
import { withBackends } from './harness/pg.ts';
import { openStore, withGit, withIndexer } from './store-fixtures.ts';

const FILES = 200;
const COMMITS = 10;

function source(i: number, version: number): string {
  return [0, 1, 2].map((k) => `export function f${i}_${k}(x: number): number {\n  return helper${k}(x) + ${k === 0 ? version : k};\n}\n`).join('\n');
}

after(cleanupAll);

await withBackends('storage grows with churn', (b) => {
  it(`adds O(changed files) rows per commit on a ${FILES}-file repository`, { timeout: 300_000 }, async () => {
    const repo = await makeRepo();
    await repo.writeFiles(Object.fromEntries(Array.from({ length: FILES }, (_, i) => [`src/m${i}.ts`, source(i, 0)])));
    const shas = [await repo.commit('snapshot')];
    for (let c = 1; c <= COMMITS; c++) {
      await repo.write(`src/m${(c * 37) % FILES}.ts`, source((c * 37) % FILES, c));
      shas.push(await repo.commit(`change ${c}`));
    }
    const db = await (await b.fresh()).open();
    try {
      const store = await openStore(db);
      const rows: Array<Record<string, number>> = [];
      await withGit(repo.dir, (git) => withIndexer(async (indexer) => {
        for (const sha of shas) {
          await indexCommit({ repo: git, store, indexer }, sha);
          rows.push((await storeDigest(db)).rows);
        }
      }));
      const first = rows[0]!;
      assert.equal(first.file_deltas, FILES);
      assert.equal(first.entities, FILES * 4); // module + 3 functions per file
      for (let c = 1; c <= COMMITS; c++) {
        const delta = Object.fromEntries(Object.entries(rows[c]!).map(([t, n]) => [t, n - rows[c - 1]![t]!]));
        assert.deepEqual(delta, {
          commits: 1, file_deltas: 1, extractions: 1, entities: 4, extraction_refs: 1, bodies: 1, entity_changes: 1,
          git_refs: 0, ref_log: 0,
        }, `commit ${c}`);
      }
    } finally {
      await db.close();
    }
  });
});
