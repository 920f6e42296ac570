/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are checked by the assertions, not by types */
// Heavy GraphQL queries against `codegraph serve` (issue #8 item 2) and commits outside the indexed
// window (issue #9, issue #11 item 9): a real git repository with a dense call graph, the service on
// 127.0.0.1:0 with PGlite, plain HTTP requests.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../daemon/config.ts';
import { startService, type Service } from '../daemon/service.ts';
import { cleanupAll, makeRepo, makeTempDir, type TestRepo } from './helpers/gitrepo.ts';
import { untilReady } from './helpers/serve.ts';

after(() => cleanupAll());

const FILES = 8;
const PER_FILE = 16;

/** `src/fK.ts` defines fK_0..fK_15; each calls three functions of the file before it, so callers
 * of `src/f0.ts` reach every file within a few levels. `variant` changes every body of f0. */
function denseFile(k: number, variant = 0): string {
  const fns: string[] = [];
  for (let i = 0; i < PER_FILE; i++) {
    const calls = k === 0 ? [`return ${i + variant};`] : [0, 1, 2].map((j) => `f${k - 1}_${(i + j) % PER_FILE}();`);
    fns.push(`export function f${k}_${i}() {\n  ${calls.join('\n  ')}\n}\n`);
  }
  return fns.join('\n');
}

interface Fixture { repo: TestRepo; old: string[]; base: string; head: string }

let fixture: Promise<Fixture> | undefined;
function dense(): Promise<Fixture> {
  fixture ??= (async () => {
    const repo = await makeRepo();
    const old: string[] = [];
    for (let i = 0; i < 3; i++) {
      await repo.write('old.ts', `export function old${i}() {\n  return ${i};\n}\n`);
      old.push(await repo.commit(`old ${i}`));
    }
    for (let k = 0; k < FILES; k++) await repo.write(`src/f${k}.ts`, denseFile(k));
    const base = await repo.commit('dense call graph');
    await repo.write('src/f0.ts', denseFile(0, 100));
    const head = await repo.commit('change every function of f0');
    return { repo, old, base, head };
  })();
  return fixture;
}

async function serve(repo: TestRepo, limits: Record<string, number>): Promise<Service> {
  const data = await makeTempDir('cg-queries-data-');
  const config = loadConfig({ argv: ['--repo', repo.dir, '--port', '0', '--data-dir', data, '--history', '2', '--backfill', '0', '--poll-interval-ms', '60000', '--threads', '1'], env: {} });
  Object.assign(config.limits, limits);
  const s = await startService({ config, logger: pino({ level: 'silent' }) });
  await untilReady(s, 60_000);
  return s;
}

interface Body { data?: any; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> }

