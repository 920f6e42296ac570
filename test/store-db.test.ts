// store/db.ts against both backends: same rows, bulk inserts, transactions, LISTEN/NOTIFY, errors.
import assert from 'node:assert/strict';
import net from 'node:net';
import { it } from 'node:test';
import { dropListenConnectionForTest, openDatabase, type Db, type DbError } from '../store/db.ts';
import { until } from './helpers/serve.ts';
import { withBackends } from './harness/pg.ts';


async function using<T>(open: Promise<Db>, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await open;
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

await withBackends('store/db', (b) => {
  it('creates the extensions and returns the same row shapes', async () => {
    await using((await b.fresh()).open(), async (db) => {
      assert.equal(db.kind, b.name);
      const ext = await db.query<{ extname: string }>('SELECT extname FROM pg_extension ORDER BY extname');
      for (const e of ['fuzzystrmatch', 'pg_trgm', 'vector']) assert.ok(ext.rows.some((r) => r.extname === e), e);
      const { rows, rowCount } = await db.query<Record<string, unknown>>(
        `SELECT 1::int8 AS big, 2::int4 AS small, '[1,2,3]'::vector AS v, '[0,0]'::vector <-> '[3,4]'::vector AS dist,
                similarity('codegraph', 'codegraf') > 0.3 AS trgm, levenshtein('kitten', 'sitting') AS lev,
                '2024-01-02T03:04:05Z'::timestamptz AS ts, ARRAY['a','b'] AS arr, '{"k":1}'::jsonb AS j`,
      );
      assert.equal(rowCount, 1);
      assert.deepEqual(rows[0], {
        big: '1', small: 2, v: '[1,2,3]', dist: 5, trgm: true, lev: 3,
        ts: new Date('2024-01-02T03:04:05Z'), arr: ['a', 'b'], j: { k: 1 },
      });
    });
  });

  it('runs large multi-row parameterised INSERTs and unnest() bulk inserts', async () => {
    await using((await b.fresh()).open(), async (db) => {
      await db.query('CREATE TABLE t (id int PRIMARY KEY, name text NOT NULL, emb vector(3))');
      // 20,000 rows x 3 params = 60,000 parameters, close to the protocol's 65,535 limit.
      const n = 20_000;
      const params: unknown[] = [];
      const values: string[] = [];
      for (let i = 0; i < n; i++) {
        values.push(`($${i * 3 + 1}, $${i * 3 + 2}, $${i * 3 + 3})`);
        params.push(i, `name-${i}`, `[${i},${i + 1},${i + 2}]`);
      }
      const ins = await db.query(`INSERT INTO t (id, name, emb) VALUES ${values.join(',')}`, params);
      assert.equal(ins.rowCount, n);
      const m = 100_000;
      const ids = Array.from({ length: m }, (_, i) => n + i);
      const names = ids.map((i) => `bulk-${i}'"\\,{}`); // characters that need array-literal escaping
      const embs = ids.map((i) => `[${i},0,1]`);
      const bulk = await db.query(
        'INSERT INTO t (id, name, emb) SELECT * FROM unnest($1::int[], $2::text[], $3::vector[])',
        [ids, names, embs],
      );
      assert.equal(bulk.rowCount, m);
      const { rows } = await db.query<{ n: string; name: string }>(
        'SELECT (SELECT count(*) FROM t) AS n, (SELECT name FROM t WHERE id = $1) AS name',
        [n + 7],
      );
      assert.deepEqual(rows[0], { n: String(n + m), name: `bulk-${n + 7}'"\\,{}` });
      const nn = await db.query<{ id: number }>('SELECT id FROM t ORDER BY emb <-> $1::vector LIMIT 1', ['[5,6,7]']);
      assert.equal(nn.rows[0]?.id, 5);
    });
  });

  it('commits, rolls back, and refuses db.query inside a transaction', async () => {
    await using((await b.fresh()).open(), async (db) => {
      await db.query('CREATE TABLE k (v int)');
      const r = await db.transaction(async (tx) => {
        await tx.query('INSERT INTO k VALUES (1)');
        return 'ok';
      });
      assert.equal(r, 'ok');
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query('INSERT INTO k VALUES (2)');
          throw new Error('boom');
        }),
        /boom/,
      );
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query('INSERT INTO k VALUES (3)');
          await tx.query('INSERT INTO nope VALUES (3)');
        }),
        /relation "nope" does not exist/,
      );
      assert.deepEqual((await db.query('SELECT v FROM k ORDER BY v')).rows, [{ v: 1 }]);

      let leaked: { query: Db['query'] } | undefined;
      await assert.rejects(
        db.transaction(async (tx) => {
          leaked = tx;
          await db.query('SELECT 1');
        }),
        (err: DbError) => err.code === 'QUERY_OUTSIDE_TRANSACTION' && /use the callback's tx argument/.test(err.message),
      );
      await assert.rejects(leaked!.query('SELECT 1'), (err: DbError) => err.code === 'TRANSACTION_FINISHED');
      // The pool is still usable (on PGlite: the single client was returned).
      assert.deepEqual((await db.query('SELECT 2 AS x')).rows, [{ x: 2 }]);
      const inner = await db.withClient(async (c) => {
        await c.query("SET application_name = 'cg'");
        return (await c.query<{ application_name: string }>('SHOW application_name')).rows[0]?.application_name;
      });
      assert.equal(inner, 'cg');
    });
  });

  it('delivers NOTIFY to listeners, at commit, and stops after unsubscribe', async () => {
    await using((await b.fresh()).open(), async (db) => {
      const got: string[] = [];
      const other: string[] = [];
      const off = await db.listen('Graph.Changed', (p) => got.push(p));
      await db.listen('other', (p) => other.push(p));
      await db.notify('Graph.Changed', 'one');
      await until(() => got.length === 1, 'timed out waiting');
      await db.transaction(async (tx) => {
        await tx.query("SELECT pg_notify('Graph.Changed', 'in-tx')");
        await new Promise((r) => setTimeout(r, 50));
        assert.deepEqual(got, ['one'], 'not delivered before COMMIT');
      });
      await until(() => got.length === 2, 'timed out waiting');
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query("SELECT pg_notify('Graph.Changed', 'rolled-back')");
          throw new Error('rollback');
        }),
      );
      // A handler may query the db even when the notification came from a transaction's COMMIT.
      let handlerQuery: unknown;
      const off2 = await db.listen('q', () => {
        db.query<{ x: number }>('SELECT 42 AS x').then((r) => (handlerQuery = r.rows[0]?.x), (e: unknown) => (handlerQuery = e));
      });
      await db.transaction(async (tx) => void (await tx.query("SELECT pg_notify('q', '')")));
      await until(() => handlerQuery !== undefined, 'timed out waiting');
      assert.equal(handlerQuery, 42);
      await off2();
      await off();
      await db.notify('Graph.Changed', 'after-off');
      await db.notify('other', 'x');
      await until(() => other.length === 1, 'timed out waiting');
      assert.deepEqual(got, ['one', 'in-tx']);
      await assert.rejects(db.listen('', () => undefined), /channel must be a non-empty identifier/);
    });
  });

  if (b.name === 'postgres') {
    it('delivers across Db objects and re-LISTENs after losing the listen connection', async () => {
      const target = await b.fresh();
      await using(target.open(), async (a) => {
        await using(target.open(), async (c) => {
          const got: string[] = [];
          await a.listen('ch', (p) => got.push(p));
          await c.notify('ch', 'first');
          await until(() => got.includes('first'), 'timed out waiting');
          dropListenConnectionForTest(a);
          // Reconnect takes the first backoff step (250 ms); notify until one arrives.
          await until(() => {
            void c.notify('ch', 'again');
            return got.includes('again');
          }, 'no notification after the reconnect', 10_000);
        });
      });
    });
  }
});

