// Accuracy oracle: the share of Universal Ctags' definitions that our `extract()` finds too, per
// language, on real code nobody on this project wrote. Shared by bench/recall.ts (large samples) and
// test/recall.test.ts (small samples available in CI).
//
// Method
// 1. Sample: all candidate files under the roots, ordered by a hash of their path (a deterministic
//    shuffle, so a sample spreads over the whole tree instead of the first directories), taken until
//    `maxFiles` or `maxLines`. Test data that is broken on purpose (EXCLUDED_DIRS) and minified
//    bundles (MINIFIED_BYTES_PER_LINE) are left out.
// 2. Ctags: `ctags --output-format=json --fields=+nKlzE --extras=-{anonymous} --language-force=<L>
//    -L <sample list>` (the list replaces `-R` so both tools see exactly the same files, and
//    --language-force makes ctags read extensionless C++ headers and `.h` as C++, as we do).
// 3. Count the ctags tags whose kind is in COUNTED_KINDS[language]; a tag is found when an entity
//    (any kind but `module` and `import`) of the same file has the same name and
//    `entity.startLine - 3 <= tag.line <= entity.endLine` (decorators, attributes, template heads and
//    doc comments move the two tools' start lines apart by a few lines). The match mostly ignores
//    kinds: the two tools disagree on them in legitimate ways (Go methods are `func` to ctags, ctags
//    calls `function Foo` a class once it sees `Foo.prototype.x =`), and `byKind` shows the split.
//    One exception: a function/method tag never matches a class-like entity, which contains its
//    constructors under the same name.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { extract } from '../indexer/extract.ts';
import type { Entity, LanguageId } from '../indexer/types.ts';

const run = promisify(execFile);

export type RecallLanguage = 'typescript' | 'javascript' | 'python' | 'rust' | 'go' | 'java' | 'cpp';
export const RECALL_LANGUAGES: readonly RecallLanguage[] = ['typescript', 'javascript', 'python', 'rust', 'go', 'java', 'cpp'];

/** Universal Ctags' parser name per language. */
export const CTAGS_LANGUAGE: Record<RecallLanguage, string> = {
  typescript: 'TypeScript', javascript: 'JavaScript', python: 'Python', rust: 'Rust', go: 'Go', java: 'Java', cpp: 'C++',
};

/**
 * The ctags kinds that count as definitions, and the CodeGraph entity kind each corresponds to
 * (documentation and `byKind` labels; matching ignores kinds, see the header). Universal Ctags 5.9
 * kind names (`ctags --list-kinds-full=<Language>`):
 *
 * | language   | ctags kind     | CodeGraph kind | note |
 * |------------|----------------|----------------|------|
 * | typescript | class          | class          | |
 * |            | interface      | interface      | |
 * |            | enum           | enum           | |
 * |            | alias          | type           | only `type X = ...` / `type X<T> =`: ctags 5.9 also tags `type X` in `import type X from` and `export { type X }` |
 * |            | function       | function       | |
 * |            | generator      | function       | `function*` |
 * |            | method         | method         | includes constructors |
 * | javascript | class          | class          | only when the tag's line declares that name as a class (`class Foo`) or constructor function (`function Foo(`, `Foo = function`, `Foo.prototype`; ctags calls `Foo` a class once it sees `Foo.prototype.x = ...`). ctags' other "classes" are object literals (`module.exports = { meta: {...} }` gives classes `module.exports`, `meta.docs`): values, not types, not counted |
 * |            | function       | function       | |
 * |            | generator      | function       | |
 * |            | method         | method         | includes object-literal and prototype-assigned functions |
 * |            | getter, setter | method         | `get x()`, `set x(v)` |
 * | python     | class          | class          | |
 * |            | function       | function       | |
 * |            | member         | method         | functions inside a class |
 * | rust       | struct         | struct         | |
 * |            | enum           | enum           | |
 * |            | interface      | trait          | |
 * |            | typedef        | type           | `type X = ...`, also associated types |
 * |            | function       | function       | |
 * |            | method         | method         | functions in `impl` and `trait` blocks |
 * | go         | struct         | struct         | |
 * |            | interface      | interface      | |
 * |            | type           | type           | other named types (`type Celsius float64`) |
 * |            | talias         | type           | `type A = B` |
 * |            | func           | function       | methods too (ctags has no method kind for Go) |
 * |            | methodSpec     | method         | a method of an interface type |
 * | java       | class          | class          | |
 * |            | interface      | interface      | |
 * |            | annotation     | interface      | `@interface` |
 * |            | enum           | enum           | |
 * |            | method         | method         | includes constructors and interface methods; ctags 5.9 reports a `record` declaration as a method, taken as a class |
 * | cpp        | class          | class          | |
 * |            | struct         | struct         | |
 * |            | union          | struct         | |
 * |            | enum           | enum           | |
 * |            | typedef        | type           | `typedef`; `using X = ...` is kind `alias`, off by default in ctags |
 * |            | function       | function       | definitions only (ctags' `prototype` kind is off by default) |
 *
 * Not counted: type aliases declared inside a function body (locals), fields, properties, variables, constants, enumerators, namespaces/modules/packages,
 * macros, Rust `impl` blocks (`implementation`: not a definition, CodeGraph keeps it as a scope).
 */
