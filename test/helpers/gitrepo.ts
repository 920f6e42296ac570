// Throwaway real git repositories for tests. Every command runs with a clean environment (no GIT_*
// from a surrounding hook, no system or global config, so no gpg signing or hooks from the machine)
// and fixed author/committer identity and dates, so the same script gives the same commit ids on
// every machine.
//
//   const r = await makeRepo();                  // non-bare, branch `main`, in a fresh temp dir
//   after(() => r.cleanup());
//   await r.write('src/a.ts', 'export const a = 1;\n');
//   const c1 = await r.commit('add a');          // stages everything (`git add -A`), returns the id
//   await r.rename('src/a.ts', 'src/b.ts');
//   const c2 = await r.commit('rename');
//   await r.tag('v1', c1, { message: 'release' });  // annotated; omit options for a lightweight tag
//   await r.setRef('refs/heads/main', c1);         // force-move a ref (like a force-push)
//   const bare = await r.clone({ bare: true });    // clones are TestRepos too (also cleaned up)
//
// Paths may be strings or Buffers (Buffers allow non-UTF-8 names).

import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile, symlink as fsSymlink, realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { gitEnv } from '../../indexer/git/exec.ts';

/** Commit dates start here and advance 60 s per commit. */
export const BASE_EPOCH = 1_577_836_800; // 2020-01-01T00:00:00Z

export const TEST_AUTHOR = { name: 'Test Author', email: 'author@example.com' } as const;
export const TEST_COMMITTER = { name: 'Test Committer', email: 'committer@example.com' } as const;

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...gitEnv(),
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_AUTHOR_NAME: TEST_AUTHOR.name,
    GIT_AUTHOR_EMAIL: TEST_AUTHOR.email,
    GIT_COMMITTER_NAME: TEST_COMMITTER.name,
    GIT_COMMITTER_EMAIL: TEST_COMMITTER.email,
    ...extra,
  };
}

export interface GitOptions {
  /** Bytes for stdin. */
  input?: string | Buffer;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Directory to run in. @default the repository directory */
  cwd?: string;
}

/** Runs git with the clean test environment; resolves stdout as a Buffer, rejects with stderr. */
export function gitRaw(args: readonly string[], options: GitOptions & { cwd: string }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile('git', args, { cwd: options.cwd, env: cleanEnv(options.env), encoding: 'buffer', maxBuffer: 1 << 30 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`git ${args.join(' ')} failed in ${options.cwd}: ${stderr.toString('utf8')}`, { cause: err }));
      else resolve(stdout);
    });
    // git often exits without reading stdin; the EPIPE that follows is not an error.
    child.stdin?.on('error', () => {});
    child.stdin?.end(options.input ?? '');
  });
}

const tempDirs = new Set<string>();

/** A fresh, empty temp directory (symlinks resolved), removed by `cleanupAll()`. */
export async function makeTempDir(prefix = 'codegraph-test-'): Promise<string> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), prefix)));
  tempDirs.add(dir);
  return dir;
}

/** Removes every temp directory made by this module (for `after()` hooks). */
export async function cleanupAll(): Promise<void> {
  await Promise.all([...tempDirs].map((d) => rm(d, { recursive: true, force: true })));
  tempDirs.clear();
}

export interface MakeRepoOptions {
  /** @default false */
  bare?: boolean;
  /** Initial branch name. @default 'main' */
  branch?: string;
}

export interface CommitOptions {
  /** Commit even when nothing changed. @default false */
  allowEmpty?: boolean;
  /** Unix seconds for both author and committer date. @default the next tick of the repo's clock */
  date?: number;
  /** Stage everything with `git add -A` first. @default true */
  addAll?: boolean;
}

export interface MktreeEntry {
  mode: string;
  type: 'blob' | 'tree' | 'commit';
  sha: string;
  /** One path component; git mktree does not check it, so `..` and `.git` are accepted. */
  name: string | Buffer;
}

export class TestRepo {
  /** Work tree (or git directory, when bare). */
  readonly dir: string;
  readonly bare: boolean;
  private tick = 0;

  constructor(dir: string, bare: boolean) {
    this.dir = dir;
    this.bare = bare;
  }

  /** Runs git in the repo; resolves trimmed stdout (trailing newline removed). */
  async git(args: readonly string[], options: GitOptions = {}): Promise<string> {
    return (await this.gitBuffer(args, options)).toString('utf8').replace(/\n$/, '');
  }

  gitBuffer(args: readonly string[], options: GitOptions = {}): Promise<Buffer> {
    return gitRaw(args, { ...options, cwd: options.cwd ?? this.dir });
  }

  private abs(path: string | Buffer): string | Buffer {
    return typeof path === 'string' ? join(this.dir, path) : Buffer.concat([Buffer.from(this.dir + '/'), path]);
  }

  /** Writes a file in the work tree, creating parent directories. */
  async write(path: string | Buffer, content: string | Buffer): Promise<void> {
    const p = this.abs(path);
    await mkdir(typeof p === 'string' ? dirname(p) : p.subarray(0, p.lastIndexOf(0x2f)), { recursive: true });
    await writeFile(p, content);
  }

  /** Writes several files: `{ 'a.ts': '...', 'b/c.py': '...' }`. */
  async writeFiles(files: Record<string, string | Buffer>): Promise<void> {
    for (const [p, c] of Object.entries(files)) await this.write(p, c);
  }

  /** Deletes a file from the work tree and the index. */
  async remove(path: string): Promise<void> {
    await this.git(['rm', '-q', '--', path]);
  }

  /** `git mv`. */
  async rename(from: string, to: string): Promise<void> {
    await mkdir(dirname(join(this.dir, to)), { recursive: true });
    await this.git(['mv', '--', from, to]);
  }

