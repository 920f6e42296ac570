// The database layer under the history store: one API over two backends, one code path.
//
// - `databaseUrl` given  -> a node-postgres `pg.Pool` against a PostgreSQL server (with pgvector).
// - otherwise            -> PGlite (Postgres compiled to WASM) in `<dataDir>/pg`, run in a worker
//                           thread that serves the PostgreSQL wire protocol on a Unix socket
//                           (store/embedded.ts, store/pglite-server.ts); the same `pg.Pool` talks to
//                           it, so row shapes and type parsing are identical on both backends, and
//                           Postgres-in-WASM never blocks this thread's event loop (issue #9).
//                           With `attach`, a process that finds the data directory locked by a live
//                           codegraph process connects to that process's socket instead of failing.
//
// PGlite is ONE session. Its socket server hands the session to one connection at a time, from its
// first message until the session is idle again (a whole transaction, a whole extended-protocol
// exchange), so a query issued on `db` while a transaction (or withClient) of this process is
// open would wait for that transaction forever. To make that mistake loud on both backends alike,
// `db.query` / `db.transaction` / `db.withClient` called from inside a `transaction`/`withClient`
// callback throw `DbError` code `QUERY_OUTSIDE_TRANSACTION` (detected with AsyncLocalStorage): use
// the `tx` argument instead. Session state (SET, session advisory locks) is shared by every
// connection on PGlite, as under PgBouncer's transaction pooling.
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import { CodedError } from '../errors/index.ts';
import { socketConnection, socketDir, startEmbedded, type EmbeddedOwner, type EmbeddedServer } from './embedded.ts';

export { embeddedMemoryBytes, embeddedResidentBytes, embeddedStarts } from './embedded.ts';
import { acquireLock, isProcessAlive, type Lock } from './lock.ts';
import { encodeParams } from './params.ts';

/** Error codes thrown by this module (see `DbError.code`). */
export type DbErrorCode =
  | 'INVALID_OPTIONS'
  | 'CONNECT_FAILED'
  | 'PGLITE_OPEN_FAILED'
  | 'EXTENSION_MISSING'
  | 'QUERY_OUTSIDE_TRANSACTION'
  | 'TRANSACTION_FINISHED'
  | 'CLOSED';

/** The database layer's CodedError (errors/). */
export class DbError extends CodedError<DbErrorCode> {
  override name = 'DbError';
  constructor(code: DbErrorCode, message: string, data: Record<string, unknown> = {}, cause?: unknown) {
    super(code, message, data, { cause });
  }
}

export interface QueryResult<T> {
  rows: T[];
  /** Rows affected/returned; `null` for statements that report none (e.g. `CREATE TABLE`). */
  rowCount: number | null;
}

/** Anything that runs SQL: the `Db` itself, or the `tx` handed to `transaction`/`withClient`. */
export interface Queryable {
  /**
   * Runs one statement with `$1..$n` parameters (extended protocol). Without `params` the simple
   * protocol is used, which accepts several `;`-separated statements (used by the migration runner).
   * JS arrays bind as PostgreSQL arrays, so `unnest($1::text[], $2::int[])` bulk inserts work.
   * At most 65,535 parameters per statement (protocol limit, both backends).
   */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>>;
}

/** Options of `Db.query` (store/abort.ts builds on them). */
export interface QueryOptions {
  /**
   * Aborts the statement: it is not sent when the signal is already aborted; PostgreSQL cancels it
   * if it is running (`pg_cancel_backend`); PGlite cannot interrupt a running statement, so its
   * result is discarded. Rejects with `signal.reason` either way.
   */
  signal?: AbortSignal;
}

