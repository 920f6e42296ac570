// Search quality and graph queries at any commit (issue #12), on both backends: each mode on a
// repository the test builds, pagination, bad input, and the whole-graph queries.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { indexHistory } from '../daemon/history.ts';
import type { Db } from '../store/db.ts';
import { SearchError, type HistoryStore, type SearchErrorCode, type SearchHit, type Paged } from '../store/index.ts';
import { cleanupAll, makeRepo } from './helpers/gitrepo.ts';
import { withBackends } from './harness/pg.ts';
import { buildSearchFixture, type SearchFixture } from './search-fixtures.ts';
import { openStore, withGit, withIndexer } from './store-fixtures.ts';

after(cleanupAll);

const names = (p: Paged<SearchHit>): string[] => p.items.map((x) => x.node.entity.name);
const C = 'src/http/client.ts';

async function rejects(p: Promise<unknown>, code: SearchErrorCode): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(SearchError.is(err, code), `expected ${code}, got ${String(err)}`);
    return true;
  });
}

await withBackends('search', (b) => {
  let fx: SearchFixture;
  let db: Db;
  let store: HistoryStore;
  let repoId: number;
  before(async () => {
    fx = await buildSearchFixture();
    db = await (await b.fresh()).open();
    store = await openStore(db);
    await withGit(fx.repo.dir, (repo) => withIndexer(async (indexer) => {
      repoId = (await indexHistory({ repo, store, indexer, history: 'all' })).repoId;
    }));
  });
  after(async () => db.close());

  it('TEXT finds identifier sub-tokens, the exact sub-token name first, and says why', async () => {
    const r = await store.search.search(repoId, fx.tip, { query: 'parse response', mode: 'text' });
    assert.deepEqual(names(r), ['parseResponse', 'parseHTTPResponse']);
    assert.deepEqual(r.items[1]!.node.matches.find((m) => m.field === 'name'), { field: 'name', tokens: ['parse', 'response'] });
    assert.ok(r.items[0]!.node.score > r.items[1]!.node.score);
    // `http` is a sub-token of parseHTTPResponse; `resp` a prefix of `response`.
    // Here `http` is also a word of the other one's path, which the reason says; a name hit weighs more.
    const h = await store.search.search(repoId, fx.tip, { query: 'http resp', mode: 'text' });
    assert.deepEqual(names(h), ['parseHTTPResponse', 'parseResponse']);
    assert.deepEqual(h.items[1]!.node.matches, [{ field: 'name', tokens: ['response'] }, { field: 'qualifiedName', tokens: ['http'] }]);
    // A word the name's case splits, typed whole: `httpresponse` is `HTTP` + `Response`.
    const whole = await store.search.search(repoId, fx.tip, { query: 'httpresponse', mode: 'text' });
    assert.deepEqual(names(whole), ['parseHTTPResponse']);
    assert.deepEqual(whole.items[0]!.node.matches, [{ field: 'name', tokens: ['httpresponse'] }]);
    // Doc comments are searched too.
    const doc = await store.search.search(repoId, fx.tip, { query: 'JSON body', mode: 'text' });
    assert.equal(names(doc)[0], 'parseHTTPResponse');
    assert.deepEqual(doc.items[0]!.node.matches.find((m) => m.field === 'doc'), { field: 'doc', tokens: ['json', 'body'] });
  });

  it('FUZZY finds a name with one typo, and not names further away', async () => {
    assert.deepEqual(names(await store.search.search(repoId, fx.tip, { query: 'parseRespnse', mode: 'fuzzy' })), ['parseResponse']);
    assert.deepEqual(names(await store.search.search(repoId, fx.tip, { query: 'lgo', mode: 'fuzzy' })), ['log']);
    const exact = await store.search.search(repoId, fx.tip, { query: 'getUser', mode: 'fuzzy' });
    assert.equal(names(exact)[0], 'getUser');
    assert.equal(exact.items[0]!.node.score, 1);
  });

  it('REGEX finds all and only the matching names', async () => {
    const r = await store.search.search(repoId, fx.tip, { query: '^get[A-Z]', mode: 'regex' });
    assert.deepEqual(names(r).sort(), ['getUser', 'getUserName']);
    assert.deepEqual(r.items[0]!.node.matches, [{ field: 'name', tokens: ['getU'] }]);
    assert.deepEqual(names(await store.search.search(repoId, fx.tip, { query: '/^PARSE/i', mode: 'regex' })).sort(), ['parseHTTPResponse', 'parseResponse']);
    assert.deepEqual(names(await store.search.search(repoId, fx.tip, { query: 'User$', mode: 'regex', kinds: ['function'] })).sort(), ['forgetUser', 'getUser', 'loadUser']);
  });

  it('REGEX over bodies reads them through the blob reader', async () => {
    const r = await withGit(fx.repo.dir, (repo) => store.search.search(repoId, fx.tip, { query: 'JSON\\.parse', mode: 'regex', bodies: true }, (sha) => repo.readBlob(sha)));
    assert.deepEqual(names(r), ['parseHTTPResponse']);
    assert.deepEqual(r.items[0]!.node.matches, [{ field: 'body', tokens: ['JSON.parse'] }]);
    await rejects(store.search.search(repoId, fx.tip, { query: 'x', mode: 'regex', bodies: true }), 'INVALID_ARGUMENT');
  });

  it('VECTOR ranks the body nearest to the query first', async () => {
    const r = await store.search.search(repoId, fx.tip, { query: 'return JSON.parse(body);', mode: 'vector', kinds: ['function'] });
    assert.equal(names(r)[0], 'parseHTTPResponse');
    assert.equal(r.items[0]!.node.matches[0]!.field, 'embedding');
  });

  it('answers VECTOR and HYBRID from the usearch HNSW index on large trees, like the exact scan here', async () => {
    const queries = ['return JSON.parse(body);', 'parseResponse', 'log msg', 'getUser'];
    const exact = await Promise.all(queries.map(async (query) => [
      (await store.search.search(repoId, fx.tip, { query, mode: 'vector', first: 5 })).items.map((x) => x.node.entity.qualifiedName),
      (await store.search.search(repoId, fx.tip, { query, mode: 'hybrid', first: 5 })).items.map((x) => x.node.entity.qualifiedName)]));
    store.search.limits.annMinBodies = 1; // this tree is tiny: make it count as large
    try {
      for (const [k, query] of queries.entries()) {
        const v = await store.search.search(repoId, fx.tip, { query, mode: 'vector', first: 5 });
        const h = await store.search.search(repoId, fx.tip, { query, mode: 'hybrid', first: 5 });
        assert.deepEqual([v.items.map((x) => x.node.entity.qualifiedName), h.items.map((x) => x.node.entity.qualifiedName)], exact[k], query);
      }
    } finally {
      store.search.limits.annMinBodies = 20_000;
    }
  });

  it('HYBRID ranks the exact name first', async () => {
    for (const q of ['parseResponse', 'log', 'getUser', 'a']) {
      assert.equal(names(await store.search.search(repoId, fx.tip, { query: q }))[0], q, q);
    }
  });

  it('searches any commit: the old name at the old commit, the new one at the tip', async () => {
    for (const mode of ['text', 'fuzzy', 'regex', 'vector', 'hybrid'] as const) {
      const query = mode === 'regex' ? '^fetchUser$' : 'fetchUser';
      assert.ok(names(await store.search.search(repoId, fx.old, { query, mode })).includes('fetchUser'), mode);
      assert.ok(!names(await store.search.search(repoId, fx.tip, { query, mode })).includes('fetchUser'), mode);
    }
  });

  it('filters by kind and path, and pages with cursors that belong to their query', async () => {
    const all = await store.search.search(repoId, fx.tip, { query: 'user', mode: 'text', first: 100 });
    assert.ok(all.total >= 4);
    const seen: string[] = [];
    let after: string | null = null;
    for (let k = 0; k < 10; k++) {
      const p: Paged<SearchHit> = await store.search.search(repoId, fx.tip, { query: 'user', mode: 'text', first: 1, after });
      seen.push(...p.items.map((x) => x.node.entity.qualifiedName));
      if (!p.hasNextPage) break;
      after = p.items[0]!.cursor;
    }
    assert.deepEqual(seen, all.items.map((x) => x.node.entity.qualifiedName));
    await rejects(store.search.search(repoId, fx.tip, { query: 'log', mode: 'text', first: 1, after: after! }), 'INVALID_CURSOR');
    const cyc = await store.search.search(repoId, fx.tip, { query: '.', mode: 'regex', path: 'src/cycle/', kinds: ['function'] });
    assert.deepEqual(names(cyc), ['a', 'b', 'c', 'outside']);
    const glob = await store.search.search(repoId, fx.tip, { query: '.', mode: 'regex', path: 'src/**/[ab].ts', kinds: ['function'] });
    assert.deepEqual(names(glob), ['a', 'b']);
  });

  it('rejects bad input with codes', async () => {
    await rejects(store.search.search(repoId, fx.tip, { query: '(', mode: 'regex' }), 'INVALID_REGEX');
    await rejects(store.search.search(repoId, fx.tip, { query: 'x'.repeat(600), mode: 'regex' }), 'INVALID_REGEX');
    await rejects(store.search.search(repoId, fx.tip, { query: '   ', mode: 'text' }), 'EMPTY_QUERY');
    await rejects(store.search.search(repoId, fx.tip, { query: '=>', mode: 'text' }), 'EMPTY_QUERY');
    await rejects(store.search.search(repoId, fx.tip, { query: 'log', first: 101 }), 'LIMIT_EXCEEDED');
    await rejects(store.search.search(repoId, fx.tip, { query: 'log', first: 0 }), 'LIMIT_EXCEEDED');
    await rejects(store.search.neighbourhood(repoId, fx.tip, `${C}::getUser`, { depth: 6 }), 'LIMIT_EXCEEDED');
    await rejects(store.search.path(repoId, fx.tip, `${C}::nothing`, `${C}::getUser`), 'ENTITY_NOT_FOUND');
  });

  it('stops a catastrophic pattern with REGEX_TIMEOUT, and keeps answering', async () => {
    await rejects(store.search.search(repoId, fx.tip, { query: '(a+)+$', mode: 'regex' }), 'REGEX_TIMEOUT');
    assert.deepEqual(names(await store.search.search(repoId, fx.tip, { query: '^log$', mode: 'regex' })), ['log']);
  });

  it('callers and callees at depth 2 are exact', async () => {
    const callees = await store.callees(repoId, fx.tip, `${C}::getUser`, 2);
    assert.deepEqual([...new Set(callees.map((e) => `${e.depth} ${e.to.name}`))].sort(), ['1 loadUser', '1 log', '2 log', '2 parseResponse']);
    const callers = await store.callers(repoId, fx.tip, `${C}::parseResponse`, 2);
    assert.deepEqual([...new Set(callers.map((e) => `${e.depth} ${e.from.name}`))].sort(), ['1 loadUser', '2 getUser']);
  });

  it('finds the shortest call path, or none', async () => {
    const p = await store.search.path(repoId, fx.tip, `${C}::getUserName`, `${C}::parseHTTPResponse`);
    assert.deepEqual(p?.map((e) => e.name), ['getUserName', 'getUser', 'loadUser', 'parseResponse', 'parseHTTPResponse']);
    assert.deepEqual((await store.search.path(repoId, fx.tip, `${C}::getUser`, 'src/util/log.ts::log'))?.map((e) => e.name), ['getUser', 'log']);
    assert.equal(await store.search.path(repoId, fx.tip, 'src/util/log.ts::log', `${C}::getUser`), null);
    // At the old commit the chain goes through the old name.
    assert.deepEqual((await store.search.path(repoId, fx.old, `${C}::getUser`, `${C}::parseResponse`))?.map((e) => e.name), ['getUser', 'fetchUser', 'parseResponse']);
  });

  it('walks the neighbourhood by edge kind, nearest first', async () => {
    const n = await store.search.neighbourhood(repoId, fx.tip, `${C}::loadUser`, { depth: 2, kinds: ['called_by'] });
    assert.deepEqual(n.map((x) => `${x.distance} ${x.via} ${x.entity.name} <- ${x.from.name}`), ['1 called_by getUser <- loadUser', '2 called_by getUserName <- getUser']);
    const up = await store.search.neighbourhood(repoId, fx.tip, `${C}::loadUser`, { depth: 1, kinds: ['contained_by', 'calls'] });
    assert.deepEqual(up.map((x) => `${x.via} ${x.entity.qualifiedName}`), [`contained_by ${C}`, `calls ${C}::parseResponse`, 'calls src/util/log.ts::log']);
    const imp = await store.search.neighbourhood(repoId, fx.tip, 'src/cycle/a.ts', { depth: 1, kinds: ['imports', 'imported_by'] });
    assert.deepEqual(imp.map((x) => `${x.via} ${x.entity.qualifiedName}`), ['imports src/cycle/b.ts', 'imported_by src/cycle/c.ts', 'imported_by src/cycle/outside.ts']);
  });

  it('ranks a widely called utility above a leaf by PageRank', async () => {
    const top = await store.search.topEntities(repoId, fx.tip, { first: 100 });
    const order = top.items.map((x) => x.node.entity.name);
    // The cycle's members feed each other rank; of the rest, the utility everyone calls leads.
    assert.deepEqual(order.filter((n) => !['a', 'b', 'c'].includes(n))[0], 'log');
    assert.ok(order.indexOf('log') < order.indexOf('unusedLeaf'));
    assert.ok(top.items[0]!.node.score > top.items[order.indexOf('unusedLeaf')]!.node.score);
    const sum = top.items.reduce((s, x) => s + x.node.score, 0);
    assert.ok(sum <= 1 + 1e-9);
  });

  it('finds the import cycle and nothing else', async () => {
    assert.deepEqual(await store.search.cycles(repoId, fx.tip), [{ files: ['src/cycle/a.ts', 'src/cycle/b.ts', 'src/cycle/c.ts'] }]);
  });

  it('lists entities sharing a file, qualified name and kind once, with the others\' lines (zustand onRehydrateStorage repeated)', async () => {
    // A test file repeating an inline callback: every copy is `tests/p.test.ts::onRehydrateStorage`
    // (one id). They showed as several identical hits and pushed the definition off the page.
    const repo = await makeRepo();
    const call = '  persist({ name: "s", onRehydrateStorage: () => spy })\n';
    await repo.writeFiles({
      'src/persist.ts': 'export function onRehydrateStorage(state: unknown): void {\n  void state\n}\n',
      'tests/p.test.ts': `it('a', () => {\n${call}})\nit('b', () => {\n${call}})\nit('c', () => {\n${call}})\n`,
    });
    const sha = await repo.commit('first');
    let id = 0;
    await withGit(repo.dir, (git) => withIndexer(async (indexer) => {
      id = (await indexHistory({ repo: git, store, indexer, history: 'all' })).repoId;
    }));
    for (const mode of ['text', 'fuzzy', 'hybrid'] as const) {
      const r = await store.search.search(id, sha, { query: 'onRehydrateStorage', mode });
      const hits = r.items.map((x) => `${x.node.entity.qualifiedName}:${x.node.entity.startLine}`);
      const tests = r.items.filter((x) => x.node.entity.path === 'tests/p.test.ts');
      assert.equal(tests.length, 1, `${mode}: one hit for the three copies: ${hits.join(' ')}`);
      assert.deepEqual([tests[0]!.node.entity.startLine, ...tests[0]!.node.alsoAt].sort(), [2, 5, 8], mode);
      assert.ok(hits.includes('src/persist.ts::onRehydrateStorage:1'), `${mode}: the definition is listed: ${hits.join(' ')}`);
      assert.equal(r.items.find((x) => x.node.entity.path === 'src/persist.ts')!.node.alsoAt.length, 0);
    }
  });

  it('ranks a function above the test named after it (gin: `render json` put TestRenderJSONError first)', async () => {
    const repo = await makeRepo();
    await repo.writeFiles({
      'render/json.go': 'package render\n\ntype JSON struct{ Data any }\n\nfunc (r JSON) Render(w Writer) error {\n\treturn writeJSON(w, r.Data)\n}\n\nfunc writeJSON(w Writer, obj any) error {\n\treturn nil\n}\n\ntype Writer interface{ Write(p []byte) (int, error) }\n',
      'render/render_test.go': 'package render\n\nimport "testing"\n\nfunc TestRenderJSONError(t *testing.T) {\n\t_ = JSON{}.Render(nil)\n}\n',
      'src/tests/json.spec.ts': 'export function renderJsonSpec(): void {}\n',
    });
    const sha = await repo.commit('first');
    let id = 0;
    await withGit(repo.dir, (git) => withIndexer(async (indexer) => {
      id = (await indexHistory({ repo: git, store, indexer, history: 'all' })).repoId;
    }));
    for (const mode of ['text', 'hybrid', 'vector'] as const) {
      const r = await store.search.search(id, sha, { query: 'render json', mode });
      const qn = r.items.map((x) => x.node.entity.qualifiedName);
      const fn = qn.indexOf('render/json.go::JSON.Render');
      assert.ok(fn >= 0, `${mode}: the function is found: ${qn.join(' ')}`);
      for (const t of ['render/render_test.go::TestRenderJSONError', 'src/tests/json.spec.ts::renderJsonSpec']) {
        const k = qn.indexOf(t);
        assert.ok(k === -1 || k > fn, `${mode}: ${t} ranks below the function: ${qn.join(' ')}`);
      }
    }
    // A query that asks for tests gets them at full weight.
    const r = await store.search.search(id, sha, { query: 'test render json', mode: 'text' });
    assert.equal(r.items[0]?.node.entity.qualifiedName, 'render/render_test.go::TestRenderJSONError');
  });
});
