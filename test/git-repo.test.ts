// GitRepo against real repositories made by test/helpers/gitrepo.ts.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GitError, GitRepo } from '../indexer/git/index.ts';
import { cleanupAll, makeRepo, makeTempDir, TEST_AUTHOR, TEST_COMMITTER } from './helpers/gitrepo.ts';

after(cleanupAll);

async function rejectsCode(p: Promise<unknown>, code: string, message?: RegExp): Promise<GitError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof GitError, `expected GitError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected GitError ${code}`);
}

test('open: normal repo exposes path, gitDir, commonDir', async () => {
  const r = await makeRepo();
  await r.write('a.txt', 'a\n');
  await r.commit('c1');
  const repo = await GitRepo.open(r.dir);
  try {
    assert.equal(repo.path, r.dir);
    assert.equal(repo.gitDir, join(r.dir, '.git'));
    assert.equal(repo.commonDir, join(r.dir, '.git'));
    assert.equal(repo.isBare, false);
    assert.equal(await repo.isShallow(), false);
    assert.equal(repo.objectFormat, 'sha1');
  } finally {
    await repo.close();
  }
});

test('open: non-repo dir, missing dir, a file and a subdirectory give NOT_A_REPOSITORY', async () => {
  const dir = await makeTempDir();
  await rejectsCode(GitRepo.open(dir), 'NOT_A_REPOSITORY', /not a git repository/);
  await rejectsCode(GitRepo.open(join(dir, 'nope')), 'NOT_A_REPOSITORY', /does not exist/);
  await writeFile(join(dir, 'f'), 'x');
  await rejectsCode(GitRepo.open(join(dir, 'f')), 'NOT_A_REPOSITORY', /is a file/);
  const r = await makeRepo();
  await r.write('sub/a.txt', 'a');
  await r.commit('c');
  const e = await rejectsCode(GitRepo.open(join(r.dir, 'sub')), 'NOT_A_REPOSITORY', /not its top-level directory/);
  assert.equal(e.data.repository, r.dir);
  // errors survive a structured clone / JSON boundary
  const back = GitError.fromJSON(JSON.parse(JSON.stringify(e)));
  assert.equal(back.code, 'NOT_A_REPOSITORY');
  assert.equal(back.message, e.message);
});

test('empty repository: head has no sha, lsTree/resolve fail cleanly, refs empty', async () => {
  const r = await makeRepo();
  const repo = await GitRepo.open(r.dir);
  try {
    assert.deepEqual(await repo.head(), { ref: 'refs/heads/main', sha: null });
    assert.equal(await repo.tryResolveCommit('HEAD'), null);
    await rejectsCode(repo.resolveCommit('HEAD'), 'UNKNOWN_REVISION', /does not name a commit/);
    await rejectsCode(repo.lsTree('HEAD'), 'UNKNOWN_REVISION');
    assert.deepEqual(await repo.forEachRef(), []);
    assert.deepEqual(await repo.revList({ tips: [] }), []);
  } finally {
    await repo.close();
  }
});

test('resolveCommit: full sha, tags peeled, unknown and dash revisions rejected', async () => {
  const r = await makeRepo();
  await r.write('a', '1');
  const c1 = await r.commit('c1');
  await r.tag('v1', c1, { message: 'annotated' });
  const repo = await GitRepo.open(r.dir);
  try {
    assert.equal(await repo.resolveCommit('HEAD'), c1);
    assert.equal(await repo.resolveCommit(c1.slice(0, 10)), c1);
    assert.equal(await repo.resolveCommit('v1'), c1);
    assert.equal(await repo.resolveCommit('refs/heads/main'), c1);
    await rejectsCode(repo.resolveCommit('nope'), 'UNKNOWN_REVISION');
    await rejectsCode(repo.resolveCommit('--all'), 'UNKNOWN_REVISION', /must not start with "-"/);
    await rejectsCode(repo.resolveCommit('--output=/tmp/x'), 'UNKNOWN_REVISION');
    await rejectsCode(repo.resolveCommit('HEAD^{tree}'), 'UNKNOWN_REVISION');
    await rejectsCode(repo.lsTree('-r'), 'UNKNOWN_REVISION');
    await rejectsCode(repo.diffTree(null, 'nope'), 'UNKNOWN_REVISION');
  } finally {
    await repo.close();
  }
});

