// The error class of the history store: a CodedError (errors/) with the store's codes.
import { CodedError } from '../errors/index.ts';

export type StoreErrorCode =
  /** A commit's first parent was named as its delta base but is not stored. */
  | 'BASE_NOT_INDEXED'
  /** A commit (or revision prefix) is not indexed in this repository. */
  | 'COMMIT_NOT_INDEXED'
  /** A prefix matches several indexed commits. */
  | 'AMBIGUOUS_REVISION'
  /** A file was reported cached but its extraction is not stored. */
  | 'EXTRACTION_MISSING'
  /** An entity named in a query does not exist at the commit. */
  | 'ENTITY_NOT_FOUND'
  /** A name is shared by entities of several kinds and no kind was given. */
  | 'AMBIGUOUS_ENTITY'
  /** The caller passed inconsistent input. */
  | 'INVALID_INPUT'
  /** No repository of that name is configured. */
  | 'UNKNOWN_REPOSITORY'
  /** The tree was indexed by an extractor too old for the query (call edges need version 4). */
  | 'REINDEX_REQUIRED';

export class StoreError extends CodedError<StoreErrorCode> {
  override readonly name = 'StoreError';
}
