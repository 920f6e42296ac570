// The embedded database as a local server: PGlite runs in a worker thread (store/pglite-worker.ts)
// and serves the PostgreSQL wire protocol on a Unix socket, so the process that owns the data
// directory reaches it through node-postgres exactly like a PostgreSQL server, and its event loop
// never waits on Postgres-in-WASM (issue #9: a 24.5 s event-loop stall during an initial index).
// Other processes (the CLI beside a running daemon) connect to the same socket.
//
// The socket is `<dir>/.s.PGSQL.5432` (libpq's naming, which node-postgres follows for `host=/dir`),
// with `<dir>` the data directory, or, when that path would exceed the 107-byte limit of a Unix
// socket address, a per-data-directory directory under the system temp dir (derived from the data
// directory's absolute path, so every process finds the same one). Mode 0600: only the owner's user
// may connect, and no password is asked.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, cp, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { WorkerInput, WorkerMessage } from './pglite-worker.ts';

/** The worker module: compiled pglite-worker.js from the build (dist/), no TypeScript loader in the
 * thread; from the sources (tests), pglite-worker-entry.mjs registers tsx first (as indexer/pool.ts). */
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('./pglite-worker-entry.mjs', import.meta.url)
  : new URL('./pglite-worker.js', import.meta.url);

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

export interface EmbeddedServer {
  readonly socketDir: string;
  /** Bytes of PGlite's WASM heap now (it grows and never shrinks). */
  readonly wasmMemoryBytes: number;
  /** Stops the server and shuts PGlite down cleanly (checkpoint). Idempotent. */
  close(): Promise<void>;
}

export interface StartEmbeddedOptions {
  pgDir: string;
  dataDir: string;
  settings: string[];
  log?: Logger | undefined;
  /** Milliseconds to wait for a clean PGlite shutdown before terminating the thread. @default 60_000 */
  closeTimeoutMs?: number;
  /** Cap on PGlite's WASM heap, in bytes (pglite-worker.ts). @default null (PGlite's own: 2 GiB) */
  maxMemoryBytes?: number | null;
}

/** The embedded servers of this process, for `embeddedMemoryBytes`. */
const live = new Set<EmbeddedServer>();

/** Bytes of WASM heap held by the embedded databases this process runs (0 when none). */
export function embeddedMemoryBytes(): number {
  let n = 0;
  for (const s of live) n += s.wasmMemoryBytes;
  return n;
}

export class EmbeddedStartError extends Error {
  override name = 'EmbeddedStartError';
}

export async function startEmbedded(opts: StartEmbeddedOptions): Promise<EmbeddedServer> {
  // A fresh data directory is created by PGlite's initdb, which runs inside the same WASM instance
  // and grows its heap from 128 to ~317 MiB; the heap never shrinks, so that would be held for the
  // daemon's life (issue #9: memory). The directory is therefore created by a child process that
  // then exits (in a thread of this process it still set the process's peak RSS), and served by a
  // thread that starts from the minimal heap.
  // A template copy (createDataDir) skips initdb altogether after the first store of a machine.
  if (!existsSync(path.join(opts.pgDir, 'PG_VERSION'))) await createDataDir(opts);
  return serve(opts);
}

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
  return path.join(root, `pglite-${version}-datadir`);
}

/**
 * Makes `opts.pgDir` a fresh PostgreSQL data directory. initdb inside PGlite costs ~7 CPU-seconds
 * (as much as the rest of a 355-commit history index; #9), so it runs once per PGlite version: its
 * result is kept as a template (templateDir) and later stores are copies of it (~0.1 s for 40 MB).
 * The copy goes to a sibling directory first and is renamed into place, so a crash never leaves a
 * half-copied store.
 */
