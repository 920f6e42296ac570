// Fresh embedded stores are copies of one initdb'd template per PGlite version (store/embedded.ts,
// #9: initdb cost ~7 CPU-seconds per new store). The template is made by the first store, used by
// the next ones, never used unfinished, and each copy is a store of its own.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { openDatabase } from '../store/db.ts';
import { DEFAULT_MIGRATIONS_DIR, migrate } from '../store/index.ts';

const root = mkdtempSync(path.join(os.tmpdir(), 'cg-pglite-template-'));
const templates = path.join(root, 'templates');
const saved = process.env.CODEGRAPH_PGLITE_TEMPLATE_DIR;
before(() => {
  process.env.CODEGRAPH_PGLITE_TEMPLATE_DIR = templates;
});
after(() => {
  if (saved === undefined) delete process.env.CODEGRAPH_PGLITE_TEMPLATE_DIR;
  else process.env.CODEGRAPH_PGLITE_TEMPLATE_DIR = saved;
  rmSync(root, { recursive: true, force: true });
});

/** Opens a store, migrates it, writes `value` and reads back every value it holds. */
async function roundTrip(dir: string, value: string): Promise<string[]> {
  const db = await openDatabase({ dataDir: dir });
  try {
    await migrate(db);
    await db.query('CREATE TABLE IF NOT EXISTS t (v text)', []);
    await db.query('INSERT INTO t VALUES ($1)', [value]);
    return (await db.query<{ v: string }>('SELECT v FROM t ORDER BY v', [])).rows.map((r) => r.v);
  } finally {
    await db.close();
  }
}

it('the first fresh store makes the template; later ones are independent copies of it', { timeout: 300_000 }, async () => {
  assert.deepEqual(await roundTrip(path.join(root, 'a'), 'a'), ['a']);
  const made = readdirSync(templates);
  assert.equal(made.length, 1, `one template, no leftovers: ${made.join(', ')}`);
  assert.match(made[0]!, /^pglite-\d+\.\d+\.\d+-datadir-\d+$/);
  assert.ok(existsSync(path.join(templates, made[0]!, '.codegraph-template')));
  // The template holds no table of the first store: the second one starts empty.
  assert.deepEqual(await roundTrip(path.join(root, 'b'), 'b'), ['b']);
  assert.equal(existsSync(path.join(root, 'b', 'pg', '.codegraph-template')), false, 'the mark is not copied');
  assert.equal(existsSync(path.join(root, 'b', 'pg.new')), false, 'no staging directory left');
  // Reopening a copied store keeps its data.
  assert.deepEqual(await roundTrip(path.join(root, 'b'), 'c'), ['b', 'c']);
});

it('a template without its mark (a run killed while making it) is not used', { timeout: 300_000 }, async () => {
  const dir = path.join(root, 'unfinished');
  process.env.CODEGRAPH_PGLITE_TEMPLATE_DIR = dir;
  try {
    const name = readdirSync(templates)[0]!;
    // An empty directory in the template's place: copying it would make a store without PG_VERSION.
    mkdirSync(path.join(dir, name), { recursive: true });
    assert.deepEqual(await roundTrip(path.join(root, 'c'), 'x'), ['x']);
  } finally {
    process.env.CODEGRAPH_PGLITE_TEMPLATE_DIR = templates;
  }
});

it('an empty CODEGRAPH_PGLITE_TEMPLATE_DIR makes no template', { timeout: 300_000 }, async () => {
  const before = readdirSync(templates);
  process.env.CODEGRAPH_PGLITE_TEMPLATE_DIR = '';
  try {
    assert.deepEqual(await roundTrip(path.join(root, 'd'), 'd'), ['d']);
  } finally {
    process.env.CODEGRAPH_PGLITE_TEMPLATE_DIR = templates;
  }
  assert.deepEqual(readdirSync(templates), before);
});

/** Opens a store with the schema template of `migrations` and migrates it; returns what migrate applied. */
async function openMigrated(dir: string, migrations: string): Promise<{ applied: number; version: number }> {
  const db = await openDatabase({ dataDir: dir, pgliteTemplateMigrations: migrations });
  try {
    const r = await migrate(db, migrations);
    return { applied: r.applied.length, version: r.version };
  } finally {
    await db.close();
  }
}

it('a store opened for a set of migrations is copied from a template that holds them; a new set makes a new one', { timeout: 300_000 }, async () => {
  const latest = (await readdir(DEFAULT_MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
  // An older set (all but the last file) and the full one, as an upgrade of codegraph would bring.
  const older = path.join(root, 'migrations-older');
  mkdirSync(older);
  for (const f of latest.slice(0, -1)) copyFileSync(path.join(DEFAULT_MIGRATIONS_DIR, f), path.join(older, f));
  const lastVersion = Number(latest.at(-1)!.slice(0, 4));

  // The first store of a set makes its template (its migrations ran there); the store's own migrate
  // finds them applied.
  assert.deepEqual(await openMigrated(path.join(root, 'm1'), older), { applied: 0, version: Number(latest.at(-2)!.slice(0, 4)) });
  const schemas = (): string[] => readdirSync(templates).filter((n) => n.includes('-schema-'));
  assert.equal(schemas().length, 1);
  assert.deepEqual(await openMigrated(path.join(root, 'm2'), older), { applied: 0, version: Number(latest.at(-2)!.slice(0, 4)) });
  assert.equal(schemas().length, 1, 'the second store of the set reuses the template');

  // The full set: a new template, and the older one is removed.
  const first = schemas()[0];
  assert.deepEqual(await openMigrated(path.join(root, 'm3'), DEFAULT_MIGRATIONS_DIR), { applied: 0, version: lastVersion });
  assert.equal(schemas().length, 1);
  assert.notEqual(schemas()[0], first);
  // A store made for the older set, reopened by the newer codegraph, migrates the rest in place.
  assert.deepEqual(await openMigrated(path.join(root, 'm1'), DEFAULT_MIGRATIONS_DIR), { applied: 1, version: lastVersion });

  // Without the option a fresh store holds no schema (tests build stores at older migrations).
  const db = await openDatabase({ dataDir: path.join(root, 'm4') });
  try {
    assert.equal((await db.query(`SELECT to_regclass('schema_migrations') AS t`, [])).rows[0]!['t'], null);
  } finally {
    await db.close();
  }
});
