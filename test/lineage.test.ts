// Lineage fixes found by an outside oracle (issue 11), each a regression test named for what broke,
// on both backends where the store is involved.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { StoreBackend } from '../daemon/backend.ts';
import { indexHistory } from '../daemon/history.ts';
import { extract } from '../indexer/extract.ts';
import type { Db } from '../store/db.ts';
import { QUERIES as DIGEST_QUERIES } from '../store/digest.ts';
import { storeDigest, StoreError, verifyStore, type HistoryStore } from '../store/index.ts';
import { matchExact, type MatchEntity } from '../store/match.ts';
import { cleanupAll, makeRepo, type TestRepo } from './helpers/gitrepo.ts';
import { withBackends } from './harness/pg.ts';
import { gql, startTestServer } from './server-helpers.ts';
import { allHistories, brief, buildFixture, openStore, withGit, withIndexer, type Fixture } from './store-fixtures.ts';

after(cleanupAll);


async function indexInto(store: HistoryStore, dir: string, steps: Array<number | 'all'>): Promise<number> {
  let repoId = 0;
  await withGit(dir, (repo) => withIndexer(async (indexer) => {
    for (const history of steps) repoId = (await indexHistory({ repo, store, indexer, history })).repoId;
  }));
  return repoId;
}


/** Files for the kind, visibility and re-wrapping cases: one commit each. */
async function buildKinds(): Promise<{ repo: TestRepo; c: Record<string, string> }> {
  const repo = await makeRepo();
  const c: Record<string, string> = {};
  const schemas = (iface: string, value: string): string =>
    `export interface Thing {\n  ${iface}\n}\n\nexport const Thing = {\n  ${value}\n};\n`;
  await repo.writeFiles({
    'src/schemas.ts': schemas('a: string;', 'a: 1,'),
    'src/api.ts': 'function helper(x: number): number {\n  return x * 2 + 1;\n}\n',
    'py/conf.py': 'class Conf:\n    default = staticmethod(\n        _default\n    )\n\n    def get(self):\n        return 1\n',
  });
  c.k1 = await repo.commit('k1: initial');
  await repo.write('src/schemas.ts', schemas('a: string;\n  b: number;', 'a: 1,'));
  c.k2 = await repo.commit('k2: interface Thing changes');
  await repo.write('src/schemas.ts', schemas('a: string;\n  b: number;', 'a: 2,'));
  c.k3 = await repo.commit('k3: const Thing changes');
  await repo.write('src/api.ts', 'export function helper(x: number): number {\n  return x * 2 + 1;\n}\n');
  c.k4 = await repo.commit('k4: export helper');
  await repo.write('py/conf.py', 'class Conf:\n    default = staticmethod(_default)\n\n    def get(self):\n        return 1\n');
  c.k5 = await repo.commit('k5: re-wrap a call');
  await repo.write('py/conf.py', 'class Conf:\n    default = staticmethod(_default)\n\n    def get(self):\n        pass\n    return 1\n');
  c.k6 = await repo.commit('k6: dedent a statement');
  return { repo, c };
}

