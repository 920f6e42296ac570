/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are checked by the assertions, not by types */
// Expected errors keep their code over real HTTP (issue #8 item 7): bad cursors, control characters
// in a rev, a huge path glob, a bad Host header, an unknown repository, an unindexed commit; and
// entityHistory answers from the newest indexed commit when HEAD is not indexed yet (item 8).
// A real git repository, the real store backend over PGlite, a real server on 127.0.0.1.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { StoreBackend } from '../daemon/backend.ts';
import { loadConfig } from '../daemon/config.ts';
import { indexHistory } from '../daemon/history.ts';
import { InProcessEvents, startServer, type RunningServer } from '../daemon/server/index.ts';
import { GitRepo } from '../indexer/git/index.ts';
import type { Db } from '../store/db.ts';
import { openDatabase } from '../store/db.ts';
import { cleanupAll, makeRepo, makeTempDir, type TestRepo } from './helpers/gitrepo.ts';
import { gql } from './server-helpers.ts';
import { openStore, withIndexer } from './store-fixtures.ts';

let server: RunningServer;
let db: Db;
let git: GitRepo;
let repo: TestRepo;
let indexed: string;
let unindexed: string;

before(async () => {
  repo = await makeRepo();
  await repo.write('src/a.ts', 'export function alpha(): number {\n  return 1;\n}\n');
  await repo.commit('c1');
  await repo.write('src/a.ts', 'export function alpha(): number {\n  return 2;\n}\n');
  indexed = await repo.commit('c2');
  db = await openDatabase({ dataDir: await makeTempDir('codegraph-errors-http-') });
  const store = await openStore(db);
  git = await GitRepo.open(repo.dir);
  const repoId = await withIndexer(async (indexer) => (await indexHistory({ repo: git, store, indexer, history: 'all' })).repoId);
  // HEAD moves on; this commit is not indexed (a push the daemon has not indexed yet).
  await repo.write('src/a.ts', 'export function alpha(): number {\n  return 3;\n}\n');
  unindexed = await repo.commit('c3');
  const dir = await makeTempDir('cg-errors-http-');
  const file = path.join(dir, 'codegraph.toml');
  writeFileSync(file, `port = 0\n[[repos]]\npath = "${repo.dir}"\nname = "demo"\n`);
  server = await startServer({
    config: loadConfig({ argv: ['--config', file], env: {} }),
    backend: new StoreBackend(store, [{ name: 'demo', repo: git, repoId }]),
    events: new InProcessEvents(),
    logger: pino({ level: 'silent' }),
    ready: async () => true,
  });
});

after(async () => {
  await server?.close();
  await git?.close();
  await db?.close();
  await cleanupAll();
});

const code = (r: { body: { errors?: Array<{ extensions?: { code?: string } }> } }) => r.body.errors?.[0]?.extensions?.code;

describe('expected errors keep their code', () => {
  test('invalid cursors abc, -1, 1.5 are BAD_USER_INPUT', async () => {
    for (const after of ['abc', '-1', '1.5']) {
      const r = await gql(server.url, 'query($a: String) { repository(name: "demo") { commits(first: 1, after: $a) { edges { cursor } } } }', { a: after });
      assert.equal(code(r), 'BAD_USER_INPUT', `cursor ${after}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.errors![0]!.message, /invalid cursor/);
      const e = await gql(server.url, `query($a: String) { repository(name: "demo") { commit(rev: "${indexed}") { entities(first: 1, after: $a) { edges { cursor } } } } }`, { a: after });
      assert.equal(code(e), 'BAD_USER_INPUT', `entities cursor ${after}`);
    }
  });

  test('a rev with a newline or a NUL is BAD_USER_INPUT', async () => {
    for (const rev of ['main\n', 'ma\u0000in', 'HEAD\n--output=/tmp/x']) {
      const r = await gql(server.url, 'query($r: String!) { repository(name: "demo") { commit(rev: $r) { sha } } }', { r: rev });
      assert.equal(code(r), 'BAD_USER_INPUT', JSON.stringify(rev));
    }
  });

  test('a 900 KB path glob is BAD_USER_INPUT', async () => {
    const glob = 'a/'.repeat(450_000);
    const r = await gql(server.url, `query($p: String) { repository(name: "demo") { commit(rev: "${indexed}") { entities(path: $p) { edges { cursor } } } } }`, { p: glob });
    assert.equal(code(r), 'BAD_USER_INPUT');
    assert.match(r.body.errors![0]!.message, /at most 1024 characters/);
  });

  test('an unknown repository is NOT_FOUND, in a subscription too', async () => {
    const r = await gql(server.url, 'subscription { commitIndexed(repository: "nope") { sha } }');
    assert.equal(code(r), 'NOT_FOUND', JSON.stringify(r.body));
    assert.match(r.body.errors![0]!.message, /unknown repository 'nope'/);
  });

  test('a commit that is not indexed in diff is NOT_FOUND or NOT_INDEXED, never "Unexpected error."', async () => {
    const r = await gql(server.url, `{ repository(name: "demo") { diff(from: "${indexed}", to: "${unindexed}") { added { name } } } }`);
    assert.ok(['NOT_FOUND', 'NOT_INDEXED'].includes(code(r) ?? ''), JSON.stringify(r.body));
    assert.notEqual(r.body.errors![0]!.message, 'Unexpected error.');
  });

  test('entityHistory answers from the newest indexed commit while HEAD is not indexed', async () => {
    const r = await gql(server.url, '{ repository(name: "demo") { entityHistory(qualifiedName: "src/a.ts::alpha") { change boundary commit { sha } } } }');
    assert.equal(r.body.errors, undefined, JSON.stringify(r.body));
    const list = (r.body.data as any).repository.entityHistory as Array<{ change: string; boundary: boolean; commit: { sha: string } }>;
    assert.deepEqual(list.map((h) => h.change), ['modified', 'added']);
    // The whole history is indexed: c1 is the root commit, which really added alpha (no horizon).
    assert.deepEqual(list.map((h) => h.boundary), [false, false]);
    assert.equal(list[0]!.commit.sha, indexed);
  });
});

/** Sends a raw request (fetch cannot send an empty or malformed Host) and returns the status line. */
function rawRequest(url: string, head: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(port), '127.0.0.1', () => s.write(head));
    let out = '';
    s.on('data', (d) => (out += String(d)));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

describe('Host header', () => {
  test('an empty or malformed Host is a 400 with a code, not a 500', async () => {
    for (const host of ['', 'a b', '[', 'exa mple.com:80', 'x:99999999']) {
      const out = await rawRequest(server.url, `GET /healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      assert.match(out, /^HTTP\/1\.1 400 /, `Host ${JSON.stringify(host)}: ${out.split('\r\n')[0]}`);
      if (out.includes('BAD_REQUEST')) assert.match(out, /Host header/);
    }
    const ok = await rawRequest(server.url, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    assert.match(ok, /^HTTP\/1\.1 200 /);
  });
});
