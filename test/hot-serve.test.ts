// `codegraph serve` with the hot store (store/hot, issue #12), on both backends: the tip is held
// after the initial index, a ref move of a 1-file commit updates it incrementally, GraphQL callees
// at the tip equal the history store's answer, and a restart with the hot store deleted rebuilds
// it and answers the same.
import assert from 'node:assert/strict';
import { realpathSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfig } from '../daemon/config.ts';
import { startService, type Service } from '../daemon/service.ts';
import { HistoryStore } from '../store/index.ts';
import { cleanupAll, makeRepo, makeTempDir, type TestRepo } from './helpers/gitrepo.ts';
import { backends } from './harness/pg.ts';
import { captureLogs, until, untilReady, type LogLine } from './helpers/serve.ts';

after(() => cleanupAll());

async function serve(repo: TestRepo, data: string, extra: string[], logger = captureLogs().logger): Promise<Service> {
  const config = loadConfig({ argv: ['--repo', repo.dir, '--port', '0', '--data-dir', data, '--history', '10', '--poll-interval-ms', '200', '--threads', '1', ...extra], env: {} });
  return startService({ config, logger });
}

async function callees(s: Service, repo: TestRepo, sha: string): Promise<unknown> {
  const res = await fetch(`${s.server.url}/graphql`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: `{ repository(name: "${path.basename(repo.dir)}") { commit(rev: "${sha}") { entities(first: 50, kind: [function]) { edges { node { qualifiedName callers { nodes { qualifiedName } } callees(depth: 2) { nodes { qualifiedName startLine } truncated } } } } } } }` }),
  });
  const body = (await res.json()) as { data?: unknown; errors?: unknown };
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data;
}

for (const b of await backends()) {
  describe(`codegraph serve with the hot store [${b.name}]`, { skip: b.skip, timeout: 240_000 }, () => {
    test('tip held after the initial index, updated by a 1-file commit, rebuilt after deletion; answers equal the history store', async () => {
      const repo = await makeRepo();
      await repo.writeFiles({
        'src/util.ts': 'export function log(m: string): void {\n  console.log(m);\n}\n',
        'src/a.ts': "import { log } from './util';\n\nexport function a(): void {\n  log('a');\n  b();\n}\n\nexport function b(): void {\n  log('b');\n}\n",
        'src/c.ts': "import { a } from './a';\n\nexport function c(): void {\n  a();\n}\n",
      });
      await repo.commit('one');
      const data = await makeTempDir('cg-hot-serve-');
      const extra = b.name === 'postgres' ? ['--database-url', (await b.fresh()).options.databaseUrl!] : [];
      const logs = captureLogs();
      let s = await serve(repo, data, extra, logs.logger);
      try {
        await untilReady(s, 120_000);
        const repoId = await s.store.repository(realpathSync(repo.dir));
        const head1 = await repo.git(['rev-parse', 'HEAD']);
        // The first build runs behind readiness (daemon/service.ts).
        await until(() => s.store.hot?.image(repoId, head1) !== undefined, 'the tip is held', 120_000);
        const cold = new HistoryStore(s.db);
        // GraphQL at the tip (hot) equals GraphQL answered by the store: compare with the same
        // walks asked of a store without the hot store.
        const viaHot = await callees(s, repo, head1);
        const hot = s.store.hot;
        s.store.hot = null;
        assert.deepEqual(await callees(s, repo, head1), viaHot);
        s.store.hot = hot;
        assert.deepEqual(await s.store.callees(repoId, head1, 'src/c.ts::c', 2), await cold.callees(repoId, head1, 'src/c.ts::c', 2));

        // A 1-file commit: `b` now calls a new function; the tip moves and is updated, not rebuilt.
        await repo.write('src/a.ts', "import { log } from './util';\n\nexport function a(): void {\n  log('a');\n  b();\n}\n\nexport function b(): void {\n  log('b');\n  d();\n}\n\nexport function d(): void {}\n");
        const head2 = await repo.commit('two');
        // The tip is held as soon as it is built; its log line follows once the sync returns.
        const ready = (): LogLine[] => logs.lines.filter((l) => l.msg === 'hot store tip ready');
        await until(() => ready().length >= 2, 'tip 2 held', 120_000);
        assert.ok(s.store.hot!.image(repoId, head2));
        assert.deepEqual(ready().map((l) => l.how), ['build', 'update']);
        assert.equal(s.store.hot!.image(repoId, head1), undefined, 'the old tip is dropped');
        const tip2 = await callees(s, repo, head2);
        assert.match(JSON.stringify(tip2), /src\/a\.ts::d/);
        s.store.hot = null;
        assert.deepEqual(await callees(s, repo, head2), tip2);
        s.store.hot = hot;

        // Restart with the hot store deleted: rebuilt, same answers.
        await s.close();
        rmSync(path.join(data, 'hot'), { recursive: true, force: true });
        const logs2 = captureLogs();
        s = await serve(repo, data, extra, logs2.logger);
        await untilReady(s, 120_000);
        await until(() => s.store.hot?.image(repoId, head2) !== undefined, 'the tip is rebuilt', 120_000);
        assert.equal(s.store.hot!.reset, 'missing');
        assert.deepEqual(await callees(s, repo, head2), tip2);
        // Restart again: read back from RocksDB.
        await s.close();
        const logs3 = captureLogs();
        s = await serve(repo, data, extra, logs3.logger);
        await untilReady(s, 120_000);
        await until(() => logs3.lines.some((l) => l.msg === 'hot store tip ready'), 'the tip is read back', 120_000);
        assert.deepEqual(logs3.lines.filter((l) => l.msg === 'hot store tip ready').map((l) => l.how), ['load']);
        assert.deepEqual(await callees(s, repo, head2), tip2);
      } finally {
        await s.close();
      }
    });
  });
}
