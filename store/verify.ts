// Start-up integrity check of the history store (issue 8, item 4): a truncated table file, or rows
// removed without a counted DELETE, must stop the daemon rather than be served as truth.
//
// What is cheap and catches that: every INSERT on a graph table appends its row count to
// `store_counts` in the same transaction (triggers, migrations/0003_outbox_and_counts.sql), and
// every DELETE appends minus its row count (0008_count_deletes.sql), so per table the sum of
// `store_counts` must equal `count(*)`. One SELECT reads both (one snapshot, so an instance writing
// meanwhile on a shared server cannot cause a false alarm). Cost: one sequential count per table, about what reading the table once costs (figures in
// store/README.md). Page checksums (on in PGlite, optional on a server) catch flipped bits in pages
// that are read, not pages that are gone, so they do not replace this.
import { CodedError } from '../errors/index.ts';
import type { Db, Queryable } from './db.ts';

/** The tables whose row counts are kept (each has the `codegraph_count` trigger). */
export const COUNTED_TABLES = ['commits', 'paths', 'file_deltas', 'extractions', 'entities', 'extraction_refs', 'bodies', 'entity_changes'] as const;

export interface TableMismatch {
  table: string;
  /** Rows the store wrote (sum of store_counts). */
  expected: number;
  /** Rows the table holds now. */
  actual: number;
}

export class StoreCorruptError extends CodedError<'STORE_CORRUPT', { mismatches: TableMismatch[] }> {
  override name = 'StoreCorruptError';
}

export interface VerifyResult {
  /** `counted`: the tables matched their counts. `baseline`: counts were (re)taken from the tables
   * as they are, after a migration (nothing to compare with yet). */
  outcome: 'counted' | 'baseline';
  rows: Record<string, number>;
}

/**
 * Compares every counted table with its stored count; throws `StoreCorruptError` (code
 * STORE_CORRUPT) on any difference. After a migration (schema version changed since the counts
 * were taken) the counts are taken again instead. On success the count rows are folded into one
 * per table. `location` names the data directory or server in the message.
 */
export async function verifyStore(db: Db, location: string): Promise<VerifyResult> {
  const version = await schemaVersion(db);
  const { rows: v } = await db.query<{ version: number }>('SELECT version FROM store_counts_version', []);
  const tables = await countedTables(db);
  if (v.length !== 1 || v[0]!.version !== version) return { outcome: 'baseline', rows: await baseline(db, tables, version) };

  const rows = await db.transaction(async (tx) => {
    // Count the heap, not an index: an index-only scan answers from the index and the visibility
    // map, and would not see that the table file under it lost pages.
    await tx.query('SET LOCAL enable_indexscan = off; SET LOCAL enable_indexonlyscan = off; SET LOCAL enable_bitmapscan = off');
    const r = await tx.query<{ tbl: string; actual: string; expected: string }>(
      tables.map((t) => `SELECT '${t}' AS tbl, (SELECT count(*) FROM ${t}) AS actual, (SELECT coalesce(sum(n), 0) FROM store_counts WHERE tbl = '${t}') AS expected`).join(' UNION ALL '),
      [],
    );
    return r.rows;
  });
  const mismatches: TableMismatch[] = [];
  const counts: Record<string, number> = {};
  for (const r of rows) {
    counts[r.tbl] = Number(r.actual);
    if (r.actual !== r.expected) mismatches.push({ table: r.tbl, expected: Number(r.expected), actual: Number(r.actual) });
  }
  if (mismatches.length > 0) {
    const what = mismatches.map((m) => `${m.table} holds ${m.actual} rows, ${m.expected} were written`).join('; ');
    throw new StoreCorruptError('STORE_CORRUPT',
      `the history store at ${location} is damaged: ${what}. Its answers would be wrong, so codegraph does not start. ` +
      'Stop every codegraph process using it, then delete the data directory (or drop and recreate the database) and index again; ' +
      'everything in it is derived from the git repositories.',
      { mismatches });
  }
  // Fold the appended rows into one per table (one statement: rows inserted meanwhile by another
  // instance's open transaction are not in `d` and stay).
  await db.query('WITH d AS (DELETE FROM store_counts RETURNING tbl, n) INSERT INTO store_counts (tbl, n) SELECT tbl, sum(n) FROM d GROUP BY tbl', []);
  return { outcome: 'counted', rows: counts };
}

async function schemaVersion(q: Queryable): Promise<number> {
  const { rows } = await q.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations', []);
  return rows[0]?.v ?? 0;
}

/** The counted tables that still carry the counting trigger (a later migration that recreates a
 * table must add it again; until then that table is not checked rather than falsely reported). */
async function countedTables(q: Queryable): Promise<string[]> {
  const { rows } = await q.query<{ tbl: string }>(
    `SELECT c.relname AS tbl FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
     WHERE t.tgname = 'codegraph_count' AND c.relname = ANY($1::text[])`, [[...COUNTED_TABLES]]);
  const have = new Set(rows.map((r) => r.tbl));
  return COUNTED_TABLES.filter((t) => have.has(t));
}

/** Takes the counts from the tables as they are. EXCLUSIVE on store_counts holds back writers'
 * count triggers until this commits, so no write lands between the count and the reset. */
async function baseline(db: Db, tables: string[], version: number): Promise<Record<string, number>> {
  return db.transaction(async (tx) => {
    await tx.query('LOCK TABLE store_counts, store_counts_version IN EXCLUSIVE MODE', []);
    await tx.query('DELETE FROM store_counts', []);
    const counts: Record<string, number> = {};
    for (const t of tables) {
      const { rows } = await tx.query<{ n: string }>(`SELECT count(*) AS n FROM ${t}`, []);
      counts[t] = Number(rows[0]!.n);
      await tx.query('INSERT INTO store_counts (tbl, n) VALUES ($1, $2)', [t, counts[t]]);
    }
    await tx.query('DELETE FROM store_counts_version', []);
    await tx.query('INSERT INTO store_counts_version (version) VALUES ($1)', [version]);
    return counts;
  });
}
