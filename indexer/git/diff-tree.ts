// One long-lived `git diff-tree --stdin` process for commit-to-commit diffs (issue #9: event-loop
// lag). Spawning a process per diff blocks the event loop: `child_process.spawn` is synchronous in
// Node (fork, then a blocking wait until the child has exec'd), and on a loaded machine that wait
// measured 100-600 ms per commit during an initial index. One process per repository, fed a line
// per request, removes the spawn from the per-commit path.
//
// Protocol. For a request `to`/`from` (two commits) we write `to from\n` (diff `to` against
// `from` as its only parent) and then `from from\n` (an empty diff) as an end marker; with
// `--always` git prints a commit's header even when its diff is empty, and it flushes after each
// commit, so every request's answer arrives without waiting for more input:
//   `<to>\0` records... `<from>\0`
// where a record is `:<modes> <oids> <status>\0<path>\0` (two paths for R and C), the format
// `parseDiffTree` reads. A path can look like anything (even `:x`), so records are skipped by
// counting their paths, never by looking at them. Lines naming something that is not a commit make
// git print nothing, so the caller checks both ids are commits first (GitRepo.diffTree); any answer
// that does not follow the protocol, and any request the process dies under, goes to the one-shot
// `git diff-tree` path instead, which also classifies errors.
//
// While requests are pending the child keeps the event loop alive; while idle it is unref'd.
import type { ChildProcess } from 'node:child_process';
import { READER_ARGS, refChild, spawnGit, type SpawnCounter } from './exec.ts';

export interface DiffTreeRequest {
  to: string;
  from: string;
}

interface Pending extends DiffTreeRequest {
  resolve: (records: Buffer) => void;
  /** Called when this process cannot answer (died, protocol error): the caller falls back. */
  fail: (why: string) => void;
}

const NUL = 0;
const COLON = 0x3a;

type Expect = 'header' | 'recordOrEnd' | 'path';

interface Proc {
  child: ChildProcess;
  queue: Pending[];
  dead: boolean;
  stderr: string;
  /** Parser state for queue[0]. */
  expect: Expect;
  pathsLeft: number;
  /** Bytes of the segment being read (headers only: path bytes go straight to `body`). */
  seg: Buffer[];
  /** The records of queue[0] so far. */
  body: Buffer[];
}

export const DIFF_TREE_ARGS = ['diff-tree', '--stdin', '-r', '-z', '-M', '--no-abbrev', '--no-ext-diff', '--always'] as const;

export class DiffTreeStream {
  private proc: Proc | null = null;
  private closed = false;

  constructor(private readonly cwd: string, private readonly counter: SpawnCounter) {}

  /** The raw records (`diff-tree -r -z` format, no commit id) of `to` against `from`; rejects with
   * a reason when this process cannot answer (the caller then runs one-shot `git diff-tree`). */
  diff(req: DiffTreeRequest): Promise<Buffer> {
    if (this.closed) return Promise.reject(new Error('closed'));
    return new Promise<Buffer>((resolve, reject) => {
      let proc = this.proc;
      if (proc === null || proc.dead) {
        try {
          proc = this.start();
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
          return;
        }
      }
      if (proc.queue.length === 0) refChild(proc.child, true);
      proc.queue.push({ ...req, resolve, fail: (why) => reject(new Error(why)) });
      proc.child.stdin!.write(`${req.to} ${req.from}\n${req.from} ${req.from}\n`);
    });
  }

  private start(): Proc {
    const child = spawnGit(this.cwd, [...READER_ARGS, ...DIFF_TREE_ARGS]);
    this.counter.diffTree++;
    const proc: Proc = { child, queue: [], dead: false, stderr: '', expect: 'header', pathsLeft: 0, seg: [], body: [] };
    this.proc = proc;
    child.on('error', (e) => { proc.stderr += `\n${e.message}`; });
    child.stdin!.on('error', () => { /* EPIPE after death; 'close' below fails the queue */ });
    child.stderr!.on('data', (b: Buffer) => { if (proc.stderr.length < 4000) proc.stderr += b.toString('utf8'); });
    child.stdout!.on('data', (chunk: Buffer) => {
      if (proc.dead) return;
      const err = this.consume(proc, chunk);
      if (err !== null) this.kill(proc, `protocol error: ${err}`);
    });
    child.on('close', (code, signal) => this.kill(proc, signal !== null ? `git diff-tree --stdin was killed by ${signal}` : `git diff-tree --stdin exited with code ${code}`));
    refChild(child, false);
    return proc;
  }

  /** Feeds output bytes to the parser; returns an error message when they break the protocol. */
  private consume(proc: Proc, chunk: Buffer): string | null {
    let at = 0;
    while (at < chunk.length) {
      const p = proc.queue[0];
      if (p === undefined) return 'output without a request';
      const nul = chunk.indexOf(NUL, at);
      const end = nul === -1 ? chunk.length : nul;
      if (proc.expect === 'path') proc.body.push(chunk.subarray(at, nul === -1 ? end : end + 1));
      else proc.seg.push(chunk.subarray(at, end));
      at = nul === -1 ? chunk.length : nul + 1;
      if (nul === -1) break;
      // A segment is complete.
      if (proc.expect === 'path') {
        if (--proc.pathsLeft === 0) proc.expect = 'recordOrEnd';
        continue;
      }
      const seg = proc.seg.length === 1 ? proc.seg[0]! : Buffer.concat(proc.seg);
      proc.seg = [];
      if (proc.expect === 'header') {
        if (seg.toString('latin1') !== p.to) return `expected the header of ${p.to}, got ${JSON.stringify(seg.toString('latin1').slice(0, 100))}`;
        proc.expect = 'recordOrEnd';
        continue;
      }
      if (seg[0] === COLON) {
        // `:<mode> <mode> <oid> <oid> <status><score>`: R and C carry two paths.
        const status = seg[seg.lastIndexOf(0x20) + 1];
        proc.pathsLeft = status === 0x52 || status === 0x43 ? 2 : 1; // 'R', 'C'
        proc.expect = 'path';
        proc.body.push(seg, Buffer.from([NUL]));
        continue;
      }
      if (seg.toString('latin1') !== p.from) return `expected a record or the end marker ${p.from}, got ${JSON.stringify(seg.toString('latin1').slice(0, 100))}`;
      const body = Buffer.concat(proc.body);
      proc.body = [];
      proc.expect = 'header';
      proc.queue.shift();
      if (proc.queue.length === 0) refChild(proc.child, this.closed);
      p.resolve(body);
    }
    return null;
  }

  /** Ends `proc` and fails whatever it had not answered (the callers fall back to one-shot runs). */
  private kill(proc: Proc, why: string): void {
    if (!proc.dead) {
      proc.dead = true;
      proc.child.kill('SIGKILL');
    }
    if (this.proc === proc) this.proc = null;
    const queue = proc.queue;
    proc.queue = [];
    const detail = proc.stderr.trim();
    for (const p of queue) p.fail(detail === '' ? why : `${why}: ${detail}`);
  }

  /** Ends the process after it has answered every pending request. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const proc = this.proc;
    if (proc === null || proc.dead) return;
    refChild(proc.child, true);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => proc.child.kill('SIGKILL'), 10_000);
      timer.unref();
      proc.child.once('close', () => { clearTimeout(timer); resolve(); });
      proc.child.stdin!.end();
    });
  }
}

