// store/migrate.ts on both backends, with temporary migration directories (not the repo's files).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import type { Db } from '../store/db.ts';
import { DEFAULT_MIGRATIONS_DIR, migrate, type MigrationError } from '../store/migrate.ts';
import { withBackends } from './harness/pg.ts';

const dirs: string[] = [];
// 'exit', not after(): a top-level after() can run before suites declared with top-level await finish.
process.on('exit', () => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function migrationsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'codegraph-migrations-'));
  dirs.push(dir);
  for (const [name, sql] of Object.entries(files)) writeFileSync(path.join(dir, name), sql);
  return dir;
}

async function tables(db: Db): Promise<string[]> {
  const { rows } = await db.query<{ t: string }>(
    "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
  );
  return rows.map((r) => r.t);
}

async function versions(db: Db): Promise<number[]> {
  return (await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r) => r.version);
}

const BASE = {
  '0001_first.sql': 'CREATE TABLE a (id int PRIMARY KEY);\nCREATE INDEX a_idx ON a (id);\n',
  '0002_second.sql': 'CREATE TABLE b (id int PRIMARY KEY, emb vector(3));\nINSERT INTO a VALUES (1);\n',
  'README.md': 'not a migration',
};

it('defaults to <repo>/migrations', () => {
  assert.equal(DEFAULT_MIGRATIONS_DIR, path.resolve(import.meta.dirname, '..', 'migrations') + path.sep);
});

await withBackends('store/migrate', (b) => {
  it('applies in order, records checksums, and is idempotent', async () => {
    const db = await (await b.fresh()).open();
    try {
      const dir = migrationsDir(BASE);
      const first = await migrate(db, dir);
      assert.deepEqual(first.applied.map((f) => f.file), ['0001_first.sql', '0002_second.sql']);
      assert.equal(first.version, 2);
      assert.deepEqual(await tables(db), ['a', 'b', 'schema_migrations']);
      const { rows } = await db.query<{ name: string; checksum: string; applied_at: Date }>('SELECT * FROM schema_migrations ORDER BY version');
      assert.equal(rows[0]?.name, 'first');
      assert.match(rows[0]?.checksum ?? '', /^[0-9a-f]{64}$/);
      assert.ok(rows[0]?.applied_at instanceof Date);
      const again = await migrate(db, dir);
      assert.deepEqual(again, { applied: [], version: 2 });
      // A new file is picked up on the next run.
      writeFileSync(path.join(dir, '0003_third.sql'), 'ALTER TABLE a ADD COLUMN x text;');
      assert.deepEqual((await migrate(db, dir)).applied.map((f) => f.version), [3]);
      assert.deepEqual(await versions(db), [1, 2, 3]);
    } finally {
      await db.close();
    }
  });

  it('rolls back a file that fails mid-way, leaving no partial schema', async () => {
    const db = await (await b.fresh()).open();
    try {
      const dir = migrationsDir({
        '0001_ok.sql': 'CREATE TABLE a (id int);',
        '0002_broken.sql': 'CREATE TABLE half (id int);\nINSERT INTO half VALUES (1);\n\nSELECT * FROM no_such_table;\nCREATE TABLE never (id int);\n',
        '0003_later.sql': 'CREATE TABLE later (id int);',
      });
      await assert.rejects(migrate(db, dir), (err: MigrationError) => {
        assert.equal(err.code, 'MIGRATION_FAILED');
        assert.match(err.message, /^migration 0002_broken\.sql failed and was rolled back \(at line 4\): relation "no_such_table" does not exist$/);
        assert.equal(err.data.sqlstate, '42P01');
        return true;
      });
      assert.deepEqual(await tables(db), ['a', 'schema_migrations']);
      assert.deepEqual(await versions(db), [1]);
      // Fixing the file lets the run continue; the db is usable after the failure.
      writeFileSync(path.join(dir, '0002_broken.sql'), 'CREATE TABLE half (id int);');
      assert.deepEqual((await migrate(db, dir)).applied.map((f) => f.version), [2, 3]);
    } finally {
      await db.close();
    }
  });

  it('refuses an applied migration whose file was edited', async () => {
    const db = await (await b.fresh()).open();
    try {
      const dir = migrationsDir(BASE);
      await migrate(db, dir);
      writeFileSync(path.join(dir, '0001_first.sql'), BASE['0001_first.sql'] + '-- edited\n');
      writeFileSync(path.join(dir, '0003_new.sql'), 'CREATE TABLE c (id int);');
      await assert.rejects(migrate(db, dir), (err: MigrationError) => {
        assert.equal(err.code, 'MIGRATION_CHECKSUM');
        assert.match(err.message, /^migration 0001_first\.sql was applied with checksum [0-9a-f]{12}… but the file now has [0-9a-f]{12}…; applied migrations must not be edited\. Restore the file and put the change in a new numbered migration$/);
        return true;
      });
      assert.deepEqual(await versions(db), [1, 2], 'nothing applied after the refusal');
    } finally {
      await db.close();
    }
  });

  it('refuses a database migrated by a newer build, and bad file names', async () => {
    const db = await (await b.fresh()).open();
    try {
      const dir = migrationsDir(BASE);
      await migrate(db, dir);
      rmSync(path.join(dir, '0002_second.sql'));
      await assert.rejects(migrate(db, dir), { code: 'MIGRATION_UNKNOWN', message: /migration 0002_second applied, which is not in .*newer codegraph/ });
      await assert.rejects(migrate(db, migrationsDir({ '1_x.sql': 'SELECT 1' })), {
        code: 'MIGRATION_INVALID_NAME',
        message: /^migration file 1_x\.sql in .* is not named NNNN_name\.sql/,
      });
      await assert.rejects(migrate(db, migrationsDir({ '0001_a.sql': 'SELECT 1', '0001_b.sql': 'SELECT 1' })), {
        code: 'MIGRATION_DUPLICATE',
        message: 'migrations 0001_a.sql and 0001_b.sql share version 0001; renumber one of them',
      });
    } finally {
      await db.close();
    }
  });

  it('serialises concurrent migrators', async () => {
    // No IF NOT EXISTS: without the advisory lock the second migrator would fail on duplicate objects.
    const dir = migrationsDir({
      '0001_slow.sql': 'CREATE TABLE s (id int);\nSELECT pg_sleep(0.3);\n',
      '0002_more.sql': 'CREATE TABLE m (id int);',
    });
    const target = await b.fresh();
    // Server: two Db objects (two pools, separate sessions). PGlite: one Db (one process, one session).
    const a = await target.open();
    const c = b.name === 'postgres' ? await target.open() : a;
    try {
      const [r1, r2] = await Promise.all([migrate(a, dir), migrate(c, dir)]);
      const applied = [...r1.applied, ...r2.applied].map((f) => f.version).sort();
      assert.deepEqual(applied, [1, 2], 'each file applied exactly once');
      assert.equal(r1.version, 2);
      assert.equal(r2.version, 2);
      assert.deepEqual(await versions(a), [1, 2]);
      // The advisory lock was released: a third run is not blocked.
      assert.deepEqual((await migrate(c, dir)).applied, []);
    } finally {
      if (c !== a) await c.close();
      await a.close();
    }
  });
});
