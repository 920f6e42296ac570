// Entity-level diff on a scripted history, on both backends: every kind of change, adjacent and
// non-adjacent pairs, a merge, and a force push whose old commit stays queryable.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { renderDiff } from '../daemon/commands/diff.ts';
import { indexHistory } from '../daemon/history.ts';
import type { Db } from '../store/db.ts';
import type { EntityDiff, HistoryStore } from '../store/index.ts';
import { cleanupAll } from './helpers/gitrepo.ts';
import { withBackends } from './harness/pg.ts';
import { buildFixture, fmt, openStore, withGit, withIndexer, type Fixture } from './store-fixtures.ts';

function lines(d: EntityDiff): string[] {
  return [
    ...d.added.map((e) => `added ${fmt(e)}`),
    ...d.removed.map((e) => `removed ${fmt(e)}`),
    ...d.modified.map((m) => `modified ${fmt(m.before)} => ${fmt(m.after)}${m.signatureChanged ? ' [signature]' : ''}`),
    ...d.renamed.map((m) => `renamed ${fmt(m.before)} => ${fmt(m.after)}`),
    ...d.moved.map((m) => `moved ${fmt(m.before)} => ${fmt(m.after)}`),
  ];
}

const ADD = 'function add src/math.ts::add @src/math.ts:1-3';
const SUB = 'function sub src/math.ts::sub @src/math.ts:5-7';
const MUL_MATH = 'function mul src/math.ts::mul @src/math.ts:9-11';
const MUL_OPS = 'function mul src/ops.ts::mul @src/ops.ts:1-3';
const DIV = 'function div src/math.ts::div @src/math.ts:9-11';
const MOD = 'function mod src/ops.ts::mod @src/ops.ts:5-7';
const MAIN = 'function main src/app.ts::main @src/app.ts:3-5';
const GREET = 'function greet py/util.py::greet @py/util.py:1-2';
const WELCOME_UTIL = 'function welcome py/util.py::welcome @py/util.py:1-2';
const WELCOME_HELPERS = 'function welcome py/helpers.py::welcome @py/helpers.py:1-2';
const SHOUT_UTIL = 'function shout py/util.py::shout @py/util.py:5-6';
const SHOUT_HELPERS = 'function shout py/helpers.py::shout @py/helpers.py:5-6';

/** Expected diff of each pair, in the store's order (added, removed, modified, renamed, moved;
 * each by path and line of the before side). */
const EXPECTED: Array<[string, string, string[]]> = [
  ['c1', 'c2', [`modified ${SUB} => ${SUB}`]],
  ['c2', 'c3', [`modified ${MUL_MATH} => ${MUL_MATH} [signature]`]],
  ['c3', 'c4', []], // whitespace-only change of main
  ['c4', 'c5', [`modified ${SHOUT_UTIL} => ${SHOUT_UTIL}`, `renamed ${GREET} => ${WELCOME_UTIL}`]],
  ['c5', 'c6', [`moved ${MUL_MATH} => ${MUL_OPS}`]],
  ['c6', 'c7', [`moved ${WELCOME_UTIL} => ${WELCOME_HELPERS}`, `moved ${SHOUT_UTIL} => ${SHOUT_HELPERS}`]],
  ['c7', 'c8', [`added ${DIV}`, `removed ${MAIN}`]],
  ['c8', 'f1', [`added ${MOD}`]],
  ['c8', 'c9', [`modified ${ADD} => ${ADD}`]],
  ['c9', 'm1', [`added ${MOD}`]], // the merge against its first parent
  ['f1', 'm1', [`modified ${ADD} => ${ADD}`]], // ... and against its second parent
  ['c3', 'c3', []],
  // Non-adjacent pairs, both directions.
  ['c1', 'c4', [`modified ${SUB} => ${SUB}`, `modified ${MUL_MATH} => ${MUL_MATH} [signature]`]],
  ['c1', 'c8', [
    `added ${DIV}`, `removed ${MAIN}`, `modified ${SUB} => ${SUB}`, `renamed ${GREET} => ${WELCOME_HELPERS}`,
    `moved ${SHOUT_UTIL} => ${SHOUT_HELPERS}`, `moved ${MUL_MATH} => ${MUL_OPS}`,
  ]],
  ['c8', 'c1', [
    `added ${MAIN}`, `removed ${DIV}`, `modified ${SUB} => ${SUB}`, `renamed ${WELCOME_HELPERS} => ${GREET}`,
    `moved ${SHOUT_HELPERS} => ${SHOUT_UTIL}`, `moved ${MUL_OPS} => ${MUL_MATH}`,
  ]],
  ['c1', 'm1', [
    `added ${DIV}`, `added ${MOD}`, `removed ${MAIN}`, `modified ${ADD} => ${ADD}`, `modified ${SUB} => ${SUB}`,
    `renamed ${GREET} => ${WELCOME_HELPERS}`, `moved ${SHOUT_UTIL} => ${SHOUT_HELPERS}`, `moved ${MUL_MATH} => ${MUL_OPS}`,
  ]],
  ['f1', 'c9', [`removed ${MOD}`, `modified ${ADD} => ${ADD}`]], // siblings: across the fork point
];

after(cleanupAll);

