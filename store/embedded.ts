// The embedded database as a local server: PGlite runs in a child process or a worker thread
// (store/pglite-process.ts) behind the PostgreSQL wire protocol on a Unix socket, so the process that
// owns the data directory reaches it through node-postgres exactly like a PostgreSQL server, and its
// event loop never waits on Postgres-in-WASM (issue #9: a 24.5 s event-loop stall during an initial
// index). Other processes (the CLI beside a running daemon) connect to the same socket.
//
// A thread (`host: 'thread'`, the CLI's short runs) listens on the socket itself and lives as long
// as the store is open; a second Node runtime would only add to the peak of `codegraph index`.
// A process (`host: 'process'`, the daemon): the owner listens on the socket itself and passes every accepted connection to the database
// process (a socket handle over the IPC channel; the owner reads none of its bytes). So the database
// process can stop when the store has been idle for `idleStopMs` and start again on the next
// connection, from anyone: all the memory PostgreSQL-in-WASM holds (its heap never shrinks) is given
// back while nothing asks, and a daemon at rest weighs what it weighs with a PostgreSQL server
// (issue #9: idle RSS). Its connections wait in the listen queue while it starts (about a second).
//
// The socket is `<dir>/.s.PGSQL.5432` (libpq's naming, which node-postgres follows for `host=/dir`),
// with `<dir>` the data directory, or, when that path would exceed the 107-byte limit of a Unix
// socket address, a per-data-directory directory under the system temp dir (derived from the data
// directory's absolute path, so every process finds the same one). Mode 0600: only the owner's user
// may connect, and no password is asked.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { migrationsKey } from './migrate.ts';
import type { ParentMessage, ProcessInput, ProcessMessage } from './pglite-process.ts';

/** The database process's module: compiled pglite-process.js from the build (dist/), no TypeScript
 * loader; from the sources (tests), pglite-process-entry.mjs registers tsx first. */
const PROCESS_ENTRY = import.meta.url.endsWith('.ts')
  ? new URL('./pglite-process-entry.mjs', import.meta.url)
  : new URL('./pglite-process.js', import.meta.url);

const SOCKET_PORT = 5432;
const SOCKET_NAME = `.s.PGSQL.${SOCKET_PORT}`;
/** sun_path is 108 bytes on Linux (104 on macOS) including the NUL. */
const MAX_SOCKET_PATH = 103;

/** Directory holding the socket of the embedded database of `dataDir` (absolute). */
export function socketDir(dataDir: string): string {
  const root = path.resolve(dataDir);
  if (Buffer.byteLength(path.join(root, SOCKET_NAME)) <= MAX_SOCKET_PATH) return root;
  const hash = createHash('sha256').update(root).digest('hex').slice(0, 16);
  return path.join(os.tmpdir(), `codegraph-${hash}`);
}

/** node-postgres connection settings for the socket in `dir`. */
export function socketConnection(dir: string): { host: string; port: number; user: string; database: string } {
  return { host: dir, port: SOCKET_PORT, user: 'postgres', database: 'postgres' };
}

/** What the process that opened the store keeps on the database (store/db.ts), so an idle stop
 * neither cuts its work nor makes it reconnect at once. */
export interface EmbeddedOwner {
  /** The owner's own connections open now; all must be idle for the database to stop. */
  ownConnections(): number;
  /** The owner has work in progress (a pool client checked out). */
  busy(): boolean;
  /** The database stops now: the owner's connections will close; it must not reconnect by itself. */
  suspend(): void;
  /** The database runs again: reopen what the owner keeps open (its LISTEN connection). */
  resume(): Promise<void>;
}

