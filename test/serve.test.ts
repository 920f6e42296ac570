// `codegraph serve` end to end: a real git repository, the service on 127.0.0.1:0 with PGlite in a
// temp dir (and PostgreSQL for the two-instance test), a graphql-ws client over a real WebSocket.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../daemon/config.ts';
import { startService, type Service } from '../daemon/service.ts';
import { openHistoryStore } from '../daemon/history.ts';
import { cleanupAll, makeRepo, makeTempDir, type TestRepo } from './helpers/gitrepo.ts';
import { backends } from './harness/pg.ts';
import { client, COMMITS, subscribe, untilReady, type CommitEvent } from './helpers/serve.ts';

after(() => cleanupAll());

const silent = pino({ level: 'silent' });

async function serve(repo: TestRepo, extra: string[] = [], opts: { lockRetryMs?: number } = {}): Promise<Service> {
  const data = await makeTempDir('cg-serve-data-');
  const config = loadConfig({ argv: ['--repo', repo.dir, '--port', '0', '--data-dir', data, '--history', '50', '--poll-interval-ms', '200', '--threads', '1', ...extra], env: {} });
  return startService({ config, logger: silent, lockRetryMs: opts.lockRetryMs ?? 300 });
}

interface ChangeEvent { ref: string; sha: string; change: string; entity: { name: string; path: string; kind: string }; before: { name: string } | null }

