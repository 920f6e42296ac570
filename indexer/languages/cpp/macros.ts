// C++ macro neutralization: a length- and line-preserving pre-pass that turns macro invocations
// tree-sitter-cpp cannot parse into spaces, so that the parse sees the declarations around them.
// The parser never expands macros; in libstdc++'s
//
//   namespace std _GLIBCXX_VISIBILITY(default)
//   {
//   _GLIBCXX_BEGIN_NAMESPACE_VERSION
//     _GLIBCXX_NODISCARD bool empty() const _GLIBCXX_NOEXCEPT { ... }
//
// each macro is a syntax error to it: 598 of libstdc++ 12's 783 headers parse with errors without
// this pass, 329 with it (RocksDB: 201 of 1167 files, 180), and the errors swallow whole classes. RocksDB's `ROCKSDB_EXPORT`, Qt's `Q_OBJECT`, xxHash's `XXH_PUBLIC_API` are
// the same problem on a smaller scale.
//
// Only the parse uses the result: texts, signatures and body hashes are read from the original
// source, and every UTF-16 index, line and column is unchanged (each blanked code unit becomes one
// space; line breaks stay).
//
// A macro is an identifier like /^_*[A-Z][A-Z0-9_]*$/ with an underscore (`_GLIBCXX_NOEXCEPT`,
// `Q_OBJECT`; `T`, `UINT32` are not) or like `__THROW`, optionally followed by an argument list.
// It is blanked only in these positions, and only at namespace or class scope (never in function
// bodies, enum bodies or initializers):
//
// 1. between a namespace's name and its `{`:     namespace std _GLIBCXX_VISIBILITY(default) {
// 2. between `class`/`struct`/`union` and the name: class ROCKSDB_EXPORT DB {
// 3. where a declaration starts (after `;`, `{`, `}`, a preprocessor line, `template <...>`, an
//    access label or a specifier such as `static`), when what follows still starts a declaration
//    (a keyword, `Type name`, the class's constructor), or when the macros stand alone on their
//    lines before `}`, a preprocessor line, the end of the file or an out-of-line member's
//    qualified name: `_GLIBCXX_NODISCARD bool f();`, `_GLIBCXX_BEGIN_NAMESPACE_VERSION`, `Q_OBJECT`.
//    A call of a name reserved to the implementation alone on its line counts as a macro here
//    (`__glibcxx_class_requires(_Tp, _SGIAssignableConcept)`, no semicolon).
// 4. after a parameter list, before `{`, `;`, `:`, `=`, `->` or another trailing specifier:
//    `f() const _GLIBCXX_NOEXCEPT;`, `operator new(size_t) _GLIBCXX_THROW(std::bad_alloc);`
// 5. (not a macro) a preprocessor conditional inside a declaration, where the grammar has no rule
//    for it (`f()` `#if A` `noexcept(x)` `#else` `noexcept(y)` `#endif` `{`): its directives and
//    every branch but the first are blanked, as a compiler sees one branch (ctags does the same).
// 6. after the name of a `using` alias or a typedef: `using X _GLIBCXX20_DEPRECATED = Y;`
//
// A macro that stands for a type (`UINT32_T x;`, `HANDLE_T f();`) is left alone: the rules ask for a
// complete declaration after the blanked part. The scan is linear in the number of tokens (bracket
// matching is one stack pass, `<...>` scans are bounded, preprocessor branches save scopes in O(1));
// comments, string and character literals (raw strings too) and `#define` bodies are never touched.

const enum Kind { Id, Punct, Literal }

interface Tokens {
  kind: Kind[];
  start: number[];
  end: number[];
  text: string[];
  /** A line break between the previous token and this one. */
  nl: boolean[];
  /** A preprocessor line between the previous token and this one. */
  pp: boolean[];
  /** Preprocessor conditionals, in order: the directive, the token index it precedes, and its text
   * range (the whole line, continuations included). */
  conds: Array<{ at: number; directive: string; start: number; end: number }>;
}

