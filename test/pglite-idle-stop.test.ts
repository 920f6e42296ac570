// The embedded database runs in a child process that stops while the store is idle and starts
// again on the next connection (store/embedded.ts, issue #9: idle memory): nothing is lost, the
// owner's LISTEN comes back before anyone else is served, work in progress keeps it running, and a
// killed owner's database process lets go of the files before a new one opens them.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { embeddedMemoryBytes, embeddedResidentBytes, embeddedStarts, openDatabase, type Db } from '../store/db.ts';
import { runScript } from './helpers/cli.ts';
import { until } from './helpers/serve.ts';

const root = mkdtempSync(path.join(os.tmpdir(), 'cg-pglite-idle-'));
const dataDir = path.join(root, 'data');
const IDLE_MS = 400;
let db: Db;
const heard: string[] = [];

before(async () => {
  db = await openDatabase({ dataDir, pgliteIdleStopMs: IDLE_MS });
  await db.query('CREATE TABLE t (id int PRIMARY KEY, v text)');
  await db.query("INSERT INTO t VALUES (1, 'before the stop')");
  await db.listen('idle_test', (p) => heard.push(p));
});
after(async () => {
  await db.close();
  rmSync(root, { recursive: true, force: true });
});

// The heap size goes to 0 when the process's exit has been seen (its resident size reads 0 a little
// earlier, while it exits).
const stopped = () => until(() => embeddedMemoryBytes() === 0 && embeddedResidentBytes() === 0, 'the database process did not stop while idle');

it('stops the database process while idle and starts it on the next query, data and LISTEN intact', async () => {
  assert.ok(embeddedResidentBytes() > 0, 'the database process runs after open');
  const starts = embeddedStarts();
  await stopped();
  await db.ping(); // /readyz: a stopped store is reachable and is not started by the check
  assert.equal(embeddedResidentBytes(), 0);
  assert.equal(embeddedStarts(), starts);

  const rows = (await db.query<{ v: string }>('SELECT v FROM t WHERE id = 1')).rows;
  assert.deepEqual(rows, [{ v: 'before the stop' }]);
  assert.equal(embeddedStarts(), starts + 1);
  assert.ok(embeddedResidentBytes() > 0);
  await db.notify('idle_test', 'after the start');
  await until(() => heard.includes('after the start'), 'no notification after a restart', 5_000);
});

it('a process attaching to a stopped store starts it, and its NOTIFY reaches the owner', async () => {
  await stopped();
  const dbModule = JSON.stringify(path.resolve('store/db.ts'));
  const r = await runScript(`import { openDatabase } from ${dbModule};
    const db = await openDatabase({ dataDir: ${JSON.stringify(dataDir)}, attach: true });
    await db.query("INSERT INTO t VALUES (2, 'from the CLI')");
    await db.notify('idle_test', 'from the CLI');
    await db.close();`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await db.query<{ v: string }>('SELECT v FROM t WHERE id = 2')).rows[0]?.v, 'from the CLI');
  await until(() => heard.includes('from the CLI'), "the attached process's notification did not arrive", 5_000);
});

it('keeps running while a transaction is open, however long', async () => {
  await stopped();
  await db.transaction(async (tx) => {
    await tx.query("INSERT INTO t VALUES (3, 'slow')");
    assert.ok(embeddedResidentBytes() > 0);
    await new Promise((r) => setTimeout(r, IDLE_MS * 4));
    assert.ok(embeddedResidentBytes() > 0, 'stopped under an open transaction');
    await tx.query("UPDATE t SET v = 'slow, committed' WHERE id = 3");
  });
  assert.equal((await db.query<{ v: string }>('SELECT v FROM t WHERE id = 3')).rows[0]?.v, 'slow, committed');
});

it("a killed owner's database process lets go of the files before another opens them", async () => {
  const other = path.join(root, 'other');
  const dbModule = JSON.stringify(path.resolve('store/db.ts'));
  // The owner writes, prints the pid of its database process, and is killed with SIGKILL.
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `import { openDatabase } from ${dbModule};
    import { readdirSync, readFileSync } from 'node:fs';
    const db = await openDatabase({ dataDir: ${JSON.stringify(other)}, pgliteHost: 'process' });
    await db.query('CREATE TABLE k (id int)');
    await db.query('INSERT INTO k SELECT generate_series(1, 5000)');
    const kids = readFileSync('/proc/' + process.pid + '/task/' + process.pid + '/children', 'utf8').trim();
    console.log(kids);
    setInterval(() => undefined, 1000);`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve();
    });
    child.once('exit', () => reject(new Error(`owner exited early: ${err}`)));
  });
  const dbPid = Number(out.trim().split(/\s+/)[0]);
  assert.ok(dbPid > 0, out);
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  // Opened at once: the new database process waits for the old one's checkpoint and exit.
  const again = await openDatabase({ dataDir: other });
  try {
    const alive = (() => {
      try {
        return !readFileSync(`/proc/${dbPid}/status`, 'utf8').includes('State:\tZ');
      } catch {
        return false;
      }
    })();
    assert.equal(alive, false, 'the old database process still runs beside the new one');
    assert.deepEqual((await again.query<{ n: string }>('SELECT count(*)::text AS n FROM k')).rows, [{ n: '5000' }]);
  } finally {
    await again.close();
  }
});

it('without an idle stop the database runs in a thread of the opening process, not a process of its own', async () => {
  /** Child processes of this process serving the store in `dir` (the input names its directory). */
  const servingProcesses = (dir: string): number => {
    let n = 0;
    for (const t of readdirSync(`/proc/${process.pid}/task`)) {
      for (const pid of readFileSync(`/proc/${process.pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (cmd.includes('pglite-process') && cmd.includes(dir)) n++;
      }
    }
    return n;
  };
  await db.query('SELECT 1'); // the idle-stop store's process runs
  assert.equal(servingProcesses(dataDir), 1);
  const threaded = path.join(root, 'threaded');
  const other = await openDatabase({ dataDir: threaded });
  try {
    assert.deepEqual((await other.query<{ x: number }>('SELECT 2 AS x')).rows, [{ x: 2 }]);
    assert.equal(servingProcesses(threaded), 0);
  } finally {
    await other.close();
  }
});
