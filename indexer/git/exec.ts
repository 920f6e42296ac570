// Running git: one place that fixes the environment, the global options and the error mapping.
// Always spawn with an argument array (no shell) and collect stdout as Buffers, so a 100k-file
// `ls-tree` is neither truncated by a maxBuffer nor decoded as a string before we parse its bytes.

import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { Buffer } from 'node:buffer';
import { GitError } from './errors.ts';

/**
 * Options placed before every subcommand. They pin the output formats we parse, whatever the user's
 * config says: no path quoting, no colour, no pager, no fsmonitor hook, and no replace refs (a
 * `refs/replace/*` would make the graph disagree with the object ids callers hold).
 */
const GIT_GLOBAL_ARGS: readonly string[] = [
  '--no-pager',
  '--no-replace-objects',
  '-c', 'core.quotepath=off',
  '-c', 'color.ui=never',
  '-c', 'core.fsmonitor=false',
  '-c', 'log.showSignature=false',
];

/**
 * Options of the long-lived readers (`cat-file --batch-command`, `diff-tree --stdin`), which live
 * as long as the daemon. git keeps the bases of the deltas it resolved in a cache of up to 96 MB
 * (`core.deltaBaseCacheLimit`), which a reader that has walked a large pack holds from then on:
 * 110 MB of anonymous memory for one `cat-file` that had read a zod clone's 35k objects (#9). At
 * 16 MB it held 55 MB in all, and read them no slower (0.9-1.1 s against 1.1-2.1 s).
 */
export const READER_ARGS: readonly string[] = ['-c', 'core.deltaBaseCacheLimit=16m'];

/** Variables that would redirect git to another repository or change its behaviour under a hook. */
const STRIPPED_ENV = /^GIT_/;

/** The environment for every git child: the daemon's environment without any `GIT_*` variable
 * (a daemon started from a git hook inherits GIT_DIR, which would override `cwd`), plus the
 * settings below. The user's global config stays readable because `safe.directory` lives there. */
// Built per spawn (cheap next to the spawn itself) so it follows the current process.env.
export function gitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!STRIPPED_ENV.test(k)) env[k] = v;
  Object.assign(env, {
    LC_ALL: 'C',
    LANGUAGE: '',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_PAGER: 'cat',
    PAGER: 'cat',
    // Read-only commands must not take the index lock a user's `git commit` needs.
    GIT_OPTIONAL_LOCKS: '0',
    GIT_ASKPASS: '',
    SSH_ASKPASS: '',
  });
  return env;
}

/** Counts processes started, per repository, for tests and /metrics. */
export interface SpawnCounter {
  commands: number;
  catFile: number;
  catFileCheck: number;
  /** `diff-tree --stdin` processes (diff-tree.ts). */
  diffTree: number;
}

export function spawnGit(cwd: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  return spawn('git', [...GIT_GLOBAL_ARGS, ...args], {
    cwd,
    env: gitEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
    windowsHide: true,
    ...options,
  });
}

export interface RunResult {
  stdout: Buffer;
  stderr: string;
  exitCode: number;
}

export interface RunOptions {
  /** Bytes written to stdin, which is then closed. */
  input?: string | Buffer;
  /** Exit codes that are not failures. @default [0] */
  okCodes?: readonly number[];
  /** Kill git after this many ms and fail with GIT_FAILED. @default no limit */
  timeoutMs?: number;
  counter?: SpawnCounter;
}

/** What one finished git run left: its output, how it ended, or why it could not start. */
interface Finished {
  stdout: Buffer;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The spawn failed (no git on the PATH, cwd gone). */
  spawnError: Error | null;
  timedOut: boolean;
}

/** Runs one git command to completion. A non-OK exit becomes a GitError via `classifyFailure`.
 * The process is started by the spawner thread (below), not on this thread's event loop. */
