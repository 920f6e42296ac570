-- Issue 9 (review of issue 8, item 4): rows deleted from a counted table are counted by a trigger,
-- as inserted rows are (0003). Before, every DELETE had to append its negative count to
-- `store_counts` by hand in the same transaction (store/write.ts `attachOrphans` did), and a caller
-- that forgot made the next start refuse a healthy store as STORE_CORRUPT. Now any DELETE statement
-- on a counted table, from any code path, appends (table, -rows deleted) in its own transaction.
-- What `verifyStore` still catches: rows that vanish without a DELETE (a truncated or lost table
-- file, pages gone), and rows removed with triggers disabled.
CREATE OR REPLACE FUNCTION codegraph_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    DELETE FROM store_counts WHERE tbl = TG_TABLE_NAME;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO store_counts (tbl, n) SELECT TG_TABLE_NAME, -count(*) FROM old_rows HAVING count(*) > 0;
  ELSE
    INSERT INTO store_counts (tbl, n) SELECT TG_TABLE_NAME, count(*) FROM new_rows HAVING count(*) > 0;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER codegraph_count_delete AFTER DELETE ON commits REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION codegraph_count();
CREATE TRIGGER codegraph_count_delete AFTER DELETE ON paths REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION codegraph_count();
CREATE TRIGGER codegraph_count_delete AFTER DELETE ON file_deltas REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION codegraph_count();
CREATE TRIGGER codegraph_count_delete AFTER DELETE ON extractions REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION codegraph_count();
CREATE TRIGGER codegraph_count_delete AFTER DELETE ON entities REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION codegraph_count();
CREATE TRIGGER codegraph_count_delete AFTER DELETE ON extraction_refs REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION codegraph_count();
CREATE TRIGGER codegraph_count_delete AFTER DELETE ON bodies REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION codegraph_count();
CREATE TRIGGER codegraph_count_delete AFTER DELETE ON entity_changes REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION codegraph_count();
