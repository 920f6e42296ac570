// The long-lived cat-file processes: pipelining, restart after death, close, and the spawn counter.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { GitError, GitRepo } from '../indexer/git/index.ts';
import { cleanupAll, makeRepo, type TestRepo } from './helpers/gitrepo.ts';

after(cleanupAll);

let r: TestRepo;
let small: Array<{ sha: string; text: string }>;
let big: Array<{ sha: string; data: Buffer }>;

before(async () => {
  r = await makeRepo();
  const files: Record<string, string | Buffer> = {};
  for (let i = 0; i < 2000; i++) files[`small/f${i}.txt`] = `file ${i}\n${'x'.repeat(i % 97)}\n`;
  for (let i = 0; i < 100; i++) files[`big/b${i}.bin`] = Buffer.alloc(256 * 1024, i);
  await r.writeFiles(files);
  await r.commit('many files');
  const repo = await GitRepo.open(r.dir);
  const entries = await repo.lsTree('HEAD');
  await repo.close();
  const sha = new Map(entries.map((e) => [e.path, e.sha]));
  small = Array.from({ length: 2000 }, (_, i) => ({ sha: sha.get(`small/f${i}.txt`)!, text: files[`small/f${i}.txt`] as string }));
  big = Array.from({ length: 100 }, (_, i) => ({ sha: sha.get(`big/b${i}.bin`)!, data: files[`big/b${i}.bin`] as Buffer }));
});

test('2,000 pipelined readBlob calls share one cat-file process', async () => {
  const repo = await GitRepo.open(r.dir);
  try {
    const datas = await Promise.all(small.map((s) => repo.readBlob(s.sha)));
    datas.forEach((d, i) => assert.equal(d.toString(), small[i]!.text));
    const results: string[] = [];
    for await (const res of repo.readBlobs(small.map((s) => s.sha), { window: 64 })) {
      assert.equal(res.error, null);
      results.push(res.data!.toString());
    }
    assert.deepEqual(results, small.map((s) => s.text));
    assert.equal(repo.stats().catFileSpawns, 1);
  } finally {
    await repo.close();
  }
});

test('readBlobs yields errors in place and keeps going', async () => {
  const repo = await GitRepo.open(r.dir);
  try {
    const tree = await repo.resolveCommit('HEAD').then(async (c) => (await repo.commitInfo([c]))[0]!.tree);
    const shas = [small[0]!.sha, '0'.repeat(40), tree, 'not-a-sha', small[1]!.sha];
    const got: Array<[string, string | null]> = [];
    for await (const res of repo.readBlobs(shas)) got.push([res.sha, res.error !== null ? res.error.code : res.data.toString()]);
    assert.deepEqual(got, [
      [small[0]!.sha, small[0]!.text],
      ['0'.repeat(40), 'OBJECT_MISSING'],
      [tree, 'WRONG_OBJECT_TYPE'],
      ['not-a-sha', 'OBJECT_MISSING'],
      [small[1]!.sha, small[1]!.text],
    ]);
    assert.equal(repo.stats().catFileSpawns, 1, 'a missing object does not cost a process');
  } finally {
    await repo.close();
  }
});

test('cat-file killed before answering: pending reads are re-sent to a new process', async () => {
  const repo = await GitRepo.open(r.dir);
  try {
    const reads = small.slice(0, 500).map((s) => repo.readBlob(s.sha));
    const pid = repo.stats().catFilePid;
    assert.ok(pid !== null);
    process.kill(pid, 'SIGKILL');
    const datas = await Promise.all(reads);
    datas.forEach((d, i) => assert.equal(d.toString(), small[i]!.text));
    assert.equal(repo.stats().catFileSpawns, 2);
    assert.notEqual(repo.stats().catFilePid, pid);
  } finally {
    await repo.close();
  }
});

