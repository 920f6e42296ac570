// Ref watcher: notices when any ref (or HEAD) of a configured repository moves.
// Sources, all funnelled into one serialized `check()` per repository that compares
// `git for-each-ref` snapshots, so an event is emitted only when something really moved and rapid
// moves coalesce into one change (old sha of the first, new sha of the last):
//   - fs.watch on the git dir (HEAD), the common dir (packed-refs) and every directory under refs/,
//     debounced; directories are watched one by one (Node 20's `recursive` on Linux is a userland
//     emulation that has missed directories created after start), recursively on macOS/Windows;
//   - polling every `pollIntervalMs` (file events are lost on network file systems and in some
//     containers); a poll first compares a fingerprint of the ref storage (mtime and inode of HEAD,
//     packed-refs, the git dirs and every directory under refs/ and reftable/: git updates refs by
//     renaming a lock file into place, which changes its directory) and runs git only when it
//     changed, or when `fullCheckMs` passed (file systems with coarse timestamps). Starting a git
//     process blocks the event loop for tens of ms in a large daemon (fork of a big process), and
//     polls run every 2 s;
//   - `fetchAndCheck()`, called by the webhook, which `git fetch`es repositories with a remote first.
import { execFile } from 'node:child_process';
import { watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { CodedError } from '../errors/index.ts';

const run = promisify(execFile);

export interface WatchedRepo {
  name: string;
  path: string;
  remote?: string | undefined;
}

export interface RefChange {
  ref: string;
  /** null: the ref was created. */
  oldSha: string | null;
  /** null: the ref was deleted. */
  newSha: string | null;
}

export interface RefChangeEvent {
  repo: string;
  changes: RefChange[];
}

export interface RefWatcherOptions {
  repos: WatchedRepo[];
  onChange: (event: RefChangeEvent) => void;
  onError?: (err: unknown, repo: string) => void;
  /** @default 2_000 */
  pollIntervalMs?: number;
  /** Quiet time after the last file event before checking. @default 100 */
  debounceMs?: number;
  /** A check happens at least this often while events keep coming. @default 1_000 */
  maxWaitMs?: number;
  /** Set false to rely on polling only. @default true */
  fsEvents?: boolean;
  /** A poll runs git even when the ref storage looks unchanged at least this often. @default 30_000 */
  fullCheckMs?: number;
}

type Snapshot = Map<string, string>;

/** `git fetch` failed in `fetchAndCheck()` (remote gone, network, auth): refs from that remote stay
 * as they were until a fetch succeeds. Reported through `onError`. */
export class FetchError extends CodedError<'FETCH_FAILED', { repo: string; remote: string; stderr: string }> {
  override name = 'FetchError';
  constructor(readonly repo: string, readonly remote: string, readonly stderr: string, options?: { cause?: unknown }) {
    super('FETCH_FAILED', `git fetch ${remote} failed for repository '${repo}': ${stderr.trim() || 'no message'}. Check that the remote exists and is reachable (git -C <repo> fetch ${remote}).`, { repo, remote, stderr }, options);
  }
}

/** git processes started by watchers (tests check that idle polls start none). */
export const watchStats = { gitRuns: 0 };

async function git(cwd: string, args: string[]): Promise<string> {
  watchStats.gitRuns++;
  const { stdout } = await run('git', args, { cwd, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
  return stdout;
}

/** Every ref and HEAD with the object it points to. */
async function snapshotRefs(repoPath: string): Promise<Snapshot> {
  const out = await git(repoPath, ['for-each-ref', '--format=%(refname)%00%(objectname)']);
  const snap: Snapshot = new Map();
  for (const line of out.split('\n')) {
    const i = line.indexOf('\0');
    if (i > 0) snap.set(line.slice(0, i), line.slice(i + 1));
  }
  try {
    const head = (await git(repoPath, ['rev-parse', '--verify', '-q', 'HEAD'])).trim();
    if (head) snap.set('HEAD', head);
  } catch {
    // Unborn HEAD (empty repository): no entry.
  }
  return snap;
}

function diffSnapshots(before: Snapshot, after: Snapshot): RefChange[] {
  const changes: RefChange[] = [];
  for (const [ref, sha] of after) {
    const old = before.get(ref) ?? null;
    if (old !== sha) changes.push({ ref, oldSha: old, newSha: sha });
  }
  for (const [ref, sha] of before) if (!after.has(ref)) changes.push({ ref, oldSha: sha, newSha: null });
  return changes.sort((a, b) => a.ref.localeCompare(b.ref));
}

class RepoWatch {
  snapshot: Snapshot = new Map();
  gitDir = '';
  commonDir = '';
  private watchers = new Map<string, FSWatcher>();
  private debounce: NodeJS.Timeout | null = null;
  private firstEventAt = 0;
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;

  constructor(readonly repo: WatchedRepo, private readonly opts: Required<Omit<RefWatcherOptions, 'repos' | 'onError'>> & Pick<RefWatcherOptions, 'onError'>) {}

  async start(): Promise<void> {
    const out = await git(this.repo.path, ['rev-parse', '--path-format=absolute', '--git-dir', '--git-common-dir']);
    const [gitDir, commonDir] = out.trim().split('\n');
    this.gitDir = gitDir!;
    this.commonDir = commonDir!;
    this.lastPrint = await this.fingerprint();
    this.snapshot = await snapshotRefs(this.repo.path);
    if (this.opts.fsEvents) await this.watchAll();
  }

  private watchDir(dir: string, filter?: (name: string) => boolean, recursive = false): void {
    if (this.watchers.has(dir) || this.closed) return;
    try {
      const w = watch(dir, { recursive, persistent: false }, (_event, name) => {
        if (filter && name !== null && !filter(String(name))) return;
        this.schedule();
        // A new directory under refs/ (e.g. refs/heads/feature/): watch it too.
        if (!recursive && dir.startsWith(path.join(this.commonDir, 'refs'))) void this.watchRefsTree();
      });
      w.on('error', () => {
        w.close();
        this.watchers.delete(dir);
      });
      this.watchers.set(dir, w);
    } catch {
      // The directory vanished between listing and watching; polling covers it.
    }
  }

  private async watchRefsTree(): Promise<void> {
    const root = path.join(this.commonDir, 'refs');
    if (process.platform === 'darwin' || process.platform === 'win32') {
      this.watchDir(root, undefined, true);
      return;
    }
    const stack = [root];
    while (stack.length > 0) {
      const dir = stack.pop()!;
      this.watchDir(dir);
      try {
        for (const e of await readdir(dir, { withFileTypes: true })) if (e.isDirectory()) stack.push(path.join(dir, e.name));
      } catch {
        // Removed concurrently.
      }
    }
  }

  private async watchAll(): Promise<void> {
    const interesting = (n: string) => n === 'HEAD' || n === 'packed-refs' || n === 'FETCH_HEAD' || n === 'ORIG_HEAD';
    // Watch directories, not files: git replaces HEAD and packed-refs by rename, which would
    // orphan a watch on the old inode.
    this.watchDir(this.gitDir, interesting);
    if (this.commonDir !== this.gitDir) this.watchDir(this.commonDir, interesting);
    await this.watchRefsTree();
  }

  schedule(): void {
    if (this.closed) return;
    const now = Date.now();
    if (this.debounce === null) this.firstEventAt = now;
    else clearTimeout(this.debounce);
    const delay = Math.max(0, Math.min(this.opts.debounceMs, this.firstEventAt + this.opts.maxWaitMs - now));
    this.debounce = setTimeout(() => {
      this.debounce = null;
      void this.check();
    }, delay);
  }

  /** Where refs live: mtime and inode of each, and of every directory under refs/ and reftable/.
   * Unreadable entries count as absent (a deleted packed-refs changes the print too). */
  private async fingerprint(): Promise<string> {
    const parts: string[] = [];
    const add = async (p: string): Promise<boolean> => {
      try {
        const st = await stat(p, { bigint: true });
        parts.push(`${p}:${st.ino}:${st.mtimeNs}:${st.size}`);
        return st.isDirectory();
      } catch {
        parts.push(`${p}:-`);
        return false;
      }
    };
    for (const p of [this.gitDir, path.join(this.gitDir, 'HEAD'), this.commonDir, path.join(this.commonDir, 'packed-refs')]) await add(p);
    for (const root of [path.join(this.commonDir, 'refs'), path.join(this.commonDir, 'reftable')]) {
      const stack = [root];
      while (stack.length > 0) {
        const dir = stack.pop()!;
        if (!(await add(dir))) continue;
        try {
          for (const e of await readdir(dir, { withFileTypes: true })) if (e.isDirectory()) stack.push(path.join(dir, e.name));
        } catch {
          // Removed concurrently: the print of its parent changed anyway.
        }
      }
    }
    return parts.join('\n');
  }

  private lastPrint = '';
  private lastFullCheck = Date.now();

  /** A poll: runs `check()` only when the ref storage changed since the last poll, or when
   * `fullCheckMs` passed. The print is taken before the check, so a move during the check changes
   * the next print. */
  async pollCheck(): Promise<void> {
    const print = await this.fingerprint();
    if (print === this.lastPrint && Date.now() - this.lastFullCheck < this.opts.fullCheckMs) return;
    this.lastPrint = print;
    this.lastFullCheck = Date.now();
    await this.check();
  }

  /** Compares a fresh snapshot with the last one; at most one check runs at a time per repository. */
  check(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          const next = await snapshotRefs(this.repo.path);
          const changes = diffSnapshots(this.snapshot, next);
          this.snapshot = next;
          if (changes.length > 0 && !this.closed) this.opts.onChange({ repo: this.repo.name, changes });
        } catch (err) {
          this.opts.onError?.(err, this.repo.name);
        }
      } while (this.again && !this.closed);
      this.running = null;
    })();
    return this.running;
  }

  close(): void {
    this.closed = true;
    if (this.debounce) clearTimeout(this.debounce);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }
}