test('lsTree: odd paths, binary, symlink, submodule, sizes', async () => {
  const r = await makeRepo();
  const odd = ['with space.ts', 'new\nline.ts', 'tab\there.ts', 'quo"te\'s.ts', 'ünïcödé/日本.ts', '-leading-dash.ts', 'back\\slash.ts'];
  for (const p of odd) await r.write(p, `// ${p}\n`);
  const badName = Buffer.concat([Buffer.from('bad-'), Buffer.from([0xff, 0xfe]), Buffer.from('.ts')]);
  await r.write(badName, 'bad\n');
  const bin = Buffer.from([0, 1, 2, 255, 0, 10, 13]);
  await r.write('bin.dat', bin);
  await r.symlink('with space.ts', 'link.ts');
  const sub = await r.commit('files');
  await r.addGitlink('vendor/sub', sub);
  const c = await r.commit('gitlink', { addAll: false });

  const repo = await GitRepo.open(r.dir);
  try {
    const entries = await repo.lsTree(c);
    const byPath = new Map(entries.map((e) => [e.path, e]));
    for (const p of odd.filter((x) => !x.includes('\\'))) {
      const e = byPath.get(p);
      assert.ok(e, `entry for ${JSON.stringify(p)}`);
      assert.equal(e.type, 'blob');
      assert.equal(e.size, Buffer.byteLength(`// ${p}\n`));
      assert.equal(e.rawPath, undefined);
      assert.equal(e.skip, undefined);
      assert.equal((await repo.readBlob(e.sha)).toString(), `// ${p}\n`);
    }
    const back = byPath.get('back\\x5cslash.ts');
    assert.ok(back);
    assert.deepEqual(back.rawPath, Buffer.from('back\\slash.ts'));
    const bad = byPath.get('bad-\\xff\\xfe.ts');
    assert.ok(bad, [...byPath.keys()].join(' | '));
    assert.deepEqual(bad.rawPath, badName);
    const binEntry = byPath.get('bin.dat')!;
    assert.deepEqual(await repo.readBlob(binEntry.sha), bin);
    assert.equal(binEntry.size, bin.length);
    assert.deepEqual({ ...byPath.get('link.ts'), sha: '' }, { path: 'link.ts', mode: '120000', type: 'blob', sha: '', size: 'with space.ts'.length, skip: 'symlink' });
    assert.deepEqual(byPath.get('vendor/sub'), { path: 'vendor/sub', mode: '160000', type: 'commit', sha: sub, size: null, skip: 'submodule' });
    assert.equal(entries.length, odd.length + 4);
  } finally {
    await repo.close();
  }
});

test('lsTree/diffTree: crafted `..`, `.`, `.git` entries are marked unsafe_path', async () => {
  const r = await makeRepo();
  const blob = await r.hashBlob('evil\n');
  const names = ['..', '.', '.git', '.GIT', '.Git. '];
  const inner = await r.mktree([{ mode: '100644', type: 'blob', sha: blob, name: 'hooks-post-checkout' }]);
  const root = await r.mktree([
    ...names.map((name) => ({ mode: '040000', type: 'tree' as const, sha: inner, name })),
    { mode: '100644', type: 'blob', sha: blob, name: 'ok.txt' },
    { mode: '100644', type: 'blob', sha: blob, name: '..' + 'x' },
  ]);
  // also an unsafe *file* name directly at the root
  const root2 = await r.mktree([{ mode: '040000', type: 'tree', sha: root, name: 'd' }, { mode: '100644', type: 'blob', sha: blob, name: '..' }]);
  const c = await r.commitTree(root2, [], 'crafted');
  const repo = await GitRepo.open(r.dir);
  try {
    const entries = await repo.lsTree(c);
    const unsafe = entries.filter((e) => e.skip === 'unsafe_path').map((e) => e.path).sort();
    assert.deepEqual(unsafe, ['..', ...names.map((n) => `d/${n}/hooks-post-checkout`)].sort());
    assert.deepEqual(entries.filter((e) => e.skip === undefined).map((e) => e.path).sort(), ['d/..x', 'd/ok.txt']);
    const changes = await repo.diffTree(null, c);
    assert.equal(changes.filter((ch) => ch.skip === 'unsafe_path').length, unsafe.length);
  } finally {
    await repo.close();
  }
});