await withBackends('entity diff', (b) => {
  let fx: Fixture;
  let db: Db;
  let store: HistoryStore;
  let repoId: number;
  before(async () => {
    fx = await buildFixture(); // one per backend: the force-push test rewrites a branch
    db = await (await b.fresh()).open();
    store = await openStore(db);
    await withGit(fx.repo.dir, (repo) => withIndexer(async (indexer) => {
      repoId = (await indexHistory({ repo, store, indexer, history: 'all' })).repoId;
    }));
  });
  after(async () => db.close());

  for (const [a, z, want] of EXPECTED) {
    it(`${a}..${z}`, async () => {
      const d = await store.diff(repoId, fx.c[a]!, fx.c[z]!);
      assert.equal(d.from, fx.c[a]);
      assert.equal(d.to, fx.c[z]);
      assert.deepEqual(lines(d), want);
    });
  }

  it('returns the JSON shape of the CLI: full entity objects', async () => {
    const d = await store.diff(repoId, fx.c.c2!, fx.c.c3!);
    assert.deepEqual(d, {
      from: fx.c.c2, to: fx.c.c3, added: [], removed: [], renamed: [], moved: [],
      modified: [{
        before: { kind: 'function', name: 'mul', qualifiedName: 'src/math.ts::mul', path: 'src/math.ts', startLine: 9, endLine: 11 },
        after: { kind: 'function', name: 'mul', qualifiedName: 'src/math.ts::mul', path: 'src/math.ts', startLine: 9, endLine: 11 },
        signatureChanged: true, visibilityChanged: false, bodyChanged: true, docChanged: false,
      }],
    });
  });

  it('accepts unique sha prefixes and rejects unknown commits with a code', async () => {
    const d = await store.diff(repoId, fx.c.c1!.slice(0, 10), fx.c.c2!.slice(0, 10));
    assert.equal(d.modified.length, 1);
    await assert.rejects(store.diff(repoId, 'deadbeefdeadbeef', fx.c.c2!), { code: 'COMMIT_NOT_INDEXED' });
  });

  it('follows a force push: the rewritten commit stays stored and diffable, the move is logged as forced', async () => {
    const r = fx.repo;
    await r.branch('topic', fx.c.m1!);
    await r.checkout('topic');
    await r.write('src/topic.ts', 'export function topicFn(): number {\n  return 1;\n}\n');
    const t1 = await r.commit('t1');
    await withGit(r.dir, (repo) => withIndexer((indexer) => indexHistory({ repo, store, indexer, history: 3 })));
    await r.git(['reset', '-q', '--hard', fx.c.m1!]);
    await r.write('src/topic.ts', 'export function topicFn(): number {\n  return 2;\n}\n');
    const t2 = await r.commit('t1 rewritten');
    const res = await withGit(r.dir, (repo) => withIndexer((indexer) => indexHistory({ repo, store, indexer, history: 3 })));
    await r.checkout('main');
    assert.deepEqual(res.indexed, [t2]);
    assert.deepEqual(res.refMoves, [{ name: 'refs/heads/topic', oldSha: t1, newSha: t2, forced: true }]);
    const log = (await store.refLog(repoId, 'refs/heads/topic')).map(({ recordedAt: _, ...m }) => m);
    assert.deepEqual(log, [
      { name: 'refs/heads/topic', oldSha: null, newSha: t1, forced: false },
      { name: 'refs/heads/topic', oldSha: t1, newSha: t2, forced: true },
    ]);
    const TOPIC = 'function topicFn src/topic.ts::topicFn @src/topic.ts:1-3';
    assert.deepEqual(lines(await store.diff(repoId, fx.c.m1!, t1)), [`added ${TOPIC}`]);
    assert.deepEqual(lines(await store.diff(repoId, t1, t2)), [`modified ${TOPIC} => ${TOPIC}`]);
    assert.deepEqual((await store.entityHistory(repoId, t1, 'src/topic.ts::topicFn')).map((h) => [h.sha, h.change]), [[t1, 'added']]);
  });

  it('lists a doc-only edit as modified [doc only], without impact and without a history entry (gin trial: a doc change was invisible to diff)', async () => {
    const r = fx.repo;
    await r.write('src/doc.ts', '/** Adds. */\nexport function docFn(a: number): number {\n  return a + 1;\n}\n\nexport function user(): number {\n  return docFn(1);\n}\n');
    const d1 = await r.commit('doc 1');
    await r.write('src/doc.ts', '/** Adds one to a number. */\nexport function docFn(a: number): number {\n  return a + 1;\n}\n\nexport function user(): number {\n  return docFn(1);\n}\n');
    const d2 = await r.commit('doc 2');
    await withGit(r.dir, (repo) => withIndexer((indexer) => indexHistory({ repo, store, indexer, history: 5 })));
    const d = await store.diff(repoId, d1, d2);
    assert.deepEqual(d.modified.map((m) => [m.after.qualifiedName, m.bodyChanged, m.docChanged, m.signatureChanged]), [['src/doc.ts::docFn', false, true, false]]);
    assert.deepEqual(await store.impact(repoId, d), [], 'a doc-only edit impacts no caller');
    assert.match(renderDiff(d, null), /~ function src\/doc\.ts::docFn .*\[doc only\]/);
    assert.deepEqual((await store.entityHistory(repoId, d2, 'src/doc.ts::docFn')).map((h) => [h.sha, h.change]), [[d1, 'added']]);
    // Stored per-commit counts (the dashboard's commit list): d1 added two functions; d2's doc edit is no stored change.
    assert.deepEqual(await store.changeCounts(repoId, d1), { added: 2, removed: 0, modified: 0, renamed: 0, moved: 0 });
    assert.deepEqual(await store.changeCounts(repoId, d2), { added: 0, removed: 0, modified: 0, renamed: 0, moved: 0 });
  });
});