describe('codegraph serve (PGlite)', { timeout: 120_000 }, () => {
  test('a commit arrives as commitIndexed with its entity diff; entityChanged filters on the server', async () => {
    const repo = await makeRepo();
    await repo.write('src/a.ts', 'export function alpha(x: number) {\n  return x + 1;\n}\n');
    const c1 = await repo.commit('first');
    const s = await serve(repo);
    const c = client(s.server.url);
    try {
      await untilReady(s);
      const name = s.server.url && repo.dir.split('/').pop()!;
      const commits = await subscribe<CommitEvent>(c, COMMITS(name), 'commitIndexed');
      const betas = await subscribe<ChangeEvent>(c, `subscription { entityChanged(repository: "${name}", names: ["beta"]) { ref sha change entity { name path kind } before { name } } }`, 'entityChanged');
      const all = await subscribe<ChangeEvent>(c, `subscription { entityChanged(repository: "${name}", path: "src/**") { ref sha change entity { name path kind } before { name } } }`, 'entityChanged');

      await repo.write('src/a.ts', 'export function alpha(x: number, y: number) {\n  return x + y;\n}\n');
      await repo.write('src/b.ts', 'export function beta() {\n  return 2;\n}\nexport function gamma() {}\n');
      await repo.write('notes.md', '# not code\n');
      await repo.write('src/broken.ts', 'export function broken( {\n');
      const c2 = await repo.commit('second');

      const ev = await commits.next();
      assert.equal(ev.sha, c2);
      assert.deepEqual(ev.parents, [c1]);
      assert.equal(ev.ref, 'refs/heads/main');
      assert.equal(ev.diff.from, c1);
      assert.deepEqual(ev.diff.added.map((e) => e.name).sort(), ['beta', 'gamma']);
      assert.deepEqual(ev.diff.modified.map((m) => [m.after.name, m.signatureChanged]), [['alpha', true]]);
      assert.deepEqual(ev.diff.removed, []);

      const b = await betas.next();
      assert.deepEqual([b.sha, b.change, b.entity.name, b.entity.path, b.before], [c2, 'added', 'beta', 'src/b.ts', null]);
      const seen = new Set<string>();
      while (seen.size < 3) {
        const e = await all.next();
        seen.add(`${e.change}:${e.entity.name}`);
      }
      assert.deepEqual([...seen].sort(), ['added:beta', 'added:gamma', 'modified:alpha']);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(betas.items.length, 1, 'the names filter let through only beta');

      // Queries see the new commit too.
      const res = await fetch(`${s.server.url}/graphql`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: `{ repository(name: "${name}") { refs { name sha } } }` }),
      });
      const body = (await res.json()) as { data: { repository: { refs: Array<{ name: string; sha: string }> } } };
      assert.deepEqual(body.data.repository.refs, [{ name: 'refs/heads/main', sha: c2 }]);
      const ready = await fetch(`${s.server.url}/readyz`);
      assert.equal(ready.status, 200);
      // Skips by reason and files with syntax errors reach /metrics.
      const metrics = await (await fetch(`${s.server.url}/metrics`)).text();
      assert.match(metrics, /codegraph_files_skipped_total\{reason="unknown_language"\} [1-9]/);
      assert.match(metrics, /codegraph_parse_errors_total\{language="typescript"\} [1-9]/);
      assert.match(metrics, /codegraph_files_indexed_total\{repository="[^"]+",language="typescript"\} [1-9]/);
    } finally {
      await c.dispose();
      await s.close();
    }
  });

  test('branch created, deleted and force-pushed: events name the branch, the ref log records each move', async () => {
    const repo = await makeRepo();
    await repo.write('a.py', 'def one():\n    return 1\n');
    const c1 = await repo.commit('one');
    const s = await serve(repo);
    const c = client(s.server.url);
    try {
      await untilReady(s);
      const name = repo.dir.split('/').pop()!;
      const commits = await subscribe<CommitEvent>(c, COMMITS(name), 'commitIndexed');

      await repo.git(['checkout', '-q', '-b', 'feature']);
      await repo.write('b.py', 'def two():\n    return 2\n');
      const f1 = await repo.commit('two');
      const e1 = await commits.next((e) => e.sha === f1);
      assert.equal(e1.ref, 'refs/heads/feature');
      assert.deepEqual(e1.diff.added.map((x) => x.name), ['two']);

      // Force-push: feature moves to a commit that does not contain f1.
      // The rewritten commit is made with plumbing so that no watched ref points at it before the
      // force-push (a temporary branch would race the watcher for the event's ref name).
      await repo.git(['checkout', '-q', 'main']);
      await repo.write('c.py', 'def three():\n    return 3\n');
      await repo.git(['add', 'c.py']);
      const tree = await repo.git(['write-tree']);
      const t1 = await repo.commitTree(tree, [await repo.git(['rev-parse', 'main'])], 'three');
      await repo.git(['reset', '-q', '--hard', 'main']);
      await repo.setRef('refs/heads/feature', t1);
      const e2 = await commits.next((e) => e.sha === t1);
      assert.equal(e2.ref, 'refs/heads/feature');

      await repo.git(['branch', '-q', '-D', 'feature']);
      const repoId = await s.store.repository(repo.dir);
      const end = Date.now() + 10_000;
      while ((await s.store.refs(repoId)).some((r) => r.name === 'refs/heads/feature')) {
        if (Date.now() > end) throw new Error('branch deletion not recorded');
        await new Promise((r) => setTimeout(r, 100));
      }
      let log = (await s.store.refLog(repoId, 'refs/heads/feature')).map((m) => [m.oldSha, m.newSha, m.forced]);
      // `checkout -b feature` points the branch at c1 before `commit` moves it to f1; a poll in
      // between rightly records that first move. Either way the moves after it are these.
      if (log[0]?.[1] === c1) {
        assert.deepEqual(log.slice(0, 2), [[null, c1, false], [c1, f1, false]]);
        log = [[null, f1, false], ...log.slice(2)];
      }
      assert.deepEqual(log, [[null, f1, false], [f1, t1, true], [t1, null, false]]);
      // Every commit indexed exactly once; the force-pushed-away commit stays stored.
      assert.deepEqual(commits.items.map((e) => e.sha).sort(), [f1, t1].sort());
      assert.deepEqual([...(await s.store.indexedCommits(repoId, [c1, f1, t1]))].sort(), [c1, f1, t1].sort());
    } finally {
      await c.dispose();
      await s.close();
    }
  });
});

describe('codegraph serve process', { timeout: 120_000 }, () => {
  test('SIGTERM during the initial index exits 0; a restart resumes without duplicate or missing commits', async () => {
    const repo = await makeRepo();
    for (let i = 0; i < 30; i++) {
      await repo.write(`f${i % 5}.ts`, `export function f${i}(a: number) {\n  return a * ${i};\n}\n`);
      await repo.commit(`c${i}`);
    }
    const data = await makeTempDir('cg-serve-proc-');
    const args = ['bin/codegraph.js', 'serve', repo.dir, '--port', '0', '--data', data, '--history', '100', '--threads', '1'];
    const runOnce = (killAfterMs: number | null) => new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CODEGRAPH_LOG_LEVEL: 'info' } });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += String(d);
        if (killAfterMs === null && stderr.includes('initial index done') && child.signalCode === null && !child.killed) child.kill('SIGTERM');
      });
      child.stdout.once('data', () => {
        if (killAfterMs !== null) setTimeout(() => child.kill('SIGTERM'), killAfterMs);
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('error', reject);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stderr });
      });
    });
    const first = await runOnce(400);
    assert.equal(first.code, 0, first.stderr.slice(-2000));
    const second = await runOnce(null);
    assert.equal(second.code, 0, second.stderr.slice(-2000));
    const { db, store } = await openHistoryStore({ dataDir: data });
    try {
      const repoId = await store.repository(repo.dir);
      const all = (await repo.git(['rev-list', 'main'])).split('\n');
      assert.equal(all.length, 30);
      assert.equal((await store.indexedCommits(repoId, all)).size, 30);
      const { rows } = await db.query<{ n: number; d: number }>('SELECT count(*)::int AS n, count(DISTINCT sha)::int AS d FROM commits WHERE repo_id = $1', [repoId]);
      assert.deepEqual(rows[0], { n: 30, d: 30 });
    } finally {
      await db.close();
    }
  });
});

