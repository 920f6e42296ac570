// Fresh embedded stores are copies of one initdb'd template per PGlite version (store/embedded.ts,
// #9: initdb cost ~7 CPU-seconds per new store). The template is made by the first store, used by
// the next ones, never used unfinished, and each copy is a store of its own.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { openDatabase } from '../store/db.ts';
import { migrate } from '../store/index.ts';

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
