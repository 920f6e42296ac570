// The hot store (store/hot, issue #12) on both backends: answers at a tip equal the history
// store's (PostgreSQL / PGlite) for a fixed query set; an incremental update equals a full
// rebuild at every commit of a history that renames, adds, deletes and re-bases; a deleted,
// damaged or older-format hot store is rebuilt and answers the same.
import assert from 'node:assert/strict';
import { readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { indexHistory } from '../daemon/history.ts';
import type { Db } from '../store/db.ts';
import { HistoryStore, type CallEdge, type HotStore, type SearchMode } from '../store/index.ts';
import { cleanupAll, makeTempDir } from './helpers/gitrepo.ts';
import { withBackends } from './harness/pg.ts';
import { buildHotFixture, type HotFixture } from './hot-fixtures.ts';
import { openStore, withGit, withIndexer } from './store-fixtures.ts';

after(cleanupAll);

const REF = 'refs/heads/main';

type Answer = unknown;

async function settle(p: Promise<unknown>): Promise<Answer> {
  try {
    return await p;
  } catch (err) {
    return { error: (err as { code?: string }).code ?? String(err) };
  }
}

/** The fixed query set, asked of `s` at `sha`. */
async function answers(s: HistoryStore, repoId: number, sha: string): Promise<Record<string, Answer>> {
  const out: Record<string, Answer> = {};
  const ents = (await s.entities(repoId, sha, { limit: 10_000 })).filter((e) => e.kind !== 'import');
  for (const e of ents) {
    for (const depth of [1, 2]) {
      out[`callers ${depth} ${e.qualifiedName}`] = await settle(s.callers(repoId, sha, e.qualifiedName, depth));
      out[`callees ${depth} ${e.qualifiedName}`] = await settle(s.callees(repoId, sha, e.qualifiedName, depth));
    }
    out[`callers import ${e.qualifiedName}`] = await settle(s.callers(repoId, sha, e.qualifiedName, 3, 'import', { limit: 3 }));
    out[`neighbourhood ${e.qualifiedName}`] = await settle(s.search.neighbourhood(repoId, sha, e.qualifiedName, { depth: 2 }));
  }
  out['callers missing'] = await settle(s.callers(repoId, sha, 'src/nope.ts::x', 1));
  // Entity pages at a tip come from the hot image's table, in the statement's order.
  out.entities = await settle(s.entities(repoId, sha, { limit: 10_000 }));
  out['entities page'] = await settle(s.entities(repoId, sha, { kind: ['function', 'method'], limit: 3, offset: 2 }));
  out['entities prefix'] = await settle(s.entities(repoId, sha, { pathPrefix: 'src/', kind: 'function', name: 'fn', nameMatch: 'prefix' }));
  out['entities name'] = await settle(s.entities(repoId, sha, { name: ents[0]?.name ?? 'x' }));
  const queries: Array<[string, SearchMode]> = [['fn1', 'text'], ['fn run', 'text'], ['helper', 'text'], ['fn1O', 'fuzzy'], ['hlper', 'fuzzy'], ['^fn[0-9]$', 'regex'], ['/^c\\d/i', 'regex'], ['fn2', 'hybrid'], ['worker step', 'hybrid']];
  for (const [q, mode] of queries) out[`search ${mode} ${q}`] = await settle(s.search.search(repoId, sha, { query: q, mode, first: 50 }));
  out['search text kinds'] = await settle(s.search.search(repoId, sha, { query: 'run', mode: 'text', kinds: ['method'], path: 'src/' }));
  out.top = await settle(s.search.topEntities(repoId, sha, { first: 30 }));
  out.cycles = await settle(s.search.cycles(repoId, sha));
  const fns = ents.filter((e) => e.kind === 'function').map((e) => e.qualifiedName);
  for (const a of fns.slice(0, 6)) for (const b of fns.slice(-6)) out[`path ${a} ${b}`] = await settle(s.search.path(repoId, sha, a, b));
  return out;
}

function manifest(h: HotStore, repoId: number, sha: string): unknown {
  const img = h.image(repoId, sha);
  assert.ok(img, `the hot store holds ${sha}`);
  return img.files.map((f) => [f.seg.path, f.seg.key, f.out.key, f.imports]);
}

await withBackends('hot store', (b) => {
  let fx: HotFixture;
  let db: Db;
  let store: HistoryStore;
  let cold: HistoryStore;
  let repoId: number;
  let dir: string;
  before(async () => {
    fx = await buildHotFixture();
    db = await (await b.fresh()).open();
    store = await openStore(db);
    cold = new HistoryStore(db);
    await withGit(fx.repo.dir, (repo) => withIndexer(async (indexer) => {
      repoId = (await indexHistory({ repo, store, indexer, history: 'all' })).repoId;
    }));
    dir = path.join(await makeTempDir('codegraph-hot-'), 'hot', 'graph');
  });
  after(async () => {
    await store.hot?.close();
    await db.close();
  });

  it('an incremental update at each commit equals a full rebuild, and answers as the history store does', async () => {
    const hot = await store.openHot(dir);
    assert.equal(hot.reset, 'missing');
    const hows: string[] = [];
    for (const [n, sha] of fx.commits.entries()) {
      const [st] = await hot.sync(repoId, [{ name: REF, sha }]);
      hows.push(st!.how);
      const most = fx.resolvedAtMost.get(n);
      if (most !== undefined) assert.ok(st!.resolvedFiles <= most, `commit ${n}: ${st!.resolvedFiles} files resolved, at most ${most} expected`);
      // The same tip built from nothing, in a second store.
      const fresh = new HistoryStore(db);
      const rebuilt = await fresh.openHot(path.join(path.dirname(dir), `rebuild-${n}`));
      const [rst] = await rebuilt.sync(repoId, [{ name: REF, sha }]);
      assert.equal(rst!.how, 'build');
      assert.deepEqual(manifest(hot, repoId, sha), manifest(rebuilt, repoId, sha), `commit ${n}: incremental = rebuild`);
      await rebuilt.close();
      // The hot path is the one taken, and it answers as PostgreSQL / PGlite does.
      assert.equal(await store.search.snapshot(repoId, sha), hot.snapshot(repoId, sha));
      const edges = hot.walk(repoId, sha, (await cold.entities(repoId, sha, { kind: 'function', limit: 1 }))[0]!.qualifiedName, 2, 'up', 'name_only');
      assert.ok(Array.isArray(edges));
      // The full query set costs seconds on the store side: asked at three commits of the history.
      if (n === 0 || n === 4 || n === fx.commits.length - 4 || n === fx.commits.length - 1) assert.deepEqual(await answers(store, repoId, sha), await answers(cold, repoId, sha), `commit ${n}: hot = store`);
    }
    assert.deepEqual(hows, ['build', ...fx.commits.slice(1).map(() => 'update')]);
    // The 1-file commit adding a package's entry file linked the bare `@acme/lib` import made before it.
    const tip = fx.commits[fx.commits.length - 1]!;
    assert.deepEqual((await store.callers(repoId, tip, 'pkgs/lib/src/index.ts::libFn', 1)).map((e) => `${e.from.qualifiedName} (${e.via})`),
      ['pkgs/app/src/main.ts::useLib (import)']);
    // Only the tip is held: the previous tips were dropped.
    assert.equal(hot.image(repoId, fx.commits[0]!), undefined);
  });

  it('a rename elsewhere changes callers in other files (whole-tree resolution) and the update follows', async () => {
    const hot = store.hot!;
    // Any pair of commits: the update from the tip back to the first commit, then forward again.
    const tip = fx.commits[fx.commits.length - 1]!;
    const first = fx.commits[0]!;
    const [back] = await hot.sync(repoId, [{ name: REF, sha: first }]);
    assert.equal(back!.how, 'update');
    assert.ok(back!.resolvedFiles >= 1);
    assert.deepEqual(await answers(store, repoId, first), await answers(cold, repoId, first));
    await hot.sync(repoId, [{ name: REF, sha: tip }]);
  });

  it('two refs at different commits are both held and share file segments', async () => {
    const hot = store.hot!;
    const tip = fx.commits[fx.commits.length - 1]!;
    const mid = fx.commits[3]!;
    await hot.sync(repoId, [{ name: REF, sha: tip }, { name: 'refs/heads/old', sha: mid }, { name: 'refs/tags/v1', sha: fx.commits[1]! }]);
    assert.ok(hot.image(repoId, tip) && hot.image(repoId, mid));
    assert.equal(hot.image(repoId, fx.commits[1]!), undefined, 'tags are not tracked');
    const a = new Map(hot.image(repoId, tip)!.files.map((f) => [f.seg.path, f.seg]));
    const shared = hot.image(repoId, mid)!.files.filter((f) => a.get(f.seg.path) === f.seg);
    assert.ok(shared.length > 0, 'unchanged files share one segment object');
    assert.deepEqual(await answers(store, repoId, mid), await answers(cold, repoId, mid));
    await hot.sync(repoId, [{ name: REF, sha: tip }]);
  });

  it('reopened, it reads the tips back; deleted, damaged or of an older format, it is rebuilt and answers the same', async () => {
    const tip = fx.commits[fx.commits.length - 1]!;
    const expected = await answers(cold, repoId, tip);
    const reopen = async (): Promise<{ hot: HotStore; how: string }> => {
      await store.hot?.close();
      store.hot = null;
      const hot = await store.openHot(dir);
      const [st] = await hot.sync(repoId, [{ name: REF, sha: tip }]);
      assert.deepEqual(await answers(store, repoId, tip), expected);
      return { hot, how: st!.how };
    };
    let r = await reopen();
    assert.equal(r.hot.reset, null);
    assert.equal(r.how, 'load');

    // An older format version: rebuilt.
    await store.hot!.close();
    store.hot = null;
    {
      const { Kv } = await import('../store/hot/kv.ts');
      const kv = await Kv.open(dir);
      await kv.write([{ type: 'put', key: 'v', value: '0' }]);
      await kv.close();
    }
    const hot = await store.openHot(dir);
    assert.equal(hot.reset, 'format');
    const [st] = await hot.sync(repoId, [{ name: REF, sha: tip }]);
    assert.equal(st!.how, 'build');
    assert.deepEqual(await answers(store, repoId, tip), expected);

    // Damaged files: every table and log truncated to half.
    await store.hot!.close();
    store.hot = null;
    for (const f of readdirSync(dir)) if (/\.(sst|log)$|^MANIFEST|^CURRENT$/.test(f)) truncateSync(path.join(dir, f), 7);
    writeFileSync(path.join(dir, 'CURRENT'), 'garbage\n');
    r = await reopen();
    assert.equal(r.hot.reset, 'unreadable');
    assert.equal(r.how, 'build');

    // Deleted.
    await store.hot!.close();
    store.hot = null;
    rmSync(dir, { recursive: true, force: true });
    r = await reopen();
    assert.equal(r.hot.reset, 'missing');
    assert.equal(r.how, 'build');
  });

  it('close() during a first build stops it between batches instead of waiting for its end', async () => {
    const tip = fx.commits[fx.commits.length - 1]!;
    const where = path.join(path.dirname(dir), 'closed-mid-build');
    const other = new HistoryStore(db);
    const h = await other.openHot(where);
    const building = h.sync(repoId, [{ name: REF, sha: tip }]);
    await h.close();
    await assert.rejects(building, (err: { code?: string }) => err.code === 'HOT_CLOSED');
    assert.equal(h.image(repoId, tip), undefined);
    // Reopened, the tip is built whole and equals the store's.
    const again = await new HistoryStore(db).openHot(where);
    const [st] = await again.sync(repoId, [{ name: REF, sha: tip }]);
    assert.equal(st!.how, 'build');
    assert.deepEqual(manifest(again, repoId, tip), manifest(store.hot!, repoId, tip));
    await again.close();
  });

  it('callers at a tip come from the hot store even when PostgreSQL would be asked for a short sha', async () => {
    const tip = fx.commits[fx.commits.length - 1]!;
    const fn = (await cold.entities(repoId, tip, { kind: 'function', limit: 1 }))[0]!.qualifiedName;
    const viaHot: CallEdge[] = store.hot!.walk(repoId, tip, fn, 2, 'down', 'name_only')!;
    assert.deepEqual(viaHot, await cold.callees(repoId, tip, fn, 2));
    assert.deepEqual(await store.callees(repoId, tip.slice(0, 10), fn, 2), viaHot);
  });
});