export const COUNTED_KINDS: Record<RecallLanguage, Readonly<Record<string, string>>> = {
  typescript: { class: 'class', interface: 'interface', enum: 'enum', alias: 'type', function: 'function', generator: 'function', method: 'method' },
  javascript: { class: 'class', function: 'function', generator: 'function', method: 'method', getter: 'method', setter: 'method' },
  python: { class: 'class', function: 'function', member: 'method' },
  rust: { struct: 'struct', enum: 'enum', interface: 'trait', typedef: 'type', function: 'function', method: 'method' },
  go: { struct: 'struct', interface: 'interface', type: 'type', talias: 'type', func: 'function', methodSpec: 'method' },
  java: { class: 'class', interface: 'interface', annotation: 'interface', enum: 'enum', method: 'method' },
  cpp: { class: 'class', struct: 'struct', union: 'struct', enum: 'enum', typedef: 'type', function: 'function' },
};

/** Tags of a counted kind that are still not definitions (see the table above). */
export function isCountedTag(language: RecallLanguage, tag: CtagsTag): boolean {
  if (!Object.hasOwn(COUNTED_KINDS[language], tag.kind)) return false;
  // A type alias inside a function body is a local, like a local variable (C++ `typedef` in a
  // function template); CodeGraph keeps locals out of the graph.
  if (COUNTED_KINDS[language][tag.kind] === 'type' && LOCAL_SCOPES.has(tag.scopeKind ?? '')) return false;
  const n = escapeRegExp(tag.name);
  if (language === 'javascript' && tag.kind === 'class') {
    return new RegExp(`\\bclass\\s+${n}\\b|\\bfunction\\s*\\*?\\s*${n}\\s*\\(|\\b${n}\\s*=\\s*function\\b|\\b${n}\\.prototype\\b`).test(patternLine(tag));
  }
  if (language === 'typescript' && tag.kind === 'alias') {
    // ctags 5.9 also tags `type X` inside `import type X from` and `export { type X }`.
    return new RegExp(`\\btype\\s+${n}\\s*(<|=|$)`).test(patternLine(tag));
  }
  return true;
}

const LOCAL_SCOPES: ReadonlySet<string> = new Set(['function', 'method', 'func', 'member', 'prototype']);

/** The source line of a tag: ctags' search pattern `/^...$/` without delimiters and escapes. */
export function patternLine(tag: CtagsTag): string {
  const p = tag.pattern ?? '';
  const body = p.replace(/^\/\^?/, '').replace(/\$?\/$/, '');
  return body.replace(/\\([\\/$^])/g, '$1');
}

/** Names compared without whitespace: ctags spells C++ operators `operator <<`, tree-sitter `operator<<`. */
export function normalizeName(name: string): string {
  return name.replace(/\s+/g, '');
}

/** Directories holding code that is broken or odd on purpose (parser test inputs). */
export const EXCLUDED_DIRS: ReadonlySet<string> = new Set([
  '.git', 'testdata', 'test_data', 'fixtures', '__fixtures__', 'snapshots', '__snapshots__', 'bad', 'badsyntax',
]);

/** Which files of a tree belong to a language's sample. Extensions as both tools map them
 * (`.tsx` is excluded from TypeScript: ctags' TypeScript parser does not read JSX). C++ takes
 * libstdc++'s extensionless headers (`vector`) and `.tcc` template bodies too. */