await withBackends('lineage (issue 11)', (b) => {
  let fx: Fixture;
  let kinds: { repo: TestRepo; c: Record<string, string> };
  let db: Db;
  let store: HistoryStore;
  let repoId: number;
  let kindsId: number;
  before(async () => {
    fx = await buildFixture();
    kinds = await buildKinds();
    db = await (await b.fresh()).open();
    store = await openStore(db);
    repoId = await indexInto(store, fx.repo.dir, ['all']);
    kindsId = await indexInto(store, kinds.repo.dir, ['all']);
  });
  after(async () => db.close());

  it('growing the indexed window does not stop history at the old window start', async () => {
    const shas = Object.values(fx.c);
    const oneStep = await allHistories(store, repoId, shas);
    const db1 = await (await b.fresh()).open();
    const db2 = await (await b.fresh()).open();
    try {
      const s1 = await openStore(db1);
      const one = await indexInto(s1, fx.repo.dir, ['all']);
      // Three steps, each below the last window's start: bases with stored children get attached.
      const s2 = await openStore(db2);
      const id = await indexInto(s2, fx.repo.dir, [2, 5, 'all']);
      const grown = await allHistories(s2, id, shas);
      assert.deepEqual(grown, oneStep);
      assert.deepEqual(await allHistories(s1, one, shas), oneStep);
      assert.ok(oneStep.some((l) => l.includes('added py/util.py::greet')), 'the histories reach the root');
      // The function renamed and moved before the first window's start is followed to its root.
      assert.deepEqual(brief(await s2.entityHistory(id, fx.c.m1!, 'py/helpers.py::welcome')), [
        `${fx.c.c7!.slice(0, 7)} function moved py/helpers.py::welcome <- py/util.py::welcome`,
        `${fx.c.c5!.slice(0, 7)} function renamed py/util.py::welcome <- py/util.py::greet`,
        `${fx.c.c1!.slice(0, 7)} function added py/util.py::greet <- -`,
      ]);
      // Same stored graph: deltas, depths, bases and entity changes, row for row (storeDigest's
      // queries). Two stored fields legitimately differ and are left out: line ids (not in the
      // digest; they follow storage order), and a body's embedding, computed from the text of the
      // first stored entity with that body hash; the hash ignores whitespace and comments, the
      // text does not, and which commit came first depends on the order of the runs.
      const [d1, d2] = [await storeDigest(db1), await storeDigest(db2)];
      assert.deepEqual(d2.rows, d1.rows);
      for (const [table, sql] of Object.entries(DIGEST_QUERIES)) {
        const q = table === 'bodies' ? 'SELECT body_hash FROM bodies ORDER BY body_hash' : sql;
        assert.deepEqual((await db2.query(q, [])).rows, (await db1.query(q, [])).rows, table);
      }
    } finally {
      await db1.close();
      await db2.close();
    }
  });

  // Regression: re-attaching a base deleted file_deltas rows without counting the delete, so the
  // next start's integrity check (store/verify.ts) refused a healthy store as STORE_CORRUPT.
  it('growing the indexed window keeps the store integrity counts right', async () => {
    const dbg = await (await b.fresh()).open();
    try {
      const s = await openStore(dbg);
      await indexInto(s, fx.repo.dir, [2]);
      assert.equal((await verifyStore(dbg, 'test')).outcome, 'baseline');
      const before = (await dbg.query<{ n: string }>('SELECT count(*) AS n FROM file_deltas', [])).rows[0]!.n;
      await indexInto(s, fx.repo.dir, ['all']);
      const verified = await verifyStore(dbg, 'test');
      assert.equal(verified.outcome, 'counted');
      assert.ok(Number(before) > 0);
    } finally {
      await dbg.close();
    }
  });

  it('a name shared by an interface and a const does not merge their histories', async () => {
    const qn = 'src/schemas.ts::Thing';
    await assert.rejects(store.entityHistory(kindsId, kinds.c.k6!, qn),
      (err: unknown) => err instanceof StoreError && err.code === 'AMBIGUOUS_ENTITY' && /interface/.test(err.message) && /constant|variable/.test(err.message));
    const iface = await store.entityHistory(kindsId, kinds.c.k6!, qn, 'interface');
    assert.deepEqual(iface.map((x) => [x.sha, x.kind, x.change]), [[kinds.c.k2, 'interface', 'modified'], [kinds.c.k1, 'interface', 'added']]);
    const constKind = (await store.entities(kindsId, kinds.c.k6!, { pathPrefix: 'src/schemas.ts', name: 'Thing' })).find((e) => e.kind !== 'interface')!.kind;
    const value = await store.entityHistory(kindsId, kinds.c.k6!, qn, constKind);
    assert.deepEqual(value.map((x) => [x.sha, x.kind, x.change]), [[kinds.c.k3, constKind, 'modified'], [kinds.c.k1, constKind, 'added']]);
  });

  it('export added is reported as a visibility change', async () => {
    const d = await store.diff(kindsId, kinds.c.k3!, kinds.c.k4!);
    assert.deepEqual(d.modified.map((m) => [m.after.qualifiedName, m.signatureChanged, m.visibilityChanged]), [['src/api.ts::helper', false, true]]);
    assert.deepEqual((await store.commitChanges(kindsId, kinds.c.k4!)).map((x) => [x.change, x.qualifiedName, x.visibilityChanged]),
      [['modified', 'src/api.ts::helper', true]]);
    const h = await store.entityHistory(kindsId, kinds.c.k6!, 'src/api.ts::helper');
    assert.deepEqual(h.map((x) => [x.sha, x.change, x.visibilityChanged]), [[kinds.c.k4, 'modified', true], [kinds.c.k1, 'added', false]]);
  });

  it('GraphQL: entityHistory takes a kind and reports it; diff.modified reports visibilityChanged', async () => {
    await withGit(kinds.repo.dir, async (repo) => {
      const h = await startTestServer('', { backend: new StoreBackend(store, [{ name: 'demo', repo, repoId: kindsId }]) });
      try {
        const hist = (kind: string): string => `{ repository(name: "demo") { entityHistory(qualifiedName: "src/schemas.ts::Thing"${kind}) { change kind visibilityChanged commit { sha } } } }`;
        const amb = await gql(h.server.url, hist(''));
        assert.equal(amb.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(amb.body));
        assert.match(amb.body.errors![0]!.message, /interface/);
        const ok = await gql(h.server.url, hist(', kind: interface'));
        assert.deepEqual((ok.body.data as { repository: { entityHistory: unknown[] } }).repository.entityHistory, [
          { change: 'modified', kind: 'interface', visibilityChanged: false, commit: { sha: kinds.c.k2 } },
          { change: 'added', kind: 'interface', visibilityChanged: false, commit: { sha: kinds.c.k1 } },
        ]);
        const d = await gql(h.server.url, `{ repository(name: "demo") { diff(from: "${kinds.c.k3!}", to: "${kinds.c.k4!}") { modified { after { name } signatureChanged visibilityChanged } } } }`);
        assert.deepEqual((d.body.data as { repository: { diff: unknown } }).repository.diff,
          { modified: [{ after: { name: 'helper' }, signatureChanged: false, visibilityChanged: true }] });
      } finally {
        await h.server.close();
      }
    });
  });

  it('re-wrapping a Python call onto one line is not a change, dedenting a statement is', async () => {
    assert.deepEqual(await store.commitChanges(kindsId, kinds.c.k5!), []);
    assert.deepEqual((await store.commitChanges(kindsId, kinds.c.k6!)).map((x) => [x.change, x.qualifiedName]).sort(),
      [['modified', 'py/conf.py::Conf'], ['modified', 'py/conf.py::Conf.get']]);
  });
});

