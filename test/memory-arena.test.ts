// The `codegraph` command (bin/codegraph, what npm links) starts node with glibc's malloc capped at
// two arenas unless the user set MALLOC_ARENA_MAX (#9: each thread's arena kept freed memory; the
// cap took the peak of `index` on a 709k-line tree from ~630 to ~560 MB). glibc reads the variable
// only at process start, so the wrapper must set it before node runs: checked with a stand-in
// `node` first on PATH that reports what it was started with, then with the real node.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const WRAPPER = fileURLToPath(new URL('../bin/codegraph', import.meta.url));

/** A directory with a `node` that prints MALLOC_ARENA_MAX and its arguments, and a symlink to the
 * wrapper as npm makes it (node_modules/.bin/codegraph). */
function fakeInstall(): { dir: string; link: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'cg-arena-'));
  const node = path.join(dir, 'node');
  writeFileSync(node, '#!/bin/sh\nprintf "%s\\n" "arena=${MALLOC_ARENA_MAX-unset}" "$@"\n');
  chmodSync(node, 0o755);
  const link = path.join(dir, 'codegraph');
  symlinkSync(WRAPPER, link);
  return { dir, link };
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(file, args, { encoding: 'utf8', env });
}

test('bin/codegraph runs codegraph.js beside it with MALLOC_ARENA_MAX=2, through a symlink, arguments intact', (t) => {
  const { dir, link } = fakeInstall();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` };
  delete env.MALLOC_ARENA_MAX;
  const r = run(link, ['index', 'a repo with spaces', '--data', ''], env);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.split('\n').slice(0, -1), ['arena=2', path.join(path.dirname(WRAPPER), 'codegraph.js'), 'index', 'a repo with spaces', '--data', '']);
});

test('bin/codegraph keeps a MALLOC_ARENA_MAX the user set', (t) => {
  const { dir, link } = fakeInstall();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = run(link, ['--help'], { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}`, MALLOC_ARENA_MAX: '8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.split('\n')[0], 'arena=8');
});

test('bin/codegraph runs the real command and passes its exit code', () => {
  const env = { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}` };
  const help = run(WRAPPER, ['--help'], env);
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^usage: codegraph <command>/);
  const bad = run(WRAPPER, ['no-such-command'], env);
  assert.notEqual(bad.status, 0);
});