export function isSampleFile(language: RecallLanguage, file: string): boolean {
  const base = path.basename(file);
  switch (language) {
    case 'typescript': return /\.(ts|mts|cts)$/.test(base);
    case 'javascript': return /\.(js|mjs|cjs)$/.test(base) && !/\.min\.js$/.test(base);
    case 'python': return /\.py$/.test(base) && !/^bad/.test(base);
    case 'rust': return base.endsWith('.rs');
    case 'go': return base.endsWith('.go');
    case 'java': return base.endsWith('.java') && base !== 'module-info.java' && base !== 'package-info.java';
    case 'cpp':
      if (/\.(cc|cpp|cxx|hh|hpp|hxx|h|tcc|ipp|tpp|inl)$/.test(base)) return true;
      // Extensionless standard headers live under an include/c++ tree.
      return !base.includes('.') && file.includes(`${path.sep}c++${path.sep}`);
  }
}

export interface SampleOptions {
  /** Folders to sample from. Missing folders are ignored (the result says how many files were found). */
  roots: readonly string[];
  /** @default 400 */
  maxFiles?: number;
  /** @default 200_000 */
  maxLines?: number;
  /** Files larger than this are left out of the sample (generated data tables, bundles). @default 512 KiB */
  maxFileBytes?: number;
}

/** A file averaging more bytes per line than this is taken for minified and left out of samples. */
export const MINIFIED_BYTES_PER_LINE = 300;

export interface SampleFile { path: string; lines: number; bytes: Buffer }

/** Deterministic sample of a language's files under the roots. */
export function sampleFiles(language: RecallLanguage, options: SampleOptions): SampleFile[] {
  const maxFiles = options.maxFiles ?? 400;
  const maxLines = options.maxLines ?? 200_000;
  const maxFileBytes = options.maxFileBytes ?? 512 * 1024;
  // Sorted by a hash of the path relative to its root, so every checkout (CI's, a developer's)
  // samples the same files: a hash of the absolute path gave CI a different sample.
  const candidates: { file: string; key: string }[] = [];
  for (const root of options.roots) {
    if (!fs.existsSync(root)) continue;
    const stack = [root];
    while (stack.length > 0) {
      const dir = stack.pop()!;
      let entries: fs.Dirent[];
      try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { continue; }
      for (const e of entries) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) {
          if (!EXCLUDED_DIRS.has(e.name)) stack.push(full);
        } else if (e.isFile() && isSampleFile(language, full)) {
          candidates.push({ file: full, key: createHash('sha1').update(path.relative(root, full)).digest('hex') });
        }
      }
    }
  }
  candidates.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.file < b.file ? -1 : 1));
  const out: SampleFile[] = [];
  let lines = 0;
  for (const { file } of candidates) {
    if (out.length >= maxFiles || lines >= maxLines) break;
    const stat = fs.statSync(file);
    if (stat.size === 0 || stat.size > maxFileBytes) continue;
    const bytes = fs.readFileSync(file);
    if (bytes.subarray(0, 8192).includes(0)) continue; // binary
    let n = 0;
    for (let i = 0; i < bytes.length; i++) if (bytes[i] === 10) n++;
    // Minified bundles (one 300 KB line) say nothing about line-level agreement.
    if (bytes.length / (n + 1) > MINIFIED_BYTES_PER_LINE) continue;
    out.push({ path: file, lines: n, bytes });
    lines += n;
  }
  return out;
}

export interface CtagsTag { name: string; path: string; line: number; kind: string; scope?: string; scopeKind?: string; pattern?: string }