export type NotificationHandler = (payload: string) => void;

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[], opts?: QueryOptions): Promise<QueryResult<T>>;
  /** BEGIN / COMMIT on one client; ROLLBACK and rethrow if `fn` throws. Not nestable. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Holds one client for `fn` (session state such as advisory locks or `SET`). Not nestable. */
  withClient<T>(fn: (client: Queryable) => Promise<T>): Promise<T>;
  /**
   * LISTEN on `channel`; `handler` runs for every NOTIFY (outside any transaction context).
   * Returns an unsubscribe function (UNLISTEN once the channel's last handler is gone).
   * - postgres: one dedicated client outside the pool; on connection loss it reconnects with
   *   backoff (250 ms doubling to 10 s) and re-LISTENs. Notifications sent while disconnected are lost.
   * - pglite: the same dedicated client, on the embedded database's socket; the socket server
   *   routes each notification to the connections that LISTEN on its channel, in this process or
   *   in a CLI process attached to it. The connection is lost only when the serving process stops.
   * Channel names are identifiers (1-63 bytes), quoted, so they are case-sensitive.
   */
  listen(channel: string, handler: NotificationHandler): Promise<() => Promise<void>>;
  /** NOTIFY via `pg_notify(channel, payload)`; delivered at commit when run inside a transaction. */
  notify(channel: string, payload: string): Promise<void>;
  /**
   * Whether the store answers: `SELECT 1`, except that an embedded database stopped while idle
   * (pgliteIdleStopMs) counts as reachable without being started for the check.
   */
  ping(): Promise<void>;
  /** Ends the pool, the listener client, PGlite, and releases the data-dir lock. Idempotent. */
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /**
   * Directory for the embedded PGlite database (`<dataDir>/pg`) and its lock file
   * (`<dataDir>/codegraph.lock`). Ignored when `databaseUrl` is given.
   */
  dataDir?: string;
  /** `postgres://user:pass@host:port/db` of a PostgreSQL server with pgvector. Takes precedence over `dataDir`. */
  databaseUrl?: string;
  log?: Logger;
  /**
   * Maximum pooled connections. On PGlite they share one session (statements run one transaction
   * at a time), so more connections only queue in the socket server instead of in the pool.
   * @default 10 (server), 4 (PGlite)
   */
  poolSize?: number;
  /**
   * PGlite only: when the data directory is locked by another live codegraph process on this host,
   * connect to the database it serves on its socket instead of failing with `LOCKED` (the CLI beside
   * a running `codegraph serve`). Reads and writes then go through that process's single session.
   * @default false
   */
  attach?: boolean;
  /**
   * PGlite only: PostgreSQL settings (`postgresql.conf` names) for the embedded database, merged
   * over `PGLITE_SETTINGS`. Values are strings as in postgresql.conf (`'16MB'`).
   */
  pgliteSettings?: Readonly<Record<string, string>>;
  /**
   * PGlite only: cap on the embedded database's WASM heap, in bytes. The heap grows with what
   * PostgreSQL holds at once (shared_buffers, sorts and hashes up to work_mem, index builds up to
   * maintenance_work_mem, large statements and results) and never shrinks; at the cap a statement
   * that needs more fails with `out of memory` instead of the process growing. At least 128 MiB
   * (PGlite's initial heap). @default no cap (PGlite's 2 GiB)
   */
  pgliteMaxMemoryBytes?: number;
  /**
   * PGlite only: stop the database process after this many milliseconds without work, giving all
   * its memory back; the next connection (a query of this process, a CLI beside it) starts it
   * again, in about a second (store/embedded.ts). @default null (it runs until close)
   */
  pgliteIdleStopMs?: number | null;
  /**
   * PGlite only: where the embedded database runs (store/embedded.ts): a child process, which can
   * stop while idle and then gives all its memory back, or a worker thread of this process, which
   * costs no second Node runtime (the CLI's short runs). @default 'process' with pgliteIdleStopMs,
   * else 'thread'
   */
  pgliteHost?: 'process' | 'thread';
  /**
   * PGlite only: a migrations directory the caller applies next (`migrate`). A new data directory
   * is then copied from a template that already holds them, made once per set of migration files,
   * and that `migrate` finds nothing left to do (#9: ~0.7 s of a fresh store's first open).
   * @default none (a new store holds the extensions only)
   */
  pgliteTemplateMigrations?: string;
  /**
   * PGlite only: called once the data-directory lock is taken, before the database starts (about
   * a second later), so a caller can start other work knowing the store is its own.
   */
  onLocked?: () => void;
  /**
   * Milliseconds to wait for a server connection before failing with `CONNECT_FAILED`.
   * @default 10_000
   */
  connectTimeoutMs?: number;
}

/** Connections to the embedded database's socket per process. */
const PGLITE_POOL_SIZE = 4;

