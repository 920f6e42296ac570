-- Body embeddings stored as one signed byte per dimension (#9, #12: a first snapshot under 40 bytes
-- per line of source including embeddings). Format, read and written by indexer/embed.ts
-- (`toStoredEmbedding` / `fromStoredEmbedding`): byte i = round(127 * x[i] / max|x|) as a two's
-- complement int8; the byte length is the number of dimensions; no scale is kept, because cosine
-- similarity does not depend on it. pgvector's `vector(256)` took 4 bytes per dimension plus its
-- header (1,032 bytes per body), and nothing in the database computes on embeddings any more
-- (0006 dropped the HNSW index; similarity is computed by the store and the search engine).
-- Existing rows are converted in place (a transform expression may not hold a subquery, hence the
-- helper function, dropped again).
CREATE FUNCTION codegraph_int8_embedding(v real[]) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(decode(string_agg(lpad(to_hex(
           (CASE WHEN m.mx = 0 THEN 0 ELSE round(127 * x / m.mx)::int END) & 255), 2, '0'), '' ORDER BY i), 'hex'), '\x'::bytea)
  FROM unnest(v) WITH ORDINALITY AS u(x, i), (SELECT max(abs(y)) AS mx FROM unnest(v) AS w(y)) AS m
$$;
ALTER TABLE bodies ALTER COLUMN embedding TYPE bytea USING codegraph_int8_embedding(embedding::real[]);
DROP FUNCTION codegraph_int8_embedding(real[]);
