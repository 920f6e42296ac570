/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are checked by the assertions, not by types */
// GraphQL over HTTP, SSE and graphql-ws against a real server on 127.0.0.1 with the in-memory backend.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { SHA1, SHA2, entity } from './server-memory-backend.ts';
import { cleanupAll } from './helpers/gitrepo.ts';
import { gql, startTestServer, wait, type Harness } from './server-helpers.ts';

let h: Harness;
before(async () => {
  h = await startTestServer();
});
after(async () => {
  await h.server.close();
  await cleanupAll();
});

describe('queries over HTTP', () => {
  test('repositories, refs, commits connection, commit by short sha and ref', async () => {
    const { status, body } = await gql(h.server.url, `{
      repositories { name }
      repository(name: "demo") {
        refs { name sha }
        commits(first: 1) { edges { cursor node { sha shortSha parents message date author { name } } } pageInfo { hasNextPage endCursor } }
        byShort: commit(rev: "1111111") { sha message }
        byRef: commit(rev: "main") { sha }
        skipped(rev: "main") { reason count }
      }
      missing: repository(name: "nope") { name }
    }`);
    assert.equal(status, 200, JSON.stringify(body));
    const repo = body.data!.repository as Record<string, any>;
    assert.deepEqual(body.data!.repositories, [{ name: 'demo' }]);
    assert.equal(repo.refs[0].sha, SHA2);
    assert.equal(repo.commits.edges.length, 1);
    assert.equal(repo.commits.edges[0].node.shortSha, SHA2.slice(0, 12));
    assert.deepEqual(repo.commits.edges[0].node.parents, [SHA1]);
    assert.equal(repo.commits.edges[0].node.date, '2024-01-02T00:00:00Z');
    assert.deepEqual(repo.commits.pageInfo, { hasNextPage: true, endCursor: '1' });
    assert.equal(repo.byShort.sha, SHA1);
    assert.equal(repo.byRef.sha, SHA2);
    assert.deepEqual(repo.skipped, [{ reason: 'too_large', count: 2 }, { reason: 'binary', count: 1 }]);
    assert.equal(body.data!.missing, null);
  });

  test('entities with filters, callers batched into one backend call, history', async () => {
    h.backend.calls = [];
    const { body } = await gql(h.server.url, `{
      repository(name: "demo") { commit(rev: "main") {
        entities(path: "src/a.ts", first: 10) { edges { node { name qualifiedName callers { nodes { name } truncated } callees { nodes { name } truncated } } } }
        gamma: entity(qualifiedName: "src/b.ts::gamma") { name kind path history { change commit { sha } } }
      } }
    }`);
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    const commit = (body.data!.repository as any).commit;
    assert.deepEqual(commit.entities.edges.map((e: any) => e.node.name), ['alpha', 'beta']);
    assert.deepEqual(commit.entities.edges[0].node.callers, { nodes: [{ name: 'beta' }], truncated: false });
    assert.deepEqual(commit.entities.edges[1].node.callees, { nodes: [{ name: 'alpha' }], truncated: false });
    assert.equal(commit.gamma.kind, 'function');
    assert.deepEqual(commit.gamma.history.map((x: any) => x.change), ['modified', 'added']);
    // Two entities asked for callers: one batched call with both ids.
    assert.deepEqual(h.backend.calls.filter((c) => c.startsWith('callers')), ['callers:2:1']);
    assert.deepEqual(h.backend.calls.filter((c) => c.startsWith('callees')), ['callees:2']);
  });

  test('diff with modified/added and impacted', async () => {
    const { body } = await gql(h.server.url, `{ repository(name: "demo") { diff(from: "1111", to: "main") {
      from to added { name path } modified { before { name } after { name } signatureChanged } renamed { before { name } } impacted(depth: 2) { nodes { distance entity { name } } truncated }
    } } }`);
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    const d = (body.data!.repository as any).diff;
    assert.equal(d.from, SHA1);
    assert.equal(d.to, SHA2);
    assert.deepEqual(d.added, [{ name: 'gamma', path: 'src/b.ts' }]);
    assert.equal(d.modified[0].signatureChanged, true);
    assert.deepEqual(d.impacted, { nodes: [{ distance: 1, entity: { name: 'beta' } }], truncated: false });
  });

  test('NOT_FOUND for an unknown revision, BAD_USER_INPUT for out-of-range arguments', async () => {
    const nf = await gql(h.server.url, '{ repository(name: "demo") { commit(rev: "deadbeef") { sha } } }');
    assert.equal(nf.body.errors?.[0]?.extensions?.code, 'NOT_FOUND');
    assert.match(nf.body.errors![0]!.message, /does not resolve/);
    const bad = await gql(h.server.url, '{ repository(name: "demo") { commits(first: 1000) { edges { cursor } } } }');
    assert.equal(bad.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    const deep = await gql(h.server.url, '{ repository(name: "demo") { commit(rev: "main") { entity(qualifiedName: "src/a.ts::alpha") { callers(depth: 9) { nodes { name } } } } } }');
    assert.equal(deep.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  });

  test('internal errors are masked, expected codes are kept', async () => {
    h.backend.failRefs = true;
    try {
      const { body } = await gql(h.server.url, '{ repository(name: "demo") { refs { name } } }');
      assert.equal(body.errors?.[0]?.message, 'Unexpected error.');
      assert.doesNotMatch(JSON.stringify(body), /secret internal detail/);
    } finally {
      h.backend.failRefs = false;
    }
  });
});

describe('operation limits', () => {
  test('over-depth query is refused with QUERY_TOO_DEEP', async () => {
    let sel = 'name';
    for (let i = 0; i < 12; i++) sel = `callers { nodes { ${sel} } }`;
    const { body } = await gql(h.server.url, `{ repository(name: "demo") { commit(rev: "main") { entity(qualifiedName: "x") { ${sel} } } } }`);
    assert.ok(body.errors?.some((e) => e.extensions?.code === 'QUERY_TOO_DEEP'), JSON.stringify(body));
    assert.equal(body.data, undefined);
  });

  test('over-cost query is refused with QUERY_TOO_COMPLEX', async () => {
    const { body } = await gql(h.server.url, `{ repository(name: "demo") { commits(first: 100) { edges { node {
      entities(first: 100) { edges { node { callers(depth: 5) { nodes { name callees(depth: 5) { nodes { name } } } } } } } } } } } }`);
    assert.equal(body.errors?.[0]?.extensions?.code, 'QUERY_TOO_COMPLEX', JSON.stringify(body));
    assert.equal(body.data, undefined);
  });

  test('callers(depth: 5) on 100 entities is refused: the estimate multiplies by the walk, not by 10 x depth', async () => {
    // The query that stalled a daemon for 16 s (issue #8 item 2) used to be estimated at about 5,000.
    const { body } = await gql(h.server.url, `{ repository(name: "demo") { commit(rev: "main") {
      entities(first: 100) { edges { node { name callers(depth: 5) { nodes { name } } } } } } } }`);
    assert.equal(body.errors?.[0]?.extensions?.code, 'QUERY_TOO_COMPLEX', JSON.stringify(body));
    assert.ok(Number((body.errors![0]!.extensions as { cost: number }).cost) > 100 * 1000, JSON.stringify(body.errors));
    // A shallow walk on a page of entities stays allowed.
    const ok = await gql(h.server.url, `{ repository(name: "demo") { commit(rev: "main") {
      entities(first: 20) { edges { node { name callers(depth: 2) { nodes { name } } } } } } } }`);
    assert.equal(ok.body.errors, undefined, JSON.stringify(ok.body.errors));
  });

  test('a variable `first` is costed at its maximum', async () => {
    const { body } = await gql(h.server.url, `query($n: Int) { repository(name: "demo") { commits(first: $n) { edges { node {
      entities(first: $n) { edges { node { callers(depth: 5) { nodes { name } } } } } } } } } }`, { n: 1 });
    assert.equal(body.errors?.[0]?.extensions?.code, 'QUERY_TOO_COMPLEX');
  });

  test('alias bomb is refused with TOO_MANY_ALIASES', async () => {
    const aliases = Array.from({ length: 40 }, (_, i) => `a${i}: repositories { name }`).join(' ');
    const { body } = await gql(h.server.url, `{ ${aliases} }`);
    assert.equal(body.errors?.[0]?.extensions?.code, 'TOO_MANY_ALIASES');
  });

  test('2,000 repeated fields are refused with TOO_MANY_TOKENS', async () => {
    const { body } = await gql(h.server.url, `{ repositories { ${'name '.repeat(2000)} } }`);
    assert.equal(body.errors?.[0]?.extensions?.code, 'TOO_MANY_TOKENS');
  });

  test('introspection is not counted against depth', async () => {
    const { body } = await gql(h.server.url, '{ __schema { types { name fields { name type { name ofType { name ofType { name ofType { name ofType { name ofType { name ofType { name } } } } } } } } } } }');
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  });
});

describe('cancellation', () => {
  const hanging = '{ repository(name: "demo") { commit(rev: "main") { entity(qualifiedName: "src/a.ts::alpha") { callers { nodes { name } } } } } }';
  const aborted = () => h.backend.calls.filter((c) => c.startsWith('callers aborted'));

  test('an HTTP client that disconnects cancels its operation in the backend', async () => {
    h.backend.calls = [];
    h.backend.hangCallers = true;
    try {
      const ctl = new AbortController();
      const req = fetch(`${h.server.url}/graphql`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: hanging }), signal: ctl.signal,
      }).catch((err: unknown) => err);
      while (!h.backend.calls.some((c) => c.startsWith('callers:'))) await wait(10);
      ctl.abort();
      await req;
      while (aborted().length === 0) await wait(10);
      assert.deepEqual(aborted(), ['callers aborted:CANCELLED']);
    } finally {
      h.backend.hangCallers = false;
    }
  });

  test('graphql-ws `complete` cancels the operation in the backend', async () => {
    h.backend.calls = [];
    h.backend.hangCallers = true;
    const c = createClient({ url: `${h.server.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      const stop = c.subscribe({ query: hanging }, { next: () => undefined, error: () => undefined, complete: () => undefined });
      while (!h.backend.calls.some((c2) => c2.startsWith('callers:'))) await wait(10);
      stop(); // sends `complete`
      while (aborted().length === 0) await wait(10);
      assert.deepEqual(aborted(), ['callers aborted:CANCELLED']);
    } finally {
      h.backend.hangCallers = false;
      await c.dispose();
    }
  });
});

describe('subscriptions', () => {
  test('commitIndexed over graphql-ws receives published events with their diff', async () => {
    const client = createClient({ url: h.server.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      const sub = client.iterate<{ commitIndexed: { ref: string; sha: string; parents: string[]; diff: { from: string; added: Array<{ name: string }> } } }>({
        query: 'subscription { commitIndexed(repository: "demo") { ref sha parents diff { from added { name } } } }',
      });
      const first = sub.next();
      await waitForSubscribers(h);
      h.events.publish('commitIndexed', { repository: 'other', ref: 'refs/heads/main', sha: SHA1, parents: [] });
      h.events.publish('commitIndexed', { repository: 'demo', ref: 'refs/heads/main', sha: SHA2, parents: [SHA1] });
      const r = await first;
      assert.equal(r.done, false);
      const e = r.value!.data!.commitIndexed;
      assert.equal(e.sha, SHA2);
      assert.deepEqual(e.parents, [SHA1]);
      assert.equal(e.diff.from, SHA1);
      assert.deepEqual(e.diff.added, [{ name: 'gamma' }]);
      await sub.return?.();
    } finally {
      await client.dispose();
    }
  });

  test('entityChanged filters by path glob, kinds and names on the server', async () => {
    const client = createClient({ url: h.server.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      const sub = client.iterate<{ entityChanged: { change: string; entity: { name: string; path: string } } }>({
        query: 'subscription { entityChanged(repository: "demo", path: "src/**/*.ts", kinds: [function], names: ["keep", "also"]) { change entity { name path } } }',
      });
      const first = sub.next();
      await waitForSubscribers(h, 'entityChanged');
      const ev = (name: string, path: string, kind: 'function' | 'class' = 'function') =>
        ({ repository: 'demo', ref: 'refs/heads/main', sha: SHA2, parentSha: SHA1, change: 'added' as const, entity: entity(name, name, path, kind), before: null });
      h.events.publish('entityChanged', ev('keep', 'lib/x.ts')); // path mismatch
      h.events.publish('entityChanged', ev('keep', 'src/x.ts', 'class')); // kind mismatch
      h.events.publish('entityChanged', ev('drop', 'src/x.ts')); // name mismatch
      h.events.publish('entityChanged', ev('also', 'src/deep/y.ts')); // matches
      const r = await first;
      assert.deepEqual(r.value!.data!.entityChanged, { change: 'added', entity: { name: 'also', path: 'src/deep/y.ts' } });
      await sub.return?.();
    } finally {
      await client.dispose();
    }
  });

  test('EntityChange.before and a removed entity resolve at the parent commit, not the new one', async () => {
    const client = createClient({ url: h.server.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      const sub = client.iterate<{ entityChanged: { change: string; entity: { callers: { nodes: Array<{ name: string }> } }; before: { callers: { nodes: Array<{ name: string }> } } | null } }>({
        query: 'subscription { entityChanged(repository: "demo") { change entity { callers { nodes { name } } } before { callers { nodes { name } } } } }',
      });
      const first = sub.next();
      h.backend.callerShas.length = 0;
      const alpha = entity('a', 'alpha');
      // Published until the subscription has it: no race with the subscription's registration.
      const timer = setInterval(() => h.events.publish('entityChanged', { repository: 'demo', ref: 'refs/heads/main', sha: SHA2, parentSha: SHA1, change: 'removed', entity: alpha, before: alpha }), 20);
      const r = await first.finally(() => clearInterval(timer));
      assert.equal(r.value!.data!.entityChanged.change, 'removed');
      assert.deepEqual(r.value!.data!.entityChanged.before!.callers.nodes, [{ name: 'beta' }]);
      assert.ok(h.backend.callerShas.length > 0);
      assert.deepEqual(new Set(h.backend.callerShas), new Set([SHA1]), 'both the removed entity and before are looked up at the parent');
      await sub.return?.();
    } finally {
      await client.dispose();
    }
  });

  test('indexProgress over SSE', async () => {
    const ac = new AbortController();
    const res = await fetch(`${h.server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription { indexProgress(repository: "demo") { repository phase done total } }' }),
      signal: ac.signal,
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = res.body!.getReader();
    await waitForSubscribers(h);
    h.events.publish('indexProgress', { repository: 'demo', phase: 'parse', done: 3, total: 10 });
    let text = '';
    while (!text.includes('"total"')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    ac.abort();
    assert.match(text, /event: next/);
    assert.match(text, /"indexProgress":\{"repository":"demo","phase":"parse","done":3,"total":10\}/);
  });
});

describe('probes, metrics and dashboard', () => {
  test('/healthz, /readyz follows the callback, /metrics, /', async () => {
    assert.equal((await fetch(`${h.server.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${h.server.url}/readyz`)).status, 200);
    h.setReady(false);
    assert.equal((await fetch(`${h.server.url}/readyz`)).status, 503);
    h.setReady(true);
    const m = await fetch(`${h.server.url}/metrics`);
    const text = await m.text();
    for (const name of ['codegraph_index_lag_seconds', 'codegraph_queue_depth', 'codegraph_commits_indexed_total', 'codegraph_files_skipped_total{reason="too_large"}',
      'codegraph_parse_errors_total', 'codegraph_graphql_request_duration_seconds_bucket', 'codegraph_active_subscriptions']) {
      assert.ok(text.includes(name), `missing ${name}`);
    }
    const page = await fetch(`${h.server.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'sha256-/);
    assert.match(await page.text(), /graphql-transport-ws/);
  });

  test('a foreign Host header is refused without auth (DNS rebinding)', async () => {
    const http = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(h.server.url);
      http.get({ host: u.hostname, port: u.port, path: '/graphql?query=%7Brepositories%7Bname%7D%7D', headers: { host: 'evil.example:80' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
    assert.equal(status, 403);
  });
});

async function waitForSubscribers(harness: Harness, topic?: string): Promise<void> {
  // The subscription is registered once the server has run the subscribe resolver; the gauge says so.
  const { activeSubscriptions } = await import('../daemon/server/metrics.ts');
  for (let i = 0; i < 100; i++) {
    const m = await activeSubscriptions.get();
    // Per topic: the previous test's subscription of another topic may not be counted down yet.
    if (m.values.some((v) => v.value > 0 && (topic === undefined || v.labels.topic === topic))) return;
    await wait(10);
  }
  void harness;
  throw new Error('subscription never registered');
}
