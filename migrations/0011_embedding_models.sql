-- Embeddings from a configured provider other than the built-in one (issue #12: onnx, http).
-- `bodies.embedding` stays the built-in embedder's vector of every body (rename detection and the
-- default search use it); a provider's vectors live here, one row per (model, body), so the store
-- records which provider and model produced each vector and never mixes two models' vectors.
-- A background job (store/reembed.ts) fills a model's rows by walking extractions in id order;
-- `done_extraction` is how far it got, `complete` says it caught up once (queries use the model
-- from then on; before, they use the built-in vectors).
CREATE TABLE embedding_models (
  id serial PRIMARY KEY,
  -- Embedder.id, e.g. onnx:all-MiniLM-L6-v2@3f2a9c01b7de
  name text NOT NULL UNIQUE,
  dims int NOT NULL CHECK (dims > 0),
  done_extraction int NOT NULL DEFAULT 0,
  complete boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- `embedding`: int8 quantised, little-endian float32 scale then `dims` signed bytes
-- (component = byte * scale / 127); store/reembed.ts encodes and decodes it.
CREATE TABLE model_embeddings (
  model_id int NOT NULL REFERENCES embedding_models (id),
  body_hash text NOT NULL,
  embedding bytea NOT NULL,
  PRIMARY KEY (model_id, body_hash)
);
