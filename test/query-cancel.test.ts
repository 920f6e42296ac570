// Cancellation of read queries at the store (issue #8 item 2), on both backends: an aborted signal
// stops further statements, PostgreSQL cancels a running one server-side, and the error is the
// signal's reason.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { cancellable } from '../store/abort.ts';
import { withBackends } from './harness/pg.ts';

class Reason extends Error {
  readonly code = 'DEADLINE_EXCEEDED';
}

await withBackends('query cancellation', (b) => {
  it('an aborted signal issues no statement and rejects with its reason', async () => {
    const db = await (await b.fresh()).open();
    try {
      await db.query('CREATE TABLE t (n int)');
      const ctl = new AbortController();
      const q = cancellable(db, ctl.signal);
      await q.query('INSERT INTO t VALUES (1)');
      const reason = new Reason('too late');
      ctl.abort(reason);
      await assert.rejects(q.query('INSERT INTO t VALUES (2)'), (err) => err === reason);
      await assert.rejects(db.query('INSERT INTO t VALUES (3)', [], { signal: ctl.signal }), (err) => err === reason);
      assert.deepEqual((await db.query<{ n: number }>('SELECT n FROM t ORDER BY n')).rows, [{ n: 1 }]);
    } finally {
      await db.close();
    }
  });

  it('a running statement is cancelled on PostgreSQL when the signal aborts', { skip: b.name === 'pglite' ? 'PGlite runs a statement to its end in-process' : false }, async () => {
    const db = await (await b.fresh()).open();
    try {
      const ctl = new AbortController();
      const reason = new Reason('deadline');
      const running = db.query('SELECT pg_sleep(60)', [], { signal: ctl.signal });
      // Abort once the statement is running on the server.
      for (;;) {
        const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'");
        if (rows[0]!.n > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      ctl.abort(reason);
      await assert.rejects(running, (err) => err === reason);
      const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'");
      assert.equal(rows[0]!.n, 0, 'the server stopped the statement');
      // The pooled connection is usable afterwards.
      assert.deepEqual((await db.query<{ one: number }>('SELECT 1 AS one', [], { signal: new AbortController().signal })).rows, [{ one: 1 }]);
    } finally {
      await db.close();
    }
  });
});
