// The stored form of body embeddings (indexer/embed.ts toStoredEmbedding, migrations/0007): one
// signed byte per dimension, and the conversion of a store written with pgvector `vector(256)`.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, copyFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { DEFAULT_MIGRATIONS_DIR, migrate } from '../store/migrate.ts';
import { EMBEDDING_DIMS, cosine, embed, fromStoredEmbedding, toStoredEmbedding } from '../store/embed.ts';
import { EmbeddingCache, embedBodies } from '../indexer/embed.ts';
import { withBackends } from './harness/pg.ts';

const BODIES = [
  'function parseHTTPResponse(res) { return JSON.parse(res.body); }',
  'function parseHttpResponse(response) { return JSON.parse(response.body); }',
  'export class Cache { get(key) { return this.map.get(key); } }',
  'const x = 1;',
];

it('stores one byte per dimension and keeps cosines within 0.01', () => {
  const vs = BODIES.map(embed);
  const stored = vs.map(toStoredEmbedding);
  for (const s of stored) assert.equal(s.byteLength, EMBEDDING_DIMS);
  for (let i = 0; i < vs.length; i++) {
    for (let j = 0; j < vs.length; j++) {
      const exact = cosine(vs[i]!, vs[j]!);
      const back = cosine(fromStoredEmbedding(stored[i]!), fromStoredEmbedding(stored[j]!));
      assert.ok(Math.abs(exact - back) < 0.01, `cosine ${i},${j}: ${exact} vs ${back}`);
    }
  }
  // Decoded vectors are unit length, so a dot product is a cosine.
  const d = fromStoredEmbedding(stored[0]!);
  assert.ok(Math.abs(Math.hypot(...d) - 1) < 1e-5);
  // The zero vector (a body without any feature) stays zero instead of dividing by zero.
  assert.deepEqual([...fromStoredEmbedding(toStoredEmbedding(new Float32Array(8)))], new Array(8).fill(0));
  // Any dimension count: the byte length is the dimension count.
  assert.equal(toStoredEmbedding(new Float32Array([0.5, -1, 0.25])).byteLength, 3);
  assert.deepEqual([...new Int8Array(toStoredEmbedding(new Float32Array([0.5, -1, 0.25])).buffer)], [64, -127, 32]);
});

await withBackends('migration 0007 converts pgvector embeddings to bytes', (b) => {
  it('an embedding stored as vector(256) reads back as the code would store it', async () => {
    // The migrations up to 0006 (pgvector), a body written the old way, then the rest.
    const before = mkdtempSync(path.join(os.tmpdir(), 'codegraph-mig6-'));
    try {
      for (const f of readdirSync(DEFAULT_MIGRATIONS_DIR).filter((n) => /^000[1-6]_.*\.sql$/.test(n))) copyFileSync(path.join(DEFAULT_MIGRATIONS_DIR, f), path.join(before, f));
      const db = await (await b.fresh()).open();
      try {
        await migrate(db, before);
        const v = embed(BODIES[0]!);
        const literal = `[${Array.from(v, (x) => x.toPrecision(6)).join(',')}]`;
        // Hashes are hex, as every extractor wrote them: migration 0012 decodes them to bytes.
        await db.query('INSERT INTO bodies (body_hash, embedding) VALUES ($1, $2::vector), ($3, $4::vector)',
          ['aa', literal, 'bb', `[${new Array(EMBEDDING_DIMS).fill(0).join(',')}]`]);
        await migrate(db);
        const { rows } = await db.query<{ body_hash: string; embedding: Buffer }>('SELECT body_hash, embedding FROM bodies ORDER BY body_hash');
        assert.equal(rows.length, 2);
        const expect = toStoredEmbedding(v);
        const got = rows[0]!.embedding;
        assert.equal(got.byteLength, EMBEDDING_DIMS);
        // Ties may round differently in SQL and JavaScript: at most one step apart, same direction.
        const g = new Int8Array(got.buffer, got.byteOffset, got.byteLength);
        const e = new Int8Array(expect.buffer);
        for (let i = 0; i < EMBEDDING_DIMS; i++) assert.ok(Math.abs(g[i]! - e[i]!) <= 1, `dimension ${i}: ${g[i]} vs ${e[i]}`);
        assert.ok(cosine(fromStoredEmbedding(got), v) > 0.999);
        assert.deepEqual([...rows[1]!.embedding], new Array(EMBEDDING_DIMS).fill(0));
      } finally {
        await db.close();
      }
    } finally {
      rmSync(before, { recursive: true, force: true });
    }
  });
});

it('embedBodies with a cache gives the same vectors, embeds a seen text once, and keeps at most its limit', () => {
  const text = 'function parseHeader(line) { return line.split(":"); }\nfunction other() { return 42; }\n';
  const content = new TextEncoder().encode(text);
  const cut = text.indexOf('\nfunction other') + 1;
  const entities = [
    { kind: 'function', bodyHash: 'aa', startByte: 0, endByte: cut },
    { kind: 'function', bodyHash: 'bb', startByte: cut, endByte: content.length },
  ];
  const plain = embedBodies(entities, content);
  const cache = new EmbeddingCache(1);
  assert.deepEqual(embedBodies(entities, content, cache), plain);
  // Only the most recent text is kept (one entry); asked again, it comes from the cache.
  assert.equal(cache.get(text.slice(0, cut)), undefined);
  assert.deepEqual(cache.get(text.slice(cut)), plain[1]![1]);
  // A cached text is not embedded again: the bytes given for it come back.
  const marked = new Uint8Array(EMBEDDING_DIMS).fill(7);
  const fresh = new EmbeddingCache();
  fresh.set(text.slice(cut), marked);
  assert.deepEqual(embedBodies([entities[1]!], content, fresh), [['bb', marked]]);
  // The key is the text: the same body hash with other text (a changed comment) is embedded anew.
  const other = new TextEncoder().encode('function other() { /* a comment */ return 42; }\n');
  assert.notDeepEqual(embedBodies([{ kind: 'function', bodyHash: 'bb', startByte: 0, endByte: other.length }], other, fresh)[0]![1], marked);
});