test('diffTree: add, modify, delete, rename with similarity, type change, non-adjacent commits', async () => {
  const r = await makeRepo();
  const body = Array.from({ length: 40 }, (_, i) => `export const v${i} = ${i};`).join('\n') + '\n';
  await r.writeFiles({ 'src/a.ts': body, 'src/b.ts': 'b\n', 'src/c.ts': 'c\n', 'odd name\n.ts': 'odd\n' });
  const c1 = await r.commit('c1');
  await r.rename('src/a.ts', 'lib/renamed.ts');
  await r.write('lib/renamed.ts', body + 'export const extra = 1;\n');
  await r.remove('src/b.ts');
  await r.write('src/c.ts', 'c changed\n');
  await r.write('src/new.ts', 'new\n');
  await r.rename('odd name\n.ts', 'odd\tname 2.ts');
  const c2 = await r.commit('c2');
  await r.remove('src/c.ts');
  await r.symlink('lib/renamed.ts', 'src/c.ts');
  const c3 = await r.commit('c3');

  const repo = await GitRepo.open(r.dir);
  try {
    const root = await repo.diffTree(null, c1);
    assert.deepEqual(root.map((ch) => [ch.status, ch.oldPath, ch.newPath, ch.oldSha, ch.oldMode]).sort(),
      [['A', null, 'odd name\n.ts', null, null], ['A', null, 'src/a.ts', null, null], ['A', null, 'src/b.ts', null, null], ['A', null, 'src/c.ts', null, null]]);

    const d12 = await repo.diffTree(c1, c2);
    const by = (s: string) => d12.filter((ch) => ch.status === s);
    const [ren, ren2] = by('R').sort((a, b) => a.newPath!.localeCompare(b.newPath!));
    assert.ok(ren && ren2);
    assert.equal(ren.oldPath, 'src/a.ts');
    assert.equal(ren.newPath, 'lib/renamed.ts');
    assert.ok(ren.similarity !== null && ren.similarity >= 90 && ren.similarity < 100, String(ren.similarity));
    assert.equal(ren2.oldPath, 'odd name\n.ts');
    assert.equal(ren2.newPath, 'odd\tname 2.ts');
    assert.equal(ren2.similarity, 100);
    assert.equal(ren2.oldSha, ren2.newSha);
    const [del] = by('D');
    assert.deepEqual(del && { ...del, oldSha: typeof del.oldSha }, { status: 'D', oldPath: 'src/b.ts', newPath: null, oldSha: 'string', newSha: null, oldMode: '100644', newMode: null, similarity: null });
    assert.deepEqual(by('M').map((ch) => ch.newPath), ['src/c.ts']);
    assert.equal((await repo.readBlob(by('M')[0]!.newSha!)).toString(), 'c changed\n');
    assert.deepEqual(by('A').map((ch) => ch.newPath), ['src/new.ts']);

    const d23 = await repo.diffTree(c2, c3);
    assert.deepEqual(d23.map((ch) => [ch.status, ch.newPath, ch.oldMode, ch.newMode, ch.skip]), [['T', 'src/c.ts', '100644', '120000', 'symlink']]);

    // non-adjacent, both directions
    const d13 = await repo.diffTree(c1, c3);
    assert.deepEqual(d13.map((ch) => ch.status).sort(), ['A', 'D', 'R', 'R', 'T']);
    const d31 = await repo.diffTree(c3, c1);
    assert.deepEqual(d31.map((ch) => ch.status).sort(), ['A', 'D', 'R', 'R', 'T']);
    assert.ok(d31.some((ch) => ch.status === 'R' && ch.oldPath === 'lib/renamed.ts' && ch.newPath === 'src/a.ts'));
  } finally {
    await repo.close();
  }
});

