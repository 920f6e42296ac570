// The one table from an error code to what each boundary shows (issue #8): the CLI's exit code and
// GraphQL's `extensions.code`. Call sites never match code strings; they ask `exitCodeOf(err)` or
// `graphqlCodeOf(err)`. A `CodedError`'s code must be a key of CODES (the type parameter of
// CodedError is bound to `ErrorCode`), so adding an error means adding its row here.

/** Exit codes shared by every `codegraph` subcommand. */
export const ExitCode = {
  OK: 0,
  /** Something failed while running (I/O, database, git). */
  FAILURE: 1,
  /** The command line itself is wrong: unknown command or flag, missing argument. */
  USAGE: 2,
  /** The repository path is not a git repository. */
  NOT_A_REPOSITORY: 3,
  /** A revision, commit or entity named on the command line does not exist (or is not indexed). */
  UNKNOWN_REVISION: 4,
  /** The configuration is invalid. */
  CONFIG: 5,
  /** Another process holds the data directory. */
  LOCKED: 6,
  /** The store failed its start-up integrity check (store/verify.ts): delete it and index again. */
  STORE_CORRUPT: 7,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * GraphQL `extensions.code` values. `null` in the table below means "internal": the message is
 * masked as "Unexpected error." and the error is logged, because it says nothing a client can act on.
 */
export type GraphQLCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  /** The commit exists in git but is outside the indexed window (or not indexed yet). */
  | 'NOT_INDEXED'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'RATE_LIMITED'
  | 'QUERY_TOO_DEEP'
  | 'QUERY_TOO_COMPLEX'
  | 'TOO_MANY_ALIASES'
  | 'TOO_MANY_TOKENS'
  /** The operation ran past its deadline and was cancelled. */
  | 'DEADLINE_EXCEEDED'
  /** The service is starting, closing, or its store is unavailable; retry later. */
  | 'UNAVAILABLE'
  /** A subscriber fell too far behind the event stream; its subscription was ended. */
  | 'SUBSCRIPTION_LAGGED'
  /** A REGEX search ran over its time budget (catastrophic backtracking). */
  | 'REGEX_TIMEOUT';

interface Row {
  exit: ExitCodeValue;
  graphql: GraphQLCode | null;
}

const row = (exit: ExitCodeValue, graphql: GraphQLCode | null = null): Row => ({ exit, graphql });
const { FAILURE, USAGE, NOT_A_REPOSITORY, UNKNOWN_REVISION, CONFIG, LOCKED, STORE_CORRUPT } = ExitCode;

export const CODES = {
  // indexer/git (GitError)
  NOT_A_REPOSITORY: row(NOT_A_REPOSITORY),
  UNKNOWN_REVISION: row(UNKNOWN_REVISION, 'NOT_FOUND'),
  GIT_FAILED: row(FAILURE),
  OBJECT_MISSING: row(FAILURE),
  WRONG_OBJECT_TYPE: row(FAILURE),
  /** A GitRepo, database or service used after close(). */
  CLOSED: row(FAILURE, 'UNAVAILABLE'),
  BATCH_PROTOCOL: row(FAILURE),
  COMMIT_PARSE: row(FAILURE),
  TREE_PARSE: row(FAILURE),
  // indexer (extraction)
  PARSE_TIMEOUT: row(FAILURE),
  // store (StoreError)
  BASE_NOT_INDEXED: row(FAILURE, 'NOT_INDEXED'),
  COMMIT_NOT_INDEXED: row(UNKNOWN_REVISION, 'NOT_INDEXED'),
  AMBIGUOUS_REVISION: row(UNKNOWN_REVISION, 'BAD_USER_INPUT'),
  EXTRACTION_MISSING: row(FAILURE),
  ENTITY_NOT_FOUND: row(UNKNOWN_REVISION, 'NOT_FOUND'),
  /** A name shared by entities of several kinds, asked without a kind (issue 11). */
  AMBIGUOUS_ENTITY: row(USAGE, 'BAD_USER_INPUT'),
  INVALID_INPUT: row(USAGE, 'BAD_USER_INPUT'),
  UNKNOWN_REPOSITORY: row(UNKNOWN_REVISION, 'NOT_FOUND'),
  /** Call edges asked of a tree indexed by an extractor too old to record call bindings (#10). */
  REINDEX_REQUIRED: row(FAILURE, 'NOT_INDEXED'),
  // store/search (SearchError); ENTITY_NOT_FOUND above
  EMPTY_QUERY: row(USAGE, 'BAD_USER_INPUT'),
  INVALID_REGEX: row(USAGE, 'BAD_USER_INPUT'),
  REGEX_TIMEOUT: row(USAGE, 'REGEX_TIMEOUT'),
  LIMIT_EXCEEDED: row(USAGE, 'BAD_USER_INPUT'),
  INVALID_CURSOR: row(USAGE, 'BAD_USER_INPUT'),
  INVALID_ARGUMENT: row(USAGE, 'BAD_USER_INPUT'),
  // store/hot (HotStoreError): another process has the hot store's RocksDB open.
  HOT_LOCKED: row(LOCKED, 'UNAVAILABLE'),
  // store/hot: a build or update stopped because the hot store was closed (the tip is not held).
  HOT_CLOSED: row(FAILURE, 'UNAVAILABLE'),
  // store/embedders (EmbedderError); INVALID_OPTIONS below
  EMBEDDING_FAILED: row(FAILURE),
  EMBEDDING_BAD_RESPONSE: row(FAILURE),
  EMBEDDING_MODEL_NOT_FOUND: row(CONFIG),
  EMBEDDING_MODEL_INVALID: row(CONFIG),
  EMBEDDING_DIMENSION_MISMATCH: row(CONFIG),
  EMBEDDING_RUNTIME_MISSING: row(FAILURE),
  // store/ann (AnnError)
  ANN_TIP_UNKNOWN: row(FAILURE),
  // store/db.ts (DbError)
  INVALID_OPTIONS: row(CONFIG),
  CONNECT_FAILED: row(FAILURE, 'UNAVAILABLE'),
  PGLITE_OPEN_FAILED: row(FAILURE),
  EXTENSION_MISSING: row(FAILURE),
  QUERY_OUTSIDE_TRANSACTION: row(FAILURE),
  TRANSACTION_FINISHED: row(FAILURE),
  // store/migrate.ts (MigrationError)
  MIGRATION_CHECKSUM: row(FAILURE),
  MIGRATION_FAILED: row(FAILURE),
  MIGRATION_INVALID_NAME: row(FAILURE),
  MIGRATION_DUPLICATE: row(FAILURE),
  MIGRATION_UNKNOWN: row(FAILURE),
  // store/lock.ts (LockError)
  LOCKED: row(LOCKED, 'UNAVAILABLE'),
  // store/verify.ts (StoreCorruptError)
  STORE_CORRUPT: row(STORE_CORRUPT, 'UNAVAILABLE'),
  // daemon (CliError, ConfigError, StartupError, FetchError, ...)
  USAGE: row(USAGE, 'BAD_USER_INPUT'),
  CONFIG: row(CONFIG),
  /** An entity named on the command line does not exist in the indexed history. */
  UNKNOWN_ENTITY: row(UNKNOWN_REVISION, 'NOT_FOUND'),
  /** A command failed in a way already reported to the user (no stack trace wanted). */
  FAILURE: row(FAILURE),
  STARTUP: row(FAILURE),
  FETCH_FAILED: row(FAILURE),
  CLOSING: row(FAILURE, 'UNAVAILABLE'),
  /** A commit asked for while its repository's first index runs (or before it starts): not indexed yet. */
  FIRST_INDEX_RUNNING: row(FAILURE, 'UNAVAILABLE'),
  BODY_TOO_LARGE: row(USAGE, 'BAD_USER_INPUT'),
  // daemon/server/deadline.ts (RequestAbortedError): the operation's deadline passed, or its client left.
  DEADLINE_EXCEEDED: row(FAILURE, 'DEADLINE_EXCEEDED'),
  CANCELLED: row(FAILURE, 'DEADLINE_EXCEEDED'),
  // Errors thrown by Node itself (node:util parseArgs) that mean a usage error.
  ERR_PARSE_ARGS_UNKNOWN_OPTION: row(USAGE),
  ERR_PARSE_ARGS_INVALID_OPTION_VALUE: row(USAGE),
  ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL: row(USAGE),
} as const satisfies Record<string, Row>;

export type ErrorCode = keyof typeof CODES;

function rowOf(err: unknown): Row | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && Object.hasOwn(CODES, code) ? CODES[code as ErrorCode] : undefined;
}

/** The exit code for an error thrown by a command: its code's row, else FAILURE. */
export function exitCodeOf(err: unknown): ExitCodeValue {
  return rowOf(err)?.exit ?? ExitCode.FAILURE;
}

/** The GraphQL `extensions.code` of an error, or null when it is internal (to be masked). */
export function graphqlCodeOf(err: unknown): GraphQLCode | null {
  return rowOf(err)?.graphql ?? null;
}

/** Is this error expected (its code is in the table), so that a one-line message is enough? */
export function isKnownCode(err: unknown): boolean {
  return rowOf(err) !== undefined;
}
