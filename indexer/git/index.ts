// Public surface of the git access layer. Everything else in this folder is internal.
export { GitError, type GitErrorCode, type GitErrorData, type GitErrorJSON } from './errors.ts';
export {
  GitRepo,
  type BlobResult,
  type GitRepoStats,
  type HeadInfo,
  type ObjectHeader,
  type RefInfo,
  type RevListOptions,
} from './repo.ts';
export type { TreeEntry, FileChange, ChangeStatus } from './tree.ts';
export type { CommitInfo, Signature } from './commit.ts';
export { decodeGitPath, gitPathBytes, isUnsafePath, type PathSkip } from './paths.ts';
