// GitRepo: read access to one repository through the git CLI. Short commands are one process each;
// object reads go through two long-lived `cat-file` processes (see cat-file.ts), never one per blob,
// and commit-to-commit diffs through one long-lived `diff-tree --stdin` (diff-tree.ts), never one
// per commit.

import { stat, realpath } from 'node:fs/promises';
import type { Buffer } from 'node:buffer';
import { CatFile } from './cat-file.ts';
import { parseCommit, type CommitInfo } from './commit.ts';
import { DiffTreeStream } from './diff-tree.ts';
import { GitError } from './errors.ts';
import { runGit, type RunOptions, type SpawnCounter } from './exec.ts';
import { parseDiffTree, parseLsTree, type FileChange, type TreeEntry } from './tree.ts';

/** Ids of the empty tree, which exists in every repository whether or not it is stored. */
const EMPTY_TREE: Record<string, string> = {
  sha1: '4b825dc642cb6eb9a060e54bf8d69288fbee4904',
  sha256: '6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321',
};

export interface RevListOptions {
  /** Commits to start from (refs, ids, any rev). */
  tips: string[];
  /** Commits whose ancestry is left out (`^rev`), e.g. tips already indexed. */
  exclude?: string[];
  /** Applied before `reverse`, as git does: `{maxCount: 10, reverse: true}` is the 10 newest, oldest first. */
  maxCount?: number;
  firstParent?: boolean;
  topoOrder?: boolean;
  reverse?: boolean;
}

export interface RefInfo {
  /** Full ref name, e.g. `refs/heads/main`, `refs/tags/v1.0`. */
  name: string;
  /** The object the ref finally points at: annotated tags are peeled (through nested tags). */
  sha: string;
  /** Type of `sha`; almost always 'commit', but a tag may point at a tree or blob. */
  peeledType: string;
  /** The object the ref points at directly (the tag object for annotated tags). */
  objectSha: string;
  /** Type of `objectSha`: 'commit', or 'tag' for annotated tags. */
  objectType: string;
}

export interface HeadInfo {
  /** The branch HEAD points at (`refs/heads/main`), null when detached. */
  ref: string | null;
  /** The commit, null in an empty repository or on an unborn branch. */
  sha: string | null;
}

export interface ObjectHeader {
  sha: string;
  type: string;
  size: number;
}

/** One result of `readBlobs`: exactly one of `data` and `error` is set, so one unreadable blob does
 * not end the iteration (the caller counts it as a `read_error` skip). */
export type BlobResult =
  | { sha: string; data: Buffer; error: null }
  | { sha: string; data: null; error: GitError };

export interface GitRepoStats {
  /** Short-lived git commands run. */
  commands: number;
  /** `cat-file --batch` processes spawned (1 unless one died and was restarted). */
  catFileSpawns: number;
  catFileCheckSpawns: number;
  /** `diff-tree --stdin` processes spawned (1 unless one died). */
  diffTreeSpawns: number;
  /** Diffs answered by the one-shot `git diff-tree` (a base, a non-commit, or a fallback). */
  diffTreeOneShot: number;
  /** pid of the running `cat-file --batch`, for fault-injection tests. */
  catFilePid: number | null;
}

const OID_RE = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

function checkRev(rev: string, what = 'revision'): void {
  if (rev === '' || rev.startsWith('-') || /[\0\n\r]/.test(rev)) {
    throw new GitError('UNKNOWN_REVISION', `${JSON.stringify(rev)} is not a valid ${what}: it must be non-empty, must not start with "-" and must not contain NUL or newlines.`, { rev });
  }
}

export class GitRepo {
  /** The work tree's top level, or the git directory for bare repositories. Commands run here. */
  readonly path: string;
  /** Absolute git directory (for a linked worktree: `<common>/worktrees/<name>`). */
  readonly gitDir: string;
  /** Absolute common directory: holds `refs/`, `packed-refs`, `objects/`. Watch this for ref changes. */
  readonly commonDir: string;
  readonly isBare: boolean;
  /** 'sha1' or 'sha256'. */
  readonly objectFormat: string;

  private readonly counter: SpawnCounter = { commands: 0, catFile: 0, catFileCheck: 0, diffTree: 0 };
  private oneShotDiffs = 0;
  private readonly batch: CatFile;
  private readonly check: CatFile;
  private readonly diffs: DiffTreeStream;
  private closed = false;

