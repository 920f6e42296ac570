// The embedded database's socket server (store/pglite-server.ts, store/embedded.ts): many client
// connections over PGlite's one session, with transactions and extended-protocol exchanges never
// interleaved, disconnects rolled back, notifications routed per connection, and other processes
// attaching to a running store (issue #9).
import assert from 'node:assert/strict';
import net from 'node:net';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import pg from 'pg';
import { openDatabase, type Db } from '../store/db.ts';
import { socketConnection, socketDir } from '../store/embedded.ts';
import { runScript } from './helpers/cli.ts';
import { until } from './helpers/serve.ts';

const root = mkdtempSync(path.join(os.tmpdir(), 'cg-pglite-socket-'));
const dataDir = path.join(root, 'data');
let db: Db;

before(async () => {
  db = await openDatabase({ dataDir });
  await db.query('CREATE TABLE t (id int PRIMARY KEY, v text)');
});
after(async () => {
  await db.close();
  rmSync(root, { recursive: true, force: true });
});

async function client(): Promise<pg.Client> {
  const c = new pg.Client(socketConnection(socketDir(dataDir)));
  await c.connect();
  return c;
}


it('serves on a socket only its user may open, in the data directory', () => {
  const sock = path.join(socketDir(dataDir), '.s.PGSQL.5432');
  assert.equal(socketDir(dataDir), path.resolve(dataDir));
  assert.equal(statSync(sock).mode & 0o777, 0o600);
});

it('puts the socket of a data directory with a long path under the temp dir, the same for every process', () => {
  const deep = path.join('/x', 'd'.repeat(120));
  const dir = socketDir(deep);
  assert.ok(dir.startsWith(path.join(os.tmpdir(), 'codegraph-')));
  assert.equal(socketDir(deep), dir);
  assert.notEqual(socketDir(`${deep}2`), dir);
});

it("holds another connection's statements until a transaction commits", async () => {
  const a = await client();
  const b = await client();
  try {
    await a.query('BEGIN');
    await a.query("INSERT INTO t VALUES (1, 'one')");
    let seen: number | null = null;
    const reader = b.query<{ n: string }>('SELECT count(*) AS n FROM t').then((r) => (seen = Number(r.rows[0]!.n)));
    // b's statement must not run inside a's open transaction (it would see the uncommitted row,
    // and a ROLLBACK would take b's own writes with it).
    await a.query("INSERT INTO t VALUES (2, 'two')");
    assert.equal(seen, null);
    await a.query('ROLLBACK');
    await reader;
    assert.equal(seen, 0);
  } finally {
    await a.end();
    await b.end();
  }
});

it("does not interleave two connections' extended-protocol exchanges (unnamed statements)", async () => {
  // node-postgres sends Parse/Bind/Describe/Execute/Sync per parameterised query; interleaving at
  // message level (what pglite-socket does outside BEGIN) lets one client's Parse replace the
  // other's unnamed statement, so results come back with the other query's columns.
  const clients = await Promise.all([client(), client(), client()]);
  try {
    const runs = clients.flatMap((c, i) => Array.from({ length: 30 }, (_, j) =>
      c.query<Record<string, number>>(`SELECT $1::int * ${i + 2} AS c${i}`, [j]).then((r) => {
        assert.deepEqual(r.rows, [{ [`c${i}`]: j * (i + 2) }]);
      })));
    await Promise.all(runs);
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
});

/** A raw protocol message: type byte, int32 length, body. */
function msg(type: string, ...body: Array<string | number[]>): Buffer {
  const parts = body.map((b) => (typeof b === 'string' ? Buffer.from(`${b}\0`) : Buffer.from(b)));
  const len = 4 + parts.reduce((n, b) => n + b.length, 0);
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(len, 1);
  return Buffer.concat([head, ...parts]);
}

/** A minimal client that writes protocol messages itself, so a test decides where writes split. */
async function rawClient(): Promise<{ send(b: Buffer): void; until(type: string): Promise<Array<{ type: string; body: Buffer }>>; close(): void }> {
  const sock = net.connect(path.join(socketDir(dataDir), '.s.PGSQL.5432'));
  let buf = Buffer.alloc(0);
  let seen: Array<{ type: string; body: Buffer }> = [];
  let wake: (() => void) | null = null;
  sock.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 5 && buf.length >= 1 + buf.readInt32BE(1)) {
      const n = 1 + buf.readInt32BE(1);
      seen.push({ type: String.fromCharCode(buf[0]!), body: buf.subarray(5, n) });
      buf = buf.subarray(n);
    }
    wake?.();
  });
  const until = async (type: string) => {
    while (!seen.some((m) => m.type === type)) await new Promise<void>((r) => (wake = r));
    const i = seen.findIndex((m) => m.type === type);
    const out = seen.slice(0, i + 1);
    seen = seen.slice(i + 1);
    return out;
  };
  const params = Buffer.from('user\0postgres\0database\0postgres\0\0');
  const startup = Buffer.alloc(8);
  startup.writeInt32BE(8 + params.length, 0);
  startup.writeInt32BE(196608, 4);
  sock.write(Buffer.concat([startup, params]));
  await until('Z');
  return { send: (b) => sock.write(b), until, close: () => sock.destroy() };
}

