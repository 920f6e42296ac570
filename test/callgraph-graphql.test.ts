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
    // A type and a value sharing a name, an interface merged with a class, and an interface that
    // redeclares a method in two merged blocks (issue 10: these shared one id).
    'ts/ids.ts': [
      'export type Foo = { a: number };',
      'export const Foo = (): number => helper();',
      'export function helper(): number { return 1; }',
      'export interface Store { get(k: string): string; get(k: number): string; }',
      'export interface Store { get(k: boolean): string; set(k: string): void; }',
      'export interface Thing { run(): void; }',
      'export class Thing { run(): void { helper(); } }',
      '',
    ].join('\n'),
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

it('a walk lists the calls it followed: both ends, line, resolution and depth', async () => {
  const body = (await gql(h.server.url, `{ repository(name: "demo") { commit(rev: "HEAD") { entity(qualifiedName: "go/main.go::run") {
    callees(depth: 2) { nodes { qualifiedName } calls { from { qualifiedName } to { qualifiedName exported localName } line via depth } } } } } }`, {})).body as {
    data: { repository: { commit: { entity: { callees: { nodes: Array<{ qualifiedName: string }>; calls: Array<{ from: { qualifiedName: string }; to: { qualifiedName: string; exported: boolean; localName: string }; line: number; via: string; depth: number }> } } } } };
    errors?: unknown;
  };
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  const walk = body.data.repository.commit.entity.callees;
  // run -> New (import), run -> Shape.Area (name_only); both from run, at depth 1.
  assert.deepEqual(walk.calls.map((c) => [c.from.qualifiedName, c.to.qualifiedName, c.via, c.depth]).sort(),
    [['go/main.go::run', 'go/shape/shape.go::New', 'import', 1], ['go/main.go::run', 'go/shape/shape.go::Shape.Area', 'name_only', 1]]);
  for (const c of walk.calls) assert.ok(c.line > 1, JSON.stringify(c));
  // Every entity reached is the end of some call; Go's New is exported, its local name is its name.
  assert.deepEqual([...new Set(walk.calls.map((c) => c.to.qualifiedName))].sort(), walk.nodes.map((n) => n.qualifiedName).sort());
  const made = walk.calls.find((c) => c.to.qualifiedName === 'go/shape/shape.go::New')!;
  assert.deepEqual([made.to.exported, made.to.localName], [true, 'New']);
});

it('counts unresolved calls per commit in GraphQL and /metrics', async () => {
  const body = await q('{ repository(name: "demo") { commit(rev: "HEAD") { callResolution { resolved unresolved ambiguous byReason { reason count } } } } }');
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  const r = body.data.repository.commit.callResolution;
  // fmt.Sprint, fmt.Println: external; format(1) with `format` a parameter: local; ts/ids.ts: two calls of helper().
  assert.deepEqual(r, {
    resolved: 6, unresolved: 3, ambiguous: 0,
    byReason: [{ reason: 'local', count: 1 }, { reason: 'builtin', count: 0 }, { reason: 'external', count: 2 }, { reason: 'ambiguous', count: 0 }, { reason: 'none', count: 0 }],
  });
  const metrics = await (await fetch(`${h.server.url}/metrics`)).text();
  assert.match(metrics, /codegraph_calls\{repository="demo",outcome="local"\} 1/);
  assert.match(metrics, /codegraph_calls\{repository="demo",outcome="resolved"\} 6/);
});

it('gh: a type and a value sharing a name, and merged interface declarations, have distinct ids', async () => {
  const body = (await gql(h.server.url, `{ repository(name: "demo") { commit(rev: "HEAD") { entities(path: "ts/ids.ts", first: 50) {
    edges { node { id kind qualifiedName } } } } } }`, {})).body as { data: { repository: { commit: { entities: { edges: Array<{ node: { id: string; kind: string; qualifiedName: string } }> } } } }; errors?: unknown };
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  const nodes = body.data.repository.commit.entities.edges.map((e) => e.node).filter((n) => n.kind !== 'module');
  assert.deepEqual(nodes.map((n) => `${n.id} ${n.kind}`).sort(), [
    'ts/ids.ts::Foo function',
    'ts/ids.ts::Foo#type type',
    'ts/ids.ts::Store#interface interface',
    'ts/ids.ts::Store.get method',
    'ts/ids.ts::Store.set method',
    'ts/ids.ts::Thing class',
    'ts/ids.ts::Thing#interface interface',
    'ts/ids.ts::Thing.run method',
    'ts/ids.ts::helper function',
  ]);
  // Qualified names are unchanged: the pair still shares `ts/ids.ts::Foo`, and the value's
  // callees are read through its id.
  assert.deepEqual(nodes.filter((n) => n.qualifiedName === 'ts/ids.ts::Foo').map((n) => n.kind).sort(), ['function', 'type']);
  const callees = (await q(`{ repository(name: "demo") { commit(rev: "HEAD") { entity(qualifiedName: "ts/ids.ts::Foo") {
    callees { nodes { qualifiedName } truncated } } } } }`)).data.repository.commit.entity['callees']!.nodes.map((e) => e.qualifiedName);
  assert.deepEqual(callees, ['ts/ids.ts::helper']);
});

it('a page of entities with their callees equals each entity asked alone (the page reads the tree once)', async () => {
  const page = (await gql(h.server.url, `{ repository(name: "demo") { commit(rev: "HEAD") { entities(kind: [function, method], first: 100) {
    edges { node { qualifiedName callees { nodes { qualifiedName } } } } } } } }`, {})).body as {
    data: { repository: { commit: { entities: { edges: Array<{ node: { qualifiedName: string; callees: { nodes: Array<{ qualifiedName: string }> } } }> } } } };
    errors?: unknown;
  };
  assert.equal(page.errors, undefined, JSON.stringify(page.errors));
  const edges = page.data.repository.commit.entities.edges;
  assert.ok(edges.length >= 5, `${edges.length} functions`);
  let withCallees = 0;
  for (const { node } of edges) {
    const alone = await q(`{ repository(name: "demo") { commit(rev: "HEAD") { entity(qualifiedName: ${JSON.stringify(node.qualifiedName)}) { callees { nodes { qualifiedName } truncated } } } } }`);
    assert.deepEqual(node.callees.nodes.map((e) => e.qualifiedName), alone.data.repository.commit.entity.callees!.nodes.map((e) => e.qualifiedName), node.qualifiedName);
    if (node.callees.nodes.length > 0) withCallees++;
  }
  assert.ok(withCallees >= 2, 'several entities of the page have callees');
});