export interface EmbeddedServer {
  readonly socketDir: string;
  /** Bytes of PGlite's WASM heap now (it grows and never shrinks; 0 while the process is stopped). */
  readonly wasmMemoryBytes: number;
  /** Resident bytes of the database process (0 while it is stopped, or where /proc is missing). */
  readonly residentBytes: number;
  /** Times the database process started. */
  readonly starts: number;
  /** Whether the database process runs now. */
  readonly running: boolean;
  /** Lets the database process stop after `idleStopMs` without work (null: never). */
  setOwner(owner: EmbeddedOwner, idleStopMs: number | null): void;
  /** Stops the server and shuts PGlite down cleanly (checkpoint). Idempotent. */
  close(): Promise<void>;
}

export interface StartEmbeddedOptions {
  pgDir: string;
  dataDir: string;
  settings: string[];
  log?: Logger | undefined;
  /** Milliseconds to wait for a clean PGlite shutdown before killing the process. @default 60_000 */
  closeTimeoutMs?: number;
  /** Cap on PGlite's WASM heap, in bytes (pglite-process.ts). @default null (PGlite's own: 2 GiB) */
  maxMemoryBytes?: number | null;
  /** Where PGlite runs: a child process that may stop while idle (setOwner), or a worker thread of
   * this process that runs until close. @default 'process' */
  host?: 'process' | 'thread';
  /** A migrations directory whose files a fresh data directory already holds, copied from a
   * template made once per set of files (createDataDir). @default none */
  templateMigrations?: string | undefined;
}

/** The embedded servers of this process, for `embeddedMemoryBytes`. */
const live = new Set<EmbeddedServer>();

const sumOverLive = (field: 'wasmMemoryBytes' | 'residentBytes' | 'starts'): number => {
  let n = 0;
  for (const s of live) n += s[field];
  return n;
};

/** Bytes of WASM heap held by the embedded databases this process runs (0 when none). */
export const embeddedMemoryBytes = (): number => sumOverLive('wasmMemoryBytes');
/** Resident bytes of the database processes of the embedded databases this process runs. */
export const embeddedResidentBytes = (): number => sumOverLive('residentBytes');
/** Database-process starts of the embedded databases this process runs (idle stops start again). */
export const embeddedStarts = (): number => sumOverLive('starts');

