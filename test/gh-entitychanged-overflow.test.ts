// Regression (issue 8, item 1): one `entityChanged` subscriber plus a commit with more than 1,024
// entity changes killed the daemon with `RepeaterOverflowError: No more than 1024 pending calls to
// push` (graphql-yoga's createPubSub queued every event for every subscriber before filtering).
// The daemon runs as a real child process (`codegraph serve`), so a crash is an exit, not a test
// runner crash.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { cleanupAll, makeRepo, makeTempDir } from './helpers/gitrepo.ts';
import { client, subscribe, until, type CommitEvent } from './helpers/serve.ts';

after(() => cleanupAll());

interface Daemon { child: ChildProcess; url: string; stderr: () => string; exited: () => boolean }

async function startDaemon(repoDir: string): Promise<Daemon> {
  const data = await makeTempDir('cg-overflow-data-');
  const child = spawn(process.execPath, ['bin/codegraph.js', 'serve', repoDir, '--port', '0', '--data', data, '--history', '10', '--threads', '1', '--poll-interval-ms', '200'], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CODEGRAPH_LOG_LEVEL: 'info' },
  });
  let stderr = '';
  let exited = false;
  child.stderr!.on('data', (d: Buffer) => (stderr += String(d)));
  child.on('exit', () => (exited = true));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve((JSON.parse(String(d).split('\n')[0]!) as { url: string }).url));
    child.once('exit', (code) => reject(new Error(`daemon exited with ${code}: ${stderr.slice(-2000)}`)));
  });
  await until(() => stderr.includes('initial index done'), 'initial index not done', 300_000);
  return { child, url, stderr: () => stderr, exited: () => exited };
}

async function stop(d: Daemon): Promise<number | null> {
  if (d.exited()) return d.child.exitCode;
  return new Promise((resolve) => {
    d.child.once('exit', (code) => resolve(code));
    d.child.kill('SIGTERM');
  });
}

interface ChangeEvent { sha: string; change: string; entity: { name: string } }

describe('entityChanged fan-out', { timeout: 900_000 }, () => {
  test('a commit with 1,100 changed functions does not kill the daemon; filters apply before queueing', async () => {
    const repo = await makeRepo();
    await repo.write('src/seed.ts', 'export function seed() {\n  return 0;\n}\n');
    await repo.commit('seed');
    const d = await startDaemon(repo.dir);
    const c = client(d.url);
    try {
      const name = repo.dir.split('/').pop()!;
      const commits = await subscribe<CommitEvent>(c, `subscription { commitIndexed(repository: "${name}") { sha } }`, 'commitIndexed');
      // The subscriber of the report: a filter that matches nothing.
      const none = await subscribe<ChangeEvent>(c, `subscription { entityChanged(repository: "${name}", names: ["no_such_function"]) { sha change entity { name } } }`, 'entityChanged');
      const all = await subscribe<ChangeEvent>(c, `subscription { entityChanged(repository: "${name}", path: "src/**") { sha change entity { name } } }`, 'entityChanged');

      const body = Array.from({ length: 1100 }, (_, i) => `export function f${i}(x: number) {\n  return x + ${i};\n}\n`).join('');
      await repo.write('src/many.ts', body);
      const sha = await repo.commit('1,100 functions');

      const ev = await commits.next((e) => e.sha === sha, 300_000);
      assert.equal(ev.sha, sha);
      // Every change reaches the subscriber that asked for them, none the one whose filter matches nothing.
      await until(() => all.items.length >= 1100 || d.exited(), 'entity changes did not arrive', 300_000);
      assert.equal(d.exited(), false, `daemon died: ${d.stderr().slice(-3000)}`);
      assert.equal(all.items.length, 1100);
      assert.ok(all.items.every((e) => e.sha === sha && e.change === 'added'), JSON.stringify(all.items.find((e) => e.sha !== sha || e.change !== 'added')));
      assert.equal(new Set(all.items.map((e) => e.entity.name)).size, 1100);
      assert.deepEqual(none.items, []);
      const health = await fetch(`${d.url}/healthz`);
      assert.equal(health.status, 200);
      assert.doesNotMatch(d.stderr(), /RepeaterOverflowError/);
    } finally {
      await c.dispose();
      const code = await stop(d);
      assert.equal(code, 0, d.stderr().slice(-3000));
    }
  });
});