  /** Creates a symlink `path` -> `target` in the work tree. */
  async symlink(target: string, path: string): Promise<void> {
    await mkdir(dirname(join(this.dir, path)), { recursive: true });
    await fsSymlink(target, join(this.dir, path));
  }

  private nextDate(date?: number): Record<string, string> {
    const t = date ?? BASE_EPOCH + 60 * this.tick++;
    const d = `@${t} +0000`;
    return { GIT_AUTHOR_DATE: d, GIT_COMMITTER_DATE: d };
  }

  /** Stages everything and commits on the current branch; returns the new commit id. */
  async commit(message: string, options: CommitOptions = {}): Promise<string> {
    if (options.addAll !== false) await this.git(['add', '-A']);
    const args = ['commit', '-q', '--no-verify', '-m', message];
    if (options.allowEmpty) args.push('--allow-empty');
    await this.git(args, { env: this.nextDate(options.date) });
    return this.git(['rev-parse', 'HEAD']);
  }

  /** Writes a blob object (no work-tree file); returns its id. */
  async hashBlob(content: string | Buffer): Promise<string> {
    return this.git(['hash-object', '-w', '--stdin'], { input: content });
  }

  /** Writes a tree object from raw entries with `git mktree -z` (can craft trees git would never
   * make from a work tree, e.g. an entry named `..`); returns its id. */
  async mktree(entries: readonly MktreeEntry[]): Promise<string> {
    const input = Buffer.concat(entries.map((e) => Buffer.concat([
      Buffer.from(`${e.mode} ${e.type} ${e.sha}\t`),
      typeof e.name === 'string' ? Buffer.from(e.name) : e.name,
      Buffer.from([0]),
    ])));
    return this.git(['mktree', '-z', '--missing'], { input });
  }

  /** Writes a commit object for `tree` with the given parents (refs are not moved); returns its id. */
  async commitTree(tree: string, parents: readonly string[], message: string, date?: number): Promise<string> {
    const args = ['commit-tree', tree, ...parents.flatMap((p) => ['-p', p]), '-m', message];
    return this.git(args, { env: this.nextDate(date) });
  }

  /** Stages a gitlink (submodule entry) at `path` pointing at commit `sha`; commit it with
   * `commit(msg, { addAll: false })` or after other changes. */
  async addGitlink(path: string, sha: string): Promise<void> {
    await this.git(['update-index', '--add', '--cacheinfo', `160000,${sha},${path}`]);
  }

  /** Creates (or with force, moves) a branch at `at`. */
  async branch(name: string, at = 'HEAD', options: { force?: boolean } = {}): Promise<void> {
    await this.git(['branch', ...(options.force ? ['-f'] : []), '--', name, at]);
  }

  /** Switches the work tree to a branch or commit (`force` discards local changes, e.g. after
   * `setRef` moved the checked-out branch). */
  async checkout(rev: string, options: { force?: boolean } = {}): Promise<void> {
    await this.git(['checkout', '-q', ...(options.force ? ['-f'] : []), rev, '--']);
  }

  /** Lightweight tag, or annotated when `options.message` is given. */
  async tag(name: string, at = 'HEAD', options: { message?: string; force?: boolean } = {}): Promise<void> {
    const args = ['tag', ...(options.force ? ['-f'] : [])];
    if (options.message !== undefined) args.push('-a', '-m', options.message);
    await this.git([...args, name, at], { env: this.nextDate() });
  }

  /** Force-moves any ref to `sha` (what a force-push does to the remote's ref). */
  async setRef(ref: string, sha: string): Promise<void> {
    await this.git(['update-ref', ref, sha]);
  }

  /** Deletes a ref. */
  async deleteRef(ref: string): Promise<void> {
    await this.git(['update-ref', '-d', ref]);
  }

  /** Clones this repository into a new temp dir over `file://` (so `depth` is honoured). */
  async clone(options: { bare?: boolean; mirror?: boolean; depth?: number } = {}): Promise<TestRepo> {
    const parent = await makeTempDir('codegraph-clone-');
    const dest = join(parent, options.bare || options.mirror ? 'clone.git' : 'clone');
    const args = ['clone', '-q'];
    if (options.mirror) args.push('--mirror');
    else if (options.bare) args.push('--bare');
    if (options.depth !== undefined) args.push(`--depth=${options.depth}`);
    await gitRaw([...args, `file://${this.dir}`, dest], { cwd: parent });
    return new TestRepo(dest, Boolean(options.bare || options.mirror));
  }

  /** Adds a linked worktree on a new branch; returns it as a TestRepo. */
  async addWorktree(branch: string, at = 'HEAD'): Promise<TestRepo> {
    const parent = await makeTempDir('codegraph-wt-');
    const dest = join(parent, 'wt');
    await this.git(['worktree', 'add', '-q', '-b', branch, dest, at]);
    const wt = new TestRepo(dest, false);
    wt.tick = this.tick + 1000;
    return wt;
  }

  /** Removes the repository's temp directory. */
  async cleanup(): Promise<void> {
    await rm(dirname(this.dir), { recursive: true, force: true });
    tempDirs.delete(dirname(this.dir));
  }
}

/** Creates an empty repository (no commits) in a fresh temp dir. */
export async function makeRepo(options: MakeRepoOptions = {}): Promise<TestRepo> {
  const parent = await makeTempDir('codegraph-repo-');
  const dir = join(parent, options.bare ? 'repo.git' : 'repo');
  await gitRaw(['init', '-q', ...(options.bare ? ['--bare'] : []), '-b', options.branch ?? 'main', dir], { cwd: parent });
  return new TestRepo(dir, Boolean(options.bare));
}