export class RefWatcher {
  private readonly watches: Map<string, RepoWatch>;
  private poll: NodeJS.Timeout | null = null;
  private readonly pollIntervalMs: number;

  constructor(private readonly opts: RefWatcherOptions) {
    this.pollIntervalMs = opts.pollIntervalMs ?? 2_000;
    const full = {
      onChange: opts.onChange,
      onError: opts.onError,
      pollIntervalMs: this.pollIntervalMs,
      debounceMs: opts.debounceMs ?? 100,
      maxWaitMs: opts.maxWaitMs ?? 1_000,
      fsEvents: opts.fsEvents ?? true,
      fullCheckMs: opts.fullCheckMs ?? 30_000,
    };
    this.watches = new Map(opts.repos.map((r) => [r.name, new RepoWatch(r, full)]));
  }

  /** Takes the initial snapshots (no events for them) and starts watching and polling. */
  async start(): Promise<void> {
    await Promise.all([...this.watches.values()].map((w) => w.start()));
    if (this.pollIntervalMs > 0) {
      this.poll = setInterval(() => void Promise.all([...this.watches.values()].map((w) => w.pollCheck())), this.pollIntervalMs);
      this.poll.unref();
    }
  }

  /** The refs as of the last check. */
  refs(repo: string): ReadonlyMap<string, string> {
    return this.watches.get(repo)?.snapshot ?? new Map();
  }

  /** Checks the named repositories (default: all) now. */
  async check(repos?: string[]): Promise<void> {
    const list = repos ? repos.map((r) => this.watches.get(r)).filter((w) => w !== undefined) : [...this.watches.values()];
    await Promise.all(list.map((w) => w.check()));
  }

  /** For the webhook: `git fetch --prune <remote>` in each named repository that has a remote, then check. */
  async fetchAndCheck(repos: string[]): Promise<void> {
    await Promise.all(repos.map(async (name) => {
      const w = this.watches.get(name);
      if (!w || w.repo.remote === undefined) return;
      try {
        await git(w.repo.path, ['fetch', '--prune', '--quiet', '--', w.repo.remote]);
      } catch (err) {
        this.opts.onError?.(new FetchError(name, w.repo.remote, String((err as { stderr?: unknown }).stderr ?? (err as Error).message), { cause: err }), name);
      }
      await w.check();
    }));
  }

  close(): void {
    if (this.poll) clearInterval(this.poll);
    for (const w of this.watches.values()) w.close();
  }
}
