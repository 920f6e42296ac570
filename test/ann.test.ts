// The persisted ANN index of the ref tips (store/ann, issue #12), on both backends: nearest() at a
// tip equals an exact cosine scan of that tree; a ref moved by a 1-file commit is updated from the
// changed paths and then answers as a rebuild does; deleting, corrupting or changing the format of
// the files rebuilds it with the same answers; a clean reopen adds nothing; VECTOR search at a tip
// is answered from it, at an older commit not.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../daemon/config.ts';
import { indexHistory } from '../daemon/history.ts';
import { startService } from '../daemon/service.ts';
import type { Db } from '../store/db.ts';
import { fromStoredEmbedding } from '../store/embed.ts';
import { AnnError, cosine, embed, type AnnHit, type HistoryStore } from '../store/index.ts';
import { cleanupAll, makeRepo, makeTempDir } from './helpers/gitrepo.ts';
import { untilReady } from './helpers/serve.ts';
import { withBackends } from './harness/pg.ts';
import { buildSearchFixture, FILES, type SearchFixture } from './search-fixtures.ts';
import { openStore, withGit, withIndexer } from './store-fixtures.ts';

after(cleanupAll);

const QUERIES = ['return JSON.parse(body);', 'log the user name', 'fetch user by id', 'a b c cycle', 'process stdout write'];

/** Hits as comparable text: entity and distance to 3 decimals (f16 vectors). */
const show = (hits: AnnHit[]): string[] => hits.map((h) => `${h.path}#${h.idx} ${h.distance.toFixed(3)}`);

await withBackends('ann', (b) => {
  let fx: SearchFixture;
  let db: Db;
  let store: HistoryStore;
  let repoId: number;
  let dir: string;
  const index = () => withGit(fx.repo.dir, (repo) => withIndexer(async (indexer) => {
    repoId = (await indexHistory({ repo, store, indexer, history: 'all' })).repoId;
  }));
  const answers = (sha: string, k = 6): string[][] => QUERIES.map((q) => show(store.ann!.nearest(embed(q), k, { repoId, sha })));

  before(async () => {
    fx = await buildSearchFixture();
    db = await (await b.fresh()).open();
    store = await openStore(db);
    dir = join(await makeTempDir('cg-ann-'), 'hot', 'ann');
    await index();
  });
  after(async () => db.close());

  it('nearest() at a tip equals an exact cosine scan of that tree', async () => {
    const ann = store.openAnn(dir);
    assert.equal(ann.loadedFrom, 'rebuilt');
    const stats = await store.syncAnn([repoId]);
    assert.equal(stats!.fullTips, 1, 'main and HEAD share one tip');
    assert.ok(stats!.added > 10);
    const { rows } = await db.query<{ body_hash: Buffer }>('SELECT body_hash FROM bodies');
    assert.ok(ann.size <= rows.length);
    const ents = (await store.entities(repoId, fx.tip, { limit: 10_000 })).filter((e) => e.kind !== 'module' && e.kind !== 'import');
    for (const q of QUERIES) {
      const v = embed(q);
      const hits = ann.nearest(v, 1000, { repoId, sha: fx.tip });
      assert.equal(hits.length, ents.length, 'every embedded entity of the tree is reachable');
      for (let j = 1; j < hits.length; j++) assert.ok(hits[j]!.distance >= hits[j - 1]!.distance - 1e-6, 'nearest first');
    }
    // The exact order, computed from the stored vectors.
    const vecs = await db.query<{ body_hash: string; embedding: Buffer }>("SELECT encode(body_hash, 'hex') AS body_hash, embedding FROM bodies");
    const byHash = new Map(vecs.rows.map((r) => [r.body_hash, fromStoredEmbedding(r.embedding)]));
    for (const q of QUERIES) {
      const v = embed(q);
      const want = [...new Set(ents.map((e) => e.bodyHash))].map((h) => ({ h, d: 1 - cosine(v, byHash.get(h)!) })).sort((x, y) => x.d - y.d);
      const got = [...new Set(ann.nearest(v, 1000, { repoId, sha: fx.tip }).map((x) => x.bodyHash))];
      assert.equal(got.length, want.length);
      // Same ranking up to ties within the f16 quantisation of the graph's vectors.
      got.forEach((h, j) => assert.ok(Math.abs(1 - cosine(v, byHash.get(h)!) - want[j]!.d) < 2e-3, `query ${q}, rank ${j}`));
    }
  });

  it('a commit that is not a held tip is refused with ANN_TIP_UNKNOWN', () => {
    assert.throws(() => store.ann!.nearest(embed('x'), 5, { repoId, sha: fx.old }), (err: unknown) => AnnError.is(err, 'ANN_TIP_UNKNOWN'));
  });

  it('VECTOR search at a tip comes from the ANN index; at an older commit from the store', async () => {
    const ann = store.ann!;
    const before = ann.searches;
    const r = await store.search.search(repoId, fx.tip, { query: 'return JSON.parse(body);', mode: 'vector' });
    assert.equal(ann.searches, before + 1);
    assert.equal(r.items[0]!.node.entity.name, 'parseHTTPResponse');
    await store.search.search(repoId, fx.tip, { query: 'get user', mode: 'hybrid' });
    assert.equal(ann.searches, before + 2);
    const old = await store.search.search(repoId, fx.old, { query: 'return JSON.parse(body);', mode: 'vector' });
    assert.equal(ann.searches, before + 2);
    assert.equal(old.items[0]!.node.entity.name, 'parseHTTPResponse');
  });

  let afterCommit: string[][];
  it('a 1-file commit updates the tip from its changed paths, and answers as a rebuild does', async () => {
    await fx.repo.write('src/http/client.ts', `${FILES['src/http/client.ts']!.replace(/fetchUser/g, 'loadUser')}\nexport function brandNew(q: string): string {\n  return q.split(',').map((s) => s.trim()).join(';');\n}\n`);
    const c3 = await fx.repo.commit('one file');
    await index();
    const sizeBefore = store.ann!.size;
    const stats = await store.syncAnn([repoId]);
    assert.equal(stats!.deltaTips, 1);
    assert.equal(stats!.fullTips, 0);
    assert.equal(stats!.added, 1, 'only the new body is added');
    assert.equal(store.ann!.size, sizeBefore + 1);
    assert.ok(store.ann!.has({ repoId, sha: c3 }) && !store.ann!.has({ repoId, sha: fx.tip }));
    afterCommit = answers(c3);
    assert.ok(afterCommit.flat().some((h) => h.startsWith('src/http/client.ts#')));
    await store.ann!.save();
    // A rebuild from scratch elsewhere gives the same answers.
    const other = join(await makeTempDir('cg-ann-'), 'ann');
    const updated = store.ann!;
    store.openAnn(other);
    const full = await store.syncAnn([repoId]);
    assert.equal(full!.fullTips, 1);
    assert.deepEqual(answers(c3), afterCommit);
    assert.equal(store.ann!.size, updated.size);
    fx.tip = c3;
  });

  it('reopening the saved index adds nothing and answers the same', async () => {
    const ann = store.openAnn(dir);
    assert.equal(ann.loadedFrom, 'disk');
    const stats = await store.syncAnn([repoId]);
    assert.equal(stats!.added, 0);
    assert.equal(stats!.removed, 0);
    assert.deepEqual(answers(fx.tip), afterCommit);
  });

  it('a deleted, corrupt or other-format index is rebuilt with the same answers', async () => {
    rmSync(dir, { recursive: true, force: true });
    assert.equal(store.openAnn(dir).loadedFrom, 'rebuilt');
    await store.syncAnn([repoId]);
    assert.deepEqual(answers(fx.tip), afterCommit);
    await store.ann!.save();

    const graph = readdirSync(dir).find((f) => f.startsWith('graph-'))!;
    writeFileSync(join(dir, graph), readFileSync(join(dir, graph)).subarray(0, 100));
    assert.equal(store.openAnn(dir).loadedFrom, 'rebuilt');
    await store.syncAnn([repoId]);
    assert.deepEqual(answers(fx.tip), afterCommit);
    await store.ann!.save();

    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { format: number };
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ ...meta, format: 0 }));
    assert.equal(store.openAnn(dir).loadedFrom, 'rebuilt');
    writeFileSync(join(dir, 'meta.json'), '{ truncated');
    assert.equal(store.openAnn(dir).loadedFrom, 'rebuilt');
    await store.syncAnn([repoId]);
    assert.deepEqual(answers(fx.tip), afterCommit);
  });
});