export async function runGit(cwd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const okCodes = options.okCodes ?? [0];
  if (options.counter) options.counter.commands++;
  const request: SpawnRequest = { cwd, args: [...GIT_GLOBAL_ARGS, ...args], env: gitEnv(), input: options.input ?? '', timeoutMs: options.timeoutMs ?? null };
  let r: Finished;
  try {
    r = await spawner.run(request);
  } catch {
    // The spawner thread itself failed (it could not start, or died): run it here instead.
    r = await execute(request);
  }
  if (r.spawnError !== null) throw spawnFailure(r.spawnError, args);
  if (r.timedOut) {
    throw new GitError('GIT_FAILED', `git ${args[0]} did not finish within ${options.timeoutMs} ms and was killed. ` +
      'Check that the repository is reachable (network remotes) and not locked, then retry.', { args: [...args] });
  }
  const exitCode = r.code ?? -1;
  if (!okCodes.includes(exitCode)) throw classifyFailure(args, exitCode, r.signal, r.stderr, cwd);
  return { stdout: r.stdout, stderr: r.stderr, exitCode };
}

interface SpawnRequest {
  cwd: string;
  /** Full argv after `git` (global options included). */
  args: string[];
  env: NodeJS.ProcessEnv;
  input: string | Buffer;
  timeoutMs: number | null;
}

/** Runs one request on the current thread. Also the body of the spawner thread (SPAWNER_SOURCE
 * repeats it in plain JavaScript: keep the two in step). */
