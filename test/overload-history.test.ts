// Regression (issue 11 item 2, issue 10 item 7): adding Python `@overload` stubs or TypeScript
// overload signatures in front of an implementation paired the old implementation with the first
// stub, reported the implementation as added, and cut its history there. An overload set is one
// entity (the implementation), so history runs through the commit that adds the overloads.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { indexHistory } from '../daemon/history.ts';
import type { Db } from '../store/db.ts';
import type { HistoryStore } from '../store/index.ts';
import { cleanupAll, makeRepo } from './helpers/gitrepo.ts';
import { withBackends } from './harness/pg.ts';
import { openStore, withGit, withIndexer } from './store-fixtures.ts';

after(cleanupAll);

const PY_V1 = 'class C:\n    def f(self, x):\n        return g(x)\n\n\ndef g(x):\n    return x\n';
const PY_V2 = 'from typing import overload\n\n\nclass C:\n    @overload\n    def f(self, x: int) -> int: ...\n\n    @overload\n    def f(self, x: str) -> str: ...\n\n'
  + '    def f(self, x):\n        return g(x)\n\n\ndef g(x):\n    return x\n';
const TS_V1 = 'export function parse(x: unknown): unknown {\n  return check(x);\n}\n\nexport function check(x: unknown): unknown {\n  return x;\n}\n';
const TS_V2 = 'export function parse(x: string): string;\nexport function parse(x: number): number;\nexport function parse(x: unknown): unknown {\n  return check(x);\n}\n\n'
  + 'export function check(x: unknown): unknown {\n  return x;\n}\n';

await withBackends('overloads keep one entity and its history', (b) => {
  let db: Db;
  let store: HistoryStore;
  let repoId: number;
  const c: string[] = [];
  before(async () => {
    const repo = await makeRepo();
    await repo.writeFiles({ 'm.py': PY_V1, 'p.ts': TS_V1 });
    c.push(await repo.commit('v1'));
    await repo.writeFiles({ 'm.py': PY_V2, 'p.ts': TS_V2 });
    c.push(await repo.commit('v2: overloads'));
    db = await (await b.fresh()).open();
    store = await openStore(db);
    await withGit(repo.dir, (git) => withIndexer(async (indexer) => {
      repoId = (await indexHistory({ repo: git, store, indexer, history: 'all' })).repoId;
    }));
  });
  after(async () => db.close());

  it('Python @overload stubs do not make the implementation "added"', async () => {
    const h = await store.entityHistory(repoId, c[1]!, 'm.py::C.f');
    // The implementation's own text did not change: its history starts at v1, never "added" at v2.
    assert.deepEqual(h.map((x) => [x.sha, x.change]), [[c[0], 'added']]);
    const fs = await store.entities(repoId, c[1]!, { name: 'f' });
    assert.deepEqual(fs.map((e) => [e.qualifiedName, e.startLine]), [['m.py::C.f', 11]]);
    assert.deepEqual((await store.callees(repoId, c[1]!, 'm.py::C.f')).map((e) => e.to.qualifiedName), ['m.py::g']);
  });

  it('TypeScript overload signatures do not cut the implementation\'s history', async () => {
    const h = await store.entityHistory(repoId, c[1]!, 'p.ts::parse');
    // The implementation's own text did not change: its history starts at v1, never "added" at v2.
    assert.deepEqual(h.map((x) => [x.sha, x.change]), [[c[0], 'added']]);
    assert.deepEqual((await store.callees(repoId, c[1]!, 'p.ts::parse')).map((e) => e.to.qualifiedName), ['p.ts::check']);
  });
});
