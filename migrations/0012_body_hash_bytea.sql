-- Body hashes stored as bytes (#9: a smaller history store). A body hash is a 96-bit sha1 prefix
-- (indexer/extract.ts), kept in JavaScript as 24 lowercase hex characters; as `text` it took 25
-- bytes in every entity row, in `bodies` and in its primary key, and in `model_embeddings`. As
-- `bytea` it takes 13. The code converts at the SQL boundary only: `decode(h, 'hex')` where it
-- writes or looks up hashes, `encode(body_hash, 'hex')` where it reads them (store/README.md).
-- Existing rows are converted in place; ALTER TYPE rebuilds the primary keys on the new type.
-- Every hash any extractor version wrote is lowercase hex of even length, so decode() accepts it;
-- were one not, the file fails and rolls back (MIGRATION_FAILED) instead of dropping the row.
ALTER TABLE entities ALTER COLUMN body_hash TYPE bytea USING decode(body_hash, 'hex');
ALTER TABLE bodies ALTER COLUMN body_hash TYPE bytea USING decode(body_hash, 'hex');
ALTER TABLE model_embeddings ALTER COLUMN body_hash TYPE bytea USING decode(body_hash, 'hex');