const ent = (path: string, name: string, kind: string, bodyHash: string, bytes: number): MatchEntity =>
  ({ kind, name, qname: name, path, startLine: 1, endLine: bytes > 100 ? 9 : 1, bodyHash, signature: null, bytes, exported: true });

it('a trivial identical body in another file is not a rename', () => {
  // `disableColor = false` removed in one file, `EnableDecoderDisallowUnknownFields = false` added in another.
  const res = matchExact([ent('mode.go', 'disableColor', 'variable', 'h-false', 20)],
    [ent('binding/binding.go', 'EnableDecoderDisallowUnknownFields', 'variable', 'h-false', 42)],
    { existsBefore: () => true, existsAfter: () => true });
  assert.deepEqual([res.renamed.length, res.removed.length, res.added.length], [0, 1, 1]);
  // A type alias `= string | number` in two packages.
  const alias = matchExact([ent('a/types.ts', 'Id', 'type', 'h-sn', 28)], [ent('b/other.ts', 'Key', 'type', 'h-sn', 29)],
    { existsBefore: () => true, existsAfter: () => true });
  assert.equal(alias.renamed.length, 0);
  // In one file and unambiguous, it still is; a real body across files still is too.
  const same = matchExact([ent('a.ts', 'Id', 'type', 'h-sn', 28)], [ent('a.ts', 'Key', 'type', 'h-sn', 29)],
    { existsBefore: () => true, existsAfter: () => true });
  assert.equal(same.renamed.length, 1);
  const twice = matchExact([ent('a.ts', 'A', 'type', 'h-sn', 28), ent('a.ts', 'B', 'type', 'h-sn', 28)],
    [ent('a.ts', 'C', 'type', 'h-sn', 28), ent('a.ts', 'D', 'type', 'h-sn', 28)], { existsBefore: () => true, existsAfter: () => true });
  assert.equal(twice.renamed.length, 0, 'ambiguous trivial pairs stay removed + added');
  const big = matchExact([ent('a/x.ts', 'parse', 'function', 'h-big', 400)], [ent('b/y.ts', 'parseAll', 'function', 'h-big', 403)],
    { existsBefore: () => true, existsAfter: () => true });
  assert.equal(big.renamed.length, 1);
});

it('a Go package clause is never renamed across files', () => {
  const res = matchExact([ent('context_17.go', 'gin', 'namespace', 'h-pkg', 11)],
    [ent('binding/form_mapping_test.go', 'binding', 'namespace', 'h-pkg', 15)],
    { existsBefore: (p) => p === 'context_17.go', existsAfter: (p) => p !== 'context_17.go' });
  assert.deepEqual([res.renamed.length, res.moved.length], [0, 0]);
  // Same name, other file: only with its file (file renamed).
  const kept = matchExact([ent('a.go', 'gin', 'namespace', 'h-pkg', 11)], [ent('b.go', 'gin', 'namespace', 'h-pkg', 11)],
    { existsBefore: () => true, existsAfter: () => true });
  assert.equal(kept.moved.length, 0);
  const renamedFile = matchExact([ent('a.go', 'gin', 'namespace', 'h-pkg', 11)], [ent('b.go', 'gin', 'namespace', 'h-pkg', 11)],
    { existsBefore: (p) => p === 'a.go', existsAfter: (p) => p === 'b.go' });
  assert.equal(renamedFile.moved.length, 1);
});

it('Python body hashes ignore line breaks inside brackets but not indentation', async () => {
  const hashes = async (src: string): Promise<string> =>
    (await extract('python', new TextEncoder().encode(src))).entities.filter((e) => e.kind !== 'module').map((e) => `${e.qualifiedName}=${e.bodyHash}`).join(' ');
  const wrapped = 'class A:\n    f = staticmethod(\n        _default\n    )\n    g = [1,\n         2]\n    s = """x\n(y"""\n    t = 1 + \\\n        2\n';
  const joined = 'class A:\n    f = staticmethod(_default)\n    g = [1, 2]\n    s = """x\n(y"""\n    t = 1 + 2\n';
  assert.equal(await hashes(wrapped), await hashes(joined));
  const nested = 'class A:\n    f = staticmethod(_default)\n    def g(self):\n        pass\n        return 1\n';
  const dedented = 'class A:\n    f = staticmethod(_default)\n    def g(self):\n        pass\n    return 1\n';
  assert.notEqual(await hashes(nested), await hashes(dedented));
});