/** Whether `work` settles (either way) within `ms`; false leaves it running. */
async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work.then(() => true, () => true), new Promise<boolean>((r) => { timer = setTimeout(() => r(false), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

export class EmbeddedStartError extends Error {
  override name = 'EmbeddedStartError';
}

export async function startEmbedded(opts: StartEmbeddedOptions): Promise<EmbeddedServer> {
  // A fresh data directory is created by PGlite's initdb, which runs inside the same WASM instance
  // and grows its heap from 128 to ~317 MiB; the heap never shrinks, so that would be held for the
  // daemon's life (issue #9: memory). The directory is therefore created by a child process that
  // then exits (in a thread of this process it still set the process's peak RSS), and served by a
  // database process that starts from the minimal heap.
  // A template copy (createDataDir) skips initdb altogether after the first store of a machine.
  if (!existsSync(path.join(opts.pgDir, 'PG_VERSION'))) await createDataDir(opts);
  return serve(opts);
}

/** What a template holds beyond initdb's output: 2, the extensions every store needs. A new value
 * makes a new template. */
const TEMPLATE_REVISION = 2;

/** Marks a finished template (written last, so a template without it is never used). */
const TEMPLATE_MARK = '.codegraph-template';

/** Where fresh PGlite data directories are copied from: one per PGlite version (initdb's output
 * depends on nothing else; settings are passed at each start). `CODEGRAPH_PGLITE_TEMPLATE_DIR`
 * moves it; set to the empty string, every new store runs initdb. @default $XDG_CACHE_HOME/codegraph
 * (~/.cache/codegraph) */
function templateDir(): string | null {
  const env = process.env.CODEGRAPH_PGLITE_TEMPLATE_DIR;
  if (env === '') return null;
  const root = env ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'codegraph');
  const require = createRequire(import.meta.url);
  const pkg = path.join(path.dirname(require.resolve('@electric-sql/pglite')), '..', 'package.json');
  const version = (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
  return path.join(root, `pglite-${version}-datadir-${TEMPLATE_REVISION}`);
}

/**
 * Makes `opts.pgDir` a fresh PostgreSQL data directory. initdb inside PGlite costs ~7 CPU-seconds
 * (as much as the rest of a 355-commit history index; #9), so it runs once per PGlite version: its
 * result is kept as a template (templateDir) and later stores are copies of it (~0.1 s for 40 MB).
 * With `templateMigrations`, the copy comes from a second template that also holds those
 * migrations (one per set of migration files), so the store's first `migrate` has nothing to do:
 * ~0.7 s of a fresh store's first open (#9).
 * The copy goes to a sibling directory first and is renamed into place, so a crash never leaves a
 * half-copied store.
 */
async function createDataDir(opts: StartEmbeddedOptions): Promise<void> {
  let template: string | null = null;
  try {
    template = await ensureTemplate(templateDir(), (tmp) => initdb(tmp));
  } catch (err) {
    opts.log?.warn({ err, template }, 'could not make the PGlite template directory; running initdb in the store');
    template = null;
  }
  if (template !== null && opts.templateMigrations !== undefined) {
    const base = template;
    const migrations = opts.templateMigrations;
    try {
      const schema = `${base}-schema-${(await migrationsKey(migrations)).slice(0, 16)}`;
      template = await ensureTemplate(schema, async (tmp) => {
        await copyTemplate(base, tmp);
        await initdb(tmp, migrations);
      }, `${path.basename(base)}-schema-`);
    } catch (err) {
      // The store migrates itself; only its first open is slower.
      opts.log?.warn({ err }, 'could not make the PGlite schema template; the new store is migrated in place');
      template = base;
    }
  }
  // Made beside the store and renamed into place, so a first start killed midway leaves no
  // half-made directory that a later start would take for a database.
  const staging = `${opts.pgDir}.new`;
  await rm(staging, { recursive: true, force: true });
  if (template !== null) await copyTemplate(template, staging);
  else await initdb(staging);
  // rename(2) replaces an empty directory (the caller may have created `pgDir` already).
  await rename(staging, opts.pgDir);
}

/**
 * The finished template at `dir`, made by `make` into a sibling directory and renamed into place
 * when missing; null when templates are off (`dir` null). Another process may make it meanwhile:
 * theirs is as good, ours is dropped. `stale` names the siblings a new template replaces (older
 * schema templates), removed once it is in place.
 */
async function ensureTemplate(dir: string | null, make: (tmp: string) => Promise<void>, stale?: string): Promise<string | null> {
  if (dir === null) return null;
  if (existsSync(path.join(dir, TEMPLATE_MARK))) return dir;
  await mkdir(path.dirname(dir), { recursive: true, mode: 0o700 });
  const tmp = `${dir}.${process.pid}.${Date.now()}`;
  try {
    await make(tmp);
    await writeFile(path.join(tmp, TEMPLATE_MARK), '');
    await rename(tmp, dir).catch(() => undefined);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  if (stale !== undefined) {
    for (const name of await readdir(path.dirname(dir))) {
      // Only finished templates of other schemas: a sibling still being made ends in `.pid.time`.
      if (name.startsWith(stale) && /^[0-9a-f]+$/.test(name.slice(stale.length)) && path.join(path.dirname(dir), name) !== dir) {
        await rm(path.join(path.dirname(dir), name), { recursive: true, force: true }).catch(() => undefined);
      }
    }
  }
  return existsSync(path.join(dir, TEMPLATE_MARK)) ? dir : null;
}

/** Copies a template's cluster (~1,100 files, 40 MB) to `to`, without the template's mark: the
 * directories first, then the files 32 at a time (`fs.cp` took 0.4-0.5 s, this ~0.1 s). */
async function copyTemplate(from: string, to: string): Promise<void> {
  // Walked with a stack (`readdir`'s `recursive` and `Dirent.parentPath` need Node >= 20.12).
  const files: string[] = [];
  const dirs = [''];
  for (let rel = dirs.pop(); rel !== undefined; rel = dirs.pop()) {
    await mkdir(path.join(to, rel), { mode: 0o700 });
    for (const e of await readdir(path.join(from, rel), { withFileTypes: true })) {
      const child = path.join(rel, e.name);
      if (e.isDirectory()) dirs.push(child);
      else if (e.isFile() && child !== TEMPLATE_MARK) files.push(child);
    }
  }
  let next = 0;
  const copier = async (): Promise<void> => {
    while (next < files.length) {
      const rel = files[next++]!;
      await copyFile(path.join(from, rel), path.join(to, rel));
    }
  };
  await Promise.all(Array.from({ length: 32 }, copier));
}

const INITDB_ENTRY = import.meta.url.endsWith('.ts')
  ? new URL('./pglite-initdb-entry.mjs', import.meta.url)
  : new URL('./pglite-initdb.js', import.meta.url);

/** Creates a cluster in `dir` (which must not exist) in a child process, or with `migrations`
 * applies those to the cluster already there; on failure removes `dir`. */
async function initdb(dir: string, migrations?: string): Promise<void> {
  const args = [fileURLToPath(INITDB_ENTRY), dir, ...(migrations === undefined ? [] : ['--migrate', migrations])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err = (err + d).slice(-4000); });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, signal) => resolve(c ?? (signal === null ? null : -1)));
  });
  if (code !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new EmbeddedStartError(`creating the database in ${dir} failed (initdb exited with ${code}): ${err.trim() || 'no message'}`);
  }
}