  private constructor(init: { path: string; gitDir: string; commonDir: string; isBare: boolean; objectFormat: string }) {
    this.path = init.path;
    this.gitDir = init.gitDir;
    this.commonDir = init.commonDir;
    this.isBare = init.isBare;
    this.objectFormat = init.objectFormat;
    this.batch = new CatFile(this.path, 'contents', this.counter);
    this.check = new CatFile(this.path, 'info', this.counter);
    this.diffs = new DiffTreeStream(this.path, this.counter);
  }

  /**
   * Opens the repository whose top-level directory (or git directory, for bare repositories) is
   * `path`. A subdirectory of a work tree is refused rather than silently widened to the enclosing
   * repository, so a misconfigured path cannot index the wrong project.
   */
  static async open(path: string): Promise<GitRepo> {
    let real: string;
    try {
      real = await realpath(path);
      if (!(await stat(real)).isDirectory()) {
        throw new GitError('NOT_A_REPOSITORY', `${path} is a file, not a git repository. Point CodeGraph at the repository's top-level directory or at a bare repository.`, { path });
      }
    } catch (e) {
      if (e instanceof GitError) throw e;
      throw new GitError('NOT_A_REPOSITORY', `${path} does not exist or cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)}). Check the configured repository path.`, { path }, { cause: e });
    }
    const { stdout } = await runGit(real, ['rev-parse', '--path-format=absolute', '--absolute-git-dir', '--git-common-dir', '--is-bare-repository', '--show-object-format']);
    const [gitDir, commonDir, bare, objectFormat] = stdout.toString('utf8').split('\n');
    if (gitDir === undefined || commonDir === undefined || objectFormat === undefined) {
      throw new GitError('GIT_FAILED', `git rev-parse gave unexpected output for ${path}; check the git installation (2.36 or newer is needed).`, { path, stdout: stdout.toString('utf8') });
    }
    const isBare = bare === 'true';
    let top: string | null = null;
    if (!isBare) {
      const r = await runGit(real, ['rev-parse', '--show-toplevel'], { okCodes: [0, 128] });
      if (r.exitCode === 0) top = r.stdout.toString('utf8').replace(/\n$/, '');
    }
    if (real !== top && real !== gitDir) {
      throw new GitError('NOT_A_REPOSITORY', `${path} is inside the git repository ${top ?? gitDir} but is not its top-level directory. Point CodeGraph at ${top ?? gitDir}.`, { path, repository: top ?? gitDir });
    }
    return new GitRepo({ path: top ?? gitDir, gitDir, commonDir, isBare, objectFormat });
  }

  /** Resource counters; see GitRepoStats. */
  stats(): GitRepoStats {
    return {
      commands: this.counter.commands,
      catFileSpawns: this.counter.catFile,
      catFileCheckSpawns: this.counter.catFileCheck,
      diffTreeSpawns: this.counter.diffTree,
      diffTreeOneShot: this.oneShotDiffs,
      catFilePid: this.batch.pid,
    };
  }

  private run(args: string[], options: Omit<RunOptions, 'counter'> = {}) {
    if (this.closed) return Promise.reject(closedError());
    return runGit(this.path, args, { ...options, counter: this.counter });
  }

  /** True for a shallow clone. Asked each time: `fetch --unshallow` changes it. */
  async isShallow(): Promise<boolean> {
    const { stdout } = await this.run(['rev-parse', '--is-shallow-repository']);
    return stdout.toString('utf8').trim() === 'true';
  }

  /** Full id of `rev^{commit}`; UNKNOWN_REVISION when it does not name a commit. */
  async resolveCommit(rev: string): Promise<string> {
    const sha = await this.tryResolveCommit(rev);
    if (sha === null) {
      throw new GitError('UNKNOWN_REVISION', `${JSON.stringify(rev)} does not name a commit in ${this.path}. Check the branch, tag or commit id (run \`git fetch\` if it is new upstream).`, { rev });
    }
    return sha;
  }

