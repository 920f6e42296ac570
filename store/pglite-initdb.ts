// Child-process body: creates a fresh embedded data directory (PGlite's initdb) and exits.
// store/embedded.ts runs it as `node pglite-initdb.js <pgDir>` before the database process first starts.
// Why a process and not a thread: initdb runs inside PGlite's WASM instance and grows its heap to
// ~317 MiB, and with the compiled module and the bootstrap data it took the daemon's peak RSS from
// ~350 to ~820 MB on a first start (issue #9: memory). In a child that memory is returned to the
// system when the child exits, seconds later, and never counts against the daemon.
//
// `node pglite-initdb.js <pgDir> --migrate <dir>` instead opens the cluster already in <pgDir> (a
// copy of the template) and applies the migrations of <dir>: the schema template, so a fresh store's
// first open does not spend ~0.7 s creating tables (#9).
// Exit 0 when the directory holds a cluster; 1 with the reason on stderr otherwise.
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { fuzzystrmatch } from '@electric-sql/pglite/contrib/fuzzystrmatch';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { migrateExclusive } from './migrate.ts';

const [pgDir, flag, migrations] = process.argv.slice(2);
if (pgDir === undefined || pgDir === '' || (flag !== undefined && (flag !== '--migrate' || migrations === undefined))) {
  process.stderr.write('usage: pglite-initdb <pgDir> [--migrate <migrations dir>]\n');
  process.exit(1);
}
try {
  const pg = await PGlite.create({ dataDir: pgDir, extensions: { vector, pg_trgm, fuzzystrmatch } });
  if (migrations === undefined) {
    // The extensions every store needs (REQUIRED_EXTENSIONS in db.ts), created here once for the
    // template rather than in each new store (half a second of a first open, #9).
    await pg.exec('CREATE EXTENSION IF NOT EXISTS vector; CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;');
  } else {
    // The runner's session: a statement without parameters may hold several (simple protocol).
    await migrateExclusive({
      query: async <T>(sql: string, params?: readonly unknown[]) => {
        if (params !== undefined) {
          const r = await pg.query<T>(sql, params as unknown[]);
          return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
        }
        const last = (await pg.exec(sql)).at(-1);
        return { rows: (last?.rows ?? []) as T[], rowCount: last?.affectedRows ?? null };
      },
    }, migrations);
  }
  await pg.close();
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
