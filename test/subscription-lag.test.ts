// The subscription fan-out's queue policy (daemon/server/pubsub.ts; issue 8, item 1): filters run
// before queueing, queues are bounded per subscriber, a subscriber that falls behind gets a
// SUBSCRIPTION_LAGGED error and its subscription ends, progress coalesces, and no subscriber can
// make publishing throw.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { InProcessEvents } from '../daemon/server/pubsub.ts';
import type { EntityChangedEvent } from '../resolvers/context.ts';
import { startTestServer, type Harness } from './server-helpers.ts';
import { entity } from './server-memory-backend.ts';
import { cleanupAll } from './helpers/gitrepo.ts';
import { until } from './helpers/serve.ts';

const sha = (c: string) => c.repeat(40);
const change = (name: string, commit: string, path = 'src/a.ts'): EntityChangedEvent =>
  ({ repository: 'demo', ref: 'refs/heads/main', sha: sha(commit), parentSha: null, change: 'added', entity: entity(name, name, path), before: null });

async function drain<T>(it: AsyncIterableIterator<T>): Promise<T[]> {
  const out: T[] = [];
  for (;;) {
    const r = await it.next();
    if (r.done) return out;
    out.push(r.value);
  }
}

describe('InProcessEvents', () => {
  test('events a filter rejects are never queued: they do not count against the bound', async () => {
    const events = new InProcessEvents({ maxPending: 3 });
    const it = events.subscribe('entityChanged', 'demo', (e) => e.entity.path.startsWith('src/'));
    events.publishCommit('entityChanged', 'demo', [change('a', '1'), change('b', '1')]);
    const noise = Array.from({ length: 5000 }, (_, i) => change(`n${i}`, '2', 'lib/x.ts'));
    events.publishCommit('entityChanged', 'demo', [...noise, change('c', '2')]);
    const got = [await it.next(), await it.next(), await it.next()].map((r) => (r.value as EntityChangedEvent).entity.name);
    assert.deepEqual(got, ['a', 'b', 'c']);
    await it.return!();
    assert.equal(events.subscribers('entityChanged', 'demo'), 0);
  });

  test('one commit is accepted whole when nothing is pending; the next commit past the bound ends the subscription with a lag marker', async () => {
    const events = new InProcessEvents({ maxPending: 3 });
    const it = events.subscribe('entityChanged', 'demo');
    events.publishCommit('entityChanged', 'demo', ['a', 'b', 'c', 'd', 'e'].map((n) => change(n, '1')));
    events.publishCommit('entityChanged', 'demo', [change('f', '2')]);
    events.publishCommit('entityChanged', 'demo', [change('g', '3')]);
    const items = await drain(it);
    assert.deepEqual(items.slice(0, 5).map((e) => (e as EntityChangedEvent).entity.name), ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(items.slice(5), [{ lagged: true, maxPending: 3, sha: sha('2') }]);
    assert.equal(events.subscribers('entityChanged', 'demo'), 0, 'a lagged subscriber is unsubscribed');
  });

  test('a consumer that keeps up never lags, however many commits', async () => {
    const events = new InProcessEvents({ maxPending: 2 });
    const it = events.subscribe('commitIndexed', 'demo');
    for (let i = 0; i < 50; i++) {
      events.publish('commitIndexed', { repository: 'demo', ref: 'refs/heads/main', sha: String(i).padStart(40, '0'), parents: [] });
      const r = await it.next();
      assert.equal((r.value as { sha: string }).sha, String(i).padStart(40, '0'));
    }
    await it.return!();
  });

  test('indexProgress keeps only the newest pending event', async () => {
    const events = new InProcessEvents({ maxPending: 2 });
    const it = events.subscribe('indexProgress', 'demo');
    for (let done = 1; done <= 100; done++) events.publish('indexProgress', { repository: 'demo', phase: 'initial', done, total: 100 });
    assert.deepEqual((await it.next()).value, { repository: 'demo', phase: 'initial', done: 100, total: 100 });
    const pending = it.next();
    events.publish('indexProgress', { repository: 'demo', phase: 'incremental', done: 1, total: 1 });
    assert.deepEqual((await pending).value, { repository: 'demo', phase: 'incremental', done: 1, total: 1 });
    await it.return!();
  });

  test('a filter that throws ends only its own subscription; publishing does not throw', async () => {
    const events = new InProcessEvents();
    const bad = events.subscribe('entityChanged', 'demo', () => {
      throw new Error('filter bug');
    });
    const good = events.subscribe('entityChanged', 'demo');
    assert.doesNotThrow(() => events.publishCommit('entityChanged', 'demo', [change('a', '1')]));
    assert.deepEqual(await drain(bad), []);
    assert.equal(((await good.next()).value as EntityChangedEvent).entity.name, 'a');
    assert.equal(events.subscribers('entityChanged', 'demo'), 1);
    await good.return!();
  });

  test('return() while waiting ends the pending next()', async () => {
    const events = new InProcessEvents();
    const it = events.subscribe('commitIndexed', 'demo');
    const pending = it.next();
    await it.return!();
    assert.deepEqual(await pending, { done: true, value: undefined });
    assert.equal(events.subscribers('commitIndexed', 'demo'), 0);
  });

  test('options are validated', () => {
    assert.throws(() => new InProcessEvents({ maxPending: 0 }), { message: 'options.maxPending must be a positive integer, got 0' });
  });
});

describe('SUBSCRIPTION_LAGGED over graphql-ws', () => {
  let h: Harness;
  const events = new InProcessEvents({ maxPending: 3 });
  before(async () => {
    h = await startTestServer('', { events });
  });
  after(async () => {
    await h.server.close();
    await cleanupAll();
  });

  test('a subscriber that falls behind receives what was queued, then a coded error, then completion', async () => {
    const client = createClient({ url: h.server.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      const got: unknown[] = [];
      const finished = new Promise<void>((resolve, reject) => {
        client.subscribe<{ entityChanged: { sha: string; entity: { name: string } } }>(
          { query: 'subscription { entityChanged(repository: "demo") { sha entity { name } } }' },
          { next: (v) => got.push(v), error: reject, complete: resolve },
        );
      });
      await until(() => events.subscribers('entityChanged', 'demo') > 0, 'subscription never registered', 5_000);
      // Both commits are published before the server can pull: the second finds 4 events pending.
      events.publishCommit('entityChanged', 'demo', ['a', 'b', 'c', 'd'].map((n) => change(n, '1')));
      events.publishCommit('entityChanged', 'demo', [change('e', '2')]);
      await finished;
      assert.deepEqual(got.slice(0, 4), ['a', 'b', 'c', 'd'].map((name) => ({ data: { entityChanged: { sha: sha('1'), entity: { name } } } })));
      assert.equal(got.length, 5);
      const last = got[4] as { data: unknown; errors: Array<{ message: string; extensions: Record<string, unknown> }> };
      assert.equal(last.data, null);
      assert.deepEqual(last.errors[0]!.extensions, { code: 'SUBSCRIPTION_LAGGED', maxPending: 3, sha: sha('2') });
      assert.match(last.errors[0]!.message, /fell more than 3 events behind.*from commit 2{40} on were not sent/);
      assert.equal(events.subscribers('entityChanged', 'demo'), 0);
    } finally {
      await client.dispose();
    }
  });
});