test('revList, forEachRef, head: branches, tags (nested annotated), force-moved ref', async () => {
  const r = await makeRepo();
  const cs: string[] = [];
  for (let i = 0; i < 4; i++) {
    await r.write('f.txt', `v${i}\n`);
    cs.push(await r.commit(`c${i}`));
  }
  const [c0, c1, c2, c3] = cs as [string, string, string, string];
  await r.branch('feature', c1);
  await r.checkout('feature');
  await r.write('g.txt', 'g\n');
  const f1 = await r.commit('f1');
  await r.checkout('main');
  await r.git(['merge', '-q', '--no-ff', '-m', 'merge', 'feature'], { env: { GIT_AUTHOR_DATE: '@1600000000 +0000', GIT_COMMITTER_DATE: '@1600000000 +0000' } });
  const m = await r.git(['rev-parse', 'HEAD']);
  await r.tag('light', c0);
  await r.tag('v1', c2, { message: 'v1' });
  await r.git(['tag', '-a', '-m', 'nested', 'v1-nested', 'v1'], { env: { GIT_COMMITTER_DATE: '@1600000000 +0000' } });
  const treeTagTarget = await r.git(['rev-parse', 'HEAD^{tree}']);
  await r.tag('tree-tag', treeTagTarget);

  const repo = await GitRepo.open(r.dir);
  try {
    assert.deepEqual(await repo.revList({ tips: ['main'] }).then((l) => l.length), 6);
    assert.deepEqual(await repo.revList({ tips: ['main'], firstParent: true, reverse: true }), [c0, c1, c2, c3, m]);
    assert.deepEqual(await repo.revList({ tips: ['main'], exclude: ['feature'] }).then((l) => new Set(l)), new Set([m, c3, c2]));
    assert.deepEqual(await repo.revList({ tips: ['main'], maxCount: 2, firstParent: true }), [m, c3]);
    assert.deepEqual(await repo.revList({ tips: [f1, c3], exclude: [c1], topoOrder: true }).then((l) => new Set(l)), new Set([f1, c3, c2]));
    await rejectsCode(repo.revList({ tips: ['nope'] }), 'UNKNOWN_REVISION');
    await rejectsCode(repo.revList({ tips: ['--all'] }), 'UNKNOWN_REVISION');

    const refs = await repo.forEachRef();
    const byName = new Map(refs.map((x) => [x.name, x]));
    assert.deepEqual(byName.get('refs/heads/main'), { name: 'refs/heads/main', sha: m, peeledType: 'commit', objectSha: m, objectType: 'commit' });
    assert.equal(byName.get('refs/tags/light')?.sha, c0);
    assert.equal(byName.get('refs/tags/v1')?.sha, c2);
    assert.equal(byName.get('refs/tags/v1')?.objectType, 'tag');
    assert.notEqual(byName.get('refs/tags/v1')?.objectSha, c2);
    assert.equal(byName.get('refs/tags/v1-nested')?.sha, c2);
    assert.equal(byName.get('refs/tags/v1-nested')?.peeledType, 'commit');
    assert.equal(byName.get('refs/tags/tree-tag')?.peeledType, 'tree');
    assert.deepEqual((await repo.forEachRef(['refs/heads/'])).map((x) => x.name), ['refs/heads/feature', 'refs/heads/main']);

    assert.deepEqual(await repo.head(), { ref: 'refs/heads/main', sha: m });
    await r.setRef('refs/heads/main', c1); // force-move
    assert.equal(await repo.resolveCommit('main'), c1);
    assert.equal((await repo.forEachRef(['refs/heads/main']))[0]?.sha, c1);
    await r.checkout(c2, { force: true });
    assert.deepEqual(await repo.head(), { ref: null, sha: c2 });
  } finally {
    await repo.close();
  }
});

