// Search and graph queries through GraphQL over HTTP on 127.0.0.1 (issue #12): a real server over
// the real store (PGlite) of a repository the test builds; the error codes clients see.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { cleanupAll } from './helpers/gitrepo.ts';
import { buildSearchFixture, type SearchFixture } from './search-fixtures.ts';
import { gql, startStoreServer, type StoreHarness } from './server-helpers.ts';

let fx: SearchFixture;
let h: StoreHarness;

before(async () => {
  fx = await buildSearchFixture();
  h = await startStoreServer(fx.repo.dir, 'cg-search-gql-');
});
after(async () => {
  await h?.close();
  await cleanupAll();
});

const C = 'src/http/client.ts';

async function q(query: string, variables: Record<string, unknown> = {}) {
  const res = await gql(h.server.url, query, variables);
  return res.body;
}

it('search: HYBRID by default at HEAD, with scores, reasons and cursors', async () => {
  const body = await q(`{ repository(name: "demo") { search(query: "parseResponse", first: 2) {
    totalCount edges { cursor node { score entity { name qualifiedName } matches { field tokens } } } pageInfo { hasNextPage endCursor } } } }`);
  assert.equal(body.errors, undefined);
  const s = (body.data as { repository: { search: { totalCount: number; edges: Array<{ cursor: string; node: { score: number; entity: { name: string }; matches: Array<{ field: string; tokens: string[] }> } }>; pageInfo: { hasNextPage: boolean; endCursor: string } } } }).repository.search;
  assert.equal(s.edges[0]!.node.entity.name, 'parseResponse');
  assert.ok(s.edges[0]!.node.matches.some((m) => m.field === 'name'));
  assert.ok(s.totalCount >= 2);
  assert.equal(s.pageInfo.hasNextPage, s.totalCount > 2);
  const next = await q(`query($a: String) { repository(name: "demo") { search(query: "parseResponse", first: 2, after: $a) { edges { node { entity { name } } } } } }`, { a: s.pageInfo.endCursor });
  assert.equal(next.errors, undefined);
});

it('search: every mode, at an old revision too', async () => {
  const run = async (mode: string, query: string, rev: string) => {
    const body = await q(`query($q: String!, $rev: String) { repository(name: "demo") { search(query: $q, mode: ${mode}, rev: $rev, kinds: [function]) { edges { node { entity { name } } } } } }`, { q: query, rev });
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    return (body.data as { repository: { search: { edges: Array<{ node: { entity: { name: string } } }> } } }).repository.search.edges.map((e) => e.node.entity.name);
  };
  assert.deepEqual(await run('TEXT', 'parse response', 'HEAD'), ['parseResponse', 'parseHTTPResponse']);
  assert.deepEqual(await run('FUZZY', 'fetchUsr', fx.old), ['fetchUser']);
  assert.deepEqual(await run('FUZZY', 'fetchUsr', fx.tip), []);
  assert.deepEqual((await run('REGEX', '^get', 'main')).sort(), ['getUser', 'getUserName']);
  assert.equal((await run('VECTOR', 'return JSON.parse(body);', 'HEAD'))[0], 'parseHTTPResponse');
});

it('path, topEntities, cycles and neighbourhood', async () => {
  const body = await q(`{ repository(name: "demo") {
    path(from: "${C}::getUser", to: "${C}::parseHTTPResponse") { name }
    none: path(from: "src/util/log.ts::log", to: "${C}::getUser") { name }
    topEntities(first: 3) { totalCount edges { node { score entity { name } } } }
    cycles { files }
    commit(rev: "HEAD") { entity(qualifiedName: "${C}::parseResponse") { neighbourhood(depth: 2, kinds: [called_by]) { distance via entity { name } from { name } } } }
  } }`);
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  const r = (body.data as { repository: Record<string, unknown> }).repository as {
    path: Array<{ name: string }>; none: null; topEntities: { totalCount: number; edges: Array<{ node: { score: number } }> }; cycles: Array<{ files: string[] }>;
    commit: { entity: { neighbourhood: Array<{ distance: number; via: string; entity: { name: string }; from: { name: string } }> } };
  };
  assert.deepEqual(r.path.map((e) => e.name), ['getUser', 'loadUser', 'parseResponse', 'parseHTTPResponse']);
  assert.equal(r.none, null);
  assert.equal(r.topEntities.edges.length, 3);
  assert.ok(r.topEntities.edges[0]!.node.score >= r.topEntities.edges[2]!.node.score);
  assert.deepEqual(r.cycles, [{ files: ['src/cycle/a.ts', 'src/cycle/b.ts', 'src/cycle/c.ts'] }]);
  assert.deepEqual(r.commit.entity.neighbourhood.map((n) => `${n.distance} ${n.via} ${n.entity.name} ${n.from.name}`), ['1 called_by loadUser parseResponse', '2 called_by getUser loadUser']);
});

it('bad input gets codes: empty query, invalid regex, catastrophic regex, first and depth over limits, unknown entity', async () => {
  const code = async (query: string): Promise<[string | undefined, string | undefined]> => {
    const body = await q(query);
    assert.ok(body.errors && body.errors.length > 0, query);
    const ext = body.errors[0]!.extensions as { code?: string; reason?: string } | undefined;
    return [ext?.code, ext?.reason];
  };
  assert.deepEqual(await code('{ repository(name: "demo") { search(query: "  ") { totalCount } } }'), ['BAD_USER_INPUT', 'EMPTY_QUERY']);
  assert.deepEqual(await code('{ repository(name: "demo") { search(query: "(", mode: REGEX) { totalCount } } }'), ['BAD_USER_INPUT', 'INVALID_REGEX']);
  assert.deepEqual(await code('{ repository(name: "demo") { search(query: "(a+)+$", mode: REGEX) { totalCount } } }'), ['REGEX_TIMEOUT', undefined]);
  assert.deepEqual(await code('{ repository(name: "demo") { search(query: "log", first: 101) { totalCount } } }'), ['BAD_USER_INPUT', undefined]);
  assert.deepEqual(await code('{ repository(name: "demo") { search(query: "log", after: "bm9wZQ") { totalCount } } }'), ['BAD_USER_INPUT', 'INVALID_CURSOR']);
  assert.deepEqual(await code('{ repository(name: "demo") { topEntities(first: 1000) { totalCount } } }'), ['BAD_USER_INPUT', undefined]);
  assert.deepEqual(await code(`{ repository(name: "demo") { commit(rev: "HEAD") { entity(qualifiedName: "${C}::getUser") { neighbourhood(depth: 6) { distance } } } } }`), ['BAD_USER_INPUT', undefined]);
  assert.deepEqual(await code(`{ repository(name: "demo") { path(from: "${C}::nope", to: "${C}::getUser") { name } } }`), ['NOT_FOUND', undefined]);
  assert.deepEqual(await code('{ repository(name: "demo") { search(query: "log", rev: "no-such-ref") { totalCount } } }'), ['NOT_FOUND', undefined]);
});
