// The data the indexer produces. Everything here is plain, structured-clonable data: it crosses
// worker boundaries, is stored content-addressed per blob, and is what store/ persists.

/** Languages CodeGraph parses. `tsx` and `jsx` use their own grammars/queries. */
export type LanguageId = 'typescript' | 'tsx' | 'javascript' | 'python' | 'rust' | 'go' | 'java' | 'cpp';

export type EntityKind =
  | 'module' // one per file; the root of containment
  | 'namespace' // namespace / package / Rust `mod`
  | 'class'
  | 'interface'
  | 'struct'
  | 'enum'
  | 'trait'
  | 'type' // type alias
  | 'function'
  | 'method'
  | 'constructor'
  | 'variable' // module-level variable
  | 'constant' // module-level constant
  | 'import';

export const ENTITY_KINDS: readonly EntityKind[] = [
  'module', 'namespace', 'class', 'interface', 'struct', 'enum', 'trait', 'type',
  'function', 'method', 'constructor', 'variable', 'constant', 'import',
];

export interface Entity {
  kind: EntityKind;
  /** The declared name; '' for the module entity (consumers show the path). */
  name: string;
  /** Container chain inside the file, e.g. `Parser.parse`; '' for the module entity.
   * Path-independent on purpose: results are cached per blob, and one blob can live at many paths.
   * The user-facing qualified name is `qualify(path, qualifiedName)` = `src/a.ts::Parser.parse`. */
  qualifiedName: string;
  /** Index of the containing entity in `FileExtraction.entities`; -1 for the module entity. */
  parent: number;
  /** 1-based, inclusive. */
  startLine: number;
  endLine: number;
  /** Byte offsets into the UTF-8 blob, end exclusive. */
  startByte: number;
  endByte: number;
  /** Parameters and return type text, whitespace-collapsed; null where the kind has none. */
  signature: string | null;
  /** Doc comment text (comment markers kept, whitespace-collapsed), or null. */
  doc: string | null;
  /** Exported / public at module level (language rules: `export`, `pub`, capitalised Go name, `public`...). */
  exported: boolean;
  /** Hex hash of the entity's tokens with whitespace and comments ignored. */
  bodyHash: string;
}

export type ReferenceKind =
  | 'call'
  | 'import'
  | 'extends' // class/interface/struct inheritance
  | 'implements' // interface implementation, Rust `impl Trait for`
  | 'embeds' // Go struct/interface embedding
  // A type fact of the entity `from` (issue 10): `name` is a type expression (indexer/scope.ts) for
  // what a function or method returns, a module-level variable holds, or (with `qualifier` = the
  // field's name) a class's field holds. Read by call resolution to type receivers.
  | 'type';

export interface Reference {
  kind: ReferenceKind;
  /** The callee / imported name / base type name (last path segment). */
  name: string;
  /** Receiver or qualifier text (`this.x` for `this.x.foo()`, `pkg` for `pkg.Foo`), or null. */
  qualifier: string | null;
  /** 1-based line. */
  line: number;
  /** Index of the innermost enclosing entity (the module entity when at top level). */
  from: number;
  /** For imports: the module specifier (`./a`, `os.path`, `std::io`, `fmt`). */
  module?: string;
  /** For imports: the local alias when the name is renamed (`import { a as b }` -> alias `b`). */
  alias?: string;
  /** For calls: the receiver (`x` of `x.m()`) or the bare callee (`f` of `f()`) is a parameter or
   * local variable of an enclosing function. Its simple type when declared or constructed
   * (`x: Foo`, `x = new Foo()`, Go `func (s *Foo)`), else ''. Absent: not a local binding. */
  binding?: string;
  /** For Java and C++ calls: the number of arguments written (`f(a, b)` -> 2), which picks among
   * overloads. Absent where the syntax shows none (a method reference) and in other languages. */
  args?: number;
}

export interface FileExtraction {
  language: LanguageId;
  entities: Entity[];
  references: Reference[];
  /** Number of ERROR / MISSING nodes tree-sitter recovered from. The file is still indexed. */
  errorCount: number;
  lines: number;
  bytes: number;
  /** Bytes that were not valid UTF-8 and were decoded as U+FFFD. */
  invalidUtf8: number;
}

/** Why a file was not parsed. Every skip is counted by reason and visible to users. */
export type SkipReason =
  | 'binary' // NUL byte in the first 8 KiB
  | 'too_large' // over maxFileBytes
  | 'excluded' // matched an exclude glob (vendored / generated)
  | 'unknown_language'
  | 'parse_timeout' // tree-sitter exceeded the per-file budget
  | 'worker_crash' // the worker died or hung and was replaced
  | 'symlink'
  | 'submodule'
  | 'unsafe_path' // `..`, `.git` or similar path component
  | 'read_error' // the blob could not be read from git
  | 'extract_error'; // the extractor threw on this file (a bug: the detail says what)

export const SKIP_REASONS: readonly SkipReason[] = [
  'binary', 'too_large', 'excluded', 'unknown_language', 'parse_timeout', 'worker_crash',
  'symlink', 'submodule', 'unsafe_path', 'read_error', 'extract_error',
];

/** The version of the extraction rules. Bump when queries or extraction logic change: results are
 * cached per (blob sha, language, EXTRACTOR_VERSION), so a bump re-parses every blob once. */
export const EXTRACTOR_VERSION = 12;

/** The user-facing qualified name of an entity found at `path`: `src/a.ts::Parser.parse`, or the
 * path itself for the module entity. */
export function qualify(path: string, localQualifiedName: string): string {
  return localQualifiedName === '' ? path : `${path}::${localQualifiedName}`;
}
