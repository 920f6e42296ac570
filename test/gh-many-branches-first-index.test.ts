// Regression (#9): `serve` of a clone with many branches was not ready until the window of every
// branch was stored: a clone of zod (137 remote branches, 3,942 commits in their windows) answered
// nothing for ~176 s. The first index now stores HEAD's window alone; the other branches' windows
// follow behind readiness, unannounced, and their tips then join the hot store.
//
// Also: a ref the store recorded was taken as indexed, so `commit(rev: "<tag>")` of a tag outside
// the window (or of a branch whose window was still being filled in) answered NOT_FOUND "not
// indexed yet" instead of indexing the commit on demand.
import assert from 'node:assert/strict';
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../daemon/config.ts';
import { InProcessEvents } from '../daemon/server/pubsub.ts';
import { startService } from '../daemon/service.ts';
import { cleanupAll, makeRepo, makeTempDir } from './helpers/gitrepo.ts';
import { backends } from './harness/pg.ts';
import { captureLogs, until, untilReady } from './helpers/serve.ts';

after(cleanupAll);

const BRANCHES = 6;

async function buildRepo() {
  const repo = await makeRepo();
  const main: string[] = [];
  await repo.write('src/a.ts', 'export function a(): number {\n  return 1;\n}\n');
  main.push(await repo.commit('a'));
  await repo.tag('v0');
  const branches: Record<string, string[]> = {};
  for (let b = 0; b < BRANCHES; b++) {
    await repo.branch(`topic${b}`, main[0]!);
    await repo.checkout(`topic${b}`);
    branches[`topic${b}`] = [];
    for (let i = 0; i < 3; i++) {
      await repo.write(`src/t${b}.ts`, `export function t${b}(): number {\n  return ${i};\n}\n`);
      branches[`topic${b}`]!.push(await repo.commit(`topic${b} ${i}`));
    }
  }
  await repo.checkout('main');
  for (let i = 0; i < 3; i++) {
    await repo.write('src/a.ts', `export function a(): number {\n  return ${i + 2};\n}\n`);
    main.push(await repo.commit(`main ${i}`));
  }
  return { repo, main, branches };
}

const fx = await buildRepo();
let later = 0;

async function gql(url: string, query: string): Promise<{ data?: unknown; errors?: Array<{ message: string; extensions: { code: string } }> }> {
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  return (await res.json()) as { data?: unknown; errors?: Array<{ message: string; extensions: { code: string } }> };
}

for (const b of await backends()) {
  describe(`serve: HEAD's window first, the other branches behind readiness [${b.name}]`, { skip: b.skip, timeout: 240_000 }, () => {
    it('is ready after HEAD\'s window, then stores every branch\'s window unannounced, and indexes a tag outside them on demand', async () => {
      const data = await makeTempDir('cg-branches-');
      const extra = b.name === 'postgres' ? ['--database-url', (await b.fresh()).options.databaseUrl!] : [];
      const config = loadConfig({ argv: ['--repo', fx.repo.dir, '--port', '0', '--data-dir', data, '--history', '2', '--backfill', '0', '--threads', '1', ...extra], env: {} });
      const events = new InProcessEvents();
      const name = path.basename(fx.repo.dir);
      const announced = events.subscribe('commitIndexed', name);
      const logs = captureLogs();
      const s = await startService({ config, logger: logs.logger, events });
      try {
        await untilReady(s, 120_000);
        const done = logs.lines.find((l) => l.msg === 'initial index done') as unknown as { indexed: number } | undefined;
        assert.equal(done?.indexed, 2, 'the first index stores HEAD\'s window (2 commits) alone');
        const repoId = await s.store.repository(realpathSync(fx.repo.dir));
        const windows = Object.values(fx.branches).flatMap((c) => c.slice(-2));
        await until(async () => (await s.store.indexedCommits(repoId, windows)).size === windows.length, 'every branch\'s window is stored', 120_000);
        await until(() => logs.lines.some((l) => l.msg === 'other branches indexed'), 'the branches are logged', 10_000);
        // Their tips join the hot store.
        await until(() => Object.values(fx.branches).every((c) => s.store.hot?.image(repoId, c[c.length - 1]!) !== undefined), 'the branch tips are hot', 60_000);
        // v0 tags main's first commit, outside every window: indexed on demand, not NOT_FOUND.
        assert.equal((await s.store.indexedCommits(repoId, [fx.main[0]!])).size, 0);
        const tag = await gql(s.server.url, `{ repository(name: "${name}") { commit(rev: "v0") { sha entities(first: 5) { edges { node { qualifiedName } } } } } }`);
        assert.equal(tag.errors, undefined, JSON.stringify(tag.errors));
        assert.deepEqual(tag.data, { repository: { commit: { sha: fx.main[0], entities: { edges: [{ node: { qualifiedName: 'src/a.ts' } }, { node: { qualifiedName: 'src/a.ts::a' } }] } } } });
        // Nothing of the first index or of the branches was announced; a new commit is.
        await fx.repo.write('src/a.ts', `export function a(): number {\n  return ${100 + later++};\n}\n`);
        const sha = await fx.repo.commit('after');
        const first = (await announced.next()).value as { sha: string };
        assert.equal(first.sha, sha);
      } finally {
        await announced.return!();
        await s.close();
      }
    });
  });
}