const MACRO = /^_*[A-Z][A-Z0-9_]*$/;

/** Declaration-starting keywords: what follows a blanked attribute macro. */
const DECL_KEYWORDS: ReadonlySet<string> = new Set([
  'template', 'typedef', 'using', 'static', 'inline', 'constexpr', 'consteval', 'constinit', 'virtual', 'explicit',
  'extern', 'friend', 'const', 'volatile', 'class', 'struct', 'union', 'enum', 'typename', 'void', 'bool', 'char',
  'char8_t', 'char16_t', 'char32_t', 'wchar_t', 'int', 'long', 'short', 'unsigned', 'signed', 'float', 'double', 'auto',
  'operator', 'namespace', 'public', 'private', 'protected', 'mutable', 'thread_local', 'register', 'static_assert',
  'concept', 'requires', 'decltype', 'alignas', '__attribute__', '__declspec', '__extension__', '__inline', '__inline__',
  '__forceinline',
]);

/** Specifiers after which a declaration continues (`static _GLIBCXX_CONSTEXPR bool x`). */
const SPECIFIERS: ReadonlySet<string> = new Set([
  'static', 'inline', 'virtual', 'explicit', 'extern', 'friend', 'constexpr', 'consteval', 'constinit', 'thread_local',
  'mutable',
]);

/** What may precede a trailing macro after a parameter list, and what may follow it. */
const TRAIL_BEFORE: ReadonlySet<string> = new Set([')', 'const', 'volatile', 'override', 'final', 'noexcept', '&']);
const TRAIL_AFTER: ReadonlySet<string> = new Set([
  '{', ';', ':', '=', '->', '[', 'const', 'volatile', 'override', 'final', 'noexcept', 'throw', 'try',
  'requires', '__attribute__', '__asm__', 'asm',
]);

const ACCESS: ReadonlySet<string> = new Set(['public', 'private', 'protected']);
const TYPE_KEYS: ReadonlySet<string> = new Set(['class', 'struct', 'union']);

/** Tokens visited while looking for the `>` of a `<` before giving up: template heads are far
 * shorter, and the bound keeps junk input (`template <` 50,000 times) linear. */
const MAX_ANGLE_SCAN = 1024;

/** `_GLIBCXX_NOEXCEPT`, `Q_OBJECT`, `__THROW`; not `T`, `UINT32`, `Foo_Bar`. */
export function isMacroName(name: string): boolean {
  return name.length >= 3 && MACRO.test(name) && name.replace(/^_+/, '').includes('_') || /^__[A-Z][A-Z0-9]+$/.test(name);
}

const isIdStart = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 36 || c >= 0x80;
const isIdPart = (c: number): boolean => isIdStart(c) || (c >= 48 && c <= 57);
const isDigit = (c: number): boolean => c >= 48 && c <= 57;