for (const b of (await backends()).filter((x) => x.name === 'postgres')) {
  describe('codegraph serve, two instances on one PostgreSQL', { skip: b.skip, timeout: 120_000 }, () => {
    test('both deliver the event, only one indexes; the standby takes over when the indexer stops', async () => {
      const repo = await makeRepo();
      await repo.write('a.go', 'package a\n\nfunc One() int { return 1 }\n');
      await repo.commit('one');
      const db = await b.fresh();
      const url = db.options.databaseUrl!;
      const s1 = await serve(repo, ['--database-url', url]);
      await untilReady(s1);
      const s2 = await serve(repo, ['--database-url', url]);
      const c1 = client(s1.server.url);
      const c2 = client(s2.server.url);
      try {
        await untilReady(s2);
        assert.deepEqual([s1.indexing().length, s2.indexing().length], [1, 0]);
        const name = repo.dir.split('/').pop()!;
        const sub1 = await subscribe<CommitEvent>(c1, COMMITS(name), 'commitIndexed');
        const sub2 = await subscribe<CommitEvent>(c2, COMMITS(name), 'commitIndexed');
        await repo.write('b.go', 'package a\n\nfunc Two() int { return 2 }\n');
        const sha = await repo.commit('two');
        const [e1, e2] = await Promise.all([sub1.next(), sub2.next()]);
        assert.equal(e1.sha, sha);
        assert.equal(e2.sha, sha);
        assert.deepEqual(e2.diff.added.filter((e) => e.kind === 'function').map((e) => e.name), ['Two']);
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(sub1.items.length, 1, 'delivered once per instance');
        assert.equal(sub2.items.length, 1, 'delivered once per instance');

        // The indexer goes away: the standby takes the lock and indexes the next commit.
        await c1.dispose();
        await s1.close();
        const end = Date.now() + 10_000;
        while (s2.indexing().length === 0) {
          if (Date.now() > end) throw new Error('standby did not take over');
          await new Promise((r) => setTimeout(r, 100));
        }
        await s2.settled();
        await repo.write('c.go', 'package a\n\nfunc Three() int { return 3 }\n');
        const sha3 = await repo.commit('three');
        assert.equal((await sub2.next((e) => e.sha === sha3)).sha, sha3);
      } finally {
        await c2.dispose();
        await s1.close();
        await s2.close();
      }
    });
  });
}

describe('codegraph index --history', { timeout: 60_000 }, () => {
  test('stores history in the data dir and keeps the per-language summary', async () => {
    const repo = await makeRepo();
    for (let i = 0; i < 3; i++) {
      await repo.write('m.py', `def f${i}():\n    return ${i}\n`);
      await repo.commit(`c${i}`);
    }
    const data = await makeTempDir('cg-index-data-');
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['bin/codegraph.js', 'index', repo.dir, '--history', '2', '--data', data, '--threads', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += String(d)));
      child.stderr.on('data', (d: Buffer) => (stderr += String(d)));
      child.on('error', reject);
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /python: 1 files/);
    assert.match(out.stdout, /history store: 2 commits indexed, 0 already stored/);
    const { db, store } = await openHistoryStore({ dataDir: data });
    try {
      const repoId = await store.repository(repo.dir);
      const shas = (await repo.git(['rev-list', 'main'])).split('\n');
      assert.deepEqual([...(await store.indexedCommits(repoId, shas))].sort(), shas.slice(0, 2).sort());
    } finally {
      await db.close();
    }
  });
});
