// C++ macro neutralization (indexer/languages/cpp/macros.ts): what is blanked, what is not, and that
// the extractor still reports the original text. Recall on real headers: test/recall.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { extract } from '../indexer/extract.ts';
import { LANGUAGE_SPECS } from '../indexer/languages/index.ts';
import { isMacroName, neutralizeMacros } from '../indexer/languages/cpp/macros.ts';

/** The neutralized text with runs of spaces collapsed, for readable expectations. */
function squashed(source: string): string {
  const out = neutralizeMacros(source);
  assert.equal(out.length, source.length, 'length changed');
  assert.deepEqual(out.split('\n').map((l) => l.length), source.split('\n').map((l) => l.length), 'a line changed length');
  return out.replace(/[ \t]+/g, ' ').replace(/ *\n */g, '\n').trim();
}

test('isMacroName: upper case with an underscore, or __UPPER', () => {
  for (const name of ['_GLIBCXX_NOEXCEPT', 'Q_OBJECT', 'ROCKSDB_API', '__THROW', '_GLIBCXX20_CONSTEXPR']) assert.ok(isMacroName(name), name);
  for (const name of ['T', 'UINT32', 'Foo_Bar', '_Tp', 'value_type', 'A_', '__x']) assert.ok(!isMacroName(name), name);
});

test('libstdc++ namespace, version and attribute macros are blanked', () => {
  const src = [
    'namespace std _GLIBCXX_VISIBILITY(default)',
    '{',
    '_GLIBCXX_BEGIN_NAMESPACE_VERSION',
    '  template<typename _Tp>',
    '    _GLIBCXX_NODISCARD _GLIBCXX20_CONSTEXPR inline bool',
    '    empty(const _Tp& __x) _GLIBCXX_NOEXCEPT { return true; }',
    '  void* operator new(std::size_t) _GLIBCXX_THROW(std::bad_alloc);',
    '  static _GLIBCXX_CONSTEXPR int digits = 8;',
    '_GLIBCXX_END_NAMESPACE_VERSION',
    '}',
  ].join('\n');
  assert.equal(squashed(src), [
    'namespace std', '{', '', 'template<typename _Tp>', 'inline bool', 'empty(const _Tp& __x) { return true; }',
    'void* operator new(std::size_t) ;', 'static int digits = 8;', '', '}',
  ].join('\n'));
});

test('class bodies: constructors, access labels, Q_OBJECT, export macros, using aliases', () => {
  const src = [
    'class ROCKSDB_EXPORT DB final : public Base {',
    '  Q_OBJECT',
    ' public:',
    '  _GLIBCXX20_CONSTEXPR',
    '  DB() _GLIBCXX_NOEXCEPT : Base() { }',
    '  using is_always_equal _GLIBCXX20_DEPRECATED_SUGGEST("x") = true_type;',
    '  LIB_API static DB& global();',
    '};',
  ].join('\n');
  assert.equal(squashed(src), [
    'class DB final : public Base {', '', 'public:', '', 'DB() : Base() { }', 'using is_always_equal = true_type;',
    'static DB& global();', '};',
  ].join('\n'));
});

test('left alone: type macros, scope macros, enumerators, bodies, #define, comments and strings', () => {
  const src = [
    'UINT32_T counter;',
    'HANDLE_T open_it(const char* p);',
    'STATUS_T Foo::bar() { return 0; }',
    '_GLIBCXX_STD_C::vector<int> v;',
    'enum Single { ONLY_VALUE };',
    'enum Many {',
    '  FIRST_VALUE',
    '#ifdef X',
    '  , SECOND_VALUE',
    '#endif',
    '};',
    'void f() {',
    '  LOG_DEBUG',
    '  int x = 1;',
    '}',
    '#define NOEXCEPT_X _GLIBCXX_NOEXCEPT',
    '#if _GLIBCXX_USE_CXX11_ABI',
    '#endif',
    '// _GLIBCXX_BEGIN_NAMESPACE_VERSION',
    'const char* s = "_GLIBCXX_NOEXCEPT"; const char* r = R"x(_GLIBCXX_END)x";',
    'class FOO_BAR final {};',
  ].join('\n');
  assert.equal(neutralizeMacros(src), src);
});

test('a conditional inside a declaration keeps its first branch', () => {
  const src = [
    'struct S {',
    '  void swap(S& s)',
    '#if A',
    '  noexcept(true)',
    '#else',
    '  noexcept(false)',
    '#endif',
    '  { }',
    '#if B',
    '  void kept();',
    '#else',
    '  void also_kept();',
    '#endif',
    '};',
  ].join('\n');
  assert.equal(squashed(src), [
    'struct S {', 'void swap(S& s)', '', 'noexcept(true)', '', '', '', '{ }',
    '#if B', 'void kept();', '#else', 'void also_kept();', '#endif', '};',
  ].join('\n'));
});

