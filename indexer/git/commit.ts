// Parses raw commit objects (as `cat-file --batch` returns them). Format, per git's commit.c:
//   tree <oid>\nparent <oid>\n...author <ident>\ncommitter <ident>\n[other headers]\n\n<message>
// A header value may continue on following lines that start with one space (gpgsig, mergetag).

import type { Buffer } from 'node:buffer';
import { CodedError } from '../../errors/index.ts';

export interface Signature {
  name: string;
  email: string;
  /** ISO 8601 with the signer's own UTC offset, e.g. `2020-01-01T13:00:00+01:00`. */
  date: string;
  /** Seconds since the epoch. */
  timestamp: number;
}

export interface CommitInfo {
  sha: string;
  parents: string[];
  tree: string;
  author: Signature;
  committer: Signature;
  /** The message decoded as UTF-8 (invalid bytes become U+FFFD; a non-UTF-8 `encoding` header is not
   * transcoded, as Node has no iconv), with git's trailing newline kept. */
  message: string;
  /** The `encoding` header when present, e.g. `ISO-8859-1`. */
  encoding?: string;
}

export class CommitParseError extends CodedError<'COMMIT_PARSE'> {
  override readonly name = 'CommitParseError';
  constructor(message: string) {
    super('COMMIT_PARSE', message);
  }
}

const EMPTY_SIG: Signature = { name: '', email: '', date: new Date(0).toISOString().replace('.000Z', '+00:00'), timestamp: 0 };

/** `Name <email> 1577880000 +0100` -> Signature. Lenient like git: malformed parts become empty. */
function parseIdent(value: string): Signature {
  const lt = value.indexOf('<');
  const gt = value.lastIndexOf('>');
  if (lt === -1 || gt < lt) return { ...EMPTY_SIG, name: value.trim() };
  const name = value.slice(0, lt).trim();
  const email = value.slice(lt + 1, gt);
  const m = /^\s*(\d+)\s+([+-])(\d\d)(\d\d)\s*$/.exec(value.slice(gt + 1));
  if (m === null) return { ...EMPTY_SIG, name, email };
  const timestamp = Number(m[1]);
  const sign = m[2] === '-' ? -1 : 1;
  const offsetMin = sign * (Number(m[3]) * 60 + Number(m[4]));
  return { name, email, timestamp, date: isoWithOffset(timestamp, offsetMin) };
}

function isoWithOffset(timestamp: number, offsetMin: number): string {
  const local = new Date((timestamp + offsetMin * 60) * 1000);
  if (Number.isNaN(local.getTime())) return EMPTY_SIG.date;
  const abs = Math.abs(offsetMin);
  const tz = `${offsetMin < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return local.toISOString().replace(/\.\d{3}Z$/, tz);
}

export function parseCommit(sha: string, raw: Buffer): CommitInfo {
  const sep = raw.indexOf('\n\n');
  const headerEnd = sep === -1 ? raw.length : sep;
  const headerText = raw.toString('utf8', 0, headerEnd);
  const message = sep === -1 ? '' : raw.toString('utf8', sep + 2);
  let tree: string | null = null;
  const parents: string[] = [];
  let author: Signature | null = null;
  let committer: Signature | null = null;
  let encoding: string | undefined;
  for (const line of headerText.split('\n')) {
    if (line.startsWith(' ')) continue; // continuation of gpgsig / mergetag / other multi-line header
    const sp = line.indexOf(' ');
    const key = sp === -1 ? line : line.slice(0, sp);
    const value = sp === -1 ? '' : line.slice(sp + 1);
    switch (key) {
      case 'tree': tree ??= value; break;
      case 'parent': parents.push(value); break;
      case 'author': author ??= parseIdent(value); break;
      case 'committer': committer ??= parseIdent(value); break;
      case 'encoding': encoding = value; break;
      default: break;
    }
  }
  if (tree === null) throw new CommitParseError(`commit ${sha} has no tree header`);
  const info: CommitInfo = { sha, parents, tree, author: author ?? EMPTY_SIG, committer: committer ?? EMPTY_SIG, message };
  if (encoding !== undefined) info.encoding = encoding;
  return info;
}
