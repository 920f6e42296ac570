-- Issue 10: Java and C++ call references record their argument count (`args`, parallel to the
-- other arrays of the row; NULL for other languages and for calls whose arguments the syntax does not
-- show, such as method references), so a call links the overloads whose parameter count can take
-- it instead of every overload of its name. Rows written before have no counts and link as before.
ALTER TABLE extraction_refs ADD COLUMN args int[];
