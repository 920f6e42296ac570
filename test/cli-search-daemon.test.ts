// `codegraph search`, `callers`, `callees` and `diff` beside a running daemon (issue #9): the daemon answers (over GraphQL, from the
// snapshot it holds) instead of the CLI loading every entity and embedding of the tree through the
// database socket (~9 s a query on a 709k-line tree). The answer is the one the CLI computes
// itself (`--standalone`), byte for byte; a daemon that is gone (killed: its serve.json names a
// dead pid) is not asked. Real processes: a `serve` child, real CLI invocations, a real repository.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, it } from 'node:test';
import { readServeInfo } from '../daemon/discovery.ts';
import { BIN, cli } from './helpers/cli.ts';
import { cleanupAll, makeRepo, makeTempDir } from './helpers/gitrepo.ts';

const ENV = { ...process.env, CODEGRAPH_DATABASE_URL: '', CODEGRAPH_DATA_DIR: '' };

let daemon: ChildProcess | null = null;
after(async () => {
  if (daemon !== null && daemon.exitCode === null && daemon.signalCode === null) {
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon!.once('exit', r));
  }
  await cleanupAll();
});

/** Starts `serve`; resolves once its initial index is done, with a reader of its log so far. */
function serve(repo: string, data: string): Promise<{ child: ChildProcess; log: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve', repo, '--port', '0', '--data', data, '--history', '5', '--backfill', '0', '--threads', '1'], {
      env: { ...ENV, CODEGRAPH_LOG_LEVEL: 'info', CODEGRAPH_LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const onData = (d: Buffer) => {
      out += String(d);
      if (out.includes('initial index done; ready')) resolve({ child, log: () => out });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`serve exited with ${code} before it was ready:\n${out.slice(-3000)}`)));
  });
}

/** The GraphQL requests the daemon logged. */
const graphqlRequests = (log: string): number => log.split('\n').filter((l) => l.includes('"msg":"request"') && l.includes('"path":"/graphql"')).length;

/** Waits (up to 10 s) until the daemon's log shows `n` GraphQL requests: its lines reach this
 * process through a pipe, after the CLI that caused them may have exited. */
async function seen(log: () => string, n: number): Promise<number> {
  for (let t = 0; t < 200 && graphqlRequests(log()) < n; t++) await new Promise((r) => setTimeout(r, 50));
  return graphqlRequests(log());
}

