// Split-buffer tests for the `cat-file --batch` stream parser, after pg-protocol's: the same byte
// stream cut at every offset, and at many random offsets, must give the same records.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchParser, BatchProtocolError, type BatchRecord } from '../indexer/git/batch-parser.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(64);
const D = 'd'.repeat(40);

function obj(sha: string, type: string, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${sha} ${type} ${data.length}\n`), data, Buffer.from('\n')]);
}

// Contents chosen to trip a naive parser: LF inside, content that looks like a header, empty
// content, a trailing LF that is part of the content, binary bytes, and missing/ambiguous answers.
const objects: Array<[string, string, Buffer]> = [
  [A, 'blob', Buffer.from('line1\nline2\n')],
  [B, 'blob', Buffer.from('')],
  [C, 'tree', Buffer.from(`${A} blob 3\nxyz\n`)],
  [D, 'blob', Buffer.from([0, 10, 255, 10, 10, 0x20, 10])],
  [A, 'commit', Buffer.from('tree x\n\nmsg\n')],
];
const stream = Buffer.concat([
  obj(...objects[0]!),
  Buffer.from(`${'e'.repeat(40)} missing\n`),
  obj(...objects[1]!),
  obj(...objects[2]!),
  Buffer.from('HEAD~9 ambiguous\n'),
  obj(...objects[3]!),
  obj(...objects[4]!),
]);
const expected: BatchRecord[] = [
  { kind: 'object', sha: A, type: 'blob', size: 12, data: objects[0]![2] },
  { kind: 'missing', name: 'e'.repeat(40) },
  { kind: 'object', sha: B, type: 'blob', size: 0, data: Buffer.alloc(0) },
  { kind: 'object', sha: C, type: 'tree', size: objects[2]![2].length, data: objects[2]![2] },
  { kind: 'ambiguous', name: 'HEAD~9' },
  { kind: 'object', sha: D, type: 'blob', size: 7, data: objects[3]![2] },
  { kind: 'object', sha: A, type: 'commit', size: objects[4]![2].length, data: objects[4]![2] },
];

function parseChunks(chunks: Buffer[], withContents = true): BatchRecord[] {
  const p = new BatchParser({ withContents });
  const out = chunks.flatMap((c) => p.push(c));
  assert.ok(p.idle, 'parser is idle at the end of the stream');
  return out;
}

test('batch parser: whole stream in one chunk', () => {
  assert.deepEqual(parseChunks([stream]), expected);
});

test('batch parser: split into two at every offset', () => {
  for (let i = 0; i <= stream.length; i++) {
    assert.deepEqual(parseChunks([stream.subarray(0, i), stream.subarray(i)]), expected, `split at ${i}`);
  }
});

test('batch parser: one byte per chunk', () => {
  const chunks = [...stream].map((b) => Buffer.from([b]));
  assert.deepEqual(parseChunks(chunks), expected);
});

test('batch parser: random multi-splits', () => {
  let seed = 12345;
  const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
  for (let round = 0; round < 500; round++) {
    const cuts = Array.from({ length: 1 + rand(8) }, () => rand(stream.length + 1)).sort((a, b) => a - b);
    const chunks: Buffer[] = [];
    let last = 0;
    for (const c of cuts) { chunks.push(stream.subarray(last, c)); last = c; }
    chunks.push(stream.subarray(last));
    assert.deepEqual(parseChunks(chunks), expected, `cuts ${cuts.join(',')}`);
  }
});

test('batch parser: not idle in the middle of a record', () => {
  const p = new BatchParser({ withContents: true });
  p.push(stream.subarray(0, 50));
  assert.equal(p.idle, false);
});

test('batch parser: returned data is not aliased to the input chunks', () => {
  const copy = Buffer.from(stream);
  const recs = parseChunks([copy.subarray(0, 45), copy.subarray(45)]);
  copy.fill(0);
  assert.deepEqual(recs, expected);
});

test('batch-check parser: headers only, split at every offset', () => {
  const check = Buffer.from(`${A} blob 12\n${'e'.repeat(40)} missing\n${C} tree 1000000\n`);
  const want: BatchRecord[] = [
    { kind: 'object', sha: A, type: 'blob', size: 12, data: null },
    { kind: 'missing', name: 'e'.repeat(40) },
    { kind: 'object', sha: C, type: 'tree', size: 1_000_000, data: null },
  ];
  for (let i = 0; i <= check.length; i++) {
    assert.deepEqual(parseChunks([check.subarray(0, i), check.subarray(i)], false), want, `split at ${i}`);
  }
});

test('batch parser: a missing trailing LF is a protocol error', () => {
  const p = new BatchParser({ withContents: true });
  assert.throws(() => p.push(Buffer.from(`${A} blob 3\nabcX`)), BatchProtocolError);
});

test('batch parser: a malformed header is a protocol error', () => {
  const p = new BatchParser({ withContents: true });
  assert.throws(() => p.push(Buffer.from('fatal: something broke\n')), /unexpected cat-file header/);
});

test('batch parser: an endless header is a protocol error', () => {
  const p = new BatchParser({ withContents: true });
  assert.throws(() => p.push(Buffer.alloc(5000, 0x61)), /longer than 4096/);
});
