// Schema migration runner: numbered SQL files `NNNN_name.sql`, applied in order, each in its own
// transaction, serialised across processes by a session advisory lock. Why a small runner instead of
// node-pg-migrate/postgrator: see migrations/README.md.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { CodedError } from '../errors/index.ts';
import type { Db, Queryable } from './db.ts';

/** `<repo>/migrations`. */
export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

// Key for pg_advisory_lock: every migrator of every process on this database waits on it.
const MIGRATION_LOCK_KEY = 0x6367_6d69; // 'cgmi'

export type MigrationErrorCode =
  | 'MIGRATION_CHECKSUM'
  | 'MIGRATION_FAILED'
  | 'MIGRATION_INVALID_NAME'
  | 'MIGRATION_DUPLICATE'
  | 'MIGRATION_UNKNOWN';

export class MigrationError extends CodedError<MigrationErrorCode> {
  override name = 'MigrationError';
  constructor(code: MigrationErrorCode, message: string, data: Record<string, unknown> = {}, cause?: unknown) {
    super(code, message, data, { cause });
  }
}

export interface MigrationFile {
  version: number;
  /** File name without `NNNN_` and `.sql`. */
  name: string;
  file: string;
  sql: string;
  /** sha256 hex of the file's bytes. */
  checksum: string;
}

export interface MigrateResult {
  /** Migrations applied by this call, in order. */
  applied: MigrationFile[];
  /** Highest applied version afterwards (0 when none). */
  version: number;
}

const NAME_RE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** Reads and validates `dir`: every `*.sql` must be named `NNNN_name.sql` (lower-case), versions unique. */
async function loadMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const entries = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const out: MigrationFile[] = [];
  const seen = new Map<number, string>();
  for (const file of entries) {
    const m = NAME_RE.exec(file);
    if (m === null) {
      throw new MigrationError(
        'MIGRATION_INVALID_NAME',
        `migration file ${file} in ${dir} is not named NNNN_name.sql (4 digits, underscore, lower-case letters/digits/underscores); rename it`,
        { file, dir },
      );
    }
    const version = Number(m[1]);
    const prev = seen.get(version);
    if (prev !== undefined) {
      throw new MigrationError('MIGRATION_DUPLICATE', `migrations ${prev} and ${file} share version ${m[1]}; renumber one of them`, {
        files: [prev, file],
      });
    }
    seen.set(version, file);
    const bytes = await readFile(path.join(dir, file));
    out.push({ version, name: m[2] as string, file, sql: bytes.toString('utf8'), checksum: createHash('sha256').update(bytes).digest('hex') });
  }
  return out;
}

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
}

/**
 * Applies pending migrations from `dir`. Each file runs in one transaction together with its
 * `schema_migrations` row, so a failure mid-file leaves neither schema nor record behind.
 * Concurrent callers (other processes, other Db objects) block on a session advisory lock and then
 * find nothing left to do. Throws `MigrationError`:
 * - `MIGRATION_CHECKSUM`: an applied file was edited since it was applied;
 * - `MIGRATION_UNKNOWN`: the database has a version this build does not have (newer codegraph);
 * - `MIGRATION_FAILED`: a statement failed (the message names the file; `cause` is the pg error);
 * - `MIGRATION_INVALID_NAME` / `MIGRATION_DUPLICATE`: bad file names in `dir`.
 * Files must not contain their own BEGIN/COMMIT or statements that cannot run in a transaction
 * (`CREATE INDEX CONCURRENTLY`, `VACUUM`).
 */
export async function migrate(db: Db, dir: string = DEFAULT_MIGRATIONS_DIR, opts: { log?: Logger } = {}): Promise<MigrateResult> {
  const files = await loadMigrations(dir);
  const log = opts.log?.child({ component: 'migrate' });
  return db.withClient(async (c) => {
    await c.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    let result: MigrateResult;
    try {
      result = await applyPending(c, files, dir, log);
    } catch (err) {
      // Keep the original error; an unlock failure here means the session is gone (lock freed with it).
      await c.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
      throw err;
    }
    await c.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    return result;
  });
}

