-- Issue 8, items 5 and 4: an outbox of commits not announced yet, and row counts kept at write time
-- so that start-up can tell a damaged store from a good one. Rationale: store/README.md.

-- 1. Outbox. A commit stored after its repository's first index is queued here IN THE SAME
-- TRANSACTION as its `commits` row (a trigger, so every code path that inserts a commit does it);
-- the daemon sends its `commitIndexed` notice, then deletes the row. A kill -9 between the two
-- leaves the row, and the next start announces the commit (at least once).
-- `announce` is false until the daemon finished the repository's first index: a first index
-- announces nothing (it would flood dashboards with history).
ALTER TABLE repositories ADD COLUMN announce boolean NOT NULL DEFAULT false;
UPDATE repositories r SET announce = true WHERE EXISTS (SELECT 1 FROM commits c WHERE c.repo_id = r.id);

CREATE TABLE commit_outbox (
  commit_id int PRIMARY KEY REFERENCES commits (id),
  repo_id int NOT NULL REFERENCES repositories (id)
);
CREATE INDEX commit_outbox_repo ON commit_outbox (repo_id, commit_id);

CREATE FUNCTION codegraph_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO commit_outbox (commit_id, repo_id)
  SELECT NEW.id, NEW.repo_id FROM repositories r WHERE r.id = NEW.repo_id AND r.announce;
  RETURN NULL;
END $$;
CREATE TRIGGER codegraph_outbox AFTER INSERT ON commits FOR EACH ROW EXECUTE FUNCTION codegraph_outbox();

-- 2. Row counts. Every INSERT statement on a graph table appends (table, rows inserted) here, in
-- its own transaction, so the sum per table is what the table must hold. Rows of these tables are
-- never deleted (store/README.md); a truncated table file or deleted rows make the real count
-- differ, and `verifyStore` (store/verify.ts) refuses to start. Append-only rather than one counter
-- row per table: instances indexing different repositories on one server never wait on each other.
-- `verifyStore` folds the rows into one per table at start.
CREATE TABLE store_counts (
  tbl text NOT NULL,
  n bigint NOT NULL
);
-- The schema version the counts were taken at: a later migration may rewrite tables, so the counts
-- are taken again (from the tables as they are) after any migration.
CREATE TABLE store_counts_version (
  version int NOT NULL
);

CREATE FUNCTION codegraph_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    DELETE FROM store_counts WHERE tbl = TG_TABLE_NAME;
  ELSE
    INSERT INTO store_counts (tbl, n) SELECT TG_TABLE_NAME, count(*) FROM new_rows HAVING count(*) > 0;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER codegraph_count AFTER INSERT ON commits REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION codegraph_count();
CREATE TRIGGER codegraph_count AFTER INSERT ON paths REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION codegraph_count();
CREATE TRIGGER codegraph_count AFTER INSERT ON file_deltas REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION codegraph_count();
CREATE TRIGGER codegraph_count AFTER INSERT ON extractions REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION codegraph_count();
CREATE TRIGGER codegraph_count AFTER INSERT ON entities REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION codegraph_count();
CREATE TRIGGER codegraph_count AFTER INSERT ON extraction_refs REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION codegraph_count();
CREATE TRIGGER codegraph_count AFTER INSERT ON bodies REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION codegraph_count();
CREATE TRIGGER codegraph_count AFTER INSERT ON entity_changes REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION codegraph_count();
CREATE TRIGGER codegraph_count_truncate AFTER TRUNCATE ON commits FOR EACH STATEMENT EXECUTE FUNCTION codegraph_count();
CREATE TRIGGER codegraph_count_truncate AFTER TRUNCATE ON paths FOR EACH STATEMENT EXECUTE FUNCTION codegraph_count();
CREATE TRIGGER codegraph_count_truncate AFTER TRUNCATE ON file_deltas FOR EACH STATEMENT EXECUTE FUNCTION codegraph_count();
CREATE TRIGGER codegraph_count_truncate AFTER TRUNCATE ON extractions FOR EACH STATEMENT EXECUTE FUNCTION codegraph_count();
CREATE TRIGGER codegraph_count_truncate AFTER TRUNCATE ON entities FOR EACH STATEMENT EXECUTE FUNCTION codegraph_count();
CREATE TRIGGER codegraph_count_truncate AFTER TRUNCATE ON extraction_refs FOR EACH STATEMENT EXECUTE FUNCTION codegraph_count();
CREATE TRIGGER codegraph_count_truncate AFTER TRUNCATE ON bodies FOR EACH STATEMENT EXECUTE FUNCTION codegraph_count();
CREATE TRIGGER codegraph_count_truncate AFTER TRUNCATE ON entity_changes FOR EACH STATEMENT EXECUTE FUNCTION codegraph_count();
-- No store_counts_version row yet: the first verifyStore takes the counts of the existing tables.
