-- Issue 10: call references record the local binding of their receiver or bare callee (a parameter
-- or local variable, with its simple type when known), so call resolution can use scope and
-- receiver types. NULL for extractions written before extractor version 4: the resolver refuses
-- those trees' call edges until the commits are re-indexed (see store/graph.ts).
ALTER TABLE extraction_refs ADD COLUMN binding text[];
