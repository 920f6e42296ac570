// The CLI beside a running daemon (issue #9): with `codegraph serve` holding the embedded store,
// `diff`, `history` and `index` on the same data directory use the daemon's database through its
// socket instead of failing with "database directory is in use"; a second `serve` is still refused
// (exit 6). Real processes: a `serve` child, real CLI invocations, a real git repository.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, it } from 'node:test';
import { BIN, cli } from './helpers/cli.ts';
import { cleanupAll, makeRepo, makeTempDir } from './helpers/gitrepo.ts';

const ENV = { ...process.env, CODEGRAPH_DATABASE_URL: '', CODEGRAPH_DATA_DIR: '' };


let daemon: ChildProcess | null = null;
after(async () => {
  if (daemon !== null && daemon.exitCode === null) {
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon!.once('exit', r));
  }
  await cleanupAll();
});

/** Starts `serve` and resolves once its initial index is done. */
function serve(repo: string, data: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve', repo, '--port', '0', '--data', data, '--history', '2', '--backfill', '0', '--threads', '1'], {
      env: { ...ENV, CODEGRAPH_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const onData = (d: Buffer) => {
      out += String(d);
      if (out.includes('initial index done; ready')) resolve(child);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`serve exited with ${code} before it was ready:\n${out.slice(-3000)}`)));
  });
}

it('diff, history and index work while serve runs on the same data directory; a second serve is refused', { timeout: 600_000 }, async () => {
  const repo = await makeRepo();
  await repo.write('src/a.ts', 'export function alpha() {\n  return 1;\n}\n');
  const c1 = await repo.commit('one');
  await repo.write('src/a.ts', 'export function alpha(x: number) {\n  return x;\n}\n');
  await repo.write('src/b.ts', 'export function beta() {\n  return 2;\n}\n');
  const c2 = await repo.commit('two');
  await repo.write('src/b.ts', 'export function gamma() {\n  return 2;\n}\n');
  await repo.commit('three');
  await repo.write('src/c.ts', 'export const delta = () => 4;\n');
  await repo.commit('four');
  const data = await makeTempDir('codegraph-beside-');

  // The daemon stores the last 2 commits (c3, c4), and no more (no backfill).
  daemon = await serve(repo.dir, data);
  assert.ok(existsSync(path.join(data, '.s.PGSQL.5432')));

  // index --history 4 writes c1 and c2 through the daemon's database.
  const idx = await cli(['index', repo.dir, '--data', data, '--history', '4', '--json', '--threads', '1']);
  assert.equal(idx.code, 0, idx.stderr);
  assert.deepEqual(JSON.parse(idx.stdout).history, { indexed: 2, alreadyIndexed: 2 });

  const d = await cli(['diff', repo.dir, c1, c2, '--json', '--data', data]);
  assert.equal(d.code, 0, d.stderr);
  const diff = JSON.parse(d.stdout) as { added: Array<{ name: string }>; modified: Array<{ after: { name: string }; signatureChanged: boolean }> };
  assert.deepEqual(diff.added.map((e) => e.name), ['beta']);
  assert.deepEqual(diff.modified.map((m) => [m.after.name, m.signatureChanged]), [['alpha', true]]);

  const h = await cli(['history', repo.dir, 'src/a.ts::alpha', '--rev', c2, '--json', '--data', data]);
  assert.equal(h.code, 0, h.stderr);
  const hist = JSON.parse(h.stdout) as { changes: Array<{ sha: string; change: string }> };
  assert.deepEqual(hist.changes.map((x) => [x.sha, x.change]), [[c2, 'modified'], [c1, 'added']], h.stdout);

  // The CLI's commits are in the daemon's store: a second CLI run finds all four stored.
  const again = await cli(['index', repo.dir, '--data', data, '--history', '4', '--json', '--threads', '1']);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(JSON.parse(again.stdout).history, { indexed: 0, alreadyIndexed: 4 });

  // A second daemon would be a second indexer of the same store: refused, exit 6, naming the holder.
  const second = await cli(['serve', repo.dir, '--port', '0', '--data', data]);
  assert.equal(second.code, 6, second.stderr);
  assert.match(second.stderr, new RegExp(`in use by pid ${daemon.pid}`));

  // Once the daemon stops, the CLI opens the store itself again.
  daemon.kill('SIGTERM');
  assert.equal(await new Promise((r) => daemon!.once('exit', r)), 0);
  assert.equal(existsSync(path.join(data, 'codegraph.lock')), false);
  const alone = await cli(['history', repo.dir, 'src/a.ts::alpha', '--rev', c2, '--json', '--data', data]);
  assert.equal(alone.code, 0, alone.stderr);
  assert.deepEqual(JSON.parse(alone.stdout), hist);
});
