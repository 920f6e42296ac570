// Recall of Universal Ctags' definitions by our extractor on real third-party code that CI has
// without extra downloads (bench/recall-lib.ts has the method and the kind table; bench/recall.ts
// runs the same measurement on larger samples). Sources:
//   typescript, javascript  node_modules (npm ci)
//   cpp                     node_modules/@nxtedition/rocksdb/deps (RocksDB's C++ sources, npm ci)
//                           and the libstdc++ headers (/usr/include/c++/<n>) when installed
//   python                  the standard library (/usr/lib/python3.<n>) when installed
//   rust, go                crates and modules of Debian's librust-*-dev / golang-*-dev packages
//                           (.ci/run installs librust-regex-syntax-dev and golang-github-pkg-errors-dev)
// A language whose sources are absent is skipped with the package to install; CI installs them all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  isCountedTag, matches, measureRecall, normalizeName, patternLine, sampleFiles,
} from '../bench/recall-lib.ts';
import type { CtagsTag, RecallLanguage } from '../bench/recall-lib.ts';
import type { Entity } from '../indexer/types.ts';

const REPO = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const NODE_MODULES = path.join(REPO, 'node_modules');
const MIN_RECALL = 0.95;
/** Small samples: the whole file runs in a few seconds. */
const SAMPLE = { maxFiles: 80, maxLines: 30_000 };

/** The newest `<prefix><n>` folder in `dir` (`python3.11`, `c++/12`), or null. */
function newest(dir: string, pattern: RegExp): string | null {
  if (!fs.existsSync(dir)) return null;
  const found = fs.readdirSync(dir).filter((d) => pattern.test(d))
    .sort((a, b) => Number(/(\d+)$/.exec(a)?.[1] ?? 0) - Number(/(\d+)$/.exec(b)?.[1] ?? 0));
  const last = found[found.length - 1];
  return last === undefined ? null : path.join(dir, last);
}

const python = newest('/usr/lib', /^python3\.\d+$/);
const libstdcxx = newest('/usr/include/c++', /^\d+$/);

interface Case {
  title: string;
  language: RecallLanguage;
  roots: string[];
  install: string;
  /** A known gap: assert this lower figure, and MIN_RECALL as a todo. */
  floor?: number;
}

const CASES: Case[] = [
  { title: 'typescript (node_modules)', language: 'typescript', roots: [NODE_MODULES], install: 'npm ci' },
  { title: 'javascript (node_modules)', language: 'javascript', roots: [NODE_MODULES], install: 'npm ci' },
  { title: 'cpp (RocksDB sources in node_modules)', language: 'cpp', roots: [path.join(NODE_MODULES, '@nxtedition/rocksdb/deps')], install: 'npm ci' },
  { title: 'cpp (libstdc++ headers)', language: 'cpp', roots: libstdcxx ? [libstdcxx] : [], install: 'apt-get install libstdc++-12-dev' },
  { title: 'python (standard library)', language: 'python', roots: python ? [python] : [], install: 'apt-get install libpython3.11-stdlib' },
  { title: 'rust (Debian crates)', language: 'rust', roots: ['/usr/share/cargo/registry'], install: 'apt-get install librust-regex-syntax-dev' },
  { title: 'go (Debian Go modules)', language: 'go', roots: ['/usr/share/gocode/src'], install: 'apt-get install golang-github-pkg-errors-dev' },
];

for (const c of CASES) {
  const available = sampleFiles(c.language, { roots: c.roots, maxFiles: 1 }).length > 0;
  const floor = c.floor ?? MIN_RECALL;
  if (c.floor !== undefined) {
    // Known gap: reported by the TAP output (todo) without failing the run; the floor below guards
    // against regressions meanwhile. Remove `floor` once the figure reaches MIN_RECALL.
    test(`recall >= ${MIN_RECALL}: ${c.title}`, { skip: available ? false : `no sources; ${c.install}`, todo: `known gap, floor ${c.floor}` }, async () => {
      const r = await measureRecall({ language: c.language, roots: c.roots, ...SAMPLE, misses: 20 });
      assert.ok(r.recall >= MIN_RECALL, `recall ${r.recall} (${r.found}/${r.ctagsDefs}); by kind ${JSON.stringify(r.byKind)}; misses:\n  ${r.topMisses.join('\n  ')}`);
    });
  }
  test(`recall >= ${floor}: ${c.title}`, { skip: available ? false : `no sources; ${c.install}` }, async () => {
    const r = await measureRecall({ language: c.language, roots: c.roots, ...SAMPLE, misses: 20 });
    // A sample without definitions would make the ratio meaningless.
    assert.ok(r.ctagsDefs >= 50, `only ${r.ctagsDefs} ctags definitions in ${r.files} files of ${c.roots.join(', ')}`);
    assert.equal(r.extractErrors, 0, `extract() failed on ${r.extractErrors} files`);
    assert.ok(r.recall >= floor, `recall ${r.recall} (${r.found}/${r.ctagsDefs}) < ${floor}; by kind ${JSON.stringify(r.byKind)}; misses:\n  ${r.topMisses.join('\n  ')}`);
  });
}