test('commitInfo: parents, tree, identities with ISO dates, multi-line headers', async () => {
  const r = await makeRepo();
  await r.write('a', '1');
  const c1 = await r.commit('first\n\nbody line');
  const tree = await r.git(['rev-parse', 'HEAD^{tree}']);
  // A commit with gpgsig and mergetag multi-line headers and a +05:30 offset, written raw.
  const raw = [
    `tree ${tree}`,
    `parent ${c1}`,
    'author Ä Name <a@x.org> 1600000000 +0530',
    'committer C <c@x.org> 1600000100 -0800',
    'mergetag object ' + c1,
    ' type commit',
    ' tag v0',
    ' ',
    ' committer lookalike <no@x> 1 +0000',
    'gpgsig -----BEGIN PGP SIGNATURE-----',
    ' ',
    ' iQEzBAABCAAdFiEE',
    ' -----END PGP SIGNATURE-----',
    '',
    'signed message',
    '',
  ].join('\n');
  const c2 = await r.git(['hash-object', '-t', 'commit', '-w', '--stdin', '--literally'], { input: raw });
  const repo = await GitRepo.open(r.dir);
  try {
    const [i1, i2] = await repo.commitInfo([c1, c2]);
    assert.deepEqual(i1, {
      sha: c1, parents: [], tree,
      author: { ...TEST_AUTHOR, date: '2020-01-01T00:00:00+00:00', timestamp: 1577836800 },
      committer: { ...TEST_COMMITTER, date: '2020-01-01T00:00:00+00:00', timestamp: 1577836800 },
      message: 'first\n\nbody line\n',
    });
    assert.deepEqual(i2, {
      sha: c2, parents: [c1], tree,
      author: { name: 'Ä Name', email: 'a@x.org', date: '2020-09-13T17:56:40+05:30', timestamp: 1600000000 },
      committer: { name: 'C', email: 'c@x.org', date: '2020-09-13T04:28:20-08:00', timestamp: 1600000100 },
      message: 'signed message\n',
    });
    await rejectsCode(repo.commitInfo([tree]), 'WRONG_OBJECT_TYPE');
    await rejectsCode(repo.commitInfo(['0'.repeat(40)]), 'OBJECT_MISSING');
  } finally {
    await repo.close();
  }
});

test('bare repository and mirror clone', async () => {
  const r = await makeRepo();
  await r.write('a.ts', 'a\n');
  const c1 = await r.commit('c1');
  const bare = await r.clone({ bare: true });
  const repo = await GitRepo.open(bare.dir);
  try {
    assert.equal(repo.isBare, true);
    assert.equal(repo.path, bare.dir);
    assert.equal(repo.gitDir, bare.dir);
    assert.equal(repo.commonDir, bare.dir);
    assert.equal(await repo.resolveCommit('main'), c1);
    assert.deepEqual((await repo.lsTree(c1)).map((e) => e.path), ['a.ts']);
    assert.deepEqual(await repo.head(), { ref: 'refs/heads/main', sha: c1 });
    // a plain --bare clone has no fetch refspec: fetch with an explicit one
    await r.write('b.ts', 'b\n');
    const c2 = await r.commit('c2');
    await repo.fetch('origin', { refspecs: ['+refs/heads/*:refs/heads/*'] });
    assert.equal(await repo.resolveCommit('main'), c2);
    // a mirror clone fetches every ref with its configured refspec, including force-moves
    const mirror = await GitRepo.open((await r.clone({ mirror: true })).dir);
    await r.setRef('refs/heads/main', c1);
    await r.branch('new-branch', c2);
    await mirror.fetch();
    assert.equal(await mirror.resolveCommit('main'), c1);
    assert.equal(await mirror.resolveCommit('new-branch'), c2);
    await mirror.close();
    await rejectsCode(repo.fetch('--upload-pack=touch /tmp/pwned'), 'UNKNOWN_REVISION');
    await rejectsCode(repo.fetch('no-such-remote'), 'GIT_FAILED');
  } finally {
    await repo.close();
  }
});