function tokenize(s: string): Tokens {
  const t: Tokens = { kind: [], start: [], end: [], text: [], nl: [], pp: [], conds: [] };
  const n = s.length;
  let i = 0;
  let nl = true;
  let pp = false;
  let lineStart = true; // only whitespace since the last line break
  let newline = -1;
  /** The first line break at or after `from` (cached: `from` only grows, so this stays linear). */
  const nextNewline = (from: number): number => {
    if (newline < from) {
      newline = s.indexOf('\n', from);
      if (newline < 0) newline = n;
    }
    return newline;
  };
  const push = (kind: Kind, start: number, end: number, text: string): void => {
    t.kind.push(kind); t.start.push(start); t.end.push(end); t.text.push(text); t.nl.push(nl); t.pp.push(pp);
    nl = false; pp = false; lineStart = false;
  };
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 10) { nl = true; lineStart = true; i++; continue; }
    if (c === 32 || c === 9 || c === 13 || c === 12 || c === 11) { i++; continue; }
    if (c === 92 && (s.charCodeAt(i + 1) === 10 || (s.charCodeAt(i + 1) === 13 && s.charCodeAt(i + 2) === 10))) { i += 2; continue; }
    if (c === 47 && s.charCodeAt(i + 1) === 47) { // line comment (a trailing backslash continues it)
      while (i < n && s.charCodeAt(i) !== 10) i += s.charCodeAt(i) === 92 ? 2 : 1;
      continue;
    }
    if (c === 47 && s.charCodeAt(i + 1) === 42) {
      const close = s.indexOf('*/', i + 2);
      const stop = close < 0 ? n : close + 2;
      if (nextNewline(i) < stop) nl = true;
      i = stop;
      continue;
    }
    if (c === 35 && lineStart) { // preprocessor line, with continuations and comments
      const start = i;
      const m = /^#\s*([a-z]+)/.exec(s.slice(i, i + 40));
      const directive = m?.[1] ?? '';
      while (i < n && s.charCodeAt(i) !== 10) {
        const d = s.charCodeAt(i);
        if (d === 92 && s.charCodeAt(i + 1) === 10) i += 2;
        else if (d === 92 && s.charCodeAt(i + 1) === 13 && s.charCodeAt(i + 2) === 10) i += 3;
        else if (d === 47 && s.charCodeAt(i + 1) === 42) { const close = s.indexOf('*/', i + 2); i = close < 0 ? n : close + 2; }
        else if (d === 47 && s.charCodeAt(i + 1) === 47) { while (i < n && s.charCodeAt(i) !== 10) i++; }
        else i++;
      }
      if (/^(if|ifdef|ifndef|elif|elifdef|elifndef|else|endif)$/.test(directive)) t.conds.push({ at: t.kind.length, directive, start, end: i });
      pp = true;
      continue;
    }
    if (isIdStart(c)) {
      const start = i;
      while (i < n && isIdPart(s.charCodeAt(i))) i++;
      const word = s.slice(start, i);
      const q = s.charCodeAt(i);
      if (q === 34 && /^(?:u8|u|U|L)?R$/.test(word)) { // raw string R"delim( ... )delim"
        const open = s.indexOf('(', i + 1);
        const delim = open < 0 ? '' : s.slice(i + 1, open);
        const close = open < 0 ? -1 : s.indexOf(`)${delim}"`, open + 1);
        const stop = close < 0 ? n : close + delim.length + 2;
        i = stop;
        push(Kind.Literal, start, i, '');
        continue;
      }
      if ((q === 34 || q === 39) && /^(?:u8|u|U|L)$/.test(word)) {
        i = skipQuoted(s, i, q);
        push(Kind.Literal, start, i, '');
        continue;
      }
      push(Kind.Id, start, i, word);
      continue;
    }
    if (isDigit(c) || (c === 46 && isDigit(s.charCodeAt(i + 1)))) { // pp-number, digit separators included
      const start = i;
      i++;
      while (i < n) {
        const d = s.charCodeAt(i);
        if (isIdPart(d) || d === 46) i++;
        else if (d === 39 && isIdPart(s.charCodeAt(i + 1))) i += 2;
        else if ((d === 43 || d === 45) && /[eEpP]/.test(s[i - 1]!)) i++;
        else break;
      }
      push(Kind.Literal, start, i, '');
      continue;
    }
    if (c === 34 || c === 39) {
      const start = i;
      i = skipQuoted(s, i, c);
      push(Kind.Literal, start, i, '');
      continue;
    }
    const two = s.slice(i, i + 2);
    if (two === '::' || two === '->') { push(Kind.Punct, i, i + 2, two); i += 2; continue; }
    push(Kind.Punct, i, i + 1, s[i]!);
    i++;
  }
  return t;
}

/** The end of a string or character literal starting at `i` (at most the end of its line). */
function skipQuoted(s: string, i: number, quote: number): number {
  let j = i + 1;
  while (j < s.length) {
    const d = s.charCodeAt(j);
    if (d === 92) { j += 2; continue; }
    if (d === quote) return j + 1;
    if (d === 10) return j;
    j++;
  }
  return j;
}

