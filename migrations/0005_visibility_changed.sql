-- `export` added or removed (a Go name capitalised, ...) is a change users care about (an API
-- became public): entity changes record it beside signature_changed (issue 11). Rows stored before
-- this migration say false; their commits were compared without it.
ALTER TABLE entity_changes ADD COLUMN visibility_changed boolean NOT NULL DEFAULT false;