// The oracle's own rules: a broken oracle would report any figure.

const entity = (name: string, startLine: number, endLine: number, kind: Entity['kind'] = 'function'): Entity => ({
  kind, name, qualifiedName: name, parent: 0, startLine, endLine, startByte: 0, endByte: 0,
  signature: null, doc: null, exported: true, bodyHash: '',
});
const tag = (name: string, line: number, kind = 'function', extra: Partial<CtagsTag> = {}): CtagsTag => ({ name, path: 'f', line, kind, ...extra });

test('matches: same name, ctags line within [startLine - 3, endLine]', () => {
  const es = [entity('f', 10, 20)];
  assert.equal(matches(tag('f', 7), es), true);
  assert.equal(matches(tag('f', 20), es), true);
  assert.equal(matches(tag('f', 6), es), false);
  assert.equal(matches(tag('f', 21), es), false);
  assert.equal(matches(tag('g', 12), es), false);
  // The module entity and imports never count as definitions.
  assert.equal(matches(tag('m', 1), [entity('m', 1, 100, 'module'), entity('m', 1, 1, 'import')]), false);
});

test('matches: a constructor is not found by its class, which spans it under the same name', () => {
  const cls = entity('Foo', 10, 200, 'class');
  assert.equal(matches(tag('Foo', 50, 'method'), [cls], 'java'), false);
  assert.equal(matches(tag('Foo', 50, 'method'), [cls, entity('Foo', 50, 60, 'constructor')], 'java'), true);
  assert.equal(matches(tag('Foo', 10, 'class'), [cls], 'java'), true);
  // ctags 5.9 calls a Java record a method; it is matched as the type it is.
  assert.equal(matches(tag('P', 10, 'method', { pattern: '/^  record P(int x) {}$/' }), [entity('P', 10, 10, 'class')], 'java'), true);
  // JavaScript: ctags' "class" for a constructor function matches our function entity.
  assert.equal(matches(tag('Foo', 3, 'class'), [entity('Foo', 3, 9, 'function')], 'javascript'), true);
});

test('normalizeName: C++ operators compare without spaces', () => {
  assert.equal(normalizeName('operator <<'), normalizeName('operator<<'));
  assert.equal(matches(tag('operator ()', 5), [entity('operator()', 5, 9, 'method')]), true);
});

test('patternLine: strips ctags search-pattern delimiters and escapes', () => {
  assert.equal(patternLine(tag('a', 1, 'class', { pattern: '/^class A { x = "\\/" }$/' })), 'class A { x = "/" }');
  assert.equal(patternLine(tag('a', 1, 'class', { pattern: '/^  a.b = function() {$/' })), '  a.b = function() {');
});

test('isCountedTag: kinds outside the table, ctags false positives and local type aliases are left out', () => {
  assert.equal(isCountedTag('python', tag('x', 1, 'variable')), false);
  assert.equal(isCountedTag('python', tag('f', 1, 'member')), true);
  // JavaScript object literals are "classes" to ctags; real classes and constructor functions count.
  assert.equal(isCountedTag('javascript', tag('meta', 1, 'class', { pattern: '/^  meta: {$/' })), false);
  assert.equal(isCountedTag('javascript', tag('A', 1, 'class', { pattern: '/^class A extends B {$/' })), true);
  assert.equal(isCountedTag('javascript', tag('Foo', 1, 'class', { pattern: '/^function Foo(a) {$/' })), true);
  // `type X` in import/export lists is not an alias definition.
  assert.equal(isCountedTag('typescript', tag('X', 1, 'alias', { pattern: '/^import type X from "x";$/' })), false);
  assert.equal(isCountedTag('typescript', tag('X', 1, 'alias', { pattern: '/^export { type X, Y };$/' })), false);
  assert.equal(isCountedTag('typescript', tag('X', 1, 'alias', { pattern: '/^export type X<T> = T[];$/' })), true);
  assert.equal(isCountedTag('cpp', tag('T', 1, 'typedef', { scope: 'f', scopeKind: 'function' })), false);
  assert.equal(isCountedTag('cpp', tag('T', 1, 'typedef', { scope: 'C', scopeKind: 'class' })), true);
});

test('measureRecall: end to end on one file, ctags kinds counted per kind', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'codegraph-recall-'));
  try {
    // `hidden` is defined inside a string, which ctags' Python parser does not see either: both
    // tools agree, so recall is 1 over the two real definitions.
    fs.writeFileSync(path.join(dir, 'a.py'), 'class A:\n    def m(self):\n        pass\n\ndef f():\n    return "def hidden(): pass"\n');
    const r = await measureRecall({ language: 'python', roots: [dir] });
    assert.equal(r.files, 1);
    assert.deepEqual(r.byKind, { class: [1, 1], member: [1, 1], function: [1, 1] });
    assert.equal(r.recall, 1);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
