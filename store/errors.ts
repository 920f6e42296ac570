// The error class of the history store: a stable `code`, plain `data`, and `toJSON()`.

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
  | 'INVALID_INPUT';

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(readonly code: StoreErrorCode, message: string, readonly data: Record<string, unknown> = {}) {
    super(message);
  }

  toJSON(): { name: string; code: StoreErrorCode; message: string; data: Record<string, unknown> } {
    return { name: this.name, code: this.code, message: this.message, data: this.data };
  }
}
