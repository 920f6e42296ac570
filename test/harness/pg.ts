// Test harness: run store tests against BOTH backends (PGlite and a real PostgreSQL 15 + pgvector).
//
// The PostgreSQL cluster is throwaway and per test process (node:test runs each file in its own
// process): started lazily on first use (initdb ~0.7 s + start ~0.2 s measured), fsync=off, unix socket
// in its temp dir plus a free TCP port on 127.0.0.1, trust auth. It is stopped and deleted at process
// exit; a detached watchdog shell does the same if the process is killed (SIGKILL, test timeout).
// Each `fresh()` call creates its own database on that cluster.
//
// Running as root: the server refuses to run as root, so initdb/pg_ctl run as the `postgres` OS user
// via `runuser -u postgres --`, and the temp dir is chowned to it.
//
// Environment:
//   CODEGRAPH_REQUIRE_PG=1        the postgres backend must be available; otherwise `backends()` throws
//                                 (the test file fails with the reason). Without it, the postgres
//                                 variant is skipped and the reason printed.
//   CODEGRAPH_TEST_DATABASE_URL   use this existing server (superuser URL) instead of starting one.
//   CODEGRAPH_PG_BIN              PostgreSQL bin directory. @default /usr/lib/postgresql/15/bin
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { chown } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe } from 'node:test';
import pg from 'pg';
import { openDatabase, type Db, type OpenDatabaseOptions } from '../../store/db.ts';

export type BackendName = 'pglite' | 'postgres';

export interface TestDatabase {
  /** Options that open this database (a PGlite dataDir, or a server URL). */
  readonly options: OpenDatabaseOptions;
  /**
   * Opens a Db on this database; may be called repeatedly. On postgres several may be open at once
   * (concurrency tests); on PGlite only one at a time (the data-dir lock).
   */
  open(extra?: Partial<OpenDatabaseOptions>): Promise<Db>;
}

export interface Backend {
  readonly name: BackendName;
  /** Why this backend is skipped in this run; undefined when it is available. */
  readonly skip: string | undefined;
  /** A new, empty database: a fresh PGlite dir, or a new database on the shared cluster. */
  fresh(): Promise<TestDatabase>;
}

export interface PgCluster {
  /** Superuser URL of the maintenance database `postgres`. */
  readonly adminUrl: string;
  readonly port: number;
  /** Creates a database and returns its URL. */
  createDatabase(prefix?: string): Promise<string>;
}

export class PgUnavailableError extends Error {
  override name = 'PgUnavailableError';
  readonly code = 'PG_UNAVAILABLE';
}

const PG_BIN = process.env.CODEGRAPH_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const cleanups: Array<() => void> = [];
process.on('exit', () => {
  for (const c of cleanups.splice(0).reverse()) {
    try {
      c();
    } catch {
      // best effort
    }
  }
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function asPostgresUser(): { wrap: (cmd: string, args: string[]) => [string, string[]]; uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return { wrap: (cmd, args) => [cmd, args] };
  let uid: number;
  let gid: number;
  try {
    uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  } catch {
    throw new PgUnavailableError('running as root but there is no `postgres` OS user to run the server as (apt-get install postgresql-15)');
  }
  return { wrap: (cmd, args) => ['runuser', ['-u', 'postgres', '--', cmd, ...args]], uid, gid };
}

function run(cmd: string, args: string[], what: string): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) {
    throw new PgUnavailableError(`${what} failed (${cmd} ${args.join(' ')}): ${(r.stderr || r.stdout || String(r.error)).trim()}`);
  }
}