/**
 * PostgreSQL settings of the embedded database, chosen for memory (issue #9): PGlite's WASM heap
 * grows to hold shared_buffers and never shrinks, so its defaults (128MB shared buffers) set a
 * floor under the daemon's resident memory. Override with `OpenDatabaseOptions.pgliteSettings`.
 */
export const PGLITE_SETTINGS: Readonly<Record<string, string>> = {
  // 128MB by default; measured: +224 MB RSS at open with 128MB, +96 MB with 16MB (the WASM module's
  // own minimum heap is 128 MB of address space, committed only where touched). The OS page cache
  // still caches the data files, so a smaller pool costs syscalls, not disk reads.
  shared_buffers: '32MB',
  // Per-session temp-table buffers; the store uses no temp tables.
  temp_buffers: '2MB',
  // WAL kept on disk (#9/#12 store size). PostgreSQL keeps up to max_wal_size (1GB) of WAL between
  // checkpoints and recycles old segments instead of deleting them, so a first index of a large tree
  // left hundreds of MB of WAL in the data directory, more than the data itself. A checkpoint every
  // 64MB of WAL and 32MB kept (two 16MB segments, the minimum) bound it; an embedded store has no
  // replica to keep WAL for.
  max_wal_size: '64MB',
  min_wal_size: '32MB',
};

/** PGlite's initial WASM heap (2048 pages of 64 KiB): a lower cap could never be honoured. */
const PGLITE_MIN_MEMORY = 128 * 1024 * 1024;

const SETTING_NAME = /^[a-z_][a-z0-9_.]*$/;

function pgliteSettings(extra: Readonly<Record<string, string>> | undefined): string[] {
  const merged = { ...PGLITE_SETTINGS, ...extra };
  return Object.entries(merged).map(([k, v]) => `${k}=${v}`);
}

/** Extensions created on open, on both backends, so schema SQL can rely on them. */
const REQUIRED_EXTENSIONS = ['vector', 'pg_trgm', 'fuzzystrmatch'] as const;

// Arbitrary constant key for pg_advisory_xact_lock around CREATE EXTENSION: two processes racing
// `CREATE EXTENSION IF NOT EXISTS` on a fresh server otherwise fail with a unique violation.
const EXTENSION_LOCK_KEY = 0x636f6465; // 'code'

export async function openDatabase(opts: OpenDatabaseOptions): Promise<Db> {
  validateOptions(opts);
  if (opts.databaseUrl !== undefined && opts.databaseUrl !== '') return openServer(opts, opts.databaseUrl);
  return openPglite(opts, opts.dataDir as string);
}

function validateOptions(opts: OpenDatabaseOptions): void {
  const hasUrl = opts.databaseUrl !== undefined && opts.databaseUrl !== '';
  const hasDir = opts.dataDir !== undefined && opts.dataDir !== '';
  if (!hasUrl && !hasDir) {
    throw new DbError('INVALID_OPTIONS', 'openDatabase: options.dataDir or options.databaseUrl is required');
  }
  if (hasUrl && !/^postgres(ql)?:\/\//.test(opts.databaseUrl as string)) {
    throw new DbError(
      'INVALID_OPTIONS',
      'options.databaseUrl must start with postgres:// or postgresql:// (check --database-url / CODEGRAPH_DATABASE_URL)',
    );
  }
  if (opts.poolSize !== undefined && (!Number.isInteger(opts.poolSize) || opts.poolSize < 1)) {
    throw new DbError('INVALID_OPTIONS', 'options.poolSize must be a positive integer');
  }
  if (opts.connectTimeoutMs !== undefined && (!Number.isInteger(opts.connectTimeoutMs) || opts.connectTimeoutMs < 1)) {
    throw new DbError('INVALID_OPTIONS', 'options.connectTimeoutMs must be a positive integer');
  }
  if (opts.pgliteIdleStopMs !== undefined && opts.pgliteIdleStopMs !== null && (!Number.isInteger(opts.pgliteIdleStopMs) || opts.pgliteIdleStopMs < 1)) {
    throw new DbError('INVALID_OPTIONS', 'options.pgliteIdleStopMs must be a positive integer or null');
  }
  if (opts.pgliteMaxMemoryBytes !== undefined && (!Number.isInteger(opts.pgliteMaxMemoryBytes) || opts.pgliteMaxMemoryBytes < PGLITE_MIN_MEMORY)) {
    throw new DbError('INVALID_OPTIONS', 'options.pgliteMaxMemoryBytes must be an integer of at least 134217728 (128 MiB, PGlite\'s initial heap)');
  }
  for (const [k, v] of Object.entries(opts.pgliteSettings ?? {})) {
    if (!SETTING_NAME.test(k) || typeof v !== 'string' || /[\0\n]/.test(v)) {
      throw new DbError('INVALID_OPTIONS', `options.pgliteSettings: invalid setting ${JSON.stringify(k)}=${JSON.stringify(v)} (a postgresql.conf name and a one-line string value)`);
    }
  }
}

