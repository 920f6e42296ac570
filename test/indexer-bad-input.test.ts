// Bad input never stops an indexing run: each pathological file is indexed or skipped with its
// reason, and the run completes (CONVENTIONS: "Never drop data silently").
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { GitRepo } from '../indexer/git/index.ts';
import { Indexer, extract, summarize } from '../indexer/index.ts';
import type { ExtractOutcome } from '../indexer/index.ts';
import { cleanupAll, makeRepo } from './helpers/gitrepo.ts';

after(cleanupAll);

const byPath = (outcomes: ExtractOutcome[]): Map<string, ExtractOutcome> => new Map(outcomes.map((o) => [o.path, o]));

test('pathological files are indexed or skipped with a reason; the run completes', async () => {
  const r = await makeRepo();
  const minifiedLine = 'function f' + 'x'.repeat(10) + '(a){return a+1};';
  await r.writeFiles({
    'big/minified.js': minifiedLine.repeat(Math.ceil((10 * 1024 * 1024) / minifiedLine.length)),
    'big/oneline.js': 'var a=[' + '1,'.repeat(512 * 1024) + '1];',
    'nest/parens.ts': 'const x = ' + '('.repeat(100_000) + '1' + ')'.repeat(100_000) + ';\n',
    'nest/unclosed.ts': 'const y = ' + '('.repeat(100_000) + '\n',
    'nest/braces.js': 'function deep() ' + '{'.repeat(16_384) + '}'.repeat(16_384) + '\n',
    'ok.py': 'def good():\n    return 1\n',
    'vendor/lib.js': 'function vendored() {}\n',
    'README.md': '# hello\n',
  });
  await r.write('enc/latin1.py', Buffer.concat([Buffer.from('def caf'), Buffer.from([0xe9]), Buffer.from('():\n    return "\xff"\n', 'latin1')]));
  await r.write('bin/nul.ts', Buffer.alloc(4096, 0));
  await r.write('bin/image.js', Buffer.concat([Buffer.from('GIF89a'), Buffer.from([0, 1, 2, 3])]));
  const sha = await r.commit('bad input');

  const repo = await GitRepo.open(r.dir);
  const indexer = new Indexer({ threads: 2, parseTimeoutMs: 20_000 });
  try {
    const outcomes = await indexer.extractFiles(repo, await repo.lsTree(sha));
    const o = byPath(outcomes);
    assert.equal(outcomes.length, 11);

    const minified = o.get('big/minified.js')!;
    assert.equal(minified.status, 'skipped');
    assert.equal(minified.status === 'skipped' && minified.reason, 'too_large');

    for (const p of ['big/oneline.js', 'nest/parens.ts', 'nest/unclosed.ts', 'nest/braces.js', 'ok.py', 'enc/latin1.py']) {
      const x = o.get(p)!;
      assert.equal(x.status, 'parsed', `${p}: ${JSON.stringify(x.status === 'skipped' ? x.detail : x.status)}`);
    }
    const unclosed = o.get('nest/unclosed.ts')!;
    assert.ok(unclosed.status === 'parsed' && unclosed.result.errorCount > 0, 'syntax errors are counted');
    const braces = o.get('nest/braces.js')!;
    assert.ok(braces.status === 'parsed' && braces.result.entities.some((e) => e.name === 'deep'));

    const latin1 = o.get('enc/latin1.py')!;
    assert.ok(latin1.status === 'parsed');
    assert.ok(latin1.result.invalidUtf8 >= 2, 'invalid UTF-8 bytes are counted');
    assert.ok(latin1.result.entities.some((e) => e.kind === 'function' && e.name.startsWith('caf')));

    const reasons = Object.fromEntries(outcomes.filter((x) => x.status === 'skipped').map((x) => [x.path, x.status === 'skipped' ? x.reason : '']));
    assert.deepEqual(reasons, {
      'big/minified.js': 'too_large',
      'bin/nul.ts': 'binary',
      'bin/image.js': 'binary',
      'vendor/lib.js': 'excluded',
      'README.md': 'unknown_language',
    });
    const s = summarize(outcomes);
    assert.equal(s.skipped.binary, 2);
    assert.equal(s.skipped.too_large, 1);
    assert.equal(s.parsed, 6);
  } finally {
    await indexer.close();
    await repo.close();
  }
});