async function createDataDir(opts: StartEmbeddedOptions): Promise<void> {
  let template: string | null = null;
  try {
    template = templateDir();
    if (template !== null && !existsSync(path.join(template, TEMPLATE_MARK))) {
      await mkdir(path.dirname(template), { recursive: true, mode: 0o700 });
      const tmp = `${template}.${process.pid}.${Date.now()}`;
      try {
        await initdb(tmp);
        await writeFile(path.join(tmp, TEMPLATE_MARK), '');
        // Another process may have made it meanwhile: theirs is as good, ours is dropped.
        await rename(tmp, template).catch(() => undefined);
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    }
  } catch (err) {
    opts.log?.warn({ err, template }, 'could not make the PGlite template directory; running initdb in the store');
    template = null;
  }
  // Made beside the store and renamed into place, so a first start killed midway leaves no
  // half-made directory that a later start would take for a database.
  const staging = `${opts.pgDir}.new`;
  await rm(staging, { recursive: true, force: true });
  if (template !== null && existsSync(path.join(template, TEMPLATE_MARK))) {
    await cp(template, staging, { recursive: true, filter: (src) => path.basename(src) !== TEMPLATE_MARK });
  } else {
    await initdb(staging);
  }
  // rename(2) replaces an empty directory (the caller may have created `pgDir` already).
  await rename(staging, opts.pgDir);
}

const INITDB_ENTRY = import.meta.url.endsWith('.ts')
  ? new URL('./pglite-initdb-entry.mjs', import.meta.url)
  : new URL('./pglite-initdb.js', import.meta.url);

/** Creates a cluster in `dir` (which must not exist) in a child process; on failure removes it. */
async function initdb(dir: string): Promise<void> {
  const child = spawn(process.execPath, [fileURLToPath(INITDB_ENTRY), dir], { stdio: ['ignore', 'ignore', 'pipe'] });
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

async function serve(opts: StartEmbeddedOptions): Promise<EmbeddedServer> {
  const dir = socketDir(opts.dataDir);
  if (dir !== path.resolve(opts.dataDir)) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
  }
  const socketPath = path.join(dir, SOCKET_NAME);
  const input: WorkerInput = { pgDir: opts.pgDir, socketPath, settings: opts.settings, maxMemoryBytes: opts.maxMemoryBytes ?? null };
  const worker = new Worker(WORKER_URL, { workerData: input });
  let exited = false;
  const exit = new Promise<number>((resolve) => worker.once('exit', (code) => {
    exited = true;
    resolve(code);
  }));
  const first = await new Promise<WorkerMessage>((resolve) => {
    worker.once('message', resolve);
    worker.once('error', (err) => resolve({ type: 'error', message: err.message }));
    void exit.then((code) => resolve({ type: 'error', message: `the database thread exited with code ${code}` }));
  });
  if (first.type !== 'ready') {
    if (!exited) await worker.terminate();
    throw new EmbeddedStartError(first.type === 'error' || first.type === 'fatal' ? first.message : 'unexpected message from the database thread');
  }
  await chmod(socketPath, 0o600);
  let wasmBytes = first.wasmBytes;
  worker.on('message', (m: WorkerMessage) => {
    if (m.type === 'memory') wasmBytes = m.wasmBytes;
    if (m.type === 'fatal') opts.log?.error({ reason: m.message }, 'embedded database failed; connections were closed');
  });
  worker.on('error', (err) => opts.log?.error({ err }, 'embedded database thread failed'));
  let closing: Promise<void> | null = null;
  const server: EmbeddedServer = {
    socketDir: dir,
    get wasmMemoryBytes() {
      return wasmBytes;
    },
    close() {
      live.delete(server);
      closing ??= (async () => {
        if (exited) return;
        const done = new Promise<void>((resolve) => worker.on('message', (m: WorkerMessage) => {
          if (m.type === 'closed' || m.type === 'fatal') resolve();
        }));
        worker.postMessage({ type: 'close' });
        const timeout = opts.closeTimeoutMs ?? 60_000;
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          done.then(() => false),
          exit.then(() => false),
          new Promise<boolean>((r) => { timer = setTimeout(() => r(true), timeout); }),
        ]);
        clearTimeout(timer);
        if (timedOut) opts.log?.error({ timeoutMs: timeout }, 'embedded database did not shut down in time; terminating its thread');
        if (!exited) await worker.terminate();
      })();
      return closing;
    },
  };
  live.add(server);
  return server;
}