/** `host:port` of a connection URL without credentials, for messages. Socket URLs use `?host=/dir`. */
export function describeTarget(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    const host = url.hostname !== '' ? url.hostname : (url.searchParams.get('host') ?? 'localhost');
    const port = url.port !== '' ? url.port : (url.searchParams.get('port') ?? '5432');
    return `${host}:${port}`;
  } catch {
    return '<unparsable URL>';
  }
}

// SQLSTATE classes / node errors that mean "could not reach or log into the server".
const CONNECT_ERROR_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOENT',
  '28000', '28P01', '3D000', '57P03', '53300',
]);

function isConnectError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e?.code === 'string' && CONNECT_ERROR_CODES.has(e.code)) return true;
  return typeof e?.message === 'string' && /timeout expired|Connection terminated/i.test(e.message);
}

function connectError(target: string, err: unknown): DbError {
  const detail = err instanceof Error ? err.message : String(err);
  return new DbError(
    'CONNECT_FAILED',
    `could not connect to PostgreSQL at ${target}: ${detail}. Check --database-url / CODEGRAPH_DATABASE_URL`,
    { target, cause: (err as { code?: unknown })?.code },
    err,
  );
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function checkChannel(channel: string): void {
  if (typeof channel !== 'string' || channel.length === 0 || Buffer.byteLength(channel) > 63) {
    throw new DbError('INVALID_OPTIONS', `channel must be a non-empty identifier of at most 63 bytes, got ${JSON.stringify(channel)}`);
  }
}

async function ensureExtensions(pool: pg.Pool, kind: Db['kind']): Promise<void> {
  const client = await pool.connect();
  try {
    const { rows } = await client.query<{ extname: string }>('SELECT extname FROM pg_extension');
    const present = new Set(rows.map((r) => r.extname));
    const missing = REQUIRED_EXTENSIONS.filter((e) => !present.has(e));
    if (missing.length === 0) return;
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock($1)', [EXTENSION_LOCK_KEY]);
      for (const ext of missing) await client.query(`CREATE EXTENSION IF NOT EXISTS ${quoteIdent(ext)}`);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      const e = err as { code?: string; message?: string };
      // 0A000 feature_not_supported: "extension is not available"; 58P01: control file missing (older servers).
      if (e.code === '0A000' || e.code === '58P01') {
        throw new DbError(
          'EXTENSION_MISSING',
          kind === 'postgres'
            ? `PostgreSQL extension missing on the server: ${e.message}. Install pgvector (Debian 12: test/harness/install-pgvector.sh) and postgresql-contrib`
            : `PGlite extension failed to load: ${e.message}`,
          { missing },
          err,
        );
      }
      if (e.code === '42501') {
        throw new DbError(
          'EXTENSION_MISSING',
          `extensions ${missing.join(', ')} are not installed in this database and the user may not create them: ${e.message}. Run "CREATE EXTENSION ${missing.join('; CREATE EXTENSION ')}" once as a superuser`,
          { missing },
          err,
        );
      }
      throw err;
    }
  } finally {
    client.release();
  }
}

type Context = { db: object };

/** Everything that differs between backends is set up in open*(); this class is the shared code path. */
class PoolDb implements Db {
  readonly kind: Db['kind'];
  readonly #pool: pg.Pool;
  readonly #als = new AsyncLocalStorage<Context>();
  readonly #handlers = new Map<string, Set<NotificationHandler>>();
  readonly #onClose: () => Promise<void>;
  readonly #listener: ListenerBackend;
  #closed = false;
  /** Set for the owner of an embedded database: whether its process is stopped while idle. */
  dormant: () => boolean = () => false;