it("keeps the session for a connection between its Parse and its Sync, when they arrive in separate writes", async () => {
  // A large Bind arrives in several socket chunks: the server may see Parse long before Sync. If
  // the session were handed to another client in between (pglite-socket's rule outside BEGIN), that
  // client's Parse would replace this one's unnamed statement.
  const raw = await rawClient();
  const b = await client();
  try {
    raw.send(msg('P', '', 'SELECT 7 AS a', [0, 0]));
    await raw.until('1'); // ParseComplete
    let other: unknown = null;
    const pending = b.query<{ b: number }>('SELECT $1::int AS b', [5]).then((r) => (other = r.rows));
    raw.send(Buffer.concat([msg('B', '', '', [0, 0, 0, 0, 0, 0]), msg('D', 'P'), msg('E', '', [0, 0, 0, 0]), msg('S')]));
    const reply = await raw.until('Z');
    const errors = reply.filter((m) => m.type === 'E').map((m) => m.body.toString('latin1'));
    assert.deepEqual(errors, []);
    const row = reply.find((m) => m.type === 'D');
    assert.ok(row, 'a DataRow');
    assert.equal(row.body.subarray(6).toString(), '7');
    await pending;
    assert.deepEqual(other, [{ b: 5 }]);
  } finally {
    raw.close();
    await b.end();
  }
});

it('rolls back the transaction of a connection that disconnects, and serves the others', async () => {
  const a = await client();
  const b = await client();
  try {
    a.on('error', () => undefined);
    await a.query('BEGIN');
    await a.query("INSERT INTO t VALUES (3, 'lost')");
    const pending = b.query<{ n: string }>('SELECT count(*) AS n FROM t WHERE id = 3');
    (a as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    assert.equal(Number((await pending).rows[0]!.n), 0);
    await b.query("INSERT INTO t VALUES (3, 'kept')");
    assert.equal((await db.query<{ v: string }>('SELECT v FROM t WHERE id = 3')).rows[0]!.v, 'kept');
  } finally {
    await b.end();
  }
});

it('delivers a notification to the connections that LISTEN, and UNLISTEN on one leaves the others', async () => {
  const a = await client();
  const b = await client();
  const w = await client();
  const got: Record<string, string[]> = { a: [], b: [] };
  a.on('notification', (n) => got.a!.push(`${n.channel}:${n.payload ?? ''}`));
  b.on('notification', (n) => got.b!.push(`${n.channel}:${n.payload ?? ''}`));
  try {
    await a.query('LISTEN "Ch"');
    await b.query('LISTEN "Ch"');
    await b.query('LISTEN barrier');
    await b.query('UNLISTEN "Ch"');
    await w.query("SELECT pg_notify('Ch', '1')");
    await w.query("SELECT pg_notify('barrier', '2')");
    await until(() => got.a!.length === 1 && got.b!.length === 1, 'timed out waiting');
    // Per connection, notifications arrive in order: b got 'barrier' and not 'Ch' before it.
    assert.deepEqual(got, { a: ['Ch:1'], b: ['barrier:2'] });
    // The writer did not listen: it saw none.
    let writerGot = 0;
    w.on('notification', () => writerGot++);
    await w.query("SELECT pg_notify('Ch', '3')");
    await until(() => got.a!.length === 2, 'timed out waiting');
    assert.equal(writerGot, 0);
  } finally {
    await Promise.all([a.end(), b.end(), w.end()]);
  }
});

it('lets another process attach to the running store (attach: true) and refuses it otherwise', async () => {
  const dbModule = JSON.stringify(path.resolve('store/db.ts'));
  const attached = await runScript(`import { openDatabase } from ${dbModule};
    const db = await openDatabase({ dataDir: ${JSON.stringify(dataDir)}, attach: true });
    await db.query("INSERT INTO t VALUES (100, 'from child')");
    console.log(JSON.stringify((await db.query('SELECT v FROM t WHERE id = 100')).rows));
    await db.close();`);
  assert.equal(attached.code, 0, attached.stderr);
  assert.equal(attached.stdout.trim(), '[{"v":"from child"}]');
  assert.equal((await db.query<{ v: string }>('SELECT v FROM t WHERE id = 100')).rows[0]!.v, 'from child');
  // The child's close() must leave the serving process's lock and socket alone.
  assert.ok(existsSync(path.join(dataDir, 'codegraph.lock')));
  assert.ok(existsSync(path.join(dataDir, '.s.PGSQL.5432')));

  const refused = await runScript(`import { openDatabase } from ${dbModule};
    try { await openDatabase({ dataDir: ${JSON.stringify(dataDir)} }); console.log('opened'); }
    catch (err) { console.log(err.code); }`);
  assert.equal(refused.stdout.trim(), 'LOCKED', refused.stderr);
  // In the process that holds it, a second open is a mistake, not a client: refused even with attach.
  await assert.rejects(openDatabase({ dataDir, attach: true }), { code: 'LOCKED' });
});

it('takes a message of many megabytes in one piece, however it was split (quadratic copying, #9)', async () => {
  // A 30 MB INSERT took 4.3 s when every 64 KB read was appended to the whole buffer, 0.4 s now.
  const big = 'x'.repeat(24 * 1024 * 1024);
  await db.query('CREATE TABLE IF NOT EXISTS bigmsg (t text)');
  await db.query('INSERT INTO bigmsg VALUES ($1)', [big]);
  const { rows } = await db.query<{ n: number }>('SELECT length(t) AS n FROM bigmsg');
  assert.deepEqual(rows, [{ n: big.length }]);
});
