-- The versioned history store. Valid on PostgreSQL 15 and PGlite (Postgres 18).
-- Design and rationale: store/README.md.

CREATE EXTENSION IF NOT EXISTS vector;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE repositories (
  id serial PRIMARY KEY,
  -- Canonical absolute path of the repository (or any stable name the caller chooses).
  path text NOT NULL UNIQUE
);

-- Every path ever seen in a repository, interned: deltas and change lists repeat paths a lot.
CREATE TABLE paths (
  id serial PRIMARY KEY,
  repo_id int NOT NULL REFERENCES repositories (id),
  path text NOT NULL,
  UNIQUE (repo_id, path)
);

CREATE TABLE commits (
  id serial PRIMARY KEY,
  repo_id int NOT NULL REFERENCES repositories (id),
  sha text NOT NULL,
  parents text[] NOT NULL,
  tree text NOT NULL,
  author_name text NOT NULL,
  author_email text NOT NULL,
  author_date timestamptz NOT NULL,
  committer_name text NOT NULL,
  committer_email text NOT NULL,
  committer_date timestamptz NOT NULL,
  message text NOT NULL,
  -- The first parent when it was indexed before this commit; the commit's file delta is against it.
  -- NULL: a root commit, or the first parent lies outside the indexed window. The delta is then the
  -- whole tree (a "base"), and first-parent chains stop here.
  base_id int REFERENCES commits (id),
  -- Distance to the chain's base along base_id (base = 0). Orders the rows of a chain.
  depth int NOT NULL,
  UNIQUE (repo_id, sha)
);
CREATE INDEX commits_base ON commits (base_id);

-- Extraction results, content-addressed by (blob sha, language, extractor version); shared by all
-- repositories, paths and commits that contain the blob.
CREATE TABLE extractions (
  id serial PRIMARY KEY,
  blob_sha text NOT NULL,
  language text NOT NULL,
  extractor_version int NOT NULL,
  lines int NOT NULL,
  bytes int NOT NULL,
  error_count int NOT NULL,
  invalid_utf8 int NOT NULL,
  UNIQUE (blob_sha, language, extractor_version)
);

-- Entities of one extraction, path-independent: qname is the container chain inside the file
-- (`Parser.parse`, '' for the module entity); the path is joined at query time.
CREATE TABLE entities (
  extraction_id int NOT NULL REFERENCES extractions (id),
  idx int NOT NULL,
  parent_idx int NOT NULL,
  kind text NOT NULL,
  name text NOT NULL,
  qname text NOT NULL,
  start_line int NOT NULL,
  end_line int NOT NULL,
  start_byte int NOT NULL,
  end_byte int NOT NULL,
  signature text,
  doc text,
  exported boolean NOT NULL,
  body_hash text NOT NULL,
  PRIMARY KEY (extraction_id, idx)
);
-- Exact and prefix name lookups. No trigram index: fuzzy matching (pg_trgm `%`) runs over the
-- entities of one commit's tree, which the query narrows to first; a GIN trigram index would cost
-- more than all entity rows together (store/README.md).
CREATE INDEX entities_name ON entities (name text_pattern_ops);

-- References (calls, imports, inheritance) of one extraction, packed as parallel arrays in ONE row
-- per extraction: references are read per file or per tree (unnest), never updated, and a packed
-- row is stored (and TOAST-compressed) at a fraction of the cost of one row per reference
-- (store/README.md has the figures).
CREATE TABLE extraction_refs (
  extraction_id int PRIMARY KEY REFERENCES extractions (id),
  kind text[] NOT NULL,
  name text[] NOT NULL,
  qualifier text[] NOT NULL,
  line int[] NOT NULL,
  from_idx int[] NOT NULL,
  module text[] NOT NULL,
  alias text[] NOT NULL
);

-- One embedding per distinct entity body (body hash ignores whitespace and comments).
-- vector, not halfvec: halfvec would halve the bytes, but building its HNSW index in PGlite (WASM)
-- measured 5.5x slower than vector's (store/README.md).
CREATE TABLE bodies (
  body_hash text PRIMARY KEY,
  embedding vector(256) NOT NULL
);
CREATE INDEX bodies_embedding ON bodies USING hnsw (embedding vector_cosine_ops);

-- The file delta of each commit against its first parent (or the whole tree for a base commit).
-- The tree at commit C = for each path, the deepest row on C's base_id chain; blob_sha NULL = deleted.
CREATE TABLE file_deltas (
  commit_id int NOT NULL REFERENCES commits (id),
  path_id int NOT NULL REFERENCES paths (id),
  blob_sha text,
  language text,
  -- The extraction, when the file was parsed (or found cached). NULL for deletions and skips.
  extraction_id int REFERENCES extractions (id),
  skip_reason text,
  skip_detail text,
  PRIMARY KEY (commit_id, path_id)
);
CREATE INDEX file_deltas_path ON file_deltas (path_id);

-- Entity-level changes of each non-base commit against its first parent (function-level git log).
CREATE TABLE entity_changes (
  commit_id int NOT NULL REFERENCES commits (id),
  change text NOT NULL CHECK (change IN ('added', 'removed', 'modified', 'renamed', 'moved')),
  kind text NOT NULL,
  -- Identity after the change (NULL for 'removed') and before it (NULL for 'added').
  path_id int REFERENCES paths (id),
  qname text,
  old_path_id int REFERENCES paths (id),
  old_qname text,
  signature_changed boolean NOT NULL DEFAULT false
);
CREATE INDEX entity_changes_commit ON entity_changes (commit_id);
CREATE INDEX entity_changes_identity ON entity_changes (path_id, qname);

-- Git refs as last seen, and every move (force pushes included: `forced` = old not an ancestor).
CREATE TABLE git_refs (
  repo_id int NOT NULL REFERENCES repositories (id),
  name text NOT NULL,
  sha text NOT NULL,
  PRIMARY KEY (repo_id, name)
);

CREATE TABLE ref_log (
  id serial PRIMARY KEY,
  repo_id int NOT NULL REFERENCES repositories (id),
  name text NOT NULL,
  old_sha text,
  new_sha text,
  forced boolean NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ref_log_ref ON ref_log (repo_id, name, id);
