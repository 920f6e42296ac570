// GraphQL over the receiver-aware call graph (issue 10), on a real HTTP server: callers/callees at
// depth 2 keep working, `minConfidence` filters edges, `Commit.callResolution` counts unresolved
// calls by reason, and /metrics publishes the same counts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cleanupAll, makeRepo } from './helpers/gitrepo.ts';
import { gql, startStoreServer, type StoreHarness } from './server-helpers.ts';

const GO = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'calls', 'go');

let h: StoreHarness;

before(async () => {
  const repo = await makeRepo();
  await repo.writeFiles({
    'go/main.go': fs.readFileSync(path.join(GO, 'main.go'), 'utf8'),
    'go/shape/shape.go': fs.readFileSync(path.join(GO, 'shape', 'shape.go'), 'utf8'),
  });
  await repo.commit('go fixture');
  h = await startStoreServer(repo.dir, 'cg-calls-gql-');
});
after(async () => {
  await h?.close();
  await cleanupAll();
});

interface Body {
  data: { repository: { commit: { entity: Record<string, { nodes: Array<{ qualifiedName: string }>; truncated: boolean }>; callResolution: unknown } } };
  errors?: unknown;
}

async function q(query: string): Promise<Body> {
  return (await gql(h.server.url, query, {})).body as Body;
}

it('callees at depth 2, filtered by minimum confidence', async () => {
  const names = async (min: string): Promise<string[]> => {
    const body = await q(`{ repository(name: "demo") { commit(rev: "HEAD") { entity(qualifiedName: "go/main.go::run") {
      callees(depth: 2, minConfidence: ${min}) { nodes { qualifiedName } truncated } } } } }`);
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    return body.data.repository.commit.entity.callees!.nodes.map((e) => e.qualifiedName).sort();
  };
  // run -> New (import), run -> Shape.Area (name_only, `s` of unknown type); Area is a leaf.
  assert.deepEqual(await names('name_only'), ['go/shape/shape.go::New', 'go/shape/shape.go::Shape.Area']);
  assert.deepEqual(await names('import'), ['go/shape/shape.go::New']);
  const body = await q(`{ repository(name: "demo") { commit(rev: "HEAD") { entity(qualifiedName: "go/shape/shape.go::Shape.Area") {
    callers(depth: 2) { nodes { qualifiedName } } } } } }`);
  assert.deepEqual(body.data.repository.commit.entity.callers!.nodes.map((e) => e.qualifiedName).sort(),
    ['go/main.go::run', 'go/shape/shape.go::Shape.Describe']);
});

it('counts unresolved calls per commit in GraphQL and /metrics', async () => {
  const body = await q('{ repository(name: "demo") { commit(rev: "HEAD") { callResolution { resolved unresolved ambiguous byReason { reason count } } } } }');
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  const r = body.data.repository.commit.callResolution;
  // fmt.Sprint, fmt.Println: external; format(1) with `format` a parameter: local.
  assert.deepEqual(r, {
    resolved: 4, unresolved: 3, ambiguous: 0,
    byReason: [{ reason: 'local', count: 1 }, { reason: 'builtin', count: 0 }, { reason: 'external', count: 2 }, { reason: 'ambiguous', count: 0 }, { reason: 'none', count: 0 }],
  });
  const metrics = await (await fetch(`${h.server.url}/metrics`)).text();
  assert.match(metrics, /codegraph_calls\{repository="demo",outcome="local"\} 1/);
  assert.match(metrics, /codegraph_calls\{repository="demo",outcome="resolved"\} 4/);
});
