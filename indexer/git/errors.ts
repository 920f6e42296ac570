// The one error class of the git layer. Like isomorphic-git's errors it carries a stable `code`, a
// plain `data` object and `toJSON()`, so it survives a worker boundary (structured clone drops the
// prototype; `GitError.fromJSON` rebuilds it).

export type GitErrorCode =
  /** The path does not exist, is not a git repository, or git refuses it (dubious ownership). */
  | 'NOT_A_REPOSITORY'
  /** A revision / ref / object name did not resolve (or did not resolve to the wanted type). */
  | 'UNKNOWN_REVISION'
  /** git exited non-zero for another reason, could not be started, or spoke an unexpected protocol. */
  | 'GIT_FAILED'
  /** `cat-file` answered `missing` (or `ambiguous`) for an object id. */
  | 'OBJECT_MISSING'
  /** The object exists but has another type than asked for (e.g. `readBlob` on a tree). */
  | 'WRONG_OBJECT_TYPE'
  /** The `GitRepo` was closed. */
  | 'CLOSED';

export const GIT_ERROR_CODES: readonly GitErrorCode[] = [
  'NOT_A_REPOSITORY', 'UNKNOWN_REVISION', 'GIT_FAILED', 'OBJECT_MISSING', 'WRONG_OBJECT_TYPE', 'CLOSED',
];

export type GitErrorData = Record<string, string | number | boolean | null | readonly string[]>;

export interface GitErrorJSON {
  name: 'GitError';
  code: GitErrorCode;
  message: string;
  data: GitErrorData;
}

export class GitError extends Error {
  override readonly name = 'GitError';
  readonly code: GitErrorCode;
  readonly data: GitErrorData;

  constructor(code: GitErrorCode, message: string, data: GitErrorData = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.data = data;
  }

  toJSON(): GitErrorJSON {
    return { name: 'GitError', code: this.code, message: this.message, data: this.data };
  }

  static fromJSON(json: GitErrorJSON): GitError {
    return new GitError(json.code, json.message, json.data);
  }

  static is(err: unknown, code?: GitErrorCode): err is GitError {
    return err instanceof GitError && (code === undefined || err.code === code);
  }
}
