// Parsers for `git ls-tree -r -z -l` and `git diff-tree -r -z` raw output. Both work on bytes: paths
// may contain any byte but NUL, so they are cut at NUL before being decoded (see paths.ts).

import type { Buffer } from 'node:buffer';
import { CodedError } from '../../errors/index.ts';
import { decodeGitPath, pathSkip, type PathSkip } from './paths.ts';

export interface TreeEntry {
  /** See paths.ts for the decoding rule; escaped exactly when `rawPath` is present. */
  path: string;
  rawPath?: Buffer;
  /** Octal mode as git prints it: 100644, 100755, 120000 (symlink), 160000 (gitlink). */
  mode: string;
  type: 'blob' | 'commit';
  sha: string;
  /** Blob size in bytes from `ls-tree -l`; null for gitlinks and for blobs missing from the repository. */
  size: number | null;
  /** Set when the entry must not be read as a file. Never follow such entries. */
  skip?: PathSkip;
}

export type ChangeStatus = 'A' | 'D' | 'M' | 'R' | 'T' | 'C';

export interface FileChange {
  status: ChangeStatus;
  /** null for 'A'. */
  oldPath: string | null;
  rawOldPath?: Buffer;
  /** null for 'D'. */
  newPath: string | null;
  rawNewPath?: Buffer;
  /** null on the absent side ('A': old, 'D': new). */
  oldSha: string | null;
  newSha: string | null;
  oldMode: string | null;
  newMode: string | null;
  /** Rename/copy score 0-100 for 'R' and 'C'; null otherwise. */
  similarity: number | null;
  /** The skip rule of TreeEntry applied to the new side, or to the old side for 'D'. */
  skip?: PathSkip;
}

export class TreeParseError extends CodedError<'TREE_PARSE'> {
  override readonly name = 'TreeParseError';
  constructor(message: string) {
    super('TREE_PARSE', message);
  }
}

const TAB = 0x09;
const NUL = 0x00;

/** Parses `ls-tree -r -z -l`: `<mode> SP <type> SP <oid> SP+ <size|-|BAD> TAB <path> NUL`. git prints
 * `BAD` for a blob it does not have (a partial clone, a damaged or shallow-fetched repository): its
 * size is unknown (null), and reading it later fails as that file's `read_error`, not the run's. */
export function parseLsTree(out: Buffer): TreeEntry[] {
  const entries: TreeEntry[] = [];
  let pos = 0;
  while (pos < out.length) {
    const tab = out.indexOf(TAB, pos);
    const nul = tab === -1 ? -1 : out.indexOf(NUL, tab + 1);
    if (tab === -1 || nul === -1) throw new TreeParseError(`truncated ls-tree record at byte ${pos}`);
    const header = out.toString('latin1', pos, tab);
    const m = /^(\d{6}) (blob|commit|tree) ([0-9a-f]{40}|[0-9a-f]{64}) +(\d+|-|BAD)$/.exec(header);
    if (m === null) throw new TreeParseError(`unexpected ls-tree header ${JSON.stringify(header)}`);
    pos = nul + 1;
    const type = m[2]!;
    if (type === 'tree') continue; // not printed with -r (no -t); ignore defensively
    const mode = m[1]!;
    const decoded = decodeGitPath(out.subarray(tab + 1, nul));
    const entry: TreeEntry = {
      path: decoded.path,
      mode,
      type: type as 'blob' | 'commit',
      sha: m[3]!,
      size: m[4] === '-' || m[4] === 'BAD' ? null : Number(m[4]),
    };
    if (decoded.rawPath) entry.rawPath = decoded.rawPath;
    const skip = pathSkip(mode, decoded.path);
    if (skip !== undefined) entry.skip = skip;
    entries.push(entry);
  }
  return entries;
}

const ZERO_OID = /^0+$/;

/** Parses `diff-tree -r -z` raw output (with `--no-commit-id`):
 * `:<old mode> SP <new mode> SP <old oid> SP <new oid> SP <status>[score] NUL <path> NUL [<path2> NUL]`. */
export function parseDiffTree(out: Buffer): FileChange[] {
  const changes: FileChange[] = [];
  let pos = 0;
  const field = (): Buffer => {
    const nul = out.indexOf(NUL, pos);
    if (nul === -1) throw new TreeParseError(`truncated diff-tree record at byte ${pos}`);
    const b = out.subarray(pos, nul);
    pos = nul + 1;
    return b;
  };
  while (pos < out.length) {
    const header = field().toString('latin1');
    const m = /^:(\d{6}) (\d{6}) ([0-9a-f]{40}|[0-9a-f]{64}) ([0-9a-f]{40}|[0-9a-f]{64}) ([A-Z])(\d*)$/.exec(header);
    if (m === null) throw new TreeParseError(`unexpected diff-tree header ${JSON.stringify(header)}`);
    const letter = m[5]!;
    if (!'ADMRTC'.includes(letter)) throw new TreeParseError(`unexpected diff-tree status ${letter} (unmerged or unknown change)`);
    const status = letter as ChangeStatus;
    const first = decodeGitPath(field());
    const second = status === 'R' || status === 'C' ? decodeGitPath(field()) : null;
    const oldAbsent = status === 'A';
    const newAbsent = status === 'D';
    const oldP = oldAbsent ? null : first;
    const newP = newAbsent ? null : (second ?? first);
    const change: FileChange = {
      status,
      oldPath: oldP?.path ?? null,
      newPath: newP?.path ?? null,
      oldSha: oldAbsent || ZERO_OID.test(m[3]!) ? null : m[3]!,
      newSha: newAbsent || ZERO_OID.test(m[4]!) ? null : m[4]!,
      oldMode: oldAbsent ? null : m[1]!,
      newMode: newAbsent ? null : m[2]!,
      similarity: m[6] !== '' && (status === 'R' || status === 'C') ? Number(m[6]) : null,
    };
    if (oldP?.rawPath) change.rawOldPath = oldP.rawPath;
    if (newP?.rawPath) change.rawNewPath = newP.rawPath;
    const skip = newP !== null ? pathSkip(m[2]!, newP.path) : pathSkip(m[1]!, oldP!.path);
    if (skip !== undefined) change.skip = skip;
    changes.push(change);
  }
  return changes;
}
