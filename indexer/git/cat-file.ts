// One long-lived `git cat-file --batch-command --buffer` process with pipelined requests, asking
// either `contents` (what `--batch` prints) or `info` (what `--batch-check` prints).
//
// Requests made in the same tick are written in one write followed by `flush`, so git fills its
// output buffer instead of flushing per object (several times faster than plain `--batch` for
// thousands of small blobs). This needs git 2.36+. cat-file answers strictly in request order, so a FIFO
// of pending promises pairs each record the BatchParser completes with its request. If the process
// dies (killed, OOM, repository repacked under it...), the requests it had not answered are re-sent
// once to a fresh process; a request that loses two processes fails with GIT_FAILED.
//
// While requests are pending the child keeps the event loop alive; while idle it is unref'd, so a
// forgotten close() does not hang a test runner or a CLI run (close() is still the way to end it).

import type { ChildProcess } from 'node:child_process';
import { BatchParser, type BatchRecord } from './batch-parser.ts';
import { GitError } from './errors.ts';
import { READER_ARGS, refChild, spawnFailure, spawnGit, type SpawnCounter } from './exec.ts';

export interface CatFileObject {
  sha: string;
  type: string;
  size: number;
  /** null for `--batch-check`. */
  data: Buffer | null;
}

interface Pending {
  id: string;
  attempts: number;
  resolve: (obj: CatFileObject) => void;
  reject: (err: GitError) => void;
}

interface Proc {
  child: ChildProcess;
  parser: BatchParser;
  queue: Pending[];
  /** Index of the next queue entry to answer (avoids O(n) shift on long queues). */
  head: number;
  dead: boolean;
  stderr: string;
  /** Command lines not yet written; written together with `flush` at the end of the tick. */
  outBuf: string[];
}

const OID_RE = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

export class CatFile {
  private proc: Proc | null = null;
  private closed = false;
  private exited: Promise<void> | null = null;

  constructor(
    private readonly cwd: string,
    private readonly mode: 'contents' | 'info',
    private readonly counter: SpawnCounter,
  ) {}

  /** pid of the current process, or null when none runs (for tests that kill it). */
  get pid(): number | null {
    return this.proc?.child.pid ?? null;
  }

  /** Requests one object by full hex id. Rejects with OBJECT_MISSING for `missing`/`ambiguous`. */
  get(sha: string): Promise<CatFileObject> {
    if (this.closed) return Promise.reject(closedError());
    if (!OID_RE.test(sha)) {
      return Promise.reject(new GitError('OBJECT_MISSING', `${JSON.stringify(sha)} is not a full lowercase hex object id; resolve names to ids first (GitRepo.resolveCommit).`, { sha }));
    }
    return new Promise<CatFileObject>((resolve, reject) => {
      this.send({ id: sha, attempts: 0, resolve, reject });
    });
  }

  private send(p: Pending): void {
    let proc = this.proc;
    if (proc === null || proc.dead) {
      try {
        proc = this.start();
      } catch (e) {
        p.reject(e instanceof GitError ? e : new GitError('GIT_FAILED', `git cat-file could not be started: ${String(e)}`));
        return;
      }
    }
    p.attempts++;
    if (proc.queue.length - proc.head === 0) this.ref(proc, true);
    proc.queue.push(p);
    if (proc.outBuf.length === 0) queueMicrotask(() => this.flush(proc));
    proc.outBuf.push(`${this.mode} ${p.id}\n`);
  }

  private flush(proc: Proc): void {
    const lines = proc.outBuf;
    proc.outBuf = [];
    // A dead process's requests were already re-sent by onClose; its buffered lines are dropped.
    if (proc.dead || lines.length === 0) return;
    lines.push('flush\n');
    proc.child.stdin!.write(lines.join(''));
  }

