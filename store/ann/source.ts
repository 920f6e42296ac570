// What the ANN index reads from the history store: the embedded entities of a tip (all of them, or
// those of a few paths), and body vectors. Internal to store/ann.
import { chainParams, touchedBetween, treeSql, type Chain } from '../chain.ts';
import type { Queryable } from '../db.ts';
import { readBodyVectors } from '../embed.ts';

/** An entity whose body has a vector: `path` + `idx` name it within its tree. */
export interface TipEntity {
  path: string;
  idx: number;
  bodyHash: string;
}

/** Body vectors of one embedding model (provider + model). */
export interface VectorSource {
  /** The embedder id (store/embedders `Embedder.id`) the vectors come from. */
  readonly id: string;
  readonly dims: number;
  /** Vectors of the given bodies that exist (L2-normalised); absent bodies are left out. */
  read(q: Queryable, hashes: string[]): Promise<Map<string, Float32Array>>;
}

/** Kinds without a body embedding (indexer/embed.ts EMBEDDED_KINDS_EXCLUDED). */
const NO_BODY = `e.kind NOT IN ('module', 'import')`;

/** Every embedded entity of the tree at `chain`; or, with `pathIds`, those of these paths only. */
export async function tipEntities(q: Queryable, chain: Chain, pathIds?: number[]): Promise<TipEntity[]> {
  const { rows } = await q.query<{ path: string; idx: number; body_hash: string }>(
    `SELECT p.path, e.idx, encode(e.body_hash, 'hex') AS body_hash
     FROM (${treeSql(pathIds ? 'd.path_id = ANY($3::int[])' : 'true')}) t JOIN paths p ON p.id = t.path_id
     JOIN entities e ON e.extraction_id = t.extraction_id
     WHERE t.blob_sha IS NOT NULL AND ${NO_BODY}`,
    pathIds ? [...chainParams(chain), pathIds] : chainParams(chain));
  return rows.map((r) => ({ path: r.path, idx: r.idx, bodyHash: r.body_hash }));
}

/** Paths (names) that may differ between the trees at two chains. */
export async function pathsBetween(q: Queryable, a: Chain, b: Chain): Promise<{ ids: number[]; names: string[] }> {
  const ids = await touchedBetween(q, a, b);
  if (ids.length === 0) return { ids, names: [] };
  const { rows } = await q.query<{ path: string }>('SELECT path FROM paths WHERE id = ANY($1::int[])', [ids]);
  return { ids, names: rows.map((r) => r.path) };
}

/** The built-in embedder's vectors, as the store keeps them (`bodies.embedding`). */
export function builtinVectors(id: string, dims: number): VectorSource {
  return {
    id,
    dims,
    read: readBodyVectors,
  };
}
