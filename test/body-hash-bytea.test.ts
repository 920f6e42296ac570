// Migration 0012 stores body hashes as bytes (12) instead of hex text (24 characters), on both
// backends. A store written with the schema up to 0011 (hex text, as the code before 0012 wrote it)
// keeps its logical content through the migration: the same storeDigest, the same body hashes read
// back as hex, the same built-in and provider vectors found by those hashes.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import { indexHistory } from '../daemon/history.ts';
import type { Db, Queryable } from '../store/db.ts';
import { QUERIES } from '../store/digest.ts';
import type { Embedder } from '../store/embedders/index.ts';
import { HistoryStore, storeDigest } from '../store/index.ts';
import { DEFAULT_MIGRATIONS_DIR, migrate } from '../store/migrate.ts';
import { modelVectors } from '../store/reembed.ts';
import { cleanupAll } from './helpers/gitrepo.ts';
import { withBackends } from './harness/pg.ts';
import { buildFixture, openStore, withGit, withIndexer } from './store-fixtures.ts';

after(cleanupAll);

/** A provider with vectors from the text's bytes, so model_embeddings gets rows (store/reembed.ts). */
const PROVIDER: Embedder = {
  id: 'test:bytes-4',
  dims: 4,
  async embed(texts) {
    return texts.map((t) => {
      const v = new Float32Array(4);
      for (let i = 0; i < t.length; i++) v[i % 4]! += t.charCodeAt(i);
      const n = Math.hypot(...v) || 1;
      return v.map((x) => x / n);
    });
  },
};

/** The tables holding body hashes, with the column each one's rows are listed by. */
const HASHED = { entities: 'extraction_id, idx', bodies: 'body_hash', model_embeddings: 'model_id, body_hash' };

/** storeDigest's queries as digest.ts had them before 0012, when body_hash was already hex text. */
const QUERIES_0011 = Object.fromEntries(Object.entries(QUERIES).map(([t, sql]) => [t, sql.replace(/encode\(((?:\w+\.)?body_hash), 'hex'\)/g, '$1')]));

/** Every row of every table of `from` (schema 0012) into `to` (schema 0011), body hashes as hex. */
async function copyStore(from: Queryable, to: Db): Promise<void> {
  const { rows: tables } = await from.query<{ t: string }>(
    "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations'");
  await to.transaction(async (tx) => {
    // Rows as they are: no count or outbox triggers, no foreign key order (superuser on both backends).
    await tx.query('SET LOCAL session_replication_role = replica');
    for (const { t } of tables) {
      const hex = t in HASHED ? ` || jsonb_build_object('body_hash', encode(x.body_hash, 'hex'))` : '';
      const { rows: [r] } = await from.query<{ j: string }>(`SELECT coalesce(jsonb_agg(to_jsonb(x)${hex}), '[]')::text AS j FROM ${t} x`);
      await tx.query(`INSERT INTO ${t} SELECT * FROM jsonb_populate_recordset(NULL::${t}, $1::jsonb)`, [r!.j]);
    }
  });
}

const hashes = async (q: Queryable, read: string): Promise<Record<string, string[]>> => Object.fromEntries(await Promise.all(
  Object.entries(HASHED).map(async ([t, order]) => [t, (await q.query<{ h: string }>(`SELECT ${read} AS h FROM ${t} ORDER BY ${order}`)).rows.map((r) => r.h)]),
));

await withBackends('migration 0012 stores body hashes as bytes', (b) => {
  it('a store written before 0012 keeps its digest and its hex body hashes', { timeout: 300_000 }, async () => {
    const fx = await buildFixture();
    const upTo11 = mkdtempSync(path.join(os.tmpdir(), 'codegraph-mig11-'));
    const now = await (await b.fresh()).open();
    const old = await (await b.fresh()).open();
    try {
      // The store as this code writes it: the fixture's history, built-in vectors and a provider's.
      const store = await openStore(now);
      const repoId = await withGit(fx.repo.dir, async (git) => {
        const id = await withIndexer(async (indexer) => (await indexHistory({ repo: git, store, indexer, history: 'all' })).repoId);
        const warnings: object[] = [];
        const job = await store.useEmbedder(PROVIDER, (sha) => git.readBlob(sha).catch(() => null), { log: { info() {}, warn: (o) => warnings.push(o) } });
        await job!.wake();
        assert.deepEqual(warnings, []);
        assert.ok(job!.complete);
        await store.useEmbedder(null, async () => null);
        return id;
      });
      const want = await storeDigest(now);
      const wantHashes = await hashes(now, "encode(body_hash, 'hex')");
      for (const [t, hs] of Object.entries(wantHashes)) {
        assert.ok(hs.length > 0, `${t} has rows`);
        for (const h of hs) assert.match(h, /^[0-9a-f]{24}$/, t);
      }

      // The same rows in a store of schema 0011: body_hash is text there, holding the hex.
      for (const f of readdirSync(DEFAULT_MIGRATIONS_DIR).filter((n) => /^\d{4}_.*\.sql$/.test(n) && Number(n.slice(0, 4)) <= 11)) {
        copyFileSync(path.join(DEFAULT_MIGRATIONS_DIR, f), path.join(upTo11, f));
      }
      assert.equal((await migrate(old, upTo11)).version, 11);
      await copyStore(now, old);
      const types = "SELECT data_type AS t FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'body_hash' ORDER BY table_name";
      assert.deepEqual((await old.query<{ t: string }>(types)).rows.map((r) => r.t), ['text', 'text', 'text']);
      assert.deepEqual(await hashes(old, 'body_hash'), wantHashes);
      assert.deepEqual(await storeDigest(old, QUERIES_0011), want, 'the digest as computed before 0012');

      // Migrated: bytes in every table, the same digest and hashes, lookups by hash still find rows.
      // 0012 first, then any later file.
      assert.equal((await migrate(old)).applied.map((f) => f.file)[0], '0012_body_hash_bytea.sql');
      assert.deepEqual((await old.query<{ t: string }>(types)).rows.map((r) => r.t), ['bytea', 'bytea', 'bytea']);
      assert.deepEqual((await old.query<{ n: number }>('SELECT DISTINCT octet_length(body_hash) AS n FROM entities')).rows, [{ n: 12 }]);
      assert.deepEqual(await storeDigest(old), want);
      assert.deepEqual(await hashes(old, "encode(body_hash, 'hex')"), wantHashes);
      const migrated = new HistoryStore(old);
      const tip = fx.c.m1!;
      const ents = await migrated.entities(repoId, tip, { limit: 10_000 });
      assert.deepEqual(ents, await store.entities(repoId, tip, { limit: 10_000 }));
      assert.ok(ents.every((e) => /^[0-9a-f]{24}$/.test(e.bodyHash)));
      assert.deepEqual(await migrated.similar(repoId, tip, 'return a + b'), await store.similar(repoId, tip, 'return a + b'));
      const { rows: [model] } = await old.query<{ id: number; name: string; dims: number }>('SELECT id, name, dims FROM embedding_models');
      const provider = await modelVectors(model!).read(old, wantHashes.model_embeddings!);
      assert.equal(provider.size, wantHashes.model_embeddings!.length);
      assert.deepEqual(provider, await modelVectors(model!).read(now, wantHashes.model_embeddings!));
    } finally {
      await now.close();
      await old.close();
      rmSync(upTo11, { recursive: true, force: true });
    }
  });
});
