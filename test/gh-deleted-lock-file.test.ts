// Regression (issue 8, item 3): `rm DATA/codegraph.lock` let a second daemon start on the same
// data directory, and both wrote into one PGlite store. The lock is now also held by the kernel (an
// abstract Unix socket, store/lock.ts), which a file deletion does not touch.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { after, it } from 'node:test';
import { acquireLock, LockError } from '../store/lock.ts';
import { cleanupAll, makeRepo, makeTempDir } from './helpers/gitrepo.ts';
import { until } from './helpers/serve.ts';

after(() => cleanupAll());

/** Runs `node --import tsx -e <code>` and resolves its exit code and output. */
function node(code: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += String(d)));
    child.stderr.on('data', (d: Buffer) => (out += String(d)));
    child.on('error', reject);
    child.on('exit', (c) => resolve({ code: c, out }));
  });
}

it('a lock whose file was deleted still refuses another process, and names its holder', { skip: process.platform !== 'linux' && 'abstract sockets are Linux-only' }, async () => {
  const dir = await makeTempDir('cg-lock-rm-');
  const file = path.join(dir, 'codegraph.lock');
  const lock = await acquireLock(file);
  try {
    await unlink(file);
    const lockTs = new URL('../store/lock.ts', import.meta.url).href;
    const r = await node(`const { acquireLock } = await import(${JSON.stringify(lockTs)});
      try { await acquireLock(${JSON.stringify(file)}); console.log('ACQUIRED'); } catch (e) { console.log(e.code, e.message); }`);
    assert.doesNotMatch(r.out, /ACQUIRED/);
    assert.match(r.out, new RegExp(`^LOCKED the database directory is in use by pid ${process.pid} on host `));
    // In this process too.
    await assert.rejects(acquireLock(file), LockError);
  } finally {
    await lock.release();
  }
  // Released: the directory is free again.
  const again = await acquireLock(file);
  assert.ok(existsSync(file));
  await again.release();
});

it('codegraph serve: deleting the lock file does not let a second daemon start (exit 6)', { timeout: 600_000, skip: process.platform !== 'linux' && 'abstract sockets are Linux-only' }, async () => {
  const repo = await makeRepo();
  await repo.write('a.py', 'def one():\n    return 1\n');
  await repo.commit('one');
  const data = await makeTempDir('cg-lock-serve-');
  const args = ['bin/codegraph.js', 'serve', repo.dir, '--port', '0', '--data', data, '--history', '5', '--threads', '1'];
  const first = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CODEGRAPH_LOG_LEVEL: 'warn' } });
  let firstErr = '';
  let firstOut = '';
  first.stderr.on('data', (d: Buffer) => (firstErr += String(d)));
  first.stdout.on('data', (d: Buffer) => (firstOut += String(d)));
  const firstExit = new Promise<number | null>((resolve) => first.on('exit', (c) => resolve(c)));
  try {
    await until(() => firstOut.includes('"url"') || first.exitCode !== null, 'first daemon did not start', 300_000);
    assert.equal(first.exitCode, null, firstErr);
    await unlink(path.join(data, 'codegraph.lock'));

    const second = await new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
      const c = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      c.stdout.on('data', (d: Buffer) => {
        out += String(d);
        c.kill('SIGTERM'); // it started serving: the bug
      });
      c.stderr.on('data', (d: Buffer) => (err += String(d)));
      c.on('error', reject);
      c.on('exit', (code) => resolve({ code, out, err }));
    });
    assert.equal(second.out, '', 'the second daemon must not serve');
    assert.equal(second.code, 6, second.err);
    assert.match(second.err, new RegExp(`in use by pid ${first.pid} on host`));
  } finally {
    first.kill('SIGTERM');
    assert.equal(await firstExit, 0, firstErr.slice(-2000));
  }
});
