// `codegraph serve` paths beyond the local commit: `POST /hooks/git` fetching a remote into a clone
// (and failing to), and the indexing queue retrying after a transient database error. Real git
// repositories, the real service on 127.0.0.1:0, PGlite (and PostgreSQL for the retry test); the
// only mock is the injected database fault.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfig } from '../daemon/config.ts';
import { startService, type Service } from '../daemon/service.ts';
import { backends } from './harness/pg.ts';
import { cleanupAll, makeRepo, makeTempDir, type TestRepo } from './helpers/gitrepo.ts';
import { captureLogs, client, COMMITS, subscribe, until, untilReady, type CommitEvent, type LogLine } from './helpers/serve.ts';

after(() => cleanupAll());

const HOOK_SECRET = 'hook-secret-0123456789';

/** Starts the service on `repo` as repository "proj" with `remote = "origin"`; `toml` adds top-level keys. */
async function serve(repo: TestRepo, opts: { toml?: string; retryBaseMs?: number } = {}): Promise<{ s: Service; logs: LogLine[] }> {
  const dir = await makeTempDir('cg-serve-cfg-');
  const file = path.join(dir, 'codegraph.toml');
  await writeFile(file, [
    'port = 0', 'history = 50', 'threads = 1', 'pollIntervalMs = 200', `dataDir = ${JSON.stringify(path.join(dir, 'data'))}`,
    `webhookSecret = "${HOOK_SECRET}"`, opts.toml ?? '',
    '[[repos]]', `path = ${JSON.stringify(repo.dir)}`, 'name = "proj"', 'remote = "origin"', '',
  ].join('\n'));
  const { logger, lines } = captureLogs();
  const config = loadConfig({ argv: ['--config', file], env: {} });
  const s = await startService({ config, logger, ...(opts.retryBaseMs !== undefined ? { retryBaseMs: opts.retryBaseMs } : {}) });
  return { s, logs: lines };
}

function hook(url: string, body: string): Promise<Response> {
  const sig = 'sha256=' + createHmac('sha256', HOOK_SECRET).update(body).digest('hex');
  return fetch(`${url}/hooks/git`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': sig }, body });
}

async function query<T>(url: string, q: string): Promise<T> {
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: q }) });
  const body = (await res.json()) as { data: T; errors?: unknown };
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data;
}

const PUSH = JSON.stringify({ ref: 'refs/heads/main', repository: { name: 'proj' } });

describe('codegraph serve: webhook fetch', { timeout: 120_000 }, () => {
  test('a commit that reaches the clone only through the webhook\'s git fetch is indexed and announced', async () => {
    const upstream = await makeRepo();
    await upstream.write('src/a.ts', 'export function alpha() {\n  return 1;\n}\n');
    const c1 = await upstream.commit('first');
    const clone = await upstream.clone();
    const { s } = await serve(clone);
    const c = client(s.server.url);
    try {
      await untilReady(s);
      const commits = await subscribe<CommitEvent>(c, COMMITS('proj'), 'commitIndexed');
      await upstream.write('src/b.ts', 'export function beta() {\n  return 2;\n}\n');
      const c2 = await upstream.commit('second');

      const res = await hook(s.server.url, PUSH);
      assert.equal(res.status, 202);
      assert.deepEqual(await res.json(), { accepted: ['proj'] });

      // The fetch moves refs/remotes/origin/main (the clone's own main stays at c1).
      const ev = await commits.next((e) => e.sha === c2);
      assert.equal(ev.ref, 'refs/remotes/origin/main');
      assert.deepEqual(ev.parents, [c1]);
      assert.deepEqual(ev.diff.added.map((e) => e.name), ['beta']);
      const data = await query<{ repository: { refs: Array<{ name: string; sha: string }>; commit: { sha: string } } }>(s.server.url,
        '{ repository(name: "proj") { refs { name sha } commit(rev: "origin/main") { sha } } }');
      assert.deepEqual(data.repository.refs.find((r) => r.name === 'refs/remotes/origin/main'), { name: 'refs/remotes/origin/main', sha: c2 });
      assert.deepEqual(data.repository.refs.find((r) => r.name === 'refs/heads/main'), { name: 'refs/heads/main', sha: c1 });
      assert.equal(data.repository.commit.sha, c2);
      assert.deepEqual(commits.items.map((e) => e.sha), [c2], 'announced once');
    } finally {
      await c.dispose();
      await s.close();
    }
  });

  test('a failing fetch (the remote is gone) is logged and counted; the daemon keeps indexing', async () => {
    const upstream = await makeRepo();
    await upstream.write('a.py', 'def one():\n    return 1\n');
    await upstream.commit('one');
    const clone = await upstream.clone();
    const { s, logs } = await serve(clone);
    const c = client(s.server.url);
    try {
      await untilReady(s);
      const commits = await subscribe<CommitEvent>(c, COMMITS('proj'), 'commitIndexed');
      await rm(path.dirname(upstream.dir), { recursive: true, force: true });

      const res = await hook(s.server.url, PUSH);
      assert.equal(res.status, 202, 'the hook is accepted: the fetch runs after the reply');
      await until(() => logs.some((l) => l.msg === 'git fetch failed'), 'no fetch failure logged', 15_000);
      const line = logs.find((l) => l.msg === 'git fetch failed')!;
      assert.equal(line.level, 50);
      assert.equal(line.repo, 'proj');
      assert.equal(line.remote, 'origin');
      assert.match(JSON.stringify(line.err), /does not appear to be a git repository/);
      const metrics = await (await fetch(`${s.server.url}/metrics`)).text();
      assert.match(metrics, /codegraph_git_fetch_failures_total\{repository="proj"\} 1\n/);

      // Still serving and still watching: a local commit in the clone is indexed and announced.
      assert.equal((await fetch(`${s.server.url}/healthz`)).status, 200);
      assert.equal((await fetch(`${s.server.url}/readyz`)).status, 200);
      await clone.write('b.py', 'def two():\n    return 2\n');
      const local = await clone.commit('local');
      const ev = await commits.next((e) => e.sha === local);
      assert.equal(ev.ref, 'refs/heads/main');
      assert.deepEqual(ev.diff.added.map((e) => e.name), ['two']);
    } finally {
      await c.dispose();
      await s.close();
    }
  });
});

