// Exclusive lock file for the embedded database directory.
//
// PGlite (unlike a PostgreSQL server, which writes postmaster.pid) does not lock its data directory,
// and two processes writing one directory corrupt it. The lock file holds JSON
// `{ pid, hostname, startedAt }` and is created atomically complete: written to a private temp file,
// then hard-linked to the lock path (link(2) fails with EEXIST like O_EXCL, and readers never see a
// half-written file).
//
// A lock left by a dead process on this host (kill -9, power loss) is taken over. A lock held by a
// live process, by this same process, or by another host (cannot be checked) is refused with
// `LockError` code `LOCKED`. The file is removed by `release()` and, as a fallback, at process exit.
// Signals: Node's default SIGINT/SIGTERM handling skips 'exit' handlers; the daemon's signal handler
// must call db.close() (the stale-lock takeover covers the case where it cannot).
//
// A file alone is not a lock: `rm DATA/codegraph.lock` let a second daemon in, and both wrote
// (issue 8, item 3). Node has no flock(2), so on Linux the holder also listens on an ABSTRACT Unix
// socket named after the lock file's directory (device and inode) and name. Abstract names live in
// the kernel, not in the file system: nothing can delete one, the kernel frees it when the process
// dies (kill -9 included), and a second listen fails with EADDRINUSE. That is checked first; the
// file still says who holds the lock, and still guards platforms without abstract sockets (macOS)
// and holders on other hosts. Measured in test/gh-deleted-lock-file.test.ts. Limits: abstract names
// are per network namespace, so two containers with their own network sharing one data volume are
// told apart only by the file.
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { link, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CodedError } from '../errors/index.ts';

export interface LockOwner {
  pid: number;
  hostname: string;
  /** ISO time at which the owner took the lock. */
  startedAt: string;
}

export class LockError extends CodedError<'LOCKED', { path: string; owner: LockOwner | null }> {
  override name = 'LockError';
  constructor(message: string, data: { path: string; owner: LockOwner | null }) {
    super('LOCKED', message, data);
  }
}

export interface Lock {
  readonly path: string;
  readonly owner: LockOwner;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): Promise<void>;
}

const held = new Map<string, LockOwner>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [file, owner] of held) removeIfOurs(file, owner);
  });
}

function sameOwner(a: LockOwner | null, b: LockOwner): boolean {
  return a !== null && a.pid === b.pid && a.hostname === b.hostname && a.startedAt === b.startedAt;
}

function parseOwner(text: string): LockOwner | null {
  try {
    const v = JSON.parse(text) as Partial<LockOwner>;
    if (typeof v.pid === 'number' && typeof v.hostname === 'string' && typeof v.startedAt === 'string') {
      return { pid: v.pid, hostname: v.hostname, startedAt: v.startedAt };
    }
  } catch {
    // fall through
  }
  return null;
}

function removeIfOurs(file: string, owner: LockOwner): void {
  try {
    if (existsSync(file) && sameOwner(parseOwner(readFileSync(file, 'utf8')), owner)) unlinkSync(file);
  } catch {
    // best effort at exit
  }
}

/** True when `pid` is a running process on this host (EPERM: exists but owned by another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockedMessage(file: string, owner: LockOwner | null): string {
  if (owner === null) {
    return `the database directory is locked by ${file}, whose content is unreadable. If no codegraph process uses this directory, delete ${file} and retry`;
  }
  const who = `pid ${owner.pid} on host ${owner.hostname} (since ${owner.startedAt})`;
  if (owner.pid === process.pid && owner.hostname === os.hostname()) {
    return `the database directory is already open in this process (${who}); close the other Db first (lock file ${file})`;
  }
  if (owner.hostname !== os.hostname()) {
    return `the database directory is locked by ${who}, which cannot be checked from this host. Stop that codegraph process, or if it is gone, delete ${file} and retry`;
  }
  return `the database directory is in use by ${who}. Stop that codegraph process (kill ${owner.pid}) or use another --data-dir; lock file ${file}`;
}

/** The kernel-held half of the lock (Linux): a listener on an abstract socket that answers every
 * connection with the owner's JSON. Null where abstract sockets do not exist. */
async function listenAbstract(file: string, owner: LockOwner): Promise<net.Server | null> {
  if (process.platform !== 'linux') return null;
  const dir = await stat(path.dirname(file));
  const name = `\0codegraph-lock:${dir.dev}:${dir.ino}:${path.basename(file)}`.slice(0, 107);
  const server = net.createServer((sock) => {
    sock.on('error', () => undefined);
    sock.end(`${JSON.stringify(owner)}\n`);
  });
  server.on('error', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ path: name }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') return null; // no abstract sockets here: the file decides
    const current = await probeAbstract(name);
    throw new LockError(lockedMessage(file, current), { path: file, owner: current });
  }
  server.unref(); // the lock must not keep the process alive
  return server;
}

/** Asks the holder of an abstract lock name who it is (null when it does not answer in 2 s). */
function probeAbstract(name: string): Promise<LockOwner | null> {
  return new Promise((resolve) => {
    let text = '';
    const sock = net.connect({ path: name });
    const timer = setTimeout(() => sock.destroy(), 2_000);
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (text += d));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(parseOwner(text));
    });
  });
}

/** Takes the lock at `file` (its directory must exist), taking over a stale one. Throws `LockError`. */
export async function acquireLock(file: string): Promise<Lock> {
  const owner: LockOwner = { pid: process.pid, hostname: os.hostname(), startedAt: new Date().toISOString() };
  const kernel = await listenAbstract(file, owner);
  try {
    await acquireFile(file, owner);
  } catch (err) {
    kernel?.close();
    throw err;
  }
  held.set(file, owner);
  installExitHook();
  let released = false;
  return {
    path: file,
    owner,
    async release() {
      if (released) return;
      released = true;
      held.delete(file);
      removeIfOurs(file, owner);
      await new Promise<void>((resolve) => (kernel ? kernel.close(() => resolve()) : resolve()));
    },
  };
}

async function acquireFile(file: string, owner: LockOwner): Promise<void> {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, `${JSON.stringify(owner)}\n`, { mode: 0o644 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(tmp, file);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && attempt < 5) continue; // released meanwhile
        throw err;
      }
      const current = parseOwner(text);
      const stale =
        current !== null &&
        current.hostname === owner.hostname &&
        current.pid !== process.pid &&
        !isProcessAlive(current.pid);
      if (!stale || attempt >= 5) throw new LockError(lockedMessage(file, current), { path: file, owner: current });
      // Take over: move the stale file aside atomically, then check we moved the file we judged stale
      // (another process may have taken it over and written a live lock in between).
      const aside = `${file}.stale.${process.pid}`;
      try {
        await rename(file, aside);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      const moved = parseOwner(await readFile(aside, 'utf8').catch(() => ''));
      if (moved === null || !sameOwner(moved, current)) {
        // We moved someone's live lock: put it back (link fails if yet another one appeared) and give up.
        await link(aside, file).catch(() => undefined);
        await unlink(aside).catch(() => undefined);
        throw new LockError(lockedMessage(file, moved), { path: file, owner: moved });
      }
      await unlink(aside).catch(() => undefined);
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}