/**
 * Applies the pending migrations of `dir` on one session that nothing else uses, without the
 * advisory lock: the embedded store's template, made in a process of its own (store/embedded.ts),
 * so that a fresh store's first `migrate` finds nothing to do.
 */
export async function migrateExclusive(c: Queryable, dir: string = DEFAULT_MIGRATIONS_DIR): Promise<MigrateResult> {
  return applyPending(c, await loadMigrations(dir), dir, undefined);
}

/** A digest of the migration files of `dir` (names and bytes): templates made from different
 * files never share a directory. */
export async function migrationsKey(dir: string = DEFAULT_MIGRATIONS_DIR): Promise<string> {
  const h = createHash('sha256');
  for (const f of await loadMigrations(dir)) h.update(`${f.file}\0${f.checksum}\n`);
  return h.digest('hex');
}

async function applyPending(c: Queryable, files: MigrationFile[], dir: string, log: Logger | undefined): Promise<MigrateResult> {
  await c.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  const { rows } = await c.query<AppliedRow>('SELECT version, name, checksum FROM schema_migrations ORDER BY version');
  const byVersion = new Map(files.map((f) => [f.version, f]));
  for (const row of rows) {
    const f = byVersion.get(row.version);
    if (f === undefined) {
      throw new MigrationError(
        'MIGRATION_UNKNOWN',
        `the database has migration ${pad(row.version)}_${row.name} applied, which is not in ${dir}; it was written by a newer codegraph. Upgrade codegraph or use another database`,
        { version: row.version, name: row.name },
      );
    }
    if (f.checksum !== row.checksum) {
      throw new MigrationError(
        'MIGRATION_CHECKSUM',
        `migration ${f.file} was applied with checksum ${row.checksum.slice(0, 12)}… but the file now has ${f.checksum.slice(0, 12)}…; applied migrations must not be edited. Restore the file and put the change in a new numbered migration`,
        { file: f.file, applied: row.checksum, current: f.checksum },
      );
    }
  }
  const done = new Set(rows.map((r) => r.version));
  const applied: MigrationFile[] = [];
  for (const f of files) {
    if (done.has(f.version)) continue;
    const t0 = performance.now();
    await c.query('BEGIN');
    try {
      // Checked again inside the transaction: the embedded store serves every connection from ONE
      // PGlite session (store/pglite-server.ts), where a session advisory lock does not exclude
      // another connection; it does hand the session to one transaction at a time, so this check
      // and the file are atomic there. On a server the advisory lock above already serialises.
      const again = await c.query('SELECT 1 FROM schema_migrations WHERE version = $1', [f.version]);
      if (again.rows.length > 0) {
        await c.query('COMMIT');
        // Applied by the other migrator meanwhile: it counts for the version this call reports.
        done.add(f.version);
        continue;
      }
      // No params: simple query protocol, so a file may hold many statements.
      await c.query(f.sql);
      await c.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [f.version, f.name, f.checksum]);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      const e = err as { message?: string; position?: string; code?: string };
      const where = e.position !== undefined ? ` (at line ${lineOf(f.sql, Number(e.position))})` : '';
      throw new MigrationError(
        'MIGRATION_FAILED',
        `migration ${f.file} failed and was rolled back${where}: ${e.message ?? String(err)}`,
        { file: f.file, sqlstate: e.code },
        err,
      );
    }
    applied.push(f);
    log?.info({ file: f.file, ms: Math.round(performance.now() - t0) }, 'applied migration');
  }
  const last = files.filter((f) => done.has(f.version) || applied.includes(f)).at(-1);
  return { applied, version: last?.version ?? 0 };
}

function pad(v: number): string {
  return String(v).padStart(4, '0');
}

function lineOf(sql: string, position: number): number {
  // PostgreSQL's error position is 1-based in characters.
  return sql.slice(0, Math.max(0, position - 1)).split('\n').length;
}
