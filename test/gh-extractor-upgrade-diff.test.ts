// Regression: a store outlives upgrades, and an upgrade that changes the extraction rules
// (EXTRACTOR_VERSION 12 made CommonJS `require` bindings imports, no longer variables) read as an
// edit of the code: tried on expressjs/express, the first commit after the upgrade to touch
// lib/response.js (it added a comment) "removed" its 17 `var x = require(...)` variables, in
// `codegraph diff`, in the stored entity changes and so in `commitIndexed` events. The indexer now
// extracts the old blob of such a file again by the current rules, and diffs compare like with like.
// Files the upgrade did not touch kept the old rules' entities at the tips (search and the graph
// showed express's `compileETag` as a variable) until they changed: the daemon now extracts the
// tips' stale files again at start (refreshTips), and every tree naming them reads the new ones.
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { indexHistory, refreshFiles } from '../daemon/history.ts';
import type { Db } from '../store/db.ts';
import { EXTRACTOR_VERSION } from '../indexer/types.ts';
import { cleanupAll, makeRepo } from './helpers/gitrepo.ts';
import { withBackends } from './harness/pg.ts';
import { openStore, withGit, withIndexer } from './store-fixtures.ts';

after(cleanupAll);

const V1 = 'var setCharset = require("./utils").setCharset;\nvar send = require("send");\n\nfunction type(t) {\n  return setCharset(t, "utf-8");\n}\n\nmodule.exports = { type };\n';

