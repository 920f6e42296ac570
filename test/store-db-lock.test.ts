// store/lock.ts: the PGlite data-directory lock, and openDatabase's use of it.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import { openDatabase } from '../store/db.ts';
import { acquireLock, type LockError } from '../store/lock.ts';

const root = mkdtempSync(path.join(os.tmpdir(), 'codegraph-lock-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const lockPath = (): string => path.join(root, `l${n++}.lock`);

function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

it('writes pid, hostname and start time; refuses a second holder in the same process', async () => {
  const file = lockPath();
  const lock = await acquireLock(file);
  const content = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(content.pid, process.pid);
  assert.equal(content.hostname, os.hostname());
  assert.ok(!Number.isNaN(Date.parse(content.startedAt)));
  await assert.rejects(acquireLock(file), (err: LockError) => {
    assert.equal(err.code, 'LOCKED');
    assert.match(err.message, /already open in this process \(pid \d+ on host .*\); close the other Db first/);
    return true;
  });
  await lock.release();
  await lock.release(); // idempotent
  assert.equal(existsSync(file), false);
  await (await acquireLock(file)).release();
});

it('takes over a stale lock left by a dead process on this host', async () => {
  const file = lockPath();
  const pid = deadPid();
  writeFileSync(file, JSON.stringify({ pid, hostname: os.hostname(), startedAt: '2020-01-01T00:00:00.000Z' }));
  const lock = await acquireLock(file);
  assert.equal(JSON.parse(readFileSync(file, 'utf8')).pid, process.pid);
  await lock.release();
});

it('refuses a live holder, naming its pid and what to do', async () => {
  const file = lockPath();
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    writeFileSync(file, JSON.stringify({ pid: child.pid, hostname: os.hostname(), startedAt: '2024-05-06T07:08:09.000Z' }));
    await assert.rejects(acquireLock(file), (err: LockError) => {
      assert.equal(err.code, 'LOCKED');
      assert.equal(
        err.message,
        `the database directory is in use by pid ${child.pid} on host ${os.hostname()} (since 2024-05-06T07:08:09.000Z). Stop that codegraph process (kill ${child.pid}) or use another --data-dir; lock file ${file}`,
      );
      assert.equal(err.data.owner?.pid, child.pid);
      assert.equal(JSON.parse(JSON.stringify(err)).code, 'LOCKED');
      return true;
    });
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).pid, child.pid, 'the live lock is left alone');
  } finally {
    child.kill();
  }
});

it('refuses locks from another host and unreadable locks', async () => {
  const file = lockPath();
  writeFileSync(file, JSON.stringify({ pid: deadPid(), hostname: 'elsewhere', startedAt: '2024-01-01T00:00:00.000Z' }));
  await assert.rejects(acquireLock(file), { code: 'LOCKED', message: /host elsewhere .* cannot be checked from this host\. Stop that codegraph process, or if it is gone, delete / });
  writeFileSync(file, 'garbage');
  await assert.rejects(acquireLock(file), { code: 'LOCKED', message: /whose content is unreadable\. If no codegraph process uses this directory, delete / });
});

it('release() does not remove a lock that is no longer ours', async () => {
  const file = lockPath();
  const lock = await acquireLock(file);
  writeFileSync(file, JSON.stringify({ pid: 1, hostname: os.hostname(), startedAt: 'x' }));
  await lock.release();
  assert.equal(existsSync(file), true);
});

it('is released when the process exits without calling release()', () => {
  const file = lockPath();
  const script = `import { acquireLock } from ${JSON.stringify(path.resolve('store/lock.ts'))};
    await acquireLock(${JSON.stringify(file)});
    console.log(process.pid);`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\d+\n$/);
  assert.equal(existsSync(file), false);
});

it('openDatabase (PGlite) locks its data dir until close()', async () => {
  const dataDir = path.join(root, 'data');
  const db = await openDatabase({ dataDir });
  assert.ok(existsSync(path.join(dataDir, 'codegraph.lock')));
  assert.ok(existsSync(path.join(dataDir, 'pg', 'PG_VERSION')));
  await db.query('CREATE TABLE kept (v text)');
  await db.query("INSERT INTO kept VALUES ('persisted')");
  await assert.rejects(openDatabase({ dataDir }), { code: 'LOCKED' });
  await db.close();
  await db.close(); // idempotent
  assert.equal(existsSync(path.join(dataDir, 'codegraph.lock')), false);
  await assert.rejects(db.query('SELECT 1'), { code: 'CLOSED' });
  const again = await openDatabase({ dataDir });
  try {
    assert.deepEqual((await again.query('SELECT v FROM kept')).rows, [{ v: 'persisted' }]);
  } finally {
    await again.close();
  }
});
