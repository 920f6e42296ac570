// Regression: closing the embedded database never settled once its process had stopped while idle
// (pgliteIdleStopMs, 60 s by default). close() awaited net.Server#close, whose callback also waits
// for the connections handed to the database process, and never comes once that process has
// exited. A `serve` idle for a minute then stopped on SIGTERM with exit code 13 (Node's "unsettled
// top-level await"), halfway through its shutdown: systemd marked the unit failed at every stop.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, it } from 'node:test';
import { embeddedMemoryBytes, embeddedResidentBytes, openDatabase } from '../store/db.ts';
import { BIN } from './helpers/cli.ts';
import { cleanupAll, makeRepo, makeTempDir } from './helpers/gitrepo.ts';
import { until } from './helpers/serve.ts';

after(cleanupAll);

it('closes promptly after the database process stopped while idle, and the directory opens again', async () => {
  const dataDir = path.join(await makeTempDir('cg-close-idle-'), 'data');
  const db = await openDatabase({ dataDir, pgliteIdleStopMs: 300 });
  await db.query('CREATE TABLE t (v text)');
  await db.query("INSERT INTO t VALUES ('kept')");
  await until(() => embeddedMemoryBytes() === 0 && embeddedResidentBytes() === 0, 'the database process did not stop while idle');
  const closed = await Promise.race([db.close().then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 10_000).unref())]);
  assert.equal(closed, true, 'close() did not settle within 10 s');
  // The lock is released: the next owner opens the directory and finds the data.
  const again = await openDatabase({ dataDir });
  try {
    assert.deepEqual((await again.query<{ v: string }>('SELECT v FROM t')).rows, [{ v: 'kept' }]);
  } finally {
    await again.close();
  }
});

it('serve stopped after its database went idle exits 0, its shutdown complete', { timeout: 300_000 }, async () => {
  const repo = await makeRepo();
  await repo.write('src/a.ts', 'export const a = 1;\n');
  await repo.commit('one');
  const data = await makeTempDir('cg-close-idle-');
  const child = spawn(process.execPath, [BIN, 'serve', repo.dir, '--port', '0', '--data', data, '--backfill', '0', '--threads', '1'], {
    env: { ...process.env, CODEGRAPH_DATABASE_URL: '', CODEGRAPH_DATA_DIR: '', CODEGRAPH_PGLITE_IDLE_STOP_MS: '500', CODEGRAPH_LOG_LEVEL: 'info', CODEGRAPH_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += String(d)));
  child.stderr.on('data', (d: Buffer) => (log += String(d)));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await until(() => log.includes('its process stopped'), 'the database process of serve did not stop while idle', 120_000);
  child.kill('SIGTERM');
  assert.equal(await exited, 0, log.slice(-2000));
  assert.match(log, /"msg":"stopped"/);
});