/** The scopes open at a point, innermost first: an immutable list, so that a preprocessor branch
 * can save and restore them in O(1) however deep the nesting. */
interface Scope {
  /** Declarations live here (file, namespace, class body, `extern "C" {}`), not statements. */
  decl: boolean;
  /** The class whose body this is: its constructors start declarations. */
  cls: string | null;
  outer: Scope | null;
}

/** Matching `(`/`)`, `[`/`]`, `{`/`}` token pairs, both ways (-1: unmatched), in one pass. */
function matchBrackets(t: Tokens): Int32Array {
  const n = t.kind.length;
  const match = new Int32Array(n).fill(-1);
  const stack: number[] = [];
  const open: Record<string, number> = { '(': 0, '[': 0, '{': 0 };
  for (let i = 0; i < n; i++) {
    if (t.kind[i] !== Kind.Punct) continue;
    const x = t.text[i]!;
    if (x === '(' || x === '[' || x === '{') { stack.push(i); open[x]!++; continue; }
    const opener = x === ')' ? '(' : x === ']' ? '[' : x === '}' ? '{' : '';
    // An unmatched closer is skipped; unmatched openers above a match are dropped (each once).
    if (opener === '' || open[opener] === 0) continue;
    let top = stack.pop()!;
    open[t.text[top]!]!--;
    while (t.text[top] !== opener) {
      top = stack.pop()!;
      open[t.text[top]!]!--;
    }
    match[top] = i;
    match[i] = top;
  }
  return match;
}