  /** Like resolveCommit, but null when `rev` does not name a commit. */
  async tryResolveCommit(rev: string): Promise<string | null> {
    checkRev(rev);
    const r = await this.run(['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`], { okCodes: [0, 1, 128] });
    const sha = r.stdout.toString('utf8').trim();
    return r.exitCode === 0 && sha !== '' ? sha : null;
  }

  /** Every file of a commit's tree, recursively, with blob sizes. Entries with `skip` set are
   * listed but must not be read as files (symlinks, submodules, unsafe paths). */
  async lsTree(commit: string): Promise<TreeEntry[]> {
    checkRev(commit, 'commit');
    const { stdout } = await this.run(['ls-tree', '-r', '-z', '--full-tree', '-l', '--end-of-options', commit]);
    return parseLsTree(stdout);
  }

  /**
   * Changed files from `from` to `to` (any two commits or trees, not only parent and child), with
   * rename detection (`-M`, git's default 50% similarity and its `diff.renameLimit`). `from` null
   * diffs against the empty tree: every file of `to` is 'A'.
   */
  async diffTree(from: string | null, to: string): Promise<FileChange[]> {
    if (from !== null) checkRev(from, 'commit');
    checkRev(to, 'commit');
    if (from !== null && OID_RE.test(from) && OID_RE.test(to)) {
      // Two commits: through the long-lived process (diff-tree.ts), no spawn on the event loop (#9).
      const [a, b] = await Promise.all([this.readObjectHeader(from), this.readObjectHeader(to)]);
      if (a?.type === 'commit' && b?.type === 'commit') {
        try {
          return parseDiffTree(await this.diffs.diff({ to, from }));
        } catch {
          // The process died or broke the protocol: the one-shot run below answers (or says why not).
        }
      }
    }
    this.oneShotDiffs++;
    const base = from ?? EMPTY_TREE[this.objectFormat];
    if (base === undefined) throw new GitError('GIT_FAILED', `Unsupported object format ${this.objectFormat}.`, { objectFormat: this.objectFormat });
    const { stdout } = await this.run(['diff-tree', '-r', '-z', '-M', '--no-commit-id', '--no-abbrev', '--no-ext-diff', '--end-of-options', base, to, '--']);
    return parseDiffTree(stdout);
  }

  /** Contents of one blob. OBJECT_MISSING if absent, WRONG_OBJECT_TYPE if `sha` is not a blob. */
  async readBlob(sha: string): Promise<Buffer> {
    if (this.closed) throw closedError();
    const obj = await this.batch.get(sha);
    if (obj.type !== 'blob') {
      throw new GitError('WRONG_OBJECT_TYPE', `Object ${sha} is a ${obj.type}, not a blob; pass blob ids from lsTree/diffTree entries.`, { sha, type: obj.type });
    }
    return obj.data!;
  }

  /**
   * Reads many blobs through the one cat-file process, keeping up to `window` requests in flight,
   * and yields results in the order of `shas`. A missing or non-blob object yields `{error}` instead
   * of ending the iteration. Memory is bounded by `window` blobs, not by `shas.length`.
   * @param window requests in flight; @default 256
   */
  async *readBlobs(shas: Iterable<string>, options: { window?: number } = {}): AsyncGenerator<BlobResult> {
    const window = options.window ?? 256;
    if (!Number.isInteger(window) || window < 1) throw new RangeError('options.window must be a positive integer');
    const one = (sha: string): Promise<BlobResult> => this.readBlob(sha).then(
      (data) => ({ sha, data, error: null }),
      (e: unknown) => ({ sha, data: null, error: e instanceof GitError ? e : new GitError('GIT_FAILED', String(e), { sha }) }),
    );
    const it = shas[Symbol.iterator]();
    const inflight: Promise<BlobResult>[] = [];
    const fill = (): void => {
      while (inflight.length < window) {
        const n = it.next();
        if (n.done === true) return;
        inflight.push(one(n.value));
      }
    };
    fill();
    while (inflight.length > 0) {
      const r = await inflight.shift()!;
      fill();
      yield r;
    }
  }

  /** Type and size of an object without reading it (second long-lived cat-file process,
   * asking `info`), so callers can skip large files; null when the object is missing. */
  async readObjectHeader(sha: string): Promise<ObjectHeader | null> {
    if (this.closed) throw closedError();
    try {
      const obj = await this.check.get(sha);
      return { sha: obj.sha, type: obj.type, size: obj.size };
    } catch (e) {
      if (GitError.is(e, 'OBJECT_MISSING')) return null;
      throw e;
    }
  }

  /** Parsed commits, in the order of `shas`, read through the cat-file pipeline (thousands per
   * second). OBJECT_MISSING / WRONG_OBJECT_TYPE if an id is not a commit. */
  async commitInfo(shas: readonly string[]): Promise<CommitInfo[]> {
    if (this.closed) throw closedError();
    return Promise.all(shas.map(async (sha) => {
      const obj = await this.batch.get(sha);
      if (obj.type !== 'commit') {
        throw new GitError('WRONG_OBJECT_TYPE', `Object ${sha} is a ${obj.type}, not a commit; resolve refs with resolveCommit first.`, { sha, type: obj.type });
      }
      return parseCommit(obj.sha, obj.data!);
    }));
  }

  /** `git rev-list` over the options (revs are passed on stdin, so exclude lists may be long). */
  async revList(options: RevListOptions): Promise<string[]> {
    const { tips, exclude = [], maxCount, firstParent = false, topoOrder = false, reverse = false } = options;
    for (const t of tips) checkRev(t, 'tip');
    for (const t of exclude) checkRev(t, 'exclude revision');
    if (tips.length === 0) return [];
    if (maxCount !== undefined && (!Number.isInteger(maxCount) || maxCount < 0)) {
      throw new RangeError('options.maxCount must be a non-negative integer');
    }
    const args = ['rev-list'];
    if (firstParent) args.push('--first-parent');
    if (topoOrder) args.push('--topo-order');
    if (reverse) args.push('--reverse');
    if (maxCount !== undefined) args.push(`--max-count=${maxCount}`);
    args.push('--stdin');
    const input = [...tips, ...exclude.map((e) => `^${e}`)].join('\n') + '\n';
    const { stdout } = await this.run(args, { input });
    return splitLines(stdout);
  }

  /** Refs matching `patterns` (for-each-ref patterns, e.g. `refs/heads/`, `refs/tags/v*`; all refs
   * when omitted), sorted by name. */
  async forEachRef(patterns: readonly string[] = []): Promise<RefInfo[]> {
    for (const p of patterns) checkRev(p, 'ref pattern');
    const { stdout } = await this.run(['for-each-ref', '--format=%(refname)%00%(objectname)%00%(objecttype)%00%(*objectname)%00%(*objecttype)', '--', ...patterns]);
    const refs: RefInfo[] = [];
    const nested: RefInfo[] = [];
    for (const line of splitLines(stdout)) {
      const [name, objectSha, objectType, peeled, peeledType] = line.split('\0');
      if (name === undefined || objectSha === undefined || objectType === undefined) continue;
      const ref: RefInfo = { name, objectSha, objectType, sha: peeled || objectSha, peeledType: peeledType || objectType };
      // `%(*...)` peels one level only; a tag of a tag needs a full `^{}` peel.
      if (ref.peeledType === 'tag') nested.push(ref);
      refs.push(ref);
    }
    if (nested.length > 0) {
      // objectSha values are hex ids from git, so no option injection is possible here.
      const { stdout: shas } = await this.run(['rev-parse', ...nested.map((r) => `${r.objectSha}^{}`)]);
      const peeled = splitLines(shas);
      const headers = await Promise.all(peeled.map((s) => this.readObjectHeader(s)));
      nested.forEach((r, i) => {
        r.sha = peeled[i] ?? r.sha;
        r.peeledType = headers[i]?.type ?? r.peeledType;
      });
    }
    return refs;
  }

  /** Where HEAD points. `{ref: 'refs/heads/main', sha: null}` in an empty repository. */
  async head(): Promise<HeadInfo> {
    const [sym, sha] = await Promise.all([
      this.run(['symbolic-ref', '-q', 'HEAD'], { okCodes: [0, 1] }),
      this.run(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], { okCodes: [0, 1, 128] }),
    ]);
    const ref = sym.exitCode === 0 ? sym.stdout.toString('utf8').trim() : '';
    const id = sha.exitCode === 0 ? sha.stdout.toString('utf8').trim() : '';
    return { ref: ref === '' ? null : ref, sha: id === '' ? null : id };
  }

  /**
   * `git fetch --prune <remote> [refspecs]`. Without `refspecs` the remote's configured refspecs are
   * used: a `--mirror` clone updates all refs, a normal clone its `refs/remotes/<remote>/*`, but a
   * plain `--bare` clone has none configured and only fetches objects, so pass refspecs for it
   * (e.g. `['+refs/heads/*:refs/heads/*']`). Never prompts for credentials (GIT_TERMINAL_PROMPT=0).
   * @param options.timeoutMs @default 300_000
   */
  async fetch(remote = 'origin', options: { refspecs?: readonly string[]; timeoutMs?: number } = {}): Promise<void> {
    checkRev(remote, 'remote name');
    const refspecs = options.refspecs ?? [];
    for (const r of refspecs) checkRev(r, 'refspec');
    await this.run(['fetch', '--prune', '--quiet', '--no-write-fetch-head', remote, ...refspecs], { timeoutMs: options.timeoutMs ?? 300_000 });
  }

  /** Ends the cat-file and diff-tree processes (after they answer what is pending). Further calls reject with CLOSED. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([this.batch.close(), this.check.close(), this.diffs.close()]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function splitLines(buf: Buffer): string[] {
  const s = buf.toString('utf8');
  return s === '' ? [] : s.replace(/\n$/, '').split('\n');
}

function closedError(): GitError {
  return new GitError('CLOSED', 'This GitRepo was closed; open a new one with GitRepo.open().');
}