async function gql(s: Service, query: string): Promise<Body> {
  const res = await fetch(`${s.server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  return (await res.json()) as Body;
}

const name = (f: Fixture) => f.repo.dir.split('/').pop()!;

describe('heavy queries', { timeout: 240_000 }, () => {
  test('a query over its deadline is cancelled with DEADLINE_EXCEEDED, once, and the daemon keeps answering', async () => {
    const f = await dense();
    const s = await serve(f.repo, { requestTimeoutMs: 100, maxCost: 10_000_000 });
    try {
      // At `base`, not the tip: the tip's walks are answered from the hot store (store/hot) in
      // memory, too fast to run over any deadline; the history store's walk is the long one.
      const body = await gql(s, `{ repository(name: "${name(f)}") { commit(rev: "${f.base}") {
        entities(first: 100) { edges { node { name callers(depth: 5) { nodes { name } truncated } } } } } } }`);
      assert.deepEqual(body.errors?.map((e) => e.extensions?.code), ['DEADLINE_EXCEEDED'], JSON.stringify(body.errors));
      assert.match(body.errors![0]!.message, /ran longer than 100 ms and was cancelled\. .*limits\.requestTimeoutMs/);
      // The next (small) query is answered normally.
      const small = await gql(s, `{ repository(name: "${name(f)}") { commit(rev: "${f.head}") { sha } } }`);
      assert.equal(small.errors, undefined, JSON.stringify(small.errors));
      assert.equal(small.data.repository.commit.sha, f.head);
    } finally {
      await s.close();
    }
  });

  test('/healthz answers while a heavy query runs; walks are capped and say truncated', async () => {
    const f = await dense();
    const s = await serve(f.repo, { requestTimeoutMs: 600_000, maxCost: 10_000_000, maxResults: 5 });
    try {
      let running = true;
      let answeredDuring = 0;
      const poll = (async () => {
        while (running) {
          const res = await fetch(`${s.server.url}/healthz`);
          await res.text();
          if (running) answeredDuring++;
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      const body = await gql(s, `{ repository(name: "${name(f)}") { commit(rev: "${f.head}") {
        entities(first: 100, path: "src/f0.ts", kind: [function]) { edges { node { name callers(depth: 5) { nodes { name } truncated } } } } } } }`);
      running = false;
      await poll;
      assert.equal(body.errors, undefined, JSON.stringify(body.errors));
      const walks = body.data.repository.commit.entities.edges.map((e: any) => e.node.callers);
      assert.equal(walks.length, PER_FILE);
      for (const w of walks) {
        assert.equal(w.nodes.length, 5);
        assert.equal(w.truncated, true);
        assert.ok(w.nodes.slice(0, 3).every((n: { name: string }) => n.name.startsWith('f1_')), 'nearest callers first');
      }
      // The first poll may have been in flight before the query started; more than that answered during it.
      assert.ok(answeredDuring >= 2, `/healthz answered ${answeredDuring} times while the query ran`);
      // A walk that fits is complete and says so.
      const callees = await gql(s, `{ repository(name: "${name(f)}") { commit(rev: "${f.head}") {
        entity(qualifiedName: "src/f1.ts::f1_0") { callees(depth: 1) { nodes { name } truncated } } } } }`);
      assert.deepEqual(callees.data.repository.commit.entity.callees, { nodes: [{ name: 'f0_0' }, { name: 'f0_1' }, { name: 'f0_2' }], truncated: false });
    } finally {
      await s.close();
    }
  });

  test('impacted is re-costed once the diff size is known', async () => {
    const f = await dense();
    const s = await serve(f.repo, { maxCost: 400 });
    try {
      const body = await gql(s, `{ repository(name: "${name(f)}") { diff(from: "${f.base}", to: "${f.head}") { impacted(depth: 1) { nodes { distance } } } } }`);
      assert.equal(body.errors?.[0]?.extensions?.code, 'QUERY_TOO_COMPLEX', JSON.stringify(body));
      assert.match(body.errors![0]!.message, /^impacted\(depth: 1\) over a diff of 16 changed entities has an estimated cost of \d+, over the limit of 400\./);
    } finally {
      await s.close();
    }
  });
});

describe('commits outside the indexed window', { timeout: 240_000 }, () => {
  test('NOT_INDEXED, not NOT_FOUND, when on-demand indexing is off; NOT_FOUND for what git does not know', async () => {
    const f = await dense();
    const s = await serve(f.repo, { onDemandCommits: 0 });
    try {
      const body = await gql(s, `{ repository(name: "${name(f)}") { commit(rev: "${f.old[0]}") { sha } } }`);
      assert.equal(body.errors?.[0]?.extensions?.code, 'NOT_INDEXED', JSON.stringify(body));
      assert.match(body.errors![0]!.message, /exists but is not indexed, and on-demand indexing is off \(limits\.onDemandCommits = 0\)/);
      const missing = await gql(s, `{ repository(name: "${name(f)}") { commit(rev: "${'0'.repeat(40)}") { sha } } }`);
      assert.equal(missing.errors?.[0]?.extensions?.code, 'NOT_FOUND', JSON.stringify(missing));
    } finally {
      await s.close();
    }
  });

  test('a commit outside the window is indexed on demand, within the per-operation limit', async () => {
    const f = await dense();
    const s = await serve(f.repo, { onDemandCommits: 1 });
    try {
      const rev = `${f.old[1]!.slice(0, 10)}`;
      const body = await gql(s, `{ repository(name: "${name(f)}") { commit(rev: "${rev}") { sha entities(kind: [function]) { edges { node { name } } } } } }`);
      assert.equal(body.errors, undefined, JSON.stringify(body.errors));
      assert.equal(body.data.repository.commit.sha, f.old[1]);
      assert.deepEqual(body.data.repository.commit.entities.edges.map((e: any) => e.node.name), ['old1']);
      // Stored now: a diff from it needs no on-demand indexing, the other end is indexed.
      const d = await gql(s, `{ repository(name: "${name(f)}") { diff(from: "${f.old[1]}", to: "${f.base}") { from removed { name } renamed { before { name } } } } }`);
      assert.equal(d.errors, undefined, JSON.stringify(d.errors));
      assert.equal(d.data.repository.diff.from, f.old[1]);
      const gone = [...d.data.repository.diff.removed.map((e: { name: string }) => e.name), ...d.data.repository.diff.renamed.map((m: any) => m.before.name)];
      assert.deepEqual(gone, ['old1']);
      // Two unindexed commits in one operation: the second is over the limit.
      const two = await gql(s, `{ repository(name: "${name(f)}") { a: commit(rev: "${f.old[0]}") { sha } b: commit(rev: "${f.old[2]}") { sha } } }`);
      assert.deepEqual(two.errors?.map((e) => e.extensions?.code), ['NOT_INDEXED'], JSON.stringify(two));
      assert.match(two.errors![0]!.message, /already indexed 1 commit\(s\) on demand \(limits\.onDemandCommits = 1\)/);
    } finally {
      await s.close();
    }
  });
});