  private start(): Proc {
    const child = spawnGit(this.cwd, [...READER_ARGS, 'cat-file', '--batch-command', '--buffer']);
    if (this.mode === 'contents') this.counter.catFile++;
    else this.counter.catFileCheck++;
    const proc: Proc = { child, parser: new BatchParser({ withContents: this.mode === 'contents' }), queue: [], head: 0, dead: false, stderr: '', outBuf: [] };
    this.proc = proc;
    let spawnError: Error | null = null;
    child.on('error', (e) => { spawnError = e; });
    child.stdin!.on('error', () => { /* EPIPE after death; 'close' below re-sends */ });
    child.stderr!.on('data', (b: Buffer) => { if (proc.stderr.length < 4000) proc.stderr += b.toString('utf8'); });
    child.stdout!.on('data', (chunk: Buffer) => {
      let records: BatchRecord[];
      try {
        records = proc.parser.push(chunk);
      } catch (e) {
        proc.stderr += `\nprotocol error: ${String(e)}`;
        child.kill('SIGKILL');
        return;
      }
      for (const rec of records) this.answer(proc, rec);
    });
    child.on('close', (code, signal) => this.onClose(proc, code, signal, spawnError));
    this.ref(proc, false);
    return proc;
  }

  private answer(proc: Proc, rec: BatchRecord): void {
    const p = proc.queue[proc.head];
    if (p === undefined) {
      proc.stderr += '\nprotocol error: answer without a request';
      proc.child.kill('SIGKILL');
      return;
    }
    proc.queue[proc.head] = undefined as unknown as Pending;
    proc.head++;
    if (proc.head === proc.queue.length) {
      proc.queue = [];
      proc.head = 0;
      this.ref(proc, false);
    } else if (proc.head > 1024 && proc.head * 2 > proc.queue.length) {
      proc.queue = proc.queue.slice(proc.head);
      proc.head = 0;
    }
    if (rec.kind === 'object') {
      p.resolve({ sha: rec.sha, type: rec.type, size: rec.size, data: rec.data });
    } else {
      const why = rec.kind === 'missing' ? 'is not in the repository' : 'is ambiguous';
      p.reject(new GitError('OBJECT_MISSING', `Object ${rec.name} ${why}. The repository may have been garbage-collected or force-pushed since the id was recorded; re-resolve the ref and re-index.`, { sha: p.id, answer: rec.kind }));
    }
  }

  private onClose(proc: Proc, code: number | null, signal: NodeJS.Signals | null, spawnError: Error | null): void {
    proc.dead = true;
    if (this.proc === proc) this.proc = null;
    const unanswered = proc.queue.slice(proc.head);
    proc.queue = [];
    proc.head = 0;
    if (unanswered.length === 0) return;
    if (spawnError !== null) {
      const err = spawnFailure(spawnError, ['cat-file', '--batch-command']);
      for (const p of unanswered) p.reject(err);
      return;
    }
    const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
    for (const p of unanswered) {
      if (this.closed) {
        p.reject(closedError());
      } else if (p.attempts >= 2) {
        p.reject(new GitError('GIT_FAILED', `git cat-file (${this.mode}) ${how} twice while reading ${p.id}: ${proc.stderr.trim() || '(no message)'}. Check the repository with \`git fsck\`.`, { sha: p.id, stderr: proc.stderr.slice(0, 4000) }));
      } else {
        this.send(p);
      }
    }
  }

  /** Once closing, the child stays ref'd until it exits, so `await close()` completes. */
  private ref(proc: Proc, on: boolean): void {
    refChild(proc.child, on || this.closed);
  }

  /** Ends the process after it has answered every pending request. Later requests reject with CLOSED. */
  close(): Promise<void> {
    if (this.closed) return this.exited ?? Promise.resolve();
    this.closed = true;
    const proc = this.proc;
    if (proc === null || proc.dead) {
      this.exited = Promise.resolve();
      return this.exited;
    }
    this.flush(proc);
    this.ref(proc, true);
    this.exited = new Promise<void>((resolve) => {
      const timer = setTimeout(() => proc.child.kill('SIGKILL'), 10_000);
      timer.unref();
      proc.child.once('close', () => { clearTimeout(timer); resolve(); });
    });
    proc.child.stdin!.end();
    return this.exited;
  }
}

function closedError(): GitError {
  return new GitError('CLOSED', 'This GitRepo was closed; open a new one with GitRepo.open().');
}

