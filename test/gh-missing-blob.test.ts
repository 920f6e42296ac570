// Regression (user trial on a TanStack/query clone whose largest blobs were absent): `git ls-tree -l`
// prints the size `BAD` for a blob the repository does not have, and the whole `codegraph index`
// failed with `unexpected ls-tree header`. A missing blob is now that file's `read_error`; the other
// files are indexed.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { parseLsTree } from '../indexer/git/tree.ts';
import { GitRepo } from '../indexer/git/index.ts';
import { Indexer } from '../indexer/index.ts';
import { cleanupAll, gitRaw, makeRepo } from './helpers/gitrepo.ts';

after(cleanupAll);

test('a blob missing from the repository is skipped as read_error and the run completes', async () => {
  const r = await makeRepo();
  await r.writeFiles({ 'src/ok.ts': 'export function ok(): number {\n  return 1;\n}\n', 'src/gone.ts': 'export function gone(): number {\n  return 2;\n}\n' });
  const sha = await r.commit('two files');
  const gone = String(await gitRaw(['rev-parse', `${sha}:src/gone.ts`], { cwd: r.dir })).trim();
  await rm(path.join(r.dir, '.git', 'objects', gone.slice(0, 2), gone.slice(2)));
  assert.match(String(await gitRaw(['ls-tree', '-r', '-l', sha], { cwd: r.dir })), /BAD\tsrc\/gone\.ts/);

  const repo = await GitRepo.open(r.dir);
  const indexer = new Indexer({ threads: 1 });
  try {
    const tree = await repo.lsTree(sha);
    assert.deepEqual(tree.map((e) => [e.path, e.size]), [['src/gone.ts', null], ['src/ok.ts', 45]]);
    const outcomes = await indexer.extractFiles(repo, tree);
    const by = new Map(outcomes.map((o) => [o.path, o]));
    assert.equal(by.get('src/ok.ts')?.status, 'parsed');
    const skipped = by.get('src/gone.ts');
    assert.equal(skipped?.status, 'skipped');
    assert.equal(skipped?.status === 'skipped' && skipped.reason, 'read_error');
  } finally {
    await indexer.close();
    await repo.close();
  }
});

test('the ls-tree parser reads the BAD size as unknown', () => {
  const out = Buffer.from([`100644 blob ${'a'.repeat(40)}     BAD\tmedia/logo.sketch`, `100644 blob ${'b'.repeat(40)}      12\tsrc/a.ts`, ''].join('\u0000'));
  assert.deepEqual(parseLsTree(out).map((e) => [e.path, e.size]), [['media/logo.sketch', null], ['src/a.ts', 12]]);
});
