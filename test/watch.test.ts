// RefWatcher against real git repositories made in a temp dir.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { RefWatcher, watchStats, type RefChangeEvent } from '../daemon/watch.ts';

const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e', GIT_CONFIG_NOSYSTEM: '1', HOME: tmpdir() };
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env, encoding: 'utf8' }).trim();

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh temp directory, removed when the file's tests are done (each test closes its watcher). */
function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

function makeRepo(): string {
  const dir = tempDir('cg-watch-');
  git(dir, 'init', '-q', '-b', 'main');
  commit(dir, 'first');
  return dir;
}

let n = 0;
function commit(dir: string, msg: string): string {
  writeFileSync(path.join(dir, 'f.txt'), `${msg} ${n++}\n`);
  git(dir, 'add', 'f.txt');
  git(dir, 'commit', '-q', '-m', msg);
  return git(dir, 'rev-parse', 'HEAD');
}

function collect() {
  const events: RefChangeEvent[] = [];
  let waiter: (() => void) | null = null;
  return {
    events,
    onChange: (e: RefChangeEvent) => {
      events.push(e);
      waiter?.();
    },
    next(timeoutMs = 5_000): Promise<RefChangeEvent> {
      const have = events.length;
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no ref change event')), timeoutMs);
        waiter = () => {
          if (events.length > have) {
            clearTimeout(t);
            waiter = null;
            resolve(events[have]!);
          }
        };
      });
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('notices a commit through file-system events (polling off)', async () => {
  const dir = makeRepo();
  const before = git(dir, 'rev-parse', 'HEAD');
  const c = collect();
  const w = new RefWatcher({ repos: [{ name: 'r', path: dir }], onChange: c.onChange, pollIntervalMs: 0, debounceMs: 50 });
  await w.start();
  try {
    const next = c.next();
    const after = commit(dir, 'second');
    const e = await next;
    assert.equal(e.repo, 'r');
    assert.deepEqual(e.changes, [
      { ref: 'HEAD', oldSha: before, newSha: after },
      { ref: 'refs/heads/main', oldSha: before, newSha: after },
    ]);
  } finally {
    w.close();
  }
});

test('notices a new branch in a new directory under refs/ through file-system events', async () => {
  const dir = makeRepo();
  const c = collect();
  const w = new RefWatcher({ repos: [{ name: 'r', path: dir }], onChange: c.onChange, pollIntervalMs: 0, debounceMs: 50 });
  await w.start();
  try {
    let next = c.next();
    git(dir, 'branch', 'feature/a');
    let e = await next;
    assert.deepEqual(e.changes.map((x) => [x.ref, x.oldSha]), [['refs/heads/feature/a', null]]);
    // The watcher now also watches refs/heads/feature/.
    await sleep(100);
    next = c.next();
    git(dir, 'update-ref', 'refs/heads/feature/a', git(dir, 'rev-parse', 'HEAD'));
    commit(dir, 'x');
    git(dir, 'update-ref', 'refs/heads/feature/a', git(dir, 'rev-parse', 'HEAD'));
    e = await next;
    assert.ok(e.changes.some((x) => x.ref === 'refs/heads/feature/a' || x.ref === 'refs/heads/main'));
  } finally {
    w.close();
  }
});

test('notices a commit through polling (file-system events off), and says nothing when nothing moved', async () => {
  const dir = makeRepo();
  const before = git(dir, 'rev-parse', 'HEAD');
  const c = collect();
  const w = new RefWatcher({ repos: [{ name: 'r', path: dir }], onChange: c.onChange, pollIntervalMs: 150, fsEvents: false });
  await w.start();
  try {
    await sleep(500); // several polls over unchanged refs
    assert.equal(c.events.length, 0);
    const after = commit(dir, 'polled');
    // A poll may land mid-commit and see HEAD and the branch move in two checks; the branch's
    // change is reported exactly once either way.
    for (let i = 0; i < 50 && !c.events.some((e) => e.changes.some((x) => x.ref === 'refs/heads/main')); i++) await sleep(50);
    const mains = c.events.flatMap((e) => e.changes).filter((x) => x.ref === 'refs/heads/main');
    assert.deepEqual(mains, [{ ref: 'refs/heads/main', oldSha: before, newSha: after }]);
  } finally {
    w.close();
  }
});

test('an idle poll starts no git process (the ref storage fingerprint is unchanged); a commit is still seen', async () => {
  const dir = makeRepo();
  const c = collect();
  const w = new RefWatcher({ repos: [{ name: 'r', path: dir }], onChange: c.onChange, pollIntervalMs: 50, fsEvents: false, fullCheckMs: 60_000 });
  await w.start();
  try {
    const runs = watchStats.gitRuns;
    await sleep(600); // about 12 polls
    assert.equal(watchStats.gitRuns, runs, 'no git process for polls over unchanged refs');
    const next = c.next();
    const after = commit(dir, 'seen');
    assert.equal((await next).changes.find((x) => x.ref === 'refs/heads/main')?.newSha, after);
  } finally {
    w.close();
  }
});

test('a ref rewritten in place (no rename, directories untouched) is seen by the periodic full check', async () => {
  const dir = makeRepo();
  const first = git(dir, 'rev-parse', 'HEAD');
  const second = commit(dir, 'second');
  git(dir, 'update-ref', 'refs/heads/main', first);
  const c = collect();
  const w = new RefWatcher({ repos: [{ name: 'r', path: dir }], onChange: c.onChange, pollIntervalMs: 50, fsEvents: false, fullCheckMs: 300 });
  await w.start();
  try {
    await sleep(200);
    const next = c.next();
    // Same inode, same directory: only the file's content changes.
    writeFileSync(path.join(dir, '.git', 'refs', 'heads', 'main'), `${second}\n`, { flag: 'r+' });
    assert.deepEqual((await next).changes.find((x) => x.ref === 'refs/heads/main'), { ref: 'refs/heads/main', oldSha: first, newSha: second });
  } finally {
    w.close();
  }
});

test('rapid moves coalesce into one change from the first old sha to the last new sha', async () => {
  const dir = makeRepo();
  const before = git(dir, 'rev-parse', 'HEAD');
  const c = collect();
  const w = new RefWatcher({ repos: [{ name: 'r', path: dir }], onChange: c.onChange, pollIntervalMs: 0, debounceMs: 400, maxWaitMs: 5_000 });
  await w.start();
  try {
    commit(dir, 'a');
    commit(dir, 'b');
    const last = commit(dir, 'c');
    await sleep(1_200);
    assert.equal(c.events.length, 1, JSON.stringify(c.events));
    assert.deepEqual(c.events[0]!.changes.find((x) => x.ref === 'refs/heads/main'), { ref: 'refs/heads/main', oldSha: before, newSha: last });
  } finally {
    w.close();
  }
});

test('packed refs and deletions are seen (bare repository, polling)', async () => {
  const src = makeRepo();
  const bare = tempDir('cg-bare-') + '/r.git';
  git(tmpdir(), 'clone', '-q', '--bare', src, bare);
  git(bare, 'branch', 'gone');
  const c = collect();
  const w = new RefWatcher({ repos: [{ name: 'bare', path: bare }], onChange: c.onChange, pollIntervalMs: 100, debounceMs: 50 });
  await w.start();
  try {
    const next = c.next();
    git(bare, 'pack-refs', '--all');
    git(bare, 'branch', '-D', 'gone');
    const e = await next;
    assert.deepEqual(e.changes.map((x) => [x.ref, x.newSha]), [['refs/heads/gone', null]]);
  } finally {
    w.close();
  }
});

test('fetchAndCheck fetches from the remote and reports the moved remote-tracking ref', async () => {
  const origin = makeRepo();
  const clone = tempDir('cg-clone-') + '/c';
  git(tmpdir(), 'clone', '-q', origin, clone);
  const c = collect();
  const w = new RefWatcher({ repos: [{ name: 'c', path: clone, remote: 'origin' }], onChange: c.onChange, pollIntervalMs: 0, fsEvents: false });
  await w.start();
  try {
    const pushed = commit(origin, 'upstream');
    await w.fetchAndCheck(['c']);
    assert.equal(c.events.length, 1);
    assert.deepEqual(c.events[0]!.changes.find((x) => x.ref === 'refs/remotes/origin/main')?.newSha, pushed);
  } finally {
    w.close();
  }
});

test('a worktree: HEAD lives in its own git dir, refs in the common dir', async () => {
  const main = makeRepo();
  const wt = tempDir('cg-wt-') + '/w';
  git(main, 'worktree', 'add', '-q', '-b', 'side', wt);
  const c = collect();
  const w = new RefWatcher({ repos: [{ name: 'w', path: wt }], onChange: c.onChange, pollIntervalMs: 0, debounceMs: 50 });
  await w.start();
  try {
    const next = c.next();
    const sha = commit(wt, 'in worktree');
    const e = await next;
    assert.ok(e.changes.some((x) => x.ref === 'refs/heads/side' && x.newSha === sha), JSON.stringify(e));
  } finally {
    w.close();
  }
});