  constructor(kind: Db['kind'], pool: pg.Pool, listener: ListenerBackend, onClose: () => Promise<void>) {
    this.kind = kind;
    this.#pool = pool;
    this.#listener = listener;
    this.#onClose = onClose;
  }

  #check(op: string): void {
    if (this.#closed) throw new DbError('CLOSED', `db.${op}() called after db.close()`);
    if (this.#als.getStore()?.db === this) {
      throw new DbError(
        'QUERY_OUTSIDE_TRANSACTION',
        `db.${op}() called inside a db.transaction()/db.withClient() callback; use the callback's tx argument (on PGlite this would deadlock)`,
      );
    }
  }

  async query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[], opts: QueryOptions = {}): Promise<QueryResult<T>> {
    this.#check('query');
    const { signal } = opts;
    if (signal === undefined) {
      const res = await this.#pool.query(sql, encodeParams(params));
      return { rows: res.rows as T[], rowCount: res.rowCount };
    }
    signal.throwIfAborted();
    const client = await this.#pool.connect();
    // Cancel server-side: the statement stops using the server's CPU when the client is gone.
    let cancelling: Promise<void> | undefined;
    const pid = (client as unknown as { processID: number | null }).processID;
    const onAbort = () => {
      if (this.kind === 'postgres' && pid !== null) cancelling = this.#cancelBackend(pid);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const res = await client.query(sql, encodeParams(params));
      signal.throwIfAborted();
      return { rows: res.rows as T[], rowCount: res.rowCount };
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
      // Not released before the cancel is done, so it cannot hit the client's next statement.
      await cancelling;
      client.release();
    }
  }

  /** pg_cancel_backend on a connection of its own (the pool may be exhausted by the very queries to cancel). */
  async #cancelBackend(pid: number): Promise<void> {
    const canceller = new pg.Client(this.#pool.options);
    try {
      await canceller.connect();
      await canceller.query('SELECT pg_cancel_backend($1)', [pid]);
    } catch (err) {
      this.#listener.log?.warn({ err, pid }, 'could not cancel a PostgreSQL statement');
    } finally {
      await canceller.end().catch(() => undefined);
    }
  }

  async withClient<T>(fn: (client: Queryable) => Promise<T>): Promise<T> {
    this.#check('withClient');
    const client = await this.#pool.connect();
    const handle = new ClientHandle(client);
    let broken: Error | undefined;
    try {
      return await this.#als.run({ db: this }, () => fn(handle));
    } catch (err) {
      // A connection-level failure: do not hand this client to the next caller.
      if (isConnectError(err)) broken = err as Error;
      throw err;
    } finally {
      handle.finished = true;
      client.release(broken);
    }
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    this.#check('transaction');
    const client = await this.#pool.connect();
    const handle = new ClientHandle(client);
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      let result: T;
      try {
        result = await this.#als.run({ db: this }, () => fn(handle));
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          broken = rollbackErr as Error;
        }
        throw err;
      }
      await client.query('COMMIT');
      return result;
    } catch (err) {
      if (broken === undefined && isConnectError(err)) broken = err as Error;
      throw err;
    } finally {
      handle.finished = true;
      client.release(broken);
    }
  }

  async ping(): Promise<void> {
    if (this.dormant()) return;
    await this.query('SELECT 1');
  }

  /** What the embedded database needs from this pool to stop while idle (store/embedded.ts). */
  embeddedOwner(listener: ServerListener): EmbeddedOwner {
    const pool = this.#pool;
    // Only the LISTEN connection may stay open: a pool client, even idle, could send a statement
    // while the process stops (its idle clients close first, see openPool).
    return {
      ownConnections: () => (listener.connected ? 1 : 0),
      busy: () => pool.totalCount > 0 || pool.waitingCount > 0,
      suspend: () => listener.suspend(),
      resume: () => listener.resume(),
    };
  }

  async listen(channel: string, handler: NotificationHandler): Promise<() => Promise<void>> {
    checkChannel(channel);
    this.#check('listen');
    let set = this.#handlers.get(channel);
    const first = set === undefined;
    if (set === undefined) {
      set = new Set();
      this.#handlers.set(channel, set);
    }
    set.add(handler);
    if (first) {
      try {
        await this.#listener.listen(channel);
      } catch (err) {
        set.delete(handler);
        if (set.size === 0) this.#handlers.delete(channel);
        throw err;
      }
    }
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      const s = this.#handlers.get(channel);
      if (s === undefined) return;
      s.delete(handler);
      if (s.size === 0) {
        this.#handlers.delete(channel);
        if (!this.#closed) await this.#listener.unlisten(channel);
      }
    };
  }

  /** Called by the listener backend for every notification. */
  dispatch(channel: string, payload: string): void {
    const set = this.#handlers.get(channel);
    if (set === undefined) return;
    // exit(): a notification produced by a COMMIT inside transaction() would otherwise inherit that
    // transaction's async context and make db.query() in the handler throw QUERY_OUTSIDE_TRANSACTION.
    this.#als.exit(() => {
      for (const h of [...set]) {
        setImmediate(() => {
          try {
            h(payload);
          } catch (err) {
            this.#listener.log?.error({ err, channel }, 'notification handler threw');
          }
        });
      }
    });
  }

  listenerForTest(): ListenerBackend & { destroyForTest?: () => void } {
    return this.#listener;
  }

  channels(): string[] {
    return [...this.#handlers.keys()];
  }

  async notify(channel: string, payload: string): Promise<void> {
    checkChannel(channel);
    await this.query('SELECT pg_notify($1, $2)', [channel, payload]);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#handlers.clear();
    await this.#listener.close();
    await this.#pool.end();
    await this.#onClose();
  }
}

