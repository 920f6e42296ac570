-- First-parent "lines": the first-parent tree cut into maximal linear runs. A commit continues its
-- base's line when it is the base's first stored child, else it starts a line of its own
-- (line_id = its own id). A chain (C -> base -> ... -> base of all) is then a few segments
-- (line, depth <= hi), one per fork on the way, instead of one id per commit, so tree, diff, log and
-- blame queries take O(forks) parameters, not O(depth). Rationale: store/README.md.
ALTER TABLE commits ADD COLUMN line_id int;

WITH RECURSIVE l(id, line_id) AS (
  SELECT id, id FROM commits WHERE base_id IS NULL
  UNION ALL
  SELECT c.id, CASE WHEN c.id = (SELECT min(k.id) FROM commits k WHERE k.base_id = c.base_id) THEN l.line_id ELSE c.id END
  FROM commits c JOIN l ON c.base_id = l.id
)
UPDATE commits SET line_id = l.line_id FROM l WHERE commits.id = l.id;

ALTER TABLE commits ALTER COLUMN line_id SET NOT NULL;
-- One commit per depth on a line; also the index chain queries use.
CREATE UNIQUE INDEX commits_line ON commits (line_id, depth);