/** Returns `source` with the macro invocations described above replaced by spaces. */
export function neutralizeMacros(source: string): string {
  const t = tokenize(source);
  const n = t.kind.length;
  const text = t.text;
  const blanked = new Uint8Array(n);
  const stmtBoundary = new Uint8Array(n); // 1: this token ends a template head or an attribute
  const ranges: Array<[number, number]> = [];

  // A macro name followed by `::` or `<` names a scope or a template (`_GLIBCXX_STD_C::vector`).
  const macroAt = (i: number): boolean => i < n && t.kind[i] === Kind.Id && isMacroName(text[i]!) && text[i + 1] !== '::' && text[i + 1] !== '<';
  /** Index after the balanced group opened at `i` (`(`, `<`, `[`), or -1. `<` and `[` groups end
   * at `;`, `{`, `}`; a `>` inside parentheses does not close a `<`. */
  const match = matchBrackets(t);
  const closeOf = (i: number, open: '(' | '[' | '<'): number => {
    if (open !== '<') return match[i]! > i ? match[i]! + 1 : -1;
    let depth = 0;
    for (let j = i, visited = 0; j < n && visited < MAX_ANGLE_SCAN; j++, visited++) {
      if (t.kind[j] !== Kind.Punct) continue;
      const x = text[j];
      if (x === ';' || x === '{' || x === '}' || x === ')' || x === ']') return -1;
      if (x === '(' || x === '[') {
        if (match[j]! < j) return -1;
        j = match[j]!;
      } else if (x === '<') depth++;
      else if (x === '>' && --depth === 0) return j + 1;
    }
    return -1;
  };
  /** `__glibcxx_class_requires(T, C)` alone on its line: a name reserved to the implementation
   * ([lex.name]: a double underscore), called without a semicolon, is a macro too. */
  const lineCallAt = (i: number): boolean => {
    if (i >= n || t.kind[i] !== Kind.Id || !(t.nl[i] || t.pp[i] || i === 0) || text[i + 1] !== '(') return false;
    const name = text[i]!;
    if (!/^__[a-z]/.test(name) || DECL_KEYWORDS.has(name)) return false;
    const e = groupEnd(i);
    return e > i + 1 && (e >= n || t.nl[e] === true || t.pp[e] === true) && text[e] !== ';';
  };
  /** A macro group: the name and its argument list. Returns the index after it. */
  const groupEnd = (i: number): number => {
    if (i + 1 < n && text[i + 1] === '(' && t.kind[i + 1] === Kind.Punct) {
      const e = closeOf(i + 1, '(');
      return e < 0 ? i + 1 : e;
    }
    return i + 1;
  };
  // Token by token: a preprocessor line between two blanked macros stays.
  const blank = (from: number, to: number): void => {
    for (let k = from; k < to; k++) {
      blanked[k] = 1;
      ranges.push([t.start[k]!, t.end[k]!]);
    }
  };

  // Scopes, with preprocessor conditionals handled as tree-sitter does: each branch starts from the
  // state before `#if`, and the first branch's end state continues after `#endif`.
  let scopes: Scope | null = null;
  const condStack: Array<{ before: Scope | null; after: Scope | null | undefined; at: number; decl: boolean; mid: boolean }> = [];
  let cond = 0;
  let headStart = 0;
  const inDecl = (): boolean => scopes === null || scopes.decl;
  const currentClass = (): string | null => (scopes === null ? null : scopes.cls);

  /** Does a declaration start at `j`? `Type name`, a keyword, `~`, `[[`, a constructor. */
  const declStartsAt = (j: number): boolean => {
    if (j >= n) return false;
    const x = text[j]!;
    if (t.kind[j] === Kind.Punct) {
      if (x === '~') return true;
      if (x === '[') return text[j + 1] === '[';
      if (x !== '::') return false;
    } else if (t.kind[j] !== Kind.Id) return false;
    if (DECL_KEYWORDS.has(x)) return true;
    // A (qualified, templated) type name, then a declarator.
    let k = j;
    let last = '';
    let prevSeg = '';
    if (text[k] === '::') k++;
    while (k < n && t.kind[k] === Kind.Id) {
      if (DECL_KEYWORDS.has(text[k]!)) return k > j; // `Foo::operator bool`
      prevSeg = last;
      last = text[k]!;
      k++;
      if (text[k] === '<') {
        const e = closeOf(k, '<');
        if (e < 0) return false;
        k = e;
      }
      if (text[k] === '::' && k + 1 < n) {
        if (text[k + 1] === '~') return true; // Foo::~Foo
        k++;
        continue;
      }
      break;
    }
    if (k >= n) return false;
    const after = text[k]!;
    if (after === '(') return (k - j === 1 && last === currentClass()) || (prevSeg !== '' && prevSeg === last); // constructors
    return t.kind[k] === Kind.Id || after === '*' || after === '&';
  };

  /** `A::b(`, `A<T>::B::~B(`: an out-of-line member's qualified name. */
  const qualifiedCallAt = (j: number): boolean => {
    let k = j;
    let segments = 0;
    while (k < n && t.kind[k] === Kind.Id && !DECL_KEYWORDS.has(text[k]!)) {
      segments++;
      k++;
      if (text[k] === '<') {
        const e = closeOf(k, '<');
        if (e < 0) return false;
        k = e;
      }
      if (text[k] !== '::') break;
      k++;
      if (text[k] === '~') k++;
    }
    return segments >= 2 && text[k] === '(';
  };

  const stmtStart = (i: number): boolean => {
    if (i === 0 || t.pp[i]) return true;
    const p = i - 1;
    const x = text[p]!;
    if (t.kind[p] === Kind.Punct) {
      if (x === ';' || x === '{' || x === '}' || stmtBoundary[p]) return true;
      if (x === ':' && p > 0 && (ACCESS.has(text[p - 1]!) || macroAt(p - 1))) return true;
      return false;
    }
    return t.kind[p] === Kind.Id && (SPECIFIERS.has(x) || (blanked[p] === 1));
  };

  // Each `#if`'s first `#elif`/`#else` and its `#endif` (indices into t.conds, -1 when absent).
  const firstElse = new Int32Array(t.conds.length).fill(-1);
  const endifOf = new Int32Array(t.conds.length).fill(-1);
  const open: number[] = [];
  for (const [k, c] of t.conds.entries()) {
    if (c.directive.startsWith('if')) open.push(k);
    else if (open.length === 0) continue;
    else if (c.directive === 'endif') endifOf[open.pop()!] = k;
    else {
      const top = open[open.length - 1]!;
      if (firstElse[top]! < 0) firstElse[top] = k;
    }
  }
  /** Does the token before `at` (blanked macros aside) end a declaration or a list item? */
  const boundaryBefore = (at: number): boolean => {
    let p = at - 1;
    while (p >= 0 && blanked[p]) p--;
    if (p < 0) return true;
    const x = text[p];
    return t.kind[p] === Kind.Punct && (x === ';' || x === '{' || x === '}' || x === ',' || x === ':');
  };

  for (let i = 0; i < n; i++) {
    while (cond < t.conds.length && t.conds[cond]!.at <= i) {
      const k = cond++;
      const { directive } = t.conds[k]!;
      if (directive.startsWith('if')) {
        condStack.push({ before: scopes, after: undefined, at: k, decl: inDecl(), mid: inDecl() && !boundaryBefore(i) });
      }
      // 5. A conditional inside a declaration (`f() #if A noexcept(x) #else noexcept(y) #endif {`,
      //    `#if A constexpr #endif ~T();`) leaves the grammar no rule to follow: keep its first
      //    branch, as a compiler sees one. Decided at the end of that branch, once it is scanned.
      const top = condStack[condStack.length - 1];
      if (top && !directive.startsWith('if') && (firstElse[top.at] === k || (firstElse[top.at]! < 0 && endifOf[top.at] === k))
        && top.decl && (top.mid || !boundaryBefore(i)) && endifOf[top.at]! >= 0) {
        const endif = t.conds[endifOf[top.at]!]!;
        ranges.push([t.conds[top.at]!.start, t.conds[top.at]!.end], [t.conds[k]!.start, endif.end]);
        for (let b = i; b < endif.at; b++) blanked[b] = 1;
      }
      if (directive.startsWith('if')) continue;
      else if (directive === 'endif') {
        const top = condStack.pop();
        if (top && top.after !== undefined) scopes = top.after;
      } else {
        const top = condStack[condStack.length - 1];
        if (top) {
          if (top.after === undefined) top.after = scopes;
          scopes = top.before;
        }
      }
    }
    const x = text[i]!;
    const kind = t.kind[i];
    if (kind === Kind.Punct) {
      if (x === '{') {
        scopes = classify(headStart, i);
        headStart = i + 1;
      } else if (x === '}') {
        scopes = scopes === null ? null : scopes.outer;
        headStart = i + 1;
      } else if (x === ';') headStart = i + 1;
      else if (x === ':' && i > 0 && ACCESS.has(text[i - 1]!)) headStart = i + 1;
      else if (x === '[' && text[i + 1] === '[') {
        const e = closeOf(i, '[');
        if (e > 0) stmtBoundary[e - 1] = 1;
      }
      continue;
    }
    if (kind !== Kind.Id) continue;
    if (x === 'template' && text[i + 1] === '<') {
      const e = closeOf(i + 1, '<');
      if (e > 0) { stmtBoundary[e - 1] = 1; headStart = e; }
      continue;
    }
    if (x === 'namespace') {
      namespaceHead(i);
      continue;
    }
    if (blanked[i] || !inDecl() || !(macroAt(i) || lineCallAt(i))) continue;

    // Each rule looks at a whole run of macros once, then moves past it: a rule that does not
    // apply to a run does not apply to its tail either.
    let run = i;
    while (macroAt(run)) run = groupEnd(run);
    if (run > i) {
      // 2. class ROCKSDB_EXPORT Name
      if (i > 0 && TYPE_KEYS.has(text[i - 1]!)) {
        if (run < n && t.kind[run] === Kind.Id && text[run] !== 'final') blank(i, run);
        i = run - 1;
        continue;
      }
      // 6. using name _GLIBCXX20_DEPRECATED_SUGGEST("...") = type;  typedef int name MACRO;
      if (i > headStart && t.kind[i - 1] === Kind.Id && !DECL_KEYWORDS.has(text[i - 1]!)
        && (text[headStart] === 'using' || text[headStart] === 'typedef')) {
        if (text[run] === '=' || text[run] === ';') blank(i, run);
        i = run - 1;
        continue;
      }
    }
    // 3. where a declaration starts
    if (stmtStart(i)) {
      const ends: number[] = [];
      let j = i;
      while (macroAt(j) || lineCallAt(j)) { j = groupEnd(j); ends.push(j); }
      let done = false;
      for (let k = ends.length - 1; k >= 0 && !done; k--) {
        if (declStartsAt(ends[k]!)) { blank(i, ends[k]!); done = true; }
      }
      if (!done) {
        // Alone on their lines, before `}`, a preprocessor line, the end of the file, or an
        // out-of-line member (`PB_DS_CLASS_T_DEC` above `PB_DS_CLASS_C_DEC::size() const`).
        const own = i === 0 || t.nl[i] === true || t.pp[i] === true;
        if (own && (j >= n || t.pp[j] || (t.nl[j] && (text[j] === '}' || qualifiedCallAt(j))))) blank(i, j);
      }
      i = j - 1;
      continue;
    }
    // 4. after a parameter list
    if (run > i && i > 0 && TRAIL_BEFORE.has(text[i - 1]!)) {
      if (run >= n || TRAIL_AFTER.has(text[run]!) || t.pp[run]) blank(i, run);
    }
    if (run > i) i = run - 1;
  }

  /** namespace a::b MACRO(args) {  — the macros between the name and the brace. */
  function namespaceHead(i: number): void {
    // The name: `a`, `a::b`, `a::inline b` (C++20).
    let j = i + 1;
    if (t.kind[j] !== Kind.Id || DECL_KEYWORDS.has(text[j]!)) return;
    j++;
    while (text[j] === '::') {
      j++;
      if (text[j] === 'inline') j++;
      if (t.kind[j] !== Kind.Id) return;
      j++;
    }
    const from = j;
    while (macroAt(j)) j = groupEnd(j);
    if (j > from && text[j] === '{') blank(from, j);
  }

  /** The kind of scope a `{` opens, from the tokens of its statement head. */
  function classify(from: number, brace: number): Scope {
    const outer = scopes;
    if (!inDecl()) return { decl: false, cls: null, outer };
    let typeKey = -1;
    for (let k = from; k < brace; k++) {
      const x = text[k]!;
      if (t.kind[k] !== Kind.Id) {
        if (x === '=') return { decl: false, cls: null, outer };
        continue;
      }
      if (x === 'enum') return { decl: false, cls: null, outer };
      if (x === 'namespace' || (x === 'extern' && t.kind[k + 1] === Kind.Literal)) return { decl: true, cls: null, outer };
      if (typeKey < 0 && TYPE_KEYS.has(x)) typeKey = k;
    }
    if (typeKey < 0 || text[brace - 1] === ')') return { decl: false, cls: null, outer };
    let name: string | null = null;
    for (let k = typeKey + 1; k < brace; k++) {
      if (blanked[k] || t.kind[k] !== Kind.Id) {
        if (text[k] === '(' || text[k] === '[') { const e = closeOf(k, text[k] as '(' | '['); if (e > k) k = e - 1; }
        continue;
      }
      if (text[k] === '__attribute__' || text[k] === 'alignas' || text[k] === '__declspec') continue;
      name = text[k]!;
      if (text[k + 1] !== '::') break;
      k++;
    }
    return { decl: true, cls: name, outer };
  }

  if (ranges.length === 0) return source;
  ranges.sort((a, b) => a[0] - b[0]);
  const parts: string[] = [];
  let pos = 0;
  for (const [s, e] of ranges) {
    if (e <= pos) continue;
    const from = Math.max(s, pos);
    parts.push(source.slice(pos, from), source.slice(from, e).replace(/[^\r\n]/g, ' '));
    pos = e;
  }
  parts.push(source.slice(pos));
  return parts.join('');
}