// A guard against quadratic blow-up, not a speed test: a quadratic scan of these 200-500 KB inputs
// takes minutes, a linear one well under a second on an idle machine. The bound is wide because
// an absolute 2 s bound failed on a 2-core machine loaded by other test processes.
test('junk input stays linear (no case takes minutes)', () => {
  const cases = [
    'template <'.repeat(50_000), 'A_B('.repeat(50_000), 'namespace a '.repeat(50_000) + 'X_Y(',
    'void f()\n#if A\n{\n#else\n{\n#endif\n'.repeat(20_000), '[[ '.repeat(50_000), 'void f() ' + 'A_B(x) '.repeat(50_000),
    '('.repeat(100_000) + ']'.repeat(100_000), '/**/ A_B '.repeat(100_000),
  ];
  for (const src of cases) {
    const started = performance.now();
    assert.equal(neutralizeMacros(src).length, src.length);
    const ms = performance.now() - started;
    assert.ok(ms < 30_000, `${ms.toFixed(0)} ms for ${JSON.stringify(src.slice(0, 20))}...`);
  }
});

// Regression: libstdc++'s `namespace std _GLIBCXX_VISIBILITY(default)` and friends made
// tree-sitter-cpp swallow whole classes into ERROR nodes (598 of libstdc++ 12's 783 headers had errors).
test('extract: a libstdc++-style header parses without errors, with its class, typedefs, constructor and conversion operator', async () => {
  const header = (noexceptMacro: string): string => [
    'namespace std _GLIBCXX_VISIBILITY(default)',
    '{',
    '_GLIBCXX_BEGIN_NAMESPACE_VERSION',
    '  template<typename _Tp, typename _Alloc>',
    '    class vector : protected _Vector_base<_Tp, _Alloc>',
    '    {',
    '    public:',
    '      typedef typename _Alloc::pointer pointer;',
    '      typedef const _Tp& const_reference;',
    '      _GLIBCXX20_CONSTEXPR',
    `      vector() ${noexceptMacro} { }`,
    '      _GLIBCXX_NODISCARD auto',
    `      size() const ${noexceptMacro} -> size_type { return 0; }`,
    `      explicit operator bool() const ${noexceptMacro} { return true; }`,
    '    };',
    '_GLIBCXX_END_NAMESPACE_VERSION',
    '}',
  ].join('\n');
  const r = await extract('cpp', Buffer.from(header('_GLIBCXX_NOEXCEPT')));
  assert.equal(r.errorCount, 0);
  const byName = new Map(r.entities.map((e) => [e.qualifiedName, e]));
  assert.deepEqual([...byName.keys()].slice(1), [
    'std', 'std.vector', 'std.vector.pointer', 'std.vector.const_reference', 'std.vector.vector', 'std.vector.size',
    'std.vector.operator bool',
  ]);
  assert.equal(byName.get('std.vector.vector')!.kind, 'constructor');
  // The macro is part of the code: changing it changes the body hash.
  const other = await extract('cpp', Buffer.from(header('noexcept')));
  const hash = (x: typeof r, qn: string): string => x.entities.find((e) => e.qualifiedName === qn)!.bodyHash;
  assert.notEqual(hash(r, 'std.vector.vector'), hash(other, 'std.vector.vector'));
});

test('extract: only the parse sees a spec\'s preprocess; names, docs, signatures and hashes read the original', async () => {
  const src = '/// Adds.\nint add_one(int value) { return value + 1; }\n';
  const plain = await extract('cpp', Buffer.from(src));
  const spec = LANGUAGE_SPECS.cpp;
  const saved = spec.preprocess;
  // Same length, other letters: whatever reaches the output from the rewritten text would show.
  spec.preprocess = (s) => s.replace(/add_one/g, 'sub_two').replace(/value/g, 'VALUE').replace(/Adds/g, 'Subs');
  try {
    const rewritten = await extract('cpp', Buffer.from(src));
    assert.deepEqual(rewritten, plain);
    assert.equal(rewritten.entities[1]!.name, 'add_one');
    assert.equal(rewritten.entities[1]!.signature, 'int (int value)');
    spec.preprocess = (s) => s + ' ';
    await assert.rejects(extract('cpp', Buffer.from(src)), /preprocess changed the text's length/);
  } finally {
    spec.preprocess = saved;
  }
});
