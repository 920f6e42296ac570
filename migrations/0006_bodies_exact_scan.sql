-- No HNSW index on body embeddings (#9). Maintaining it cost one graph insertion per new body, and
-- in PGlite (pgvector in WASM) that was most of a first index: 746k lines of TypeScript took 150 s,
-- about 110 s of it inside pgvector's HNSW inserts. Nearest-body queries (`similar()`) now scan
-- `bodies` exactly: a sequential scan with cosine distance, exact instead of approximate, ~0.1 s per
-- 100k bodies. Approximate search over the tips lives in the hot store's ANN index (#12).
DROP INDEX IF EXISTS bodies_embedding;