test('cat-file killed mid-stream (after the first of 25 MB of answers): every read still succeeds', async () => {
  const repo = await GitRepo.open(r.dir);
  try {
    let i = 0;
    for await (const res of repo.readBlobs(big.map((b) => b.sha), { window: big.length })) {
      if (i === 0) process.kill(repo.stats().catFilePid!, 'SIGKILL');
      assert.equal(res.error, null);
      assert.ok(res.data.equals(big[i]!.data), `blob ${i}`);
      i++;
    }
    assert.equal(i, big.length);
    assert.equal(repo.stats().catFileSpawns, 2);
  } finally {
    await repo.close();
  }
});

test('readObjectHeader uses a second long-lived --batch-check process', async () => {
  const repo = await GitRepo.open(r.dir);
  try {
    const headers = await Promise.all(big.slice(0, 10).map((b) => repo.readObjectHeader(b.sha)));
    assert.deepEqual(headers[3], { sha: big[3]!.sha, type: 'blob', size: 256 * 1024 });
    assert.equal(await repo.readObjectHeader('0'.repeat(40)), null);
    assert.deepEqual(repo.stats(), { ...repo.stats(), catFileSpawns: 0, catFileCheckSpawns: 1 });
  } finally {
    await repo.close();
  }
});

test('close: pending reads finish, later calls reject with CLOSED', async () => {
  const repo = await GitRepo.open(r.dir);
  const pending = small.slice(0, 50).map((s) => repo.readBlob(s.sha));
  await repo.close();
  assert.equal((await Promise.all(pending)).length, 50);
  assert.equal(repo.stats().catFilePid, null);
  for (const p of [repo.readBlob(small[0]!.sha), repo.lsTree('HEAD'), repo.commitInfo([]), repo.readObjectHeader(small[0]!.sha)]) {
    await assert.rejects(p, (e: unknown) => e instanceof GitError && e.code === 'CLOSED' && /GitRepo\.open/.test(e.message));
  }
  await repo.close(); // idempotent
});

test('a forgotten close() does not keep the process alive', async () => {
  const script = `
    import { GitRepo } from './indexer/git/index.ts';
    const repo = await GitRepo.open(${JSON.stringify(r.dir)});
    const b = await repo.readBlob(${JSON.stringify(small[0]!.sha)});
    await repo.readObjectHeader(${JSON.stringify(small[0]!.sha)});
    console.log(b.toString().split('\\n')[0]);
  `;
  const out = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd(), timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`child failed or hung: ${err.message} ${stderr}`));
      else resolve(stdout);
    });
  });
  assert.equal(out.trim(), 'file 0');
});

test('the long-lived reader caps git\'s delta base cache, and reads every version of a delta-packed file', async () => {
  // 60 versions of one 200 KB file, packed as deltas of each other: git resolves each read through
  // its delta base cache, which the daemon's reader would otherwise keep at up to 96 MB (#9).
  const d = await makeRepo();
  const versions: Array<{ sha: string; text: string }> = [];
  let text = Array.from({ length: 4000 }, (_, i) => `line ${i} ${'y'.repeat(40)}`).join('\n');
  for (let v = 0; v < 60; v++) {
    text = text.replace(`line ${v * 50} `, `line ${v * 50} changed in v${v} `);
    await d.write('big.txt', text);
    await d.commit(`v${v}`);
    versions.push({ sha: (await d.git(['rev-parse', 'HEAD:big.txt'])).trim(), text });
  }
  await d.git(['gc', '-q', '--aggressive']);
  const repo = await GitRepo.open(d.dir);
  try {
    const datas = await Promise.all(versions.map((v) => repo.readBlob(v.sha)));
    datas.forEach((b, i) => assert.equal(b.toString(), versions[i]!.text));
    const pid = repo.stats().catFilePid;
    assert.ok(pid !== null);
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    assert.ok(args.includes('core.deltaBaseCacheLimit=16m'), args.join(' '));
  } finally {
    await repo.close();
  }
});
