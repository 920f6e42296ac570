// The body embedder is computed where bodies are parsed (indexer/embed.ts, in the extraction
// workers); queries embed their text with the same function.
import type { Queryable } from './db.ts';
import { fromStoredEmbedding } from '../indexer/embed.ts';

export { EMBEDDING_DIMS, EMBEDDED_KINDS_EXCLUDED, cosine, embed, fromStoredEmbedding, subTokens, toStoredEmbedding } from '../indexer/embed.ts';

/** SQL: `column` is one of the hex body hashes of the text[] parameter `param` (`$1`). Hashes are
 * stored as bytes (migrations/0012_body_hash_bytea.sql); comparing the decoded array keeps the
 * column's index in use. */
export function bodyHashIn(column: string, param: string): string {
  return `${column} = ANY(ARRAY(SELECT decode(h, 'hex') FROM unnest(${param}::text[]) AS h))`;
}

/** The built-in embedder's stored vectors of these bodies (`bodies.embedding`), by hex body hash;
 * bodies without one are left out. Read in statements of at most 10,000 hashes. */
export async function readBodyVectors(q: Queryable, hashes: readonly string[]): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (let i = 0; i < hashes.length; i += 10_000) {
    const { rows } = await q.query<{ body_hash: string; embedding: Buffer }>(
      `SELECT encode(body_hash, 'hex') AS body_hash, embedding FROM bodies WHERE ${bodyHashIn('body_hash', '$1')}`, [hashes.slice(i, i + 10_000)]);
    for (const r of rows) out.set(r.body_hash, fromStoredEmbedding(r.embedding));
  }
  return out;
}
