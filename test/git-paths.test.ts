import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeGitPath, gitPathBytes, isUnsafePath } from '../indexer/git/index.ts';
import { pathSkip } from '../indexer/git/paths.ts';

test('paths: valid UTF-8 without backslash is plain', () => {
  for (const s of ['a.ts', 'dir/sp ace.ts', 'tab\there', 'nl\nx', 'q"\'', 'ünï/cödé/日本.ts', '-leading', '😀.md']) {
    const d = decodeGitPath(Buffer.from(s));
    assert.deepEqual(d, { path: s });
    assert.deepEqual(gitPathBytes(d.path), Buffer.from(s));
  }
});

test('paths: invalid bytes and backslashes are escaped as \\xNN and kept raw', () => {
  const raw = Buffer.concat([Buffer.from('bad'), Buffer.from([0xff]), Buffer.from('é\\x41'), Buffer.from([0xc3])]);
  const d = decodeGitPath(raw);
  assert.equal(d.path, 'bad\\xffé\\x5cx41\\xc3');
  assert.deepEqual(d.rawPath, raw);
  assert.deepEqual(gitPathBytes(d.path), raw);
});

test('paths: a valid path with a backslash is escaped too, so it cannot collide with an invalid one', () => {
  const literal = decodeGitPath(Buffer.from('bad\\xff'));
  const invalid = decodeGitPath(Buffer.concat([Buffer.from('bad'), Buffer.from([0xff])]));
  assert.notEqual(literal.path, invalid.path);
  assert.equal(literal.path, 'bad\\x5cxff');
  assert.deepEqual(gitPathBytes(literal.path), Buffer.from('bad\\xff'));
});

test('paths: overlong, surrogate and out-of-range UTF-8 are invalid', () => {
  const cases: Array<[number[], string]> = [
    [[0xc0, 0xaf], '\\xc0\\xaf'],
    [[0xed, 0xa0, 0x80], '\\xed\\xa0\\x80'],
    [[0xf4, 0x90, 0x80, 0x80], '\\xf4\\x90\\x80\\x80'],
    [[0xe2, 0x82], '\\xe2\\x82'],
  ];
  for (const [bytes, want] of cases) {
    const d = decodeGitPath(Buffer.from(bytes));
    assert.equal(d.path, want);
    assert.deepEqual(gitPathBytes(d.path), Buffer.from(bytes));
  }
});

test('paths: decoding is reversible for random byte strings', () => {
  let seed = 7;
  const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
  for (let i = 0; i < 2000; i++) {
    const raw = Buffer.from(Array.from({ length: rand(12) }, () => [0x5c, 0x41, 0xc3, 0xa9, 0xff, 0xe6, rand(256)][rand(7)]!));
    const d = decodeGitPath(raw);
    assert.deepEqual(gitPathBytes(d.path), raw, raw.toString('hex'));
    let valid = true;
    try { new TextDecoder('utf-8', { fatal: true }).decode(raw); } catch { valid = false; }
    assert.equal(d.rawPath !== undefined, !valid || raw.includes(0x5c), raw.toString('hex'));
    if (d.rawPath === undefined) assert.equal(d.path, raw.toString('utf8'));
  }
});

test('paths: unsafe components', () => {
  for (const p of ['..', '../x', 'a/../b', '.', 'a/./b', '.git', '.GIT/config', 'a/.Git/hooks/x', '.git. ', 'a//b', '/abs']) {
    assert.equal(isUnsafePath(p), true, p);
  }
  for (const p of ['a', '..a', 'a..', '.gitignore', '.github/x.yml', 'git', 'a/.gitmodules', '...']) {
    assert.equal(isUnsafePath(p), false, p);
  }
});

test('paths: skip rules, unsafe path first', () => {
  assert.equal(pathSkip('120000', 'link'), 'symlink');
  assert.equal(pathSkip('160000', 'sub'), 'submodule');
  assert.equal(pathSkip('120000', '.git/x'), 'unsafe_path');
  assert.equal(pathSkip('100644', 'a.ts'), undefined);
});
