// The errors of search and graph queries: a stable `code` (errors/index.ts CodedError); what each
// code means to the CLI (exit code) and GraphQL (`extensions.code`) is in errors/codes.ts.
import { CodedError } from '../../errors/index.ts';

export type SearchErrorCode =
  /** The query has no word, name or pattern to search for. */
  | 'EMPTY_QUERY'
  /** The REGEX query is not a valid JavaScript regular expression, or is too long. */
  | 'INVALID_REGEX'
  /** The REGEX query ran over its time budget (catastrophic backtracking, e.g. `(a+)+$`). */
  | 'REGEX_TIMEOUT'
  /** A page size, depth, query length or body size is over its limit. */
  | 'LIMIT_EXCEEDED'
  /** A cursor that this query did not return. */
  | 'INVALID_CURSOR'
  /** An unknown mode or edge kind. */
  | 'INVALID_ARGUMENT'
  /** An entity named in a graph query does not exist at the commit. */
  | 'ENTITY_NOT_FOUND';

export class SearchError extends CodedError<SearchErrorCode> {
  override name = 'SearchError';
}
