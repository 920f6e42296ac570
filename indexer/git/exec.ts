// Running git: one place that fixes the environment, the global options and the error mapping.
// Always spawn with an argument array (no shell) and collect stdout as Buffers, so a 100k-file
// `ls-tree` is neither truncated by a maxBuffer nor decoded as a string before we parse its bytes.

import { spawn } from 'node:child_process';
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

/** Runs one git command to completion. A non-OK exit becomes a GitError via `classifyFailure`. */
export function runGit(cwd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const okCodes = options.okCodes ?? [0];
  if (options.counter) options.counter.commands++;
  return new Promise((resolve, reject) => {
    const child = spawnGit(cwd, args);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let spawnError: Error | null = null;
    let timedOut = false;
    const timer = options.timeoutMs === undefined ? null : setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => { spawnError = e; });
    // EPIPE when git exits before reading all input: the exit code tells the story.
    child.stdin!.on('error', () => {});
    child.stdin!.end(options.input ?? '');
    child.on('close', (code, signal) => {
      if (timer !== null) clearTimeout(timer);
      const stderr = Buffer.concat(err).toString('utf8');
      if (spawnError !== null) {
        reject(spawnFailure(spawnError, args));
        return;
      }
      if (timedOut) {
        reject(new GitError('GIT_FAILED', `git ${args[0]} did not finish within ${options.timeoutMs} ms and was killed. ` +
          'Check that the repository is reachable (network remotes) and not locked, then retry.', { args: [...args] }));
        return;
      }
      const exitCode = code ?? -1;
      if (!okCodes.includes(exitCode)) {
        reject(classifyFailure(args, exitCode, signal, stderr, cwd));
        return;
      }
      resolve({ stdout: Buffer.concat(out), stderr, exitCode });
    });
  });
}

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
