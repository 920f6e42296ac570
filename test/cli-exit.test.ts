// Exit codes and quiet exits of the CLI, end to end through bin/codegraph.js: `index` on a locked
// data directory exits 6 at once (#8 item 10), `index` honours CODEGRAPH_DATA_DIR like diff and
// history, `history` of an unknown name exits 4 with suggestions (#11 item 8), and a closed output
// pipe ends a command quietly (#11 item 10).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ExitCode } from '../daemon/cli.ts';
import { acquireLock } from '../store/lock.ts';
import { BIN, cli } from './helpers/cli.ts';
import { cleanupAll, makeRepo, makeTempDir, type TestRepo } from './helpers/gitrepo.ts';



let repo: TestRepo;
before(async () => {
  repo = await makeRepo();
  await repo.write('helpers.py', 'def redirect(url):\n    return url\n\n\ndef render(page):\n    return page\n');
  await repo.commit('c1');
});
after(cleanupAll);

test('index on a locked data directory exits 6 at once, with one line and no stack trace', async () => {
  const data = await makeTempDir('codegraph-locked-');
  // This process holds the lock without serving the database (a holder that serves it, a running
  // `serve`, is attached to instead: test/cli-beside-serve.test.ts).
  const holder = await acquireLock(path.join(data, 'codegraph.lock'));
  try {
    const r = await cli(['index', repo.dir, '--data', data]);
    assert.equal(r.code, ExitCode.LOCKED, r.stderr);
    assert.equal(r.stdout, '', 'nothing was extracted or summarized');
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    const viaEnv = await cli(['index', repo.dir], { CODEGRAPH_DATA_DIR: data });
    assert.equal(viaEnv.code, ExitCode.LOCKED, `CODEGRAPH_DATA_DIR is honoured: ${viaEnv.stderr}`);
  } finally {
    await holder.release();
  }
});

test('index stores history in CODEGRAPH_DATA_DIR; history of an unknown name exits 4 with "did you mean"', { timeout: 300_000 }, async () => {
  const data = await makeTempDir('codegraph-env-');
  const env = { CODEGRAPH_DATA_DIR: data };
  const idx = await cli(['index', repo.dir, '--json'], env);
  assert.equal(idx.code, ExitCode.OK, idx.stderr);
  assert.deepEqual((JSON.parse(idx.stdout) as { history?: unknown }).history, { indexed: 1, alreadyIndexed: 0 });

  const ok = await cli(['history', repo.dir, 'helpers.py::redirect', '--json'], env);
  assert.equal(ok.code, ExitCode.OK, ok.stderr);
  assert.equal((JSON.parse(ok.stdout) as { changes: unknown[] }).changes.length, 1);

  const json = await cli(['history', repo.dir, 'helpers.py::redirectt', '--json'], env);
  assert.equal(json.code, ExitCode.UNKNOWN_REVISION, json.stderr);
  const body = JSON.parse(json.stdout) as { changes: unknown[]; error: { code: string; suggestions: string[] } };
  assert.deepEqual(body.changes, []);
  assert.equal(body.error.code, 'UNKNOWN_ENTITY');
  assert.equal(body.error.suggestions[0], 'helpers.py::redirect');

  const text = await cli(['history', repo.dir, 'helpers.py::redirectt'], env);
  assert.equal(text.code, ExitCode.UNKNOWN_REVISION);
  assert.match(text.stderr, /no entity helpers\.py::redirectt at [0-9a-f]{12}\. Did you mean helpers\.py::redirect/);
  assert.equal(text.stdout, '');
});

test('a closed output pipe ends extract quietly (no EPIPE stack trace)', { timeout: 300_000 }, async () => {
  const dir = await makeTempDir('codegraph-epipe-');
  const files: string[] = [];
  // Output far over a pipe buffer, so writes continue after `head` has exited.
  const body = Array.from({ length: 400 }, (_, i) => `func F${i}(a int) int {\n\treturn a + ${i}\n}\n`).join('\n');
  for (let i = 0; i < 8; i++) {
    const f = path.join(dir, `f${i}.go`);
    writeFileSync(f, `package p\n\n${body}`);
    files.push(f);
  }
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const r = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    execFile('sh', ['-c', `${quote(process.execPath)} ${quote(BIN)} extract ${files.map(quote).join(' ')} --json | head -c 100`], { env: process.env }, (err, stdout, stderr) => {
      if (err) reject(err);
      else resolve({ stdout, stderr });
    });
  });
  assert.equal(r.stdout.length, 100);
  assert.equal(r.stderr, '', 'nothing on stderr');
});