function execute(req: SpawnRequest): Promise<Finished> {
  return new Promise((resolve) => {
    const child = spawn('git', req.args, { cwd: req.cwd, env: req.env, stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let spawnError: Error | null = null;
    let timedOut = false;
    const timer = req.timeoutMs === null ? null : setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, req.timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => { spawnError = e; });
    // EPIPE when git exits before reading all input: the exit code tells the story.
    child.stdin.on('error', () => {});
    child.stdin.end(req.input);
    child.on('close', (code, signal) => {
      if (timer !== null) clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8'), code, signal, spawnError, timedOut });
    });
  });
}

// The spawner thread (issue #9: event-loop lag). `child_process.spawn` is synchronous: it forks and
// then blocks until the child has called exec, which on a loaded machine measured 100-600 ms of
// frozen event loop per git command (HTTP, websockets and the watcher all wait). A small worker
// thread makes the call instead, so only it waits; the output comes back as a transferred buffer.
// It starts on first use and exits after SPAWNER_IDLE_MS without requests (no idle thread held);
// while idle it does not keep the process alive. Its source is inline (no separate file to load,
// from the sources or from the build).
const SPAWNER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { spawn } = require('node:child_process');
parentPort.on('message', (req) => {
  const out = [];
  const err = [];
  let spawnError = null;
  let timedOut = false;
  let timer = null;
  const done = (code, signal) => {
    if (timer !== null) clearTimeout(timer);
    const stdout = Buffer.concat(out);
    const ab = stdout.buffer.slice(stdout.byteOffset, stdout.byteOffset + stdout.byteLength);
    parentPort.postMessage({ id: req.id, stdout: ab, stderr: Buffer.concat(err).toString('utf8'), code, signal, timedOut,
      spawnError: spawnError === null ? null : { message: spawnError.message, code: spawnError.code } }, [ab]);
  };
  let child;
  try {
    child = spawn('git', req.args, { cwd: req.cwd, env: req.env, stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
  } catch (e) {
    spawnError = e;
    done(null, null);
    return;
  }
  if (req.timeoutMs !== null) timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, req.timeoutMs);
  child.stdout.on('data', (b) => out.push(b));
  child.stderr.on('data', (b) => err.push(b));
  child.on('error', (e) => { spawnError = e; });
  child.stdin.on('error', () => {});
  child.stdin.end(typeof req.input === 'string' ? req.input : Buffer.from(req.input));
  child.on('close', done);
});
`;

/** Milliseconds without requests after which the spawner thread exits. */
const SPAWNER_IDLE_MS = 10_000;

interface SpawnerReply {
  id: number;
  stdout: ArrayBuffer;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  spawnError: { message: string; code?: string } | null;
}

class Spawner {
  #worker: Worker | null = null;
  #pending = new Map<number, { resolve: (f: Finished) => void; reject: (e: Error) => void }>();
  #nextId = 1;
  #idle: NodeJS.Timeout | null = null;

  run(req: SpawnRequest): Promise<Finished> {
    const w = this.#worker ?? this.#start();
    if (this.#idle !== null) {
      clearTimeout(this.#idle);
      this.#idle = null;
    }
    if (this.#pending.size === 0) w.ref();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      w.postMessage({ id, ...req });
    });
  }

  #start(): Worker {
    const w = new Worker(SPAWNER_SOURCE, { eval: true });
    this.#worker = w;
    w.on('message', (m: SpawnerReply) => {
      const p = this.#pending.get(m.id);
      if (p === undefined) return;
      this.#pending.delete(m.id);
      let spawnError: Error | null = null;
      if (m.spawnError !== null) {
        spawnError = new Error(m.spawnError.message);
        (spawnError as NodeJS.ErrnoException).code = m.spawnError.code;
      }
      p.resolve({ stdout: Buffer.from(m.stdout), stderr: m.stderr, code: m.code, signal: m.signal, timedOut: m.timedOut, spawnError });
      if (this.#pending.size === 0) this.#rest(w);
    });
    const fail = (e: Error) => {
      if (this.#worker === w) this.#worker = null;
      const pending = [...this.#pending.values()];
      this.#pending.clear();
      for (const p of pending) p.reject(e);
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`the git spawner thread exited with code ${code}`)));
    return w;
  }

  /** No request pending: the thread no longer keeps the process alive, and exits when idle long enough. */
  #rest(w: Worker): void {
    w.unref();
    this.#idle = setTimeout(() => {
      this.#idle = null;
      if (this.#worker === w && this.#pending.size === 0) {
        this.#worker = null;
        void w.terminate();
      }
    }, SPAWNER_IDLE_MS);
    this.#idle.unref();
  }
}

const spawner = new Spawner();

export function spawnFailure(e: Error, args: readonly string[]): GitError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    return new GitError('GIT_FAILED', 'The git executable was not found. Install git (2.36 or newer) and make sure it is on the PATH of the CodeGraph daemon.', { args: [...args] }, { cause: e });
  }
  if (code === 'ENOTDIR') {
    return new GitError('NOT_A_REPOSITORY', `git could not start in the repository directory: ${e.message}`, { args: [...args] }, { cause: e });
  }
  return new GitError('GIT_FAILED', `git could not be started: ${e.message}`, { args: [...args] }, { cause: e });
}

const UNKNOWN_REV_PATTERNS = [
  /unknown revision/i, /bad revision/i, /bad object/i, /not a valid object name/i, /invalid object name/i,
  /not a tree object/i, /needed a single revision/i, /ambiguous argument/i, /not a valid commit name/i,
  /could not get object info/i, /is a \w+, not a (commit|tree)/i,
];

/** Maps a failed git run to a GitError with a code and a message that says what to do. */
function classifyFailure(args: readonly string[], exitCode: number, signal: NodeJS.Signals | null, stderr: string, cwd: string): GitError {
  const firstLine = stderr.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
  const data = { args: [...args], exitCode, signal: signal ?? null, stderr: stderr.slice(0, 4000), cwd };
  if (/not a git repository/i.test(stderr)) {
    return new GitError('NOT_A_REPOSITORY', `${cwd} is not a git repository (${firstLine}). Point CodeGraph at the top-level directory of a clone, or at a bare repository.`, data);
  }
  if (/dubious ownership/i.test(stderr)) {
    return new GitError('NOT_A_REPOSITORY', `git refuses ${cwd} because it is owned by another user. Run the daemon as the repository's owner, or run \`git config --global --add safe.directory ${cwd}\` for the daemon's user.`, data);
  }
  if (UNKNOWN_REV_PATTERNS.some((re) => re.test(stderr))) {
    return new GitError('UNKNOWN_REVISION', `git ${args[0]} could not resolve a revision: ${firstLine}. Check the ref or commit id; after a force-push or gc it may no longer exist, so fetch and retry with a current ref.`, data);
  }
  const how = signal !== null ? `was killed by ${signal}` : `exited with code ${exitCode}`;
  return new GitError('GIT_FAILED', `git ${args[0]} ${how}: ${firstLine || '(no message)'}. Run the same command in the repository to see the full error.`, data);
}

/** ref/unref the child and its pipes together: any one of them ref'd keeps the event loop alive. */
export function refChild(child: ChildProcess, on: boolean): void {
  for (const s of [child.stdin, child.stdout, child.stderr] as unknown as Array<Socket | null>) {
    if (s === null) continue;
    if (on) s.ref?.();
    else s.unref?.();
  }
  if (on) child.ref();
  else child.unref();
}