it('search, callers, callees and diff ask the running daemon, which answers as the CLI would alone; a dead daemon is not asked', { timeout: 600_000 }, async () => {
  const repo = await makeRepo();
  await repo.write('src/etag.ts', 'export function compileETag(value: string) {\n  return createETagGenerator(value);\n}\n\nfunction createETagGenerator(v: string) {\n  return v.length;\n}\n');
  await repo.write('src/send.ts', 'import { compileETag } from "./etag";\n\nexport class Response {\n  sendFile(path: string) {\n    return compileETag(path);\n  }\n}\n');
  // An import and a definition sharing a name (express's lib/utils.js), and a name repeated in one
  // file (a test's inline helpers): the daemon's answers once named the wrong one of each.
  const UTILS = 'var etag = require("etag");\n\nexports.etag = function (body) {\n  return etag(body);\n};\n';
  const SPEC = (n: number) => Array.from({ length: n }, (_, i) => `describe("s${i}", function () {\n  function createError() {\n    return ${i};\n  }\n  it("t", createError);\n});\n`).join('\n');
  await repo.writeFiles({ 'src/utils.js': UTILS, 'test/spec.js': SPEC(2) });
  const c1 = await repo.commit('one');
  await repo.writeFiles({ 'src/utils.js': UTILS.replace('etag(body)', 'etag(body, { weak: true })'), 'test/spec.js': `// spec\n${SPEC(3)}` });
  const c2 = await repo.commit('two');
  const data = await makeTempDir('codegraph-search-daemon-');
  const running = await serve(repo.dir, data);
  daemon = running.child;
  const info = JSON.parse(readFileSync(path.join(data, 'serve.json'), 'utf8')) as { pid: number; url: string; auth: boolean; repositories: Array<{ name: string; path: string }> };
  assert.equal(info.pid, daemon.pid);
  assert.equal(info.auth, false);
  assert.deepEqual(info.repositories.map((r) => r.path), [repo.dir]);

  /** Runs `codegraph <args> --json` beside the daemon, checks that the daemon answered it and that
   * `--standalone` prints the same; returns the parsed output. */
  const parity = async <T>(args: string[]): Promise<T> => {
    const before = graphqlRequests(running.log());
    const asked = await cli([args[0]!, repo.dir, ...args.slice(1), '--json', '--data', data]);
    assert.equal(asked.code, 0, asked.stderr);
    assert.equal(await seen(running.log, before + 1), before + 1, `the daemon did not answer ${args.join(' ')}`);
    const alone = await cli([args[0]!, repo.dir, ...args.slice(1), '--json', '--data', data, '--standalone']);
    assert.equal(alone.code, 0, alone.stderr);
    assert.equal(graphqlRequests(running.log()), before + 1);
    assert.equal(asked.stdout, alone.stdout, args.join(' '));
    return JSON.parse(asked.stdout) as T;
  };
  for (const args of [['etag', '--mode', 'hybrid'], ['sendfile', '--mode', 'text'], ['compileETag', '--mode', 'vector', '--kind', 'function'], ['^create', '--mode', 'regex', '--path', 'src/']]) {
    assert.ok((await parity<{ hits: unknown[] }>(['search', ...args])).hits.length > 0, args.join(' '));
  }
  // callers / callees of a qualified name: the daemon walks the graph.
  for (const args of [['callers', 'src/etag.ts::compileETag', '--depth', '2'], ['callees', 'src/send.ts::Response.sendFile', '--depth', '3']]) {
    assert.ok((await parity<Record<string, unknown[]>>(args))[args[0]!]!.length > 0, args.join(' '));
  }
  // A bare name is qualified by the CLI (the daemon's entity() takes qualified names only).
  const bare = await cli(['callers', repo.dir, 'compileETag', '--json', '--data', data]);
  assert.equal(bare.code, 0, bare.stderr);
  assert.deepEqual((JSON.parse(bare.stdout) as { callers: Array<{ entity: { qualifiedName: string } }> }).callers.map((c) => c.entity.qualifiedName), ['src/send.ts::Response.sendFile']);

  // diff: at the tip (the hot store's entities) and between the two commits; same output as alone.
  for (const args of [['diff', c1, c2], ['diff', 'HEAD~1', 'HEAD']]) {
    const d = await parity<{ added: Array<{ qualifiedName: string; startLine: number }>; modified: Array<{ after: { kind: string; qualifiedName: string; startLine: number } }> }>(args);
    assert.deepEqual(d.modified.map((m) => [m.after.kind, m.after.qualifiedName, m.after.startLine]), [['function', 'src/utils.js::etag', 3]], JSON.stringify(d));
    assert.ok(d.added.some((e) => e.qualifiedName === 'test/spec.js::createError' && e.startLine > 10), JSON.stringify(d));
  }

  // A query the daemon refuses (an invalid regex) is run by the CLI, with its own message and exit code.
  const bad = await cli(['search', repo.dir, '(', '--mode', 'regex', '--data', data]);
  const badAlone = await cli(['search', repo.dir, '(', '--mode', 'regex', '--data', data, '--standalone']);
  assert.deepEqual([bad.code, bad.stderr], [badAlone.code, badAlone.stderr]);
  assert.notEqual(bad.code, 0);

  // Killed, the daemon leaves its serve.json behind; the CLI sees the pid is gone and opens the store.
  daemon.kill('SIGKILL');
  await new Promise((r) => daemon!.once('exit', r));
  assert.ok(existsSync(path.join(data, 'serve.json')));
  assert.equal(readServeInfo(data), null, 'the serve.json of a dead process was taken for a daemon');
  const after = await cli(['search', repo.dir, 'etag', '--json', '--data', data]);
  assert.equal(after.code, 0, after.stderr);
  assert.ok((JSON.parse(after.stdout) as { hits: Array<{ entity: { name: string } }> }).hits.some((h) => h.entity.name === 'compileETag'));
});

it('a daemon stopped cleanly removes its serve.json', { timeout: 600_000 }, async () => {
  const repo = await makeRepo();
  await repo.write('src/a.ts', 'export const a = 1;\n');
  await repo.commit('one');
  const data = await makeTempDir('codegraph-search-daemon-');
  const running = await serve(repo.dir, data);
  daemon = running.child;
  assert.ok(existsSync(path.join(data, 'serve.json')));
  daemon.kill('SIGTERM');
  assert.equal(await new Promise((r) => daemon!.once('exit', r)), 0);
  assert.equal(existsSync(path.join(data, 'serve.json')), false);
});