await withBackends('entity changes across an extractor upgrade', (b) => {
  it('compares a file changed after the upgrade with its old content extracted by the new rules', async () => {
    const repo = await makeRepo();
    await repo.writeFiles({ 'lib/response.js': V1, 'lib/utils.js': 'exports.setCharset = function setCharset(t, c) {\n  return t + c;\n};\n' });
    const c1 = await repo.commit('one');
    const db = await (await b.fresh()).open();
    try {
      const store = await openStore(db);
      await withGit(repo.dir, (git) => withIndexer(async (indexer) => {
        const { repoId } = await indexHistory({ repo: git, store, indexer, history: 10 });
        // What the previous extractor stored for lib/response.js: the two bindings as variables.
        const old = await downgrade(db);

        // The upgraded indexer (a new process: nothing cached) stores a commit that only adds a
        // comment to the file.
        const upgraded = await openStore(db);
        await repo.write('lib/response.js', `${V1}// trial edit\n`);
        const c2 = await repo.commit('two');
        const run = await indexHistory({ repo: git, store: upgraded, indexer, repoId, history: 10 });
        assert.deepEqual(run.indexed, [c2]);

        const d = await upgraded.diff(repoId, c1, c2);
        assert.deepEqual([d.added, d.removed, d.modified, d.renamed], [[], [], [], []], JSON.stringify(d));
        const h = await upgraded.entityHistory(repoId, c2, 'lib/response.js::type');
        assert.deepEqual(h.map((e) => e.sha), [c1]);
        // The old blob is stored once more by the current rules, beside the old extraction.
        const { rows: again } = await db.query<{ v: number }>(
          `SELECT extractor_version AS v FROM extractions WHERE blob_sha = (SELECT blob_sha FROM extractions WHERE id = $1) ORDER BY v`, [old]);
        assert.deepEqual(again.map((r) => r.v), [EXTRACTOR_VERSION - 1, EXTRACTOR_VERSION]);
      }));
    } finally {
      await db.close();
    }
  });

  it('extracts the tips\' unchanged files again at start, and the tree at every commit reads them', async () => {
    const repo = await makeRepo();
    await repo.writeFiles({ 'lib/response.js': V1, 'lib/utils.js': 'exports.setCharset = function setCharset(t, c) {\n  return t + c;\n};\n' });
    const c1 = await repo.commit('one');
    await repo.write('lib/utils.js', 'exports.setCharset = function setCharset(t, c) {\n  return t + "; charset=" + c;\n};\n');
    const c2 = await repo.commit('two');
    const db = await (await b.fresh()).open();
    try {
      const store = await openStore(db);
      await withGit(repo.dir, (git) => withIndexer(async (indexer) => {
        const { repoId } = await indexHistory({ repo: git, store, indexer, history: 10 });
        const old = await downgrade(db);

        const upgraded = await openStore(db);
        const kinds = async (sha: string): Promise<string[]> =>
          (await upgraded.entities(repoId, sha, { pathPrefix: 'lib/response.js' })).map((e) => `${e.kind} ${e.name}`).sort();
        // What a reader saw before the fix: the old rules' variables at the tip.
        assert.deepEqual(await kinds(c2), ['function type', 'module ', 'variable send', 'variable setCharset']);
        assert.deepEqual(await upgraded.staleAt(repoId, [c2]), [{ path: 'lib/response.js', blobSha: await repo.git(['rev-parse', `${c2}:lib/response.js`]), language: 'javascript' }]);

        const run = await indexHistory({ repo: git, store: upgraded, indexer, repoId, history: 10, refreshTips: 16 });
        assert.equal(run.refreshed, 1);
        assert.deepEqual(run.indexed, []);
        // At the tip and at the older commit that holds the same blob: the current rules.
        const current = ['function type', 'import ./utils', 'import send', 'module '];
        assert.deepEqual(await kinds(c2), current);
        assert.deepEqual(await kinds(c1), current);
        assert.deepEqual(await upgraded.staleAt(repoId, [c1, c2]), []);
        // The call through the CommonJS binding resolves at the tip.
        const callers = await upgraded.callers(repoId, c2, 'lib/utils.js::setCharset');
        assert.deepEqual(callers.map((e) => e.from.qualifiedName), ['lib/response.js::type']);
        // The old extraction is kept (deltas are never rewritten); a second start finds nothing to do.
        const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM extractions WHERE id = $1', [old]);
        assert.equal(rows[0]!.n, 1);
        const again = await indexHistory({ repo: git, store: await openStore(db), indexer, repoId, history: 10, refreshTips: 16 });
        assert.equal(again.refreshed, 0);

        // Behind the tips, the background pass: lib/utils.js at c1 (not at any tip) by the old rules.
        const utilsAtC1 = await repo.git(['rev-parse', `${c1}:lib/utils.js`]);
        await db.query('UPDATE extractions SET extractor_version = $2 WHERE blob_sha = $1', [utilsAtC1, EXTRACTOR_VERSION - 1]);
        const later = await openStore(db);
        const ctx = { repo: git, store: later, indexer, repoId };
        assert.deepEqual(await later.staleStored(repoId), [{ path: 'lib/utils.js', blobSha: utilsAtC1, language: 'javascript' }]);
        assert.equal(await refreshFiles(ctx, await later.staleStored(repoId), false), 1);
        assert.deepEqual(await later.staleStored(repoId), []);
        const { rows: versions } = await db.query<{ v: number }>('SELECT extractor_version AS v FROM extractions WHERE blob_sha = $1 ORDER BY v', [utilsAtC1]);
        assert.deepEqual(versions.map((r) => r.v), [EXTRACTOR_VERSION - 1, EXTRACTOR_VERSION]);
      }));
    } finally {
      await db.close();
    }
  });
});

/** Makes the store look written by the previous extractor for lib/response.js: its two bindings as
 * variables, at EXTRACTOR_VERSION - 1. Returns that extraction's id. */
async function downgrade(db: Db): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `SELECT DISTINCT x.id FROM extractions x JOIN entities e ON e.extraction_id = x.id WHERE e.kind = 'import' AND x.language = 'javascript'`);
  assert.equal(rows.length, 1);
  const old = rows[0]!.id;
  await db.query(`UPDATE entities SET kind = 'variable', name = CASE WHEN start_line = 1 THEN 'setCharset' ELSE 'send' END,
    qname = CASE WHEN start_line = 1 THEN 'setCharset' ELSE 'send' END WHERE extraction_id = $1 AND kind = 'import'`, [old]);
  await db.query('UPDATE extractions SET extractor_version = $2 WHERE id = $1', [old, EXTRACTOR_VERSION - 1]);
  return old;
}