for (const b of await backends()) {
  describe(`codegraph serve: retry after a transient database error [${b.name}]`, { skip: b.skip, timeout: 120_000 }, () => {
    test('a connection error while storing the 2nd of 2 new commits: retried with backoff, both indexed and announced once', async () => {
      const repo = await makeRepo();
      await repo.write('src/a.ts', 'export function alpha() {\n  return 1;\n}\n');
      const c1 = await repo.commit('first');
      const toml = b.name === 'postgres' ? `databaseUrl = ${JSON.stringify((await b.fresh()).options.databaseUrl)}` : '';
      const { s, logs } = await serve(repo, { toml, retryBaseMs: 100 });
      const c = client(s.server.url);
      try {
        await untilReady(s);
        await s.settled();
        const commits = await subscribe<CommitEvent>(c, COMMITS('proj'), 'commitIndexed');
        // Fault injection: storing the second new commit fails once, the way pg fails a query
        // whose connection dropped (the transaction never reaches the database). The store writes
        // a batch of commits per transaction (storeCommits); here each commit gets its own, so the
        // first is stored before the failure.
        const storeCommits = s.store.storeCommits.bind(s.store);
        let calls = 0;
        s.store.storeCommits = async (repoId, inputs, opts) => {
          const out = [];
          for (const input of inputs) {
            if (++calls === 2) throw Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
            out.push(...(await storeCommits(repoId, [input], opts)));
          }
          return out;
        };

        // Two commits in one move (made with plumbing, so the watcher sees one ref update).
        await repo.write('src/b.ts', 'export function beta() {\n  return 2;\n}\n');
        await repo.git(['add', '-A']);
        const c2 = await repo.commitTree(await repo.git(['write-tree']), [c1], 'second');
        await repo.write('src/c.ts', 'export function gamma() {\n  return 3;\n}\n');
        await repo.git(['add', '-A']);
        const c3 = await repo.commitTree(await repo.git(['write-tree']), [c2], 'third');
        await repo.setRef('refs/heads/main', c3);

        const e3 = await commits.next((e) => e.sha === c3);
        assert.deepEqual(e3.diff.added.map((e) => e.name), ['gamma']);
        await s.settled();
        await s.bridge.idle();
        assert.deepEqual(commits.items.map((e) => e.sha), [c2, c3], 'the commit stored before the failure is announced too, once, in order');
        assert.ok(calls >= 3, `commits stored ${calls} times`);
        const repoId = await s.store.repository(repo.dir);
        assert.deepEqual([...(await s.store.indexedCommits(repoId, [c1, c2, c3]))].sort(), [c1, c2, c3].sort());
        const retries = logs.filter((l) => l.msg === 'indexing failed; retrying');
        assert.equal(retries.length, 1, JSON.stringify(retries));
        assert.equal(retries[0]!.level, 50);
        assert.equal(retries[0]!.retryInMs, 100);
        assert.match(JSON.stringify(retries[0]!.err), /Connection terminated unexpectedly/);
        assert.equal((await fetch(`${s.server.url}/readyz`)).status, 200);
      } finally {
        await c.dispose();
        await s.close();
      }
    });
  });
}
