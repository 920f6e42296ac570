// Memory of the embedded database (issue #9): PGlite's WASM heap grows and never shrinks, so what
// grows it is held for the daemon's life.
// - A fresh data directory is made by initdb inside the WASM instance, which grew the heap from
//   128 to ~317 MiB for good; now a first thread creates it and a second one serves it.
// - `pgliteMaxMemoryBytes` caps the heap: a statement needing more fails with `out of memory`,
//   and the session goes on.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import { embeddedMemoryBytes, openDatabase } from '../store/db.ts';

const root = mkdtempSync(path.join(os.tmpdir(), 'cg-pglite-memory-'));
after(() => rmSync(root, { recursive: true, force: true }));
const MiB = 1024 * 1024;

it('a fresh data directory is served from the initial heap, not the one initdb grew', { timeout: 300_000 }, async () => {
  const db = await openDatabase({ dataDir: path.join(root, 'fresh') });
  try {
    await db.query('SELECT 1', []);
    const bytes = embeddedMemoryBytes();
    assert.ok(bytes >= 128 * MiB, String(bytes));
    assert.ok(bytes < 160 * MiB, `the heap after opening a fresh store is ${Math.round(bytes / MiB)} MiB (initdb grew it to ~317)`);
  } finally {
    await db.close();
  }
  assert.equal(embeddedMemoryBytes(), 0, 'a closed database holds nothing');
});

it('pgliteMaxMemoryBytes caps the heap: a statement over it fails, the next ones run', { timeout: 300_000 }, async () => {
  await assert.rejects(openDatabase({ dataDir: path.join(root, 'x'), pgliteMaxMemoryBytes: 64 * MiB }),
    { code: 'INVALID_OPTIONS', message: "options.pgliteMaxMemoryBytes must be an integer of at least 134217728 (128 MiB, PGlite's initial heap)" });
  const db = await openDatabase({ dataDir: path.join(root, 'capped'), pgliteMaxMemoryBytes: 160 * MiB });
  try {
    // ~300 MB of text in one value.
    await assert.rejects(db.query("SELECT length(string_agg(repeat('x', 1000), '')) AS n FROM generate_series(1, 300000)", []), /out of memory/);
    assert.ok(embeddedMemoryBytes() <= 160 * MiB, String(embeddedMemoryBytes()));
    const { rows } = await db.query<{ n: number }>("SELECT length(string_agg(repeat('x', 1000), '')) AS n FROM generate_series(1, 1000)", []);
    assert.equal(rows[0]!.n, 1_000_000);
  } finally {
    await db.close();
  }
});