describe('codegraph serve keeps the ANN index at the ref tips', { timeout: 300_000 }, () => {
  const silent = pino({ level: process.env.DEBUG_ANN ? 'info' : 'silent' });
  const until = async (what: string, ok: () => boolean): Promise<void> => {
    for (let i = 0; i < 600 && !ok(); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(ok(), `timed out waiting for ${what}`);
  };

  it('follows a ref move, is saved at close and reloaded at start', async () => {
    const repo = await makeRepo();
    await repo.writeFiles(FILES);
    const c1 = await repo.commit('first');
    const data = await makeTempDir('cg-ann-serve-');
    const config = loadConfig({ argv: ['--repo', repo.dir, '--port', '0', '--data-dir', data, '--poll-interval-ms', '200', '--threads', '1'], env: {} });
    let s = await startService({ config, logger: silent });
    let id = 0;
    try {
      await untilReady(s, 90_000);
      id = await s.store.repository(repo.dir);
      await until('the first tip', () => s.store.ann?.has({ repoId: id, sha: c1 }) === true);
      await repo.write('src/extra.ts', 'export function extraStuff(a: string) {\n  return a.toUpperCase();\n}\n');
      const c2 = await repo.commit('second');
      await until('the moved tip', () => s.store.ann?.has({ repoId: id, sha: c2 }) === true);
      assert.equal(s.store.ann!.has({ repoId: id, sha: c1 }), false);
      const before = s.store.ann!.searches;
      const r = await s.store.search.search(id, c2, { query: 'return a.toUpperCase();', mode: 'vector' });
      assert.equal(r.items[0]!.node.entity.name, 'extraStuff');
      assert.equal(s.store.ann!.searches, before + 1);
    } finally {
      await s.close();
    }
    assert.ok(existsSync(join(data, 'hot', 'ann', 'meta.json')));
    s = await startService({ config, logger: silent });
    try {
      assert.equal(s.store.ann!.loadedFrom, 'disk');
    } finally {
      await s.close();
    }
  });
});
