// Which ref tips the hot working set holds (HistoryStore.hotRefs, #9: a clone with 136 remote
// branches took the daemon to 1.65 GB holding them all): HEAD, then local branches, then
// remote-tracking branches, newest commit first, at most `max` distinct commits; never tags. On
// both backends, with a real repository indexed by the real indexer.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { indexHistory } from '../daemon/history.ts';
import type { Db } from '../store/db.ts';
import type { HistoryStore } from '../store/index.ts';
import { cleanupAll, makeRepo, makeTempDir, type TestRepo } from './helpers/gitrepo.ts';
import { withBackends } from './harness/pg.ts';
import { openStore, withGit, withIndexer } from './store-fixtures.ts';

after(cleanupAll);

await withBackends('hot-refs', (b) => {
  let repo: TestRepo;
  let db: Db;
  let store: HistoryStore;
  let repoId: number;
  const c: Record<string, string> = {};

  before(async () => {
    repo = await makeRepo();
    // One commit per ref, each newer than the one before: old, feature, remote-a, remote-b, main.
    for (const name of ['old', 'feature', 'remote-a', 'remote-b', 'main']) {
      await repo.write(`${name}.ts`, `export function ${name.replace('-', '_')}(): number { return 1; }\n`);
      c[name] = await repo.commit(name);
    }
    await repo.setRef('refs/heads/old', c['old']!);
    await repo.setRef('refs/heads/feature', c['feature']!);
    await repo.setRef('refs/remotes/origin/a', c['remote-a']!);
    await repo.setRef('refs/remotes/origin/b', c['remote-b']!);
    await repo.setRef('refs/remotes/origin/main', c['main']!);
    await repo.tag('v1', c['old']!);
    db = await (await b.fresh()).open();
    store = await openStore(db);
    repoId = await withGit(repo.dir, (g) => withIndexer(async (indexer) => (await indexHistory({ repo: g, store, indexer, history: 'all' })).repoId));
  });
  after(async () => db.close());

  const names = async (max: number): Promise<string[]> => (await store.hotRefs(repoId, max)).map((r) => r.name);

  it('holds every branch tip, and no tag, while they fit', async () => {
    assert.deepEqual((await names(16)).sort(), ['refs/heads/feature', 'refs/heads/main', 'refs/heads/old', 'refs/remotes/origin/a', 'refs/remotes/origin/b', 'refs/remotes/origin/main']);
  });

  it('past the limit: HEAD, then local branches newest first, then remote ones; refs at a taken commit come free', async () => {
    // main and origin/main share one commit: one of the `max`. (HEAD is recorded when detached.)
    assert.deepEqual(await names(1), ['refs/heads/main', 'refs/remotes/origin/main']);
    assert.deepEqual(await names(2), ['refs/heads/main', 'refs/heads/feature', 'refs/remotes/origin/main']);
    assert.deepEqual(await names(4), ['refs/heads/main', 'refs/heads/feature', 'refs/heads/old', 'refs/remotes/origin/main', 'refs/remotes/origin/b']);
  });

  it('the ANN index covers the hot tips only', async () => {
    const dir = path.join(await makeTempDir('cg-hot-refs-'), 'ann');
    store.openAnn(dir);
    const all = await store.syncAnn([repoId], 16);
    assert.equal(all!.fullTips + all!.deltaTips, 5, 'five distinct branch commits (the tag adds none)');
    store.openAnn(`${dir}-2`);
    const two = await store.syncAnn([repoId], 2);
    assert.equal(two!.fullTips + two!.deltaTips, 2);
  });
});