test('a parse over budget is skipped as parse_timeout and the pool keeps working', async () => {
  const r = await makeRepo();
  await r.writeFiles({
    'slow.ts': 'const x = ' + '('.repeat(100_000) + '\n' + 'let a = f(1, 2);\n'.repeat(50_000),
    'fast.ts': 'export function fast() { return 1; }\n',
  });
  const sha = await r.commit('slow');
  const repo = await GitRepo.open(r.dir);
  const indexer = new Indexer({ threads: 1, parseTimeoutMs: 1 });
  try {
    const o = byPath(await indexer.extractFiles(repo, await repo.lsTree(sha)));
    const slow = o.get('slow.ts')!;
    assert.equal(slow.status, 'skipped');
    assert.equal(slow.status === 'skipped' && slow.reason, 'parse_timeout');
    assert.match(slow.status === 'skipped' ? slow.detail : '', /per-file budget of 1 ms/);
    assert.ok(indexer.poolStats.parseTimeouts >= 1);
  } finally {
    await indexer.close();
    await repo.close();
  }
});

test('identical blobs at several paths are parsed once; cached blobs are not read', async () => {
  const r = await makeRepo();
  await r.writeFiles({ 'a/x.ts': 'export function same() {}\n', 'b/x.ts': 'export function same() {}\n', 'c.ts': 'export const c = 1;\n' });
  const sha = await r.commit('dupes');
  const repo = await GitRepo.open(r.dir);
  const indexer = new Indexer({ threads: 1 });
  try {
    const files = await repo.lsTree(sha);
    const cSha = files.find((f) => f.path === 'c.ts')!.sha;
    const outcomes = await indexer.extractFiles(repo, files, { isCached: (blob) => blob === cSha });
    const o = byPath(outcomes);
    assert.equal(o.get('c.ts')!.status, 'cached');
    assert.equal(o.get('a/x.ts')!.status, 'parsed');
    assert.equal(o.get('b/x.ts')!.status, 'parsed');
    assert.equal(indexer.poolStats.tasks, 1, 'one parse for two paths of one blob');
  } finally {
    await indexer.close();
    await repo.close();
  }
});

test('option validation messages', () => {
  assert.throws(() => new Indexer({ threads: 0 }), /options.threads must be a positive integer/);
  assert.throws(() => new Indexer({ maxFileBytes: -1 }), /options.maxFileBytes must be a positive integer \(bytes\)/);
  assert.throws(() => new Indexer({ parseTimeoutMs: 1.5 }), /options.parseTimeoutMs must be a positive integer \(milliseconds\)/);
  assert.throws(() => new Indexer({ exclude: [''] }), /options.exclude must be an array of non-empty glob strings/);
});

test('body hash ignores whitespace and comments but not code', async () => {
  const hash = async (src: string): Promise<string> => {
    const r = await extract('typescript', Buffer.from(src));
    return r.entities.find((e) => e.name === 'f')!.bodyHash;
  };
  const base = await hash('function f(a: number) {\n  return a + 1;\n}\n');
  assert.equal(await hash('function f(a:number){return a+1;}\n'), base);
  assert.equal(await hash('function f(a: number) {\n  // note\n  return a + /* one */ 1;\n}\n'), base);
  assert.notEqual(await hash('function f(a: number) {\n  return a + 2;\n}\n'), base);
  assert.notEqual(await hash('function f(a: string) {\n  return a + 1;\n}\n'), base);
  // Token boundaries count: `a b` and `ab` differ.
  assert.notEqual(await hash('function f(a: number) {\n  return typeof a;\n}\n'), await hash('function f(a: number) {\n  return typeofa;\n}\n'));
  // What surrounds the entity does not count: code, comments or nothing before and after it.
  assert.equal(await hash('const x = 1\nfunction f(a: number) {\n  return a + 1;\n}\nlet y = 2;\n'), base);
  assert.equal(await hash('/* c */ function f(a: number) { return a + 1; } // t\n'), base);
  const method = async (src: string): Promise<string> => {
    const r = await extract('typescript', Buffer.from(src));
    return r.entities.find((e) => e.kind === 'method')!.bodyHash;
  };
  // The name is not part of the hash (a rename keeps it); the class around a method is not either.
  const m = await method('class A {\n  run(x: number) { return x * 2; }\n}\n');
  assert.equal(await method('export class B extends C {\n  other = 1;\n  go(x: number) {\n    return x * 2;\n  }\n}\n'), m);
  assert.notEqual(await method('class A {\n  run(x: number) { return x * 3; }\n}\n'), m);
  const py = async (src: string): Promise<string> => (await extract('python', Buffer.from(src))).entities.find((e) => e.name === 'g')!.bodyHash;
  // Indentation is syntax in Python: moving a statement out of a block is a change.
  assert.notEqual(await py('def g(x):\n    if x:\n        a()\n        b()\n'), await py('def g(x):\n    if x:\n        a()\n    b()\n'));
  assert.equal(await py('def g(x):\n    if x:\n        a()\n'), await py('def g(x):\n  if x:\n      a()  # why\n'));
});
