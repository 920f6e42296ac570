-- History lineage (issue 11).
--
-- `export` added or removed (a Go name capitalised, ...) is a change users care about (an API
-- became public): entity changes record it beside signature_changed. Rows stored before this
-- migration say false; their commits were compared without it.
ALTER TABLE entity_changes ADD COLUMN visibility_changed boolean NOT NULL DEFAULT false;

-- Storing a commit looks for stored bases whose first parent it is (the indexed window grew below
-- them; store/write.ts attachOrphans). Bases are few, so a partial index keeps that lookup from
-- scanning every commit.
CREATE INDEX commits_orphans ON commits (repo_id, (parents[1])) WHERE base_id IS NULL;
