// A pure, incremental parser for the output of `git cat-file --batch` and `--batch-check`, which is
// also what `--batch-command`'s `contents` and `info` print
// (https://git-scm.com/docs/git-cat-file#_batch_output). It owns no process and no I/O: feed it
// chunks as they arrive and it returns the records completed so far. Chunks may be split anywhere:
// inside a header, inside the content, or between the content and its trailing LF.
//
// Record forms:
//   <oid> SP <type> SP <size> LF <contents> LF    (--batch; --batch-check has no contents part)
//   <name> SP missing LF
//   <name> SP ambiguous LF

import { Buffer } from 'node:buffer';
import { CodedError } from '../../errors/index.ts';

export type BatchRecord =
  | { kind: 'object'; sha: string; type: string; size: number; data: Buffer | null }
  | { kind: 'missing'; name: string }
  | { kind: 'ambiguous'; name: string };

/** `git cat-file --batch` said something we cannot parse: we are out of sync with git. */
export class BatchProtocolError extends CodedError<'BATCH_PROTOCOL'> {
  override readonly name = 'BatchProtocolError';
  constructor(message: string) {
    super('BATCH_PROTOCOL', message);
  }
}

const LF = 0x0a;
/** A header is `<oid> <type> <size>`; anything longer means we are out of sync with git. */
const MAX_HEADER = 4096;

export class BatchParser {
  readonly withContents: boolean;
  private state: 'header' | 'content' | 'trailer' = 'header';
  private headerParts: Buffer[] = [];
  private headerLen = 0;
  private pending: { sha: string; type: string; size: number } | null = null;
  private content: Buffer | null = null;
  private contentFilled = 0;

  /** @param withContents true for `--batch`, false for `--batch-check`. */
  constructor(options: { withContents: boolean }) {
    this.withContents = options.withContents;
  }

  /** True when no record is partially parsed (the stream may end here). */
  get idle(): boolean {
    return this.state === 'header' && this.headerLen === 0;
  }

  /** Feeds one chunk; returns the records it completed, in stream order. Throws BatchProtocolError
   * on malformed input; the parser is then unusable. */
  push(chunk: Buffer): BatchRecord[] {
    const out: BatchRecord[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      if (this.state === 'header') {
        const nl = chunk.indexOf(LF, pos);
        const end = nl === -1 ? chunk.length : nl;
        if (end > pos) {
          this.headerParts.push(chunk.subarray(pos, end));
          this.headerLen += end - pos;
          if (this.headerLen > MAX_HEADER) throw new BatchProtocolError('cat-file header longer than 4096 bytes');
        }
        if (nl === -1) return out;
        pos = nl + 1;
        const header = (this.headerParts.length === 1 ? this.headerParts[0]! : Buffer.concat(this.headerParts)).toString('utf8');
        this.headerParts = [];
        this.headerLen = 0;
        const rec = this.header(header);
        if (rec !== null) out.push(rec);
      } else if (this.state === 'content') {
        const content = this.content!;
        const n = Math.min(content.length - this.contentFilled, chunk.length - pos);
        chunk.copy(content, this.contentFilled, pos, pos + n);
        this.contentFilled += n;
        pos += n;
        if (this.contentFilled === content.length) this.state = 'trailer';
      } else {
        if (chunk[pos] !== LF) throw new BatchProtocolError(`expected LF after object contents, got byte ${chunk[pos]}`);
        pos++;
        const p = this.pending!;
        out.push({ kind: 'object', sha: p.sha, type: p.type, size: p.size, data: this.content });
        this.pending = null;
        this.content = null;
        this.state = 'header';
      }
    }
    return out;
  }

  private header(line: string): BatchRecord | null {
    const sp = line.lastIndexOf(' ');
    if (sp > 0) {
      const tail = line.slice(sp + 1);
      if (tail === 'missing') return { kind: 'missing', name: line.slice(0, sp) };
      if (tail === 'ambiguous') return { kind: 'ambiguous', name: line.slice(0, sp) };
    }
    const m = /^([0-9a-f]{40}|[0-9a-f]{64}) ([a-z]+) (\d+)$/.exec(line);
    if (m === null) throw new BatchProtocolError(`unexpected cat-file header ${JSON.stringify(line.slice(0, 200))}`);
    const sha = m[1]!;
    const type = m[2]!;
    const size = Number(m[3]);
    if (!this.withContents) return { kind: 'object', sha, type, size, data: null };
    this.pending = { sha, type, size };
    this.content = Buffer.allocUnsafe(size);
    this.contentFilled = 0;
    this.state = size === 0 ? 'trailer' : 'content';
    return null;
  }
}
