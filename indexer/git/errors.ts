// The one error class of the git layer: a CodedError (errors/) whose code says what went wrong;
// `GitError.fromJSON` rebuilds it after a worker boundary (structured clone drops the prototype).
import { CodedError, type CodedErrorJSON } from '../../errors/index.ts';

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

export type GitErrorData = Record<string, string | number | boolean | null | readonly string[]>;

export interface GitErrorJSON extends CodedErrorJSON<GitErrorCode, GitErrorData> {
  name: 'GitError';
}

export class GitError extends CodedError<GitErrorCode, GitErrorData> {
  override readonly name = 'GitError';

  override toJSON(): GitErrorJSON {
    return { ...super.toJSON(), name: 'GitError' };
  }

  /** Rebuilds a GitError (not just a CodedError) sent across a worker boundary. */
  static override fromJSON(json: GitErrorJSON): GitError {
    return new GitError(json.code, json.message, json.data);
  }
}