async function startCluster(): Promise<PgCluster> {
  const external = process.env.CODEGRAPH_TEST_DATABASE_URL;
  if (external !== undefined && external !== '') return clusterAt(external);

  const initdb = path.join(PG_BIN, 'initdb');
  const pgCtl = path.join(PG_BIN, 'pg_ctl');
  if (!existsSync(initdb) || !existsSync(pgCtl)) {
    throw new PgUnavailableError(`PostgreSQL binaries not found in ${PG_BIN} (apt-get install postgresql-15, or set CODEGRAPH_PG_BIN)`);
  }
  const user = asPostgresUser();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'codegraph-pg-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  if (user.uid !== undefined && user.gid !== undefined) await chown(dir, user.uid, user.gid);
  const data = path.join(dir, 'data');

  const t0 = performance.now();
  run(...user.wrap(initdb, ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8']), 'initdb');
  const tInit = performance.now() - t0;

  let lastErr: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const pgOpts = [
      `-p ${port}`, `-k ${dir}`, '-c listen_addresses=127.0.0.1', '-c fsync=off', '-c synchronous_commit=off',
      '-c full_page_writes=off', '-c max_connections=200', '-c shared_buffers=64MB',
    ].join(' ');
    const t1 = performance.now();
    const r = spawnSync(...user.wrap(pgCtl, ['-D', data, '-l', path.join(dir, 'server.log'), '-w', '-t', '30', '-o', pgOpts, 'start']), {
      encoding: 'utf8',
    });
    if (r.status !== 0) {
      lastErr = new PgUnavailableError(`pg_ctl start failed: ${(r.stderr || r.stdout).trim()} (see ${dir}/server.log)`);
      continue;
    }
    const stop = (): void => {
      spawnSync(...user.wrap(pgCtl, ['-D', data, '-m', 'immediate', 'stop']), { stdio: 'ignore' });
    };
    cleanups.push(stop);
    // Watchdog: if this process dies without running 'exit' handlers, stop the server and delete it.
    const [wcmd, wargs] = user.wrap(pgCtl, ['-D', data, '-m', 'immediate', 'stop']);
    const watchdog = spawn(
      'sh',
      ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; "$0" "$@" >/dev/null 2>&1; rm -rf '${dir}'`, wcmd, ...wargs],
      { detached: true, stdio: 'ignore' },
    );
    watchdog.unref();
    if (process.env.CODEGRAPH_TEST_VERBOSE === '1') {
      console.error(`[harness] PostgreSQL cluster: initdb ${tInit.toFixed(0)} ms, start ${(performance.now() - t1).toFixed(0)} ms, port ${port}`);
    }
    return clusterAt(`postgres://postgres@127.0.0.1:${port}/postgres`);
  }
  throw lastErr;
}

async function clusterAt(adminUrl: string): Promise<PgCluster> {
  const admin = new pg.Client({ connectionString: adminUrl });
  try {
    await admin.connect();
    const { rows } = await admin.query<{ n: string }>("SELECT count(*) AS n FROM pg_available_extensions WHERE name = 'vector'");
    if (rows[0]?.n !== '1') {
      throw new PgUnavailableError('pgvector is not installed on the PostgreSQL server (run test/harness/install-pgvector.sh as root)');
    }
  } catch (err) {
    if (err instanceof PgUnavailableError) throw err;
    throw new PgUnavailableError(`cannot connect to the test PostgreSQL at ${adminUrl}: ${(err as Error).message}`);
  } finally {
    await admin.end().catch(() => undefined);
  }
  let n = 0;
  const url = new URL(adminUrl);
  return {
    adminUrl,
    port: Number(url.port || 5432),
    async createDatabase(prefix = 'cg_test') {
      const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${n++}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE "${name}"`);
      } finally {
        await c.end();
      }
      const u = new URL(adminUrl);
      u.pathname = `/${name}`;
      return u.toString();
    },
  };
}

let clusterPromise: Promise<PgCluster> | undefined;

/** The per-process test cluster (started on first call). Throws `PgUnavailableError`. */
export function startPostgres(): Promise<PgCluster> {
  clusterPromise ??= startCluster();
  return clusterPromise;
}

function pgliteBackend(): Backend {
  return {
    name: 'pglite',
    skip: undefined,
    async fresh() {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'codegraph-pglite-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      const options: OpenDatabaseOptions = { dataDir: dir };
      return { options, open: (extra) => openDatabase({ ...options, ...extra }) };
    },
  };
}

let backendsPromise: Promise<Backend[]> | undefined;

/**
 * Both backends. When PostgreSQL is unavailable its `skip` carries the reason (printed once), or,
 * with CODEGRAPH_REQUIRE_PG=1, this rejects with that reason.
 */
export function backends(): Promise<Backend[]> {
  backendsPromise ??= (async () => {
    let cluster: PgCluster | undefined;
    let skip: string | undefined;
    try {
      cluster = await startPostgres();
    } catch (err) {
      if (!(err instanceof PgUnavailableError)) throw err;
      if (process.env.CODEGRAPH_REQUIRE_PG === '1') {
        throw new PgUnavailableError(`CODEGRAPH_REQUIRE_PG=1 but the PostgreSQL test backend is unavailable: ${err.message}`);
      }
      skip = `PostgreSQL backend unavailable: ${err.message}`;
      console.error(`[harness] skipping postgres variant: ${err.message}`);
    }
    const server: Backend = {
      name: 'postgres',
      skip,
      async fresh() {
        if (cluster === undefined) throw new PgUnavailableError(skip ?? 'PostgreSQL unavailable');
        const databaseUrl = await cluster.createDatabase();
        const options: OpenDatabaseOptions = { databaseUrl };
        return { options, open: (extra) => openDatabase({ ...options, ...extra }) };
      },
    };
    return [pgliteBackend(), server];
  })();
  return backendsPromise;
}

/**
 * Declares one `describe` block per backend, titled `${title} [pglite]` / `${title} [postgres]`,
 * skipped with the reason when the backend is unavailable. Use with top-level await:
 *
 *   await withBackends('history store', (b) => {
 *     it('round-trips', async () => { const db = await (await b.fresh()).open(); ... await db.close(); });
 *   });
 */
export async function withBackends(title: string, fn: (b: Backend) => void): Promise<void> {
  for (const b of await backends()) {
    describe(`${title} [${b.name}]`, b.skip === undefined ? {} : { skip: b.skip }, () => fn(b));
  }
}