test('linked worktree: gitDir is per-worktree, commonDir is shared', async () => {
  const r = await makeRepo();
  await r.write('a.ts', 'a\n');
  const c1 = await r.commit('c1');
  const wt = await r.addWorktree('wt-branch');
  await wt.write('w.ts', 'w\n');
  const w1 = await wt.commit('in worktree');
  const repo = await GitRepo.open(wt.dir);
  try {
    assert.equal(repo.path, wt.dir);
    assert.equal(repo.gitDir, join(r.dir, '.git', 'worktrees', 'wt'));
    assert.equal(repo.commonDir, join(r.dir, '.git'));
    assert.equal(repo.isBare, false);
    assert.deepEqual(await repo.head(), { ref: 'refs/heads/wt-branch', sha: w1 });
    assert.equal(await repo.resolveCommit('main'), c1);
    assert.deepEqual(await repo.diffTree(c1, w1).then((l) => l.map((c) => c.newPath)), ['w.ts']);
  } finally {
    await repo.close();
  }
});

test('shallow clone: isShallow, history cut at the boundary', async () => {
  const r = await makeRepo();
  for (let i = 0; i < 3; i++) {
    await r.write('f', `${i}`);
    await r.commit(`c${i}`);
  }
  const shallow = await r.clone({ depth: 1 });
  const repo = await GitRepo.open(shallow.dir);
  try {
    assert.equal(await repo.isShallow(), true);
    const tip = await repo.resolveCommit('HEAD');
    assert.deepEqual(await repo.revList({ tips: ['HEAD'] }), [tip]);
    const [info] = await repo.commitInfo([tip]);
    assert.equal(info?.parents.length, 1, 'the raw commit still names its parent');
    assert.equal(await repo.tryResolveCommit(info!.parents[0]!), null, 'but the parent is not present');
    assert.equal((await repo.diffTree(null, tip)).length, 1);
  } finally {
    await repo.close();
  }
});

test('GIT_DIR in the daemon environment does not redirect commands', async () => {
  const a = await makeRepo();
  await a.write('a', 'a');
  const ca = await a.commit('a');
  const b = await makeRepo();
  await b.write('b', 'b');
  await b.commit('b', { date: 1_700_000_000 });
  const saved = process.env.GIT_DIR;
  process.env.GIT_DIR = join(b.dir, '.git');
  try {
    const repo = await GitRepo.open(a.dir);
    assert.equal(await repo.resolveCommit('HEAD'), ca);
    await repo.close();
  } finally {
    if (saved === undefined) delete process.env.GIT_DIR;
    else process.env.GIT_DIR = saved;
  }
});

test('diffTree: non-UTF-8 and leading-dash paths keep raw bytes on both sides of a rename', async () => {
  const r = await makeRepo();
  const bad = Buffer.concat([Buffer.from('-x'), Buffer.from([0xe9]), Buffer.from('.ts')]);
  await r.write(bad, 'same content for rename detection\n'.repeat(5));
  const c1 = await r.commit('c1');
  // rename on disk (a non-UTF-8 name cannot go through a JS string argv); add -A stages it
  await rename(Buffer.concat([Buffer.from(r.dir + '/'), bad]), join(r.dir, '-renamed.ts'));
  const c2 = await r.commit('c2');
  const repo = await GitRepo.open(r.dir);
  try {
    const [ch, ...rest] = await repo.diffTree(c1, c2);
    assert.equal(rest.length, 0);
    assert.equal(ch?.status, 'R');
    assert.equal(ch?.oldPath, '-x\\xe9.ts');
    assert.deepEqual(ch?.rawOldPath, bad);
    assert.equal(ch?.newPath, '-renamed.ts');
    assert.equal(ch?.rawNewPath, undefined);
    assert.equal(ch?.similarity, 100);
  } finally {
    await repo.close();
  }
});