class ClientHandle implements Queryable {
  finished = false;
  readonly #client: pg.PoolClient;
  constructor(client: pg.PoolClient) {
    this.#client = client;
  }
  async query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
    if (this.finished) {
      throw new DbError('TRANSACTION_FINISHED', 'tx.query() called after its transaction()/withClient() callback returned');
    }
    const res = await this.#client.query(sql, encodeParams(params));
    return { rows: res.rows as T[], rowCount: res.rowCount };
  }
}

interface ListenerBackend {
  log: Logger | undefined;
  listen(channel: string): Promise<void>;
  unlisten(channel: string): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Server backend

async function openServer(opts: OpenDatabaseOptions, databaseUrl: string): Promise<Db> {
  const log = opts.log?.child({ component: 'db', backend: 'postgres' });
  const { db } = await openPool('postgres', { connectionString: databaseUrl }, opts, log, async () => undefined);
  log?.info({ target: describeTarget(databaseUrl) }, 'connected to PostgreSQL');
  return db;
}

/** Where `conn` points, without credentials, for messages. */
function targetOf(conn: pg.ClientConfig): string {
  if (conn.connectionString !== undefined) return describeTarget(conn.connectionString);
  return `${conn.host ?? 'localhost'}:${conn.port ?? 5432}`;
}

/**
 * The shared code path of both backends: a pg.Pool plus a dedicated LISTEN client on `conn` (a
 * PostgreSQL server, or the embedded database's socket). `onClose` runs after both are closed,
 * also when opening fails.
 */
async function openPool(kind: Db['kind'], conn: pg.ClientConfig, opts: OpenDatabaseOptions, log: Logger | undefined, onClose: () => Promise<void>): Promise<{ db: PoolDb; listener: ServerListener }> {
  const connectionTimeoutMillis = opts.connectTimeoutMs ?? 10_000;
  const poolSize = opts.poolSize ?? (kind === 'pglite' ? PGLITE_POOL_SIZE : 10);
  // An embedded database that stops while idle waits for the pool's idle clients to close: they
  // close after half its idle time (10 s at most, node-postgres' default).
  const idleStop = kind === 'pglite' ? opts.pgliteIdleStopMs ?? null : null;
  const idleTimeoutMillis = idleStop === null ? 10_000 : Math.min(10_000, Math.max(50, Math.floor(idleStop / 2)));
  const pool = new pg.Pool({ ...conn, max: poolSize, connectionTimeoutMillis, idleTimeoutMillis });
  const target = targetOf(conn);
  const listener = new ServerListener(conn, target, connectionTimeoutMillis, log);
  // An idle client losing its connection emits 'error' on the pool; without a listener Node exits.
  // Expected, and not logged, when the embedded database stopped while idle.
  pool.on('error', (err) => {
    if (!listener.dormant) log?.warn({ err }, 'idle database client failed; it will be replaced');
  });
  try {
    await ensureExtensions(pool, kind);
  } catch (err) {
    await pool.end().catch(() => undefined);
    if (err instanceof DbError) throw err;
    if (isConnectError(err)) throw connectError(target, err);
    throw err;
  }
  const db = new PoolDb(kind, pool, listener, onClose);
  listener.attach(db);
  return { db, listener };
}

/** The dedicated LISTEN connection: created on first listen(), reconnected on loss. */
class ServerListener implements ListenerBackend {
  readonly log: Logger | undefined;
  readonly #conn: pg.ClientConfig;
  readonly #target: string;
  readonly #timeout: number;
  #db: PoolDb | undefined;
  #client: pg.Client | undefined;
  #connecting: Promise<pg.Client> | undefined;
  #closed = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #backoff = 250;
  #dormant = false;

