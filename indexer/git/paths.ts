// Git paths are bytes. CodeGraph stores and shows them as strings, so this file fixes the one rule
// that turns path bytes into a string and back, and the rule for paths we must never touch.
//
// Decoding rule (`decodeGitPath`):
// - A path is *plain* when its bytes are valid UTF-8 and contain no `\` byte. Its string is the UTF-8
//   decoding and no raw bytes are kept.
// - Otherwise the path is *escaped*: valid UTF-8 sequences are decoded as usual, and every byte that is
//   not part of a valid sequence, and every `\` byte, is written as `\xNN` (two lowercase hex digits).
//   The original bytes are kept as `rawPath`.
// Escaping `\` too makes the mapping injective: a plain string never contains `\`, and in an escaped
// string every `\` starts an `\xNN`, so `gitPathBytes(decodeGitPath(b).path)` equals `b` and two
// different byte paths never get the same string. The price is that the (rare, Windows-hostile)
// filenames with a backslash are shown as `\x5c`.

import { Buffer } from 'node:buffer';

export interface DecodedPath {
  path: string;
  /** The original bytes; present exactly when `path` is in escaped form. */
  rawPath?: Buffer;
}

const BACKSLASH = 0x5c;

function hex2(b: number): string {
  return '\\x' + (b < 16 ? '0' : '') + b.toString(16);
}

/** Length of the valid UTF-8 sequence starting at `i`, or 0 when the byte there does not start one
 * (overlong forms, surrogates and code points above U+10FFFF are invalid, as in the WHATWG decoder). */
function utf8SeqLen(buf: Uint8Array, i: number): number {
  const b0 = buf[i]!;
  if (b0 < 0x80) return 1;
  const cont = (j: number, lo = 0x80, hi = 0xbf): boolean => {
    const b = buf[i + j];
    return b !== undefined && b >= lo && b <= hi;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((b0 >= 0xe1 && b0 <= 0xec) || b0 === 0xee || b0 === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (b0 === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (b0 === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (b0 >= 0xf1 && b0 <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (b0 === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/** Decodes path bytes by the rule above. `buf` is copied when kept as `rawPath`. */
export function decodeGitPath(buf: Buffer): DecodedPath {
  let plain = true;
  for (let i = 0; i < buf.length; ) {
    const b = buf[i]!;
    if (b === BACKSLASH) { plain = false; break; }
    if (b < 0x80) { i++; continue; }
    const n = utf8SeqLen(buf, i);
    if (n === 0) { plain = false; break; }
    i += n;
  }
  if (plain) return { path: buf.toString('utf8') };
  let out = '';
  for (let i = 0; i < buf.length; ) {
    const b = buf[i]!;
    if (b === BACKSLASH) { out += hex2(b); i++; continue; }
    const n = utf8SeqLen(buf, i);
    if (n === 0) { out += hex2(b); i++; continue; }
    out += buf.toString('utf8', i, i + n);
    i += n;
  }
  return { path: out, rawPath: Buffer.from(buf) };
}

/** The inverse of `decodeGitPath`: the bytes git knows the path by. */
export function gitPathBytes(path: string): Buffer {
  if (!path.includes('\\')) return Buffer.from(path, 'utf8');
  const parts: Buffer[] = [];
  let last = 0;
  const re = /\\x([0-9a-f]{2})/g;
  for (let m = re.exec(path); m !== null; m = re.exec(path)) {
    parts.push(Buffer.from(path.slice(last, m.index), 'utf8'), Buffer.from([parseInt(m[1]!, 16)]));
    last = m.index + m[0].length;
  }
  parts.push(Buffer.from(path.slice(last), 'utf8'));
  return Buffer.concat(parts);
}

/**
 * True when a path must never be read or written outside git: a component that is empty, `.`, `..`,
 * or `.git` in any letter case. `.git` followed by dots or spaces counts too, since NTFS drops them
 * (the same variants git's own `verify_path` rejects, CVE-2014-9390 / CVE-2019-1352).
 */
export function isUnsafePath(path: string): boolean {
  for (const comp of path.split('/')) {
    if (comp === '' || comp === '.' || comp === '..') return true;
    if (comp.length >= 4 && comp.replace(/[. ]+$/, '').toLowerCase() === '.git') return true;
  }
  return false;
}

export type PathSkip = 'symlink' | 'submodule' | 'unsafe_path';

/** Why an entry with this mode and path must not be read as a file, or undefined when it may be.
 * An unsafe path wins over the mode: it is the reason that matters for safety. */
export function pathSkip(mode: string, path: string): PathSkip | undefined {
  if (isUnsafePath(path)) return 'unsafe_path';
  if (mode === '160000') return 'submodule';
  if (mode === '120000') return 'symlink';
  return undefined;
}
