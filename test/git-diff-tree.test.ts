// GitRepo.diffTree between two commits goes through one long-lived `git diff-tree --stdin`
// (indexer/git/diff-tree.ts) instead of a process per call: a spawn blocks the event loop until the
// child has exec'd, 100-600 ms per commit on a loaded machine during an initial index (issue #9).
// Its answers must equal the one-shot `git diff-tree` for every kind of change and path, pipelined,
// over output split across many chunks, and when the process dies.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, test } from 'node:test';
import { GitRepo } from '../indexer/git/index.ts';
import { gitEnv } from '../indexer/git/exec.ts';
import { parseDiffTree } from '../indexer/git/tree.ts';
import { cleanupAll, makeRepo } from './helpers/gitrepo.ts';

after(cleanupAll);

/** What the one-shot `git diff-tree` (the path before the stream) answers. */
function oneShot(dir: string, from: string, to: string): ReturnType<typeof parseDiffTree> {
  const r = spawnSync('git', ['diff-tree', '-r', '-z', '-M', '--no-commit-id', '--no-abbrev', '--no-ext-diff', from, to, '--'], { cwd: dir, env: gitEnv(), maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, String(r.stderr));
  return parseDiffTree(r.stdout);
}

async function history(): Promise<{ dir: string; commits: string[] }> {
  const r = await makeRepo();
  const body = (n: number) => Array.from({ length: 30 }, (_, i) => `export const v${i} = ${i + n};`).join('\n') + '\n';
  const commits: string[] = [];
  // Paths that look like protocol: a leading ':' (a record header starts with one), a path that is
  // a commit id, a newline and a tab inside a name.
  await r.writeFiles({ ':colon.ts': body(0), 'a/b.ts': body(1), 'odd\nname.ts': 'x\n', 'tab\tname.ts': 'y\n' });
  commits.push(await r.commit('c1'));
  await r.write(commits[0]!, 'a file named like a commit id\n');
  await r.rename('a/b.ts', ':moved/b.ts');
  await r.write(':colon.ts', body(2));
  await r.remove('tab\tname.ts');
  commits.push(await r.commit('c2'));
  // Many files: an answer far larger than one pipe chunk.
  const many: Record<string, string> = {};
  for (let i = 0; i < 1500; i++) many[`many/dir${i % 37}/file-with-a-long-name-${i}.ts`] = `export const f${i} = ${i};\n`;
  await r.writeFiles(many);
  commits.push(await r.commit('c3'));
  await r.remove('odd\nname.ts');
  await r.symlink(':moved/b.ts', 'odd\nname.ts');
  commits.push(await r.commit('c4'));
  commits.push(await r.commit('empty', { allowEmpty: true }));
  return { dir: r.dir, commits };
}

test('diffTree through the stream equals one-shot git diff-tree, with one process for all diffs', async () => {
  const { dir, commits } = await history();
  const repo = await GitRepo.open(dir);
  try {
    const pairs: Array<[string, string]> = [];
    for (let i = 1; i < commits.length; i++) pairs.push([commits[i - 1]!, commits[i]!], [commits[i]!, commits[i - 1]!]);
    pairs.push([commits[0]!, commits[3]!], [commits[4]!, commits[4]!]);
    for (const [from, to] of pairs) assert.deepEqual(await repo.diffTree(from, to), oneShot(dir, from, to), `${from}..${to}`);
    // Pipelined: every request written before the first answer is read.
    const all = await Promise.all(pairs.map(([from, to]) => repo.diffTree(from, to)));
    all.forEach((got, i) => assert.deepEqual(got, oneShot(dir, pairs[i]![0], pairs[i]![1])));
    assert.ok(all.some((d) => d.length >= 1500), 'the many-file diff is in the set');
    assert.ok(all.some((d) => d.some((c) => c.status === 'R' && c.newPath === ':moved/b.ts')));
    const s = repo.stats();
    assert.equal(s.diffTreeSpawns, 1);
    assert.equal(s.diffTreeOneShot, 0);
  } finally {
    await repo.close();
  }
});

test('a base (no from) and a tree id take the one-shot path; a dead stream process is replaced', async () => {
  const { dir, commits } = await history();
  const repo = await GitRepo.open(dir);
  try {
    assert.ok((await repo.diffTree(null, commits[0]!)).length >= 4);
    const tree = spawnSync('git', ['rev-parse', `${commits[1]!}^{tree}`], { cwd: dir, env: gitEnv() }).stdout.toString().trim();
    assert.deepEqual(await repo.diffTree(commits[0]!, tree), oneShot(dir, commits[0]!, tree));
    assert.equal(repo.stats().diffTreeOneShot, 2);

    await repo.diffTree(commits[0]!, commits[1]!);
    const pid = findDiffTreePid(dir);
    // Killed while answering a pipelined batch: every request is still answered right.
    const pending = commits.slice(1).map((c, i) => repo.diffTree(commits[i]!, c));
    process.kill(pid, 'SIGKILL');
    const got = await Promise.all(pending);
    got.forEach((d, i) => assert.deepEqual(d, oneShot(dir, commits[i]!, commits[i + 1]!)));
    assert.deepEqual(await repo.diffTree(commits[2]!, commits[3]!), oneShot(dir, commits[2]!, commits[3]!));
    assert.equal(repo.stats().diffTreeSpawns, 2);
  } finally {
    await repo.close();
  }
  assert.throws(() => findDiffTreePid(dir), /no diff-tree/, 'close() ends the process');
});

/** pid of the `git diff-tree --stdin` child of this process working in `dir`. */
function findDiffTreePid(dir: string): number {
  const ps = spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)]).stdout.toString();
  const line = ps.split('\n').find((l) => l.includes('diff-tree --stdin'));
  if (line === undefined) throw new Error(`no diff-tree --stdin child (${dir})`);
  return Number(line.trim().split(/\s+/)[0]);
}