/** Runs Universal Ctags over exactly these files. */
export async function runCtags(language: RecallLanguage, files: readonly string[], ctags = '/usr/bin/ctags'): Promise<CtagsTag[]> {
  if (files.length === 0) return [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'codegraph-recall-'));
  try {
    const list = path.join(dir, 'files');
    fs.writeFileSync(list, files.join('\n') + '\n');
    const { stdout } = await run(ctags, [
      '--output-format=json', '--fields=+nKlzE', '--extras=-{anonymous}', `--language-force=${CTAGS_LANGUAGE[language]}`,
      '-L', list, '-o', '-',
    ], { maxBuffer: 1 << 30 });
    const tags: CtagsTag[] = [];
    for (const line of stdout.split('\n')) {
      if (!line.startsWith('{')) continue;
      const t = JSON.parse(line) as CtagsTag & { _type?: string; extras?: string };
      if (t._type !== 'tag' || (t.extras ?? '').includes('anonymous')) continue;
      tags.push({ name: t.name, path: t.path, line: t.line, kind: t.kind, ...(t.scope ? { scope: t.scope } : {}), ...(t.scopeKind ? { scopeKind: t.scopeKind } : {}), ...(t.pattern ? { pattern: t.pattern } : {}) });
    }
    return tags;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface RecallResult {
  bench: 'recall';
  language: RecallLanguage;
  files: number;
  lines: number;
  ctagsDefs: number;
  found: number;
  recall: number;
  /** ctags kind -> [definitions, found]. */
  byKind: Record<string, [number, number]>;
  /** Files our extractor failed on (timeout, crash), with the error message. */
  extractErrors: number;
  /** Deterministic selection of missed definitions, `path:line kind name`. */
  topMisses: string[];
}

export interface RecallOptions extends SampleOptions {
  language: RecallLanguage;
  /** How many misses to list. @default 15 */
  misses?: number;
  /** Paths in `topMisses` are shown relative to this folder when under it. */
  relativeTo?: string;
}

/** The CodeGraph kind a counted tag stands for: COUNTED_KINDS, except where ctags mislabels. */
export function countedAs(language: RecallLanguage, tag: CtagsTag): string | undefined {
  // ctags 5.9 predates Java records: `record Point(int x, int y) {}` comes out as a method `Point`.
  if (language === 'java' && tag.kind === 'method' && new RegExp(`\\brecord\\s+${escapeRegExp(tag.name)}\\b`).test(patternLine(tag))) return 'class';
  return COUNTED_KINDS[language][tag.kind];
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const CLASS_LIKE: ReadonlySet<string> = new Set(['class', 'interface', 'struct', 'enum', 'trait']);

/** Whether a ctags tag is matched by one of the file's entities (see the header for the rule).
 * `language` closes one loophole: a callable never matches a class-like entity, or a constructor
 * (`Foo` at line 50 of Java's or C++'s `class Foo`, lines 10-200) would be "found" by its class. */
export function matches(tag: CtagsTag, entities: readonly Entity[], language?: RecallLanguage): boolean {
  const mapped = language ? countedAs(language, tag) : undefined;
  const callable = mapped === 'function' || mapped === 'method';
  for (const e of entities) {
    if (e.kind === 'module' || e.kind === 'import') continue;
    if (callable && CLASS_LIKE.has(e.kind)) continue;
    if (normalizeName(e.name) === normalizeName(tag.name) && tag.line >= e.startLine - 3 && tag.line <= e.endLine) return true;
  }
  return false;
}

/** Measures recall of ctags definitions for one language over a sample of real files. */
export async function measureRecall(options: RecallOptions): Promise<RecallResult> {
  const { language } = options;
  const sample = sampleFiles(language, options);
  const tags = (await runCtags(language, sample.map((f) => f.path))).filter((t) => isCountedTag(language, t));
  const byFile = new Map<string, CtagsTag[]>();
  for (const t of tags) {
    let list = byFile.get(t.path);
    if (!list) byFile.set(t.path, (list = []));
    list.push(t);
  }
  const byKind: Record<string, [number, number]> = {};
  const missed: string[] = [];
  let found = 0;
  let extractErrors = 0;
  for (const file of sample) {
    const fileTags = byFile.get(file.path) ?? [];
    let entities: Entity[] = [];
    try {
      entities = (await extract(language satisfies LanguageId, file.bytes)).entities;
    } catch {
      extractErrors++;
    }
    // Index by name: files with thousands of entities make the linear scan quadratic.
    const byName = new Map<string, Entity[]>();
    for (const e of entities) {
      const key = normalizeName(e.name);
      let list = byName.get(key);
      if (!list) byName.set(key, (list = []));
      list.push(e);
    }
    for (const t of fileTags) {
      const k = (byKind[t.kind] ??= [0, 0]);
      k[0]++;
      if (matches(t, byName.get(normalizeName(t.name)) ?? [], language)) {
        found++;
        k[1]++;
      } else {
        const shown = options.relativeTo && file.path.startsWith(options.relativeTo) ? path.relative(options.relativeTo, file.path) : file.path;
        missed.push(`${shown}:${t.line} ${t.kind} ${t.scope ? `${t.scope}.` : ''}${t.name}`);
      }
    }
  }
  return {
    bench: 'recall',
    language,
    files: sample.length,
    lines: sample.reduce((s, f) => s + f.lines, 0),
    ctagsDefs: tags.length,
    found,
    recall: tags.length === 0 ? 0 : Number((found / tags.length).toFixed(4)),
    byKind,
    extractErrors,
    topMisses: spread(missed, options.misses ?? 15),
  };
}

/** `n` items spread evenly over the list (misses cluster by file; this shows several files). */
function spread<T>(items: readonly T[], n: number): T[] {
  if (items.length <= n) return [...items];
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(items[Math.floor((i * items.length) / n)]!);
  return out;
}