/** How long a new database process waits for an earlier one's lock (it checkpoints as it exits). */
const LOCK_WAIT_MS = 60_000;
/** How long the owner may take to reopen its connections after a start before others are served. */
const RESUME_WAIT_MS = 5_000;

async function serve(opts: StartEmbeddedOptions): Promise<EmbeddedServer> {
  const dir = socketDir(opts.dataDir);
  if (dir !== path.resolve(opts.dataDir)) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
  }
  const host = opts.host === 'thread' ? new ThreadHost(opts, dir) : new DatabaseHost(opts, dir);
  try {
    await host.start();
  } catch (err) {
    await host.close();
    throw err;
  }
  live.add(host);
  return host;
}

/**
 * The database body's first `ready` or `error` (pglite-process.ts), from its thread or process; a
 * failure to start or an exit before it becomes an `error`. Later messages go to `onOther`.
 */
function firstReply(
  host: { on(event: 'message', f: (m: ProcessMessage) => void): unknown; once(event: 'error', f: (err: Error) => void): unknown },
  exited: Promise<void>, exitMessage: () => string, onOther: (m: ProcessMessage) => void,
): Promise<Extract<ProcessMessage, { type: 'ready' | 'error' }>> {
  return new Promise((resolve) => {
    let settled = false;
    host.on('message', (m: ProcessMessage) => {
      if (!settled && (m.type === 'ready' || m.type === 'error')) {
        settled = true;
        resolve(m);
      } else onOther(m);
    });
    host.once('error', (err) => resolve({ type: 'error', message: err.message }));
    void exited.then(() => resolve({ type: 'error', message: exitMessage() }));
  });
}

function processInput(opts: StartEmbeddedOptions, socketPath?: string): ProcessInput {
  return {
    pgDir: opts.pgDir,
    lockPath: path.join(path.resolve(opts.dataDir), 'pglite.lock'),
    settings: opts.settings,
    maxMemoryBytes: opts.maxMemoryBytes ?? null,
    lockWaitMs: LOCK_WAIT_MS,
    ...(socketPath !== undefined ? { socketPath } : {}),
  };
}