it('validates options with exact messages', async () => {
  await assert.rejects(openDatabase({}), { code: 'INVALID_OPTIONS', message: 'openDatabase: options.dataDir or options.databaseUrl is required' });
  await assert.rejects(openDatabase({ databaseUrl: 'mysql://x' }), {
    code: 'INVALID_OPTIONS',
    message: 'options.databaseUrl must start with postgres:// or postgresql:// (check --database-url / CODEGRAPH_DATABASE_URL)',
  });
  await assert.rejects(openDatabase({ databaseUrl: 'postgres://x/y', poolSize: 0 }), { message: 'options.poolSize must be a positive integer' });
  await assert.rejects(openDatabase({ databaseUrl: 'postgres://x/y', connectTimeoutMs: 1.5 }), {
    message: 'options.connectTimeoutMs must be a positive integer',
  });
});

it('wraps connection failures with the target and what to check', async () => {
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  await assert.rejects(openDatabase({ databaseUrl: `postgres://u:secret@127.0.0.1:${port}/db` }), (err: DbError) => {
    assert.equal(err.code, 'CONNECT_FAILED');
    assert.match(err.message, new RegExp(`^could not connect to PostgreSQL at 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.*Check --database-url / CODEGRAPH_DATABASE_URL$`));
    assert.doesNotMatch(err.message, /secret/);
    assert.equal(JSON.parse(JSON.stringify(err)).code, 'CONNECT_FAILED');
    return true;
  });
});