  constructor(conn: pg.ClientConfig, target: string, timeout: number, log: Logger | undefined) {
    this.#conn = conn;
    this.#target = target;
    this.#timeout = timeout;
    this.log = log;
  }

  attach(db: PoolDb): void {
    this.#db = db;
  }

  get connected(): boolean {
    return this.#client !== undefined;
  }

  /** The embedded database stopped while idle: a lost connection is expected and not reopened. */
  get dormant(): boolean {
    return this.#dormant;
  }

  suspend(): void {
    this.#dormant = true;
  }

  /** The embedded database runs again: LISTEN again, if anything listens. */
  async resume(): Promise<void> {
    this.#dormant = false;
    if (this.#closed || (this.#db?.channels().length ?? 0) === 0) return;
    await this.#connect();
  }

  async #connect(): Promise<pg.Client> {
    if (this.#client !== undefined) return this.#client;
    this.#connecting ??= (async () => {
      const client = new pg.Client({ ...this.#conn, connectionTimeoutMillis: this.#timeout });
      client.on('notification', (msg) => this.#db?.dispatch(msg.channel, msg.payload ?? ''));
      client.on('error', (err) => this.#lost(client, err));
      client.on('end', () => this.#lost(client, undefined));
      try {
        await client.connect();
        // Re-LISTEN every channel that has handlers (first connect: none yet, or after a reconnect).
        for (const ch of this.#db?.channels() ?? []) await client.query(`LISTEN ${quoteIdent(ch)}`);
      } catch (err) {
        client.removeAllListeners('end');
        await client.end().catch(() => undefined);
        throw isConnectError(err) ? connectError(this.#target, err) : err;
      }
      this.#client = client;
      this.#backoff = 250;
      return client;
    })().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  #lost(client: pg.Client, err: Error | undefined): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    client.removeAllListeners('end');
    client.end().catch(() => undefined);
    if (this.#closed || this.#dormant) return;
    this.log?.warn({ err }, 'LISTEN connection lost; reconnecting');
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#retryTimer !== undefined) return;
    const delay = this.#backoff;
    this.#backoff = Math.min(this.#backoff * 2, 10_000);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#closed || this.#dormant || (this.#db?.channels().length ?? 0) === 0) return;
      this.#connect().then(
        () => this.log?.info('LISTEN connection re-established'),
        (err: unknown) => {
          this.log?.warn({ err }, 'LISTEN reconnect failed');
          this.#scheduleReconnect();
        },
      );
    }, delay);
    this.#retryTimer.unref();
  }

  async listen(channel: string): Promise<void> {
    const client = await this.#connect();
    // #connect() may just have LISTENed it (channel is registered before this call); LISTEN is idempotent.
    await client.query(`LISTEN ${quoteIdent(channel)}`);
  }

  async unlisten(channel: string): Promise<void> {
    const client = this.#client;
    if (client !== undefined) await client.query(`UNLISTEN ${quoteIdent(channel)}`);
  }

  /** Test hook: drop the LISTEN connection as a network failure would. */
  destroyForTest(): void {
    const client = this.#client;
    if (client !== undefined) this.#lost(client, new Error('destroyed by test'));
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    const client = this.#client ?? (await this.#connecting?.catch(() => undefined));
    this.#client = undefined;
    if (client !== undefined) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// PGlite backend: a child process serving the data directory on a Unix socket (store/embedded.ts)

async function openPglite(opts: OpenDatabaseOptions, dataDir: string): Promise<Db> {
  const log = opts.log?.child({ component: 'db', backend: 'pglite' });
  const root = path.resolve(dataDir);
  const pgDir = path.join(root, 'pg');
  await mkdir(pgDir, { recursive: true });
  // PGlite does not lock its directory; two processes on one directory corrupt it.
  let lock: Lock;
  try {
    lock = await acquireLock(path.join(root, 'codegraph.lock'));
    opts.onLocked?.();
  } catch (err) {
    if (opts.attach === true && isLiveOtherOwner(err)) return attachPglite(opts, root, err, log);
    throw err;
  }
  let server: EmbeddedServer | undefined;
  try {
    try {
      server = await startEmbedded({
        pgDir, dataDir: root, settings: pgliteSettings(opts.pgliteSettings), log, maxMemoryBytes: opts.pgliteMaxMemoryBytes ?? null,
        host: opts.pgliteHost ?? ((opts.pgliteIdleStopMs ?? null) === null ? 'thread' : 'process'),
        templateMigrations: opts.pgliteTemplateMigrations,
      });
    } catch (err) {
      throw new DbError(
        'PGLITE_OPEN_FAILED',
        `could not open the embedded database in ${pgDir}: ${err instanceof Error ? err.message : String(err)}. If the directory is damaged, restore it from a backup or move it away to start afresh`,
        { dir: pgDir },
        err,
      );
    }
    const running = server;
    const { db, listener } = await openPool('pglite', socketConnection(running.socketDir), opts, log, async () => {
      await running.close();
      await lock.release();
    });
    db.dormant = () => !running.running;
    running.setOwner(db.embeddedOwner(listener), opts.pgliteIdleStopMs ?? null);
    log?.info({ dir: pgDir, socket: running.socketDir }, 'opened embedded PGlite database');
    return db;
  } catch (err) {
    // openPool closes what it opened; the server and the lock are ours to undo (no-ops if done).
    await server?.close().catch(() => undefined);
    await lock.release();
    throw err;
  }
}

/** How long `attach` waits for the holder's socket to answer before giving up with LOCKED. */
const ATTACH_WAIT_MS = 3_000;

/** A lock held by a live process on this host other than this one: its socket can be reached. */
function isLiveOtherOwner(err: unknown): boolean {
  const e = err as { code?: unknown; data?: { owner?: { pid?: unknown; hostname?: unknown } | null } };
  const owner = e?.data?.owner;
  return e?.code === 'LOCKED' && typeof owner?.pid === 'number' && owner.pid !== process.pid && owner.hostname === os.hostname() && isProcessAlive(owner.pid);
}

/**
 * Connects to the embedded database served by the process holding the data-dir lock (a running
 * `codegraph serve`). The socket may not answer yet while that process starts, so connecting is
 * retried for ATTACH_WAIT_MS; then the lock error is thrown, unchanged (exit 6 in the CLI).
 */
async function attachPglite(opts: OpenDatabaseOptions, root: string, lockErr: unknown, log: Logger | undefined): Promise<Db> {
  const dir = socketDir(root);
  const deadline = Date.now() + ATTACH_WAIT_MS;
  for (;;) {
    try {
      const { db } = await openPool('pglite', socketConnection(dir), opts, log, async () => undefined);
      log?.info({ socket: dir }, 'attached to the embedded database of a running codegraph process');
      return db;
    } catch (err) {
      const retry = isConnectError(err) || (err instanceof DbError && err.code === 'CONNECT_FAILED');
      if (!retry || Date.now() >= deadline || !isLiveOtherOwner(lockErr)) throw lockErr;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Test hook: simulate loss of the server LISTEN connection (no-op on PGlite). */
export function dropListenConnectionForTest(db: Db): void {
  if (db instanceof PoolDb) db.listenerForTest().destroyForTest?.();
}