/** PGlite in a worker thread that listens on the socket itself, until close (no idle stop). */
class ThreadHost implements EmbeddedServer {
  readonly socketDir: string;
  readonly residentBytes = 0; // part of this process's
  readonly starts = 1;
  readonly running = true;
  readonly #opts: StartEmbeddedOptions;
  #worker: Worker | null = null;
  #exited: Promise<void> = Promise.resolve();
  #wasmBytes = 0;
  #closing: Promise<void> | null = null;

  constructor(opts: StartEmbeddedOptions, dir: string) {
    this.#opts = opts;
    this.socketDir = dir;
  }

  get wasmMemoryBytes(): number {
    return this.#wasmBytes;
  }

  setOwner(): void {
    // A thread lives until close: nothing to stop while idle.
  }

  async start(): Promise<void> {
    const socketPath = path.join(this.socketDir, SOCKET_NAME);
    const worker = new Worker(PROCESS_ENTRY, { workerData: processInput(this.#opts, socketPath) });
    this.#worker = worker;
    this.#exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    const first = await firstReply(worker, this.#exited, () => 'the database thread exited', (m) => {
      if (m.type === 'memory') this.#wasmBytes = m.wasmBytes;
      if (m.type === 'fatal') this.#opts.log?.error({ reason: m.message }, 'embedded database failed; connections were closed');
    });
    if (first.type === 'error') throw new EmbeddedStartError(first.message);
    await chmod(socketPath, 0o600);
    this.#wasmBytes = first.wasmBytes;
    worker.on('error', (err) => this.#opts.log?.error({ err }, 'embedded database thread failed'));
  }

  close(): Promise<void> {
    live.delete(this);
    this.#closing ??= (async () => {
      const worker = this.#worker;
      if (worker === null) return;
      const done = new Promise<void>((resolve) => worker.on('message', (m: ProcessMessage) => {
        if (m.type === 'closed' || m.type === 'fatal') resolve();
      }));
      worker.postMessage({ type: 'close' } satisfies ParentMessage);
      const timeout = this.#opts.closeTimeoutMs ?? 60_000;
      if (!(await settlesWithin(Promise.race([done, this.#exited]), timeout))) this.#opts.log?.error({ timeoutMs: timeout }, 'embedded database did not shut down in time; terminating its thread');
      await worker.terminate();
    })();
    return this.#closing;
  }
}

interface Running {
  child: ChildProcess;
  exited: Promise<void>;
  /** Resolves the reply to the one question in flight (stopIfIdle or close). */
  reply: ((m: ProcessMessage | null) => void) | null;
  intentional: boolean;
}

/**
 * The socket and the database process behind it. States: stopped (no process; a connection starts
 * one), starting (connections queue), running (connections are passed on at once), stopping (an
 * idle stop or close: connections queue for the next start).
 */
class DatabaseHost implements EmbeddedServer {
  readonly socketDir: string;
  readonly #opts: StartEmbeddedOptions;
  readonly #socketPath: string;
  #server: net.Server | null = null;
  #proc: Running | null = null;
  #starting: Promise<void> | null = null;
  #stopping = false;
  #closed = false;
  #queue: net.Socket[] = [];
  #owner: EmbeddedOwner | null = null;
  #idleTimer: NodeJS.Timeout | null = null;
  #wasmBytes = 0;
  #starts = 0;

  constructor(opts: StartEmbeddedOptions, dir: string) {
    this.#opts = opts;
    this.socketDir = dir;
    this.#socketPath = path.join(dir, SOCKET_NAME);
  }

  get wasmMemoryBytes(): number {
    return this.#wasmBytes;
  }

  get residentBytes(): number {
    const pid = this.#proc?.child.pid;
    if (pid === undefined) return 0;
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m === null ? 0 : Number(m[1]) * 1024;
    } catch {
      return 0;
    }
  }

  get starts(): number {
    return this.#starts;
  }

  get running(): boolean {
    return this.#proc !== null && this.#starting === null;
  }

  async start(): Promise<void> {
    await this.#listen();
    await this.wake();
  }

  async #listen(): Promise<void> {
    // A socket file left by a killed process (the caller holds the data-dir lock, so it is stale).
    await rm(this.#socketPath, { force: true });
    // pauseOnConnect: this process reads nothing, so the database process gets every byte.
    const server = net.createServer({ pauseOnConnect: true }, (socket) => this.#accept(socket));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.#opts.log?.error({ err }, 'embedded database socket failed'));
    await chmod(this.#socketPath, 0o600);
  }

  setOwner(owner: EmbeddedOwner, idleStopMs: number | null): void {
    this.#owner = owner;
    if (this.#idleTimer !== null) clearInterval(this.#idleTimer);
    this.#idleTimer = null;
    if (idleStopMs === null || this.#closed) return;
    this.#idleTimer = setInterval(() => void this.#stopIfIdle(idleStopMs), Math.max(100, Math.min(5_000, Math.floor(idleStopMs / 4))));
    this.#idleTimer.unref();
  }

  #accept(socket: net.Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    socket.on('error', () => undefined);
    if (this.running && !this.#stopping) {
      this.#pass(socket);
      return;
    }
    this.#queue.push(socket);
    if (this.#proc === null && !this.#stopping) void this.wake().catch(() => undefined);
  }

  #pass(socket: net.Socket): void {
    const proc = this.#proc;
    if (proc === null || !proc.child.connected) {
      socket.destroy();
      return;
    }
    proc.child.send({ type: 'conn' } satisfies ParentMessage, socket, (err) => {
      if (err) socket.destroy();
    });
  }

  /** Serves what queued: only once the owner's connections are back, so it sees every NOTIFY. */
  #flush(): void {
    const queued = this.#queue;
    this.#queue = [];
    for (const s of queued) {
      if (this.running && !this.#stopping) this.#pass(s);
      else this.#queue.push(s);
    }
  }

  /** Starts the database process unless it runs; rejects (and drops the waiting connections) when
   * it cannot start. */
  wake(): Promise<void> {
    if (this.#closed) return Promise.reject(new EmbeddedStartError('the embedded database is closed'));
    if (this.#proc !== null && this.#starting === null) return Promise.resolve();
    this.#starting ??= (async () => {
      try {
        await this.#spawn();
      } catch (err) {
        this.#opts.log?.error({ err }, 'embedded database could not start');
        for (const s of this.#queue.splice(0)) s.destroy();
        throw err;
      } finally {
        this.#starting = null;
      }
      if (this.#starts > 1 && this.#owner !== null) {
        const resumed = this.#owner.resume().catch((err: unknown) => this.#opts.log?.warn({ err }, 'reopening connections after the database restarted failed'));
        await settlesWithin(resumed, RESUME_WAIT_MS);
      }
      this.#flush();
    })();
    return this.#starting;
  }

  async #spawn(): Promise<void> {
    const child = fork(fileURLToPath(PROCESS_ENTRY), [JSON.stringify(processInput(this.#opts))], {
      // Not the parent's flags (a test runner's, an inspector's): the process needs none.
      execArgv: [],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
    });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000);
    });
    const proc: Running = {
      child,
      reply: null,
      intentional: false,
      exited: new Promise<void>((resolve) => child.once('exit', () => resolve())),
    };
    const first = await firstReply(child, proc.exited,
      () => `the database process exited with code ${child.exitCode ?? child.signalCode}: ${stderr.trim() || 'no message'}`,
      (m) => this.#message(proc, m));
    if (first.type === 'error') {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      throw new EmbeddedStartError(first.message);
    }
    this.#wasmBytes = first.wasmBytes;
    this.#starts++;
    this.#proc = proc;
    void proc.exited.then(() => this.#exited(proc, stderr));
    this.#opts.log?.[this.#starts > 1 ? 'info' : 'debug']({ childPid: child.pid, starts: this.#starts }, 'embedded database process started');
  }

  #message(proc: Running, m: ProcessMessage): void {
    switch (m.type) {
      case 'memory':
        this.#wasmBytes = m.wasmBytes;
        return;
      case 'fatal':
        // PGlite's session is broken (its connections were closed): the process is of no more use.
        // Killed, it is started afresh by the next connection, and PostgreSQL recovers from its WAL.
        this.#opts.log?.error({ reason: m.message }, 'embedded database failed; its process is restarted on the next connection');
        proc.child.kill('SIGKILL');
        return;
      case 'busy':
      case 'idle':
      case 'closed': {
        const r = proc.reply;
        proc.reply = null;
        r?.(m);
        return;
      }
      default:
        return;
    }
  }

  #exited(proc: Running, stderr: string): void {
    proc.reply?.(null);
    proc.reply = null;
    if (this.#proc === proc) this.#proc = null;
    this.#wasmBytes = 0;
    if (!proc.intentional) {
      this.#opts.log?.error({ code: proc.child.exitCode, signal: proc.child.signalCode, stderr: stderr.trim() || undefined }, 'embedded database process exited unexpectedly; it starts again on the next connection');
    }
    if (!this.#closed && !this.#stopping && this.#queue.length > 0) void this.wake().catch(() => undefined);
  }

  #ask(proc: Running, m: ParentMessage): Promise<ProcessMessage | null> {
    return new Promise((resolve) => {
      proc.reply = resolve;
      if (!proc.child.connected) {
        proc.reply = null;
        resolve(null);
        return;
      }
      proc.child.send(m);
    });
  }

  async #stopIfIdle(idleMs: number): Promise<void> {
    const proc = this.#proc;
    const owner = this.#owner;
    if (proc === null || owner === null || this.#stopping || this.#closed || this.#starting !== null || owner.busy()) return;
    this.#stopping = true;
    try {
      const answer = await this.#ask(proc, { type: 'stopIfIdle', own: owner.ownConnections(), idleMs });
      if (answer?.type === 'idle' && !owner.busy() && !this.#closed) {
        owner.suspend();
        await this.#stop(proc);
        this.#opts.log?.info({ idleMs }, 'embedded database idle: its process stopped (it starts again on the next connection)');
      }
    } finally {
      this.#stopping = false;
    }
    // Connections that came in meanwhile: passed on, or they start it again.
    if (this.#closed || this.#queue.length === 0) return;
    if (this.#proc === null) void this.wake().catch(() => undefined);
    else this.#flush();
  }

  /** Clean shutdown of `proc` (checkpoint), killed after closeTimeoutMs. */
  async #stop(proc: Running): Promise<void> {
    proc.intentional = true;
    const timeout = this.#opts.closeTimeoutMs ?? 60_000;
    if (!(await settlesWithin(this.#ask(proc, { type: 'close' }).then(() => proc.exited), timeout))) {
      this.#opts.log?.error({ timeoutMs: timeout }, 'embedded database did not shut down in time; killing its process');
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
  }

  #closing: Promise<void> | null = null;

  close(): Promise<void> {
    live.delete(this);
    this.#closing ??= (async () => {
      this.#closed = true;
      if (this.#idleTimer !== null) clearInterval(this.#idleTimer);
      const server = this.#server;
      this.#server = null;
      // Stops accepting at once. Not awaiting close()'s callback: it also waits for the connections
      // handed to the database process, and never comes once that process has exited (stopped
      // while idle), which hung every close after an idle stop; #stop below ends those connections.
      server?.close();
      for (const s of this.#queue.splice(0)) s.destroy();
      await this.#starting?.catch(() => undefined);
      const proc = this.#proc;
      if (proc !== null) await this.#stop(proc);
      await rm(this.#socketPath, { force: true });
    })();
    return this.#closing;
  }
}
