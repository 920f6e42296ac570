// Per-language facts the generic extractor needs beyond the query files: which grammar, which file
// names, which node types are comments or wrappers, and the language's rule for "exported".
// The queries themselves are data: indexer/languages/<dir>/tags.scm.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Node } from 'web-tree-sitter';
import type { EntityKind, LanguageId } from '../types.ts';
import { neutralizeMacros } from './cpp/macros.ts';

export interface ExportContext {
  /** The definition node. */
  node: Node;
  /** The definition node and the wrapper nodes around it, innermost first. */
  outer: Node[];
  kind: EntityKind;
  name: string;
  /** Kind of the containing entity ('module' at top level). */
  parentKind: EntityKind;
  /** The text of the whole file, for rules that look at siblings (C++ access labels). */
  source: string;
}

export interface LanguageSpec {
  id: LanguageId;
  /** Grammar wasm, as a package-relative module path. */
  wasm: string;
  /** Folder under indexer/languages holding tags.scm. */
  queryDir: string;
  /** Node types that wrap a definition and carry its leading comments (export, decorators). */
  wrapperTypes: ReadonlySet<string>;
  /** Python: indentation is syntax, so body hashes keep line structure. */
  lineSensitive: boolean;
  exported(ctx: ExportContext): boolean;
  /** Names that make a method a constructor in this language. */
  constructorNames?: ReadonlySet<string>;
  /** Node types that precede a definition as siblings and belong to it (Rust `#[derive(...)]`): its
   * doc comment is looked up above them. */
  attachedSiblingTypes?: ReadonlySet<string>;
  /** Joins several `@module` captures of one import into a path (Rust `::`). @default '.' */
  pathSeparator?: string;
  /** Keep `constant` definitions inside class-like entities (Java `static final` fields, enum
   * constants): in languages without module-level variables they are the constants. Variables and
   * other members stay out. @default false */
  memberConstants?: boolean;
  /** Node types that open a local scope (anonymous functions, closures, lambdas): a variable or
   * constant below one is a local, even when no named entity encloses it (`test(() => { const x })`).
   * @default none */
  localScopeTypes?: ReadonlySet<string>;
  /** Rewrites the text the parser sees (C++: macro invocations the grammar cannot parse become
   * spaces). Must preserve the length and every line break, so that every index, line and column of
   * the parse is one of the original file: names, signatures, docs and body hashes are still read
   * from the original text. @default none */
  preprocess?: (source: string) => string;
}

const JS_LOCAL_SCOPES = new Set(['arrow_function', 'function_expression', 'function', 'generator_function', 'function_declaration',
  'generator_function_declaration', 'method_definition', 'class_static_block']);


const childText = (node: Node, type: string): string | null => {
  for (const child of node.children) if (child && child.type === type) return child.text;
  return null;
};

const memberOf = (kind: EntityKind): boolean =>
  kind === 'class' || kind === 'interface' || kind === 'struct' || kind === 'enum' || kind === 'trait';

/** CommonJS: `module.exports = ...`, `module.exports.x = ...`, `exports.x = ...`. */
const CJS_EXPORT_TARGET = /^(?:module\s*\.\s*exports|exports\s*\.)/;

function isCommonJsExport(node: Node): boolean {
  return node.type === 'assignment_expression' && CJS_EXPORT_TARGET.test(node.childForFieldName('left')?.text ?? '');
}

function jsExported(ctx: ExportContext): boolean {
  if (ctx.parentKind === 'module' || ctx.parentKind === 'namespace') {
    if (ctx.outer.some((n) => n.type === 'export_statement' || isCommonJsExport(n))) return true;
    // Members of an object literal exported whole: `module.exports = { parse() {}, run: () => {} }`.
    if (ctx.node.type === 'pair' || ctx.node.type === 'method_definition') {
      const object = ctx.node.parent;
      return object !== null && object.type === 'object' && object.parent !== null && isCommonJsExport(object.parent);
    }
    return false;
  }
  if (memberOf(ctx.parentKind)) {
    if (ctx.name.startsWith('#')) return false;
    const modifier = childText(ctx.node, 'accessibility_modifier');
    return modifier !== 'private' && modifier !== 'protected';
  }
  return false;
}

// `expression_statement` and `assignment_expression` wrap CommonJS and prototype assignments
// (`exports.f = function () {}`, `module.exports = class A {}`): they carry the doc comment and
// tell the export rule about `module.exports`.
const JS_WRAPPERS = new Set([
  'export_statement', 'lexical_declaration', 'variable_declaration', 'ambient_declaration', 'decorator',
  'expression_statement', 'assignment_expression',
]);

const PY_WRAPPERS = new Set(['decorated_definition', 'expression_statement']);

/** PEP 8: a leading underscore marks a name internal; dunder methods are public protocol. Names
 * local to a function are never visible; imports are bindings, not definitions of the module. */
function pyExported(ctx: ExportContext): boolean {
  if (ctx.kind === 'import') return false;
  if (ctx.parentKind === 'function' || ctx.parentKind === 'method' || ctx.parentKind === 'constructor') return false;
  return !ctx.name.startsWith('_') || (ctx.name.startsWith('__') && ctx.name.endsWith('__'));
}

const RUST_WRAPPERS = new Set<string>();

/** Rust: bare `pub` is the public API (`pub(crate)`, `pub(super)` are crate-internal); trait items
 * and the items of `impl Trait for T` are as public as the trait; `macro_rules!` by
 * `#[macro_export]`. */
function rustExported(ctx: ExportContext): boolean {
  const { node } = ctx;
  if (node.type === 'macro_definition') {
    for (let prev = node.previousNamedSibling; prev && (prev.type === 'attribute_item' || prev.type.endsWith('comment')); prev = prev.previousNamedSibling) {
      if (prev.type === 'attribute_item' && /^#\[\s*macro_export\b/.test(prev.text)) return true;
    }
    return false;
  }
  for (const child of node.children) {
    if (child && child.type === 'visibility_modifier') return child.text === 'pub';
  }
  if (ctx.parentKind === 'trait') return true;
  const owner = node.parent?.parent;
  return owner !== null && owner !== undefined && owner.type === 'impl_item' && owner.childForFieldName('trait') !== null;
}
// Specs carry the doc of the names they declare; the innermost wrapper with a comment above wins, so a
// member of a `const ( ... )` group has its own doc, else the group's.
const GO_WRAPPERS = new Set(['const_declaration', 'var_declaration', 'type_declaration', 'const_spec', 'var_spec', 'var_spec_list']);

/** Go: a capitalised name is exported; the package clause is always visible, imports never are. */
function goExported(ctx: ExportContext): boolean {
  if (ctx.kind === 'namespace') return true;
  if (ctx.kind === 'import') return false;
  return /^\p{Lu}/u.test(ctx.name);
}
// Constants are captured on their `variable_declarator`; the declaration carries modifiers and doc.
const JAVA_WRAPPERS = new Set(['field_declaration', 'constant_declaration']);
const CPP_WRAPPERS = new Set(['template_declaration', 'declaration', 'field_declaration', 'linkage_specification']);

/** Java: `public`; interface and annotation members are implicitly public unless `private` (Java 9);
 * enum constants and the package are always visible. Modifiers sit on the declaration, which is the
 * outermost node for constants captured on their declarator. */
function javaExported(ctx: ExportContext): boolean {
  if (ctx.kind === 'namespace') return true;
  if (ctx.node.type === 'enum_constant') return true;
  const decl = ctx.outer[ctx.outer.length - 1] ?? ctx.node;
  const modifiers = childText(decl, 'modifiers') ?? '';
  if (ctx.parentKind === 'interface') return !/\bprivate\b/.test(modifiers);
  return /\bpublic\b/.test(modifiers);
}

/** C++: members are public in structs and after `public:` labels; private in classes by default. */
function cppMemberVisibility(ctx: ExportContext): boolean {
  let member: Node = ctx.node;
  for (const n of ctx.outer) member = n;
  const list = member.parent;
  if (!list || list.type !== 'field_declaration_list') return false;
  const owner = list.parent;
  let access = owner && owner.type === 'class_specifier' ? 'private' : 'public';
  for (const child of list.children) {
    if (!child) continue;
    if (child.startIndex >= member.startIndex) break;
    if (child.type === 'access_specifier') access = child.text.replace(/:$/, '').trim();
  }
  return access === 'public';
}

export const LANGUAGE_SPECS: Record<LanguageId, LanguageSpec> = {
  typescript: {
    id: 'typescript', localScopeTypes: JS_LOCAL_SCOPES, wasm: 'tree-sitter-typescript/tree-sitter-typescript.wasm', queryDir: 'typescript',
    wrapperTypes: JS_WRAPPERS, lineSensitive: false, exported: jsExported,
    constructorNames: new Set(['constructor']),
  },
  tsx: {
    id: 'tsx', localScopeTypes: JS_LOCAL_SCOPES, wasm: 'tree-sitter-typescript/tree-sitter-tsx.wasm', queryDir: 'tsx',
    wrapperTypes: JS_WRAPPERS, lineSensitive: false, exported: jsExported,
    constructorNames: new Set(['constructor']),
  },
  javascript: {
    id: 'javascript', localScopeTypes: JS_LOCAL_SCOPES, wasm: 'tree-sitter-javascript/tree-sitter-javascript.wasm', queryDir: 'javascript',
    wrapperTypes: JS_WRAPPERS, lineSensitive: false, exported: jsExported,
    constructorNames: new Set(['constructor']),
  },
  python: {
    id: 'python', localScopeTypes: new Set(['function_definition', 'lambda']), wasm: 'tree-sitter-python/tree-sitter-python.wasm', queryDir: 'python',
    wrapperTypes: PY_WRAPPERS, lineSensitive: true,
    exported: pyExported,
    constructorNames: new Set(['__init__', '__new__']),
  },
  rust: {
    id: 'rust', localScopeTypes: new Set(['function_item', 'closure_expression']), wasm: 'tree-sitter-rust/tree-sitter-rust.wasm', queryDir: 'rust',
    wrapperTypes: RUST_WRAPPERS, lineSensitive: false, exported: rustExported,
    attachedSiblingTypes: new Set(['attribute_item']), pathSeparator: '::', memberConstants: true,
  },
  go: {
    id: 'go', localScopeTypes: new Set(['function_declaration', 'method_declaration', 'func_literal']), wasm: 'tree-sitter-go/tree-sitter-go.wasm', queryDir: 'go',
    wrapperTypes: GO_WRAPPERS, lineSensitive: false, exported: goExported,
  },
  java: {
    id: 'java', localScopeTypes: new Set(['method_declaration', 'constructor_declaration', 'lambda_expression']), wasm: 'tree-sitter-java/tree-sitter-java.wasm', queryDir: 'java',
    wrapperTypes: JAVA_WRAPPERS, lineSensitive: false, memberConstants: true,
    exported: javaExported,
  },
  cpp: {
    id: 'cpp', localScopeTypes: new Set(['function_definition', 'lambda_expression']), wasm: 'tree-sitter-cpp/tree-sitter-cpp.wasm', queryDir: 'cpp',
    wrapperTypes: CPP_WRAPPERS, lineSensitive: false, memberConstants: true, preprocess: neutralizeMacros,
    exported: (ctx) => {
      if (ctx.kind === 'import') return false;
      if (ctx.parentKind === 'enum') return true; // enumerators are as visible as their enum
      if (memberOf(ctx.parentKind)) return cppMemberVisibility(ctx);
      if (ctx.parentKind !== 'module' && ctx.parentKind !== 'namespace') return false;
      // `static` at namespace scope means internal linkage, and so does an anonymous namespace.
      if (ctx.outer.some((n) => n.type === 'declaration' || n.type === 'function_definition'
        ? n.children.some((c) => c?.type === 'storage_class_specifier' && c.text === 'static')
        : false)) return false;
      for (let up = ctx.node.parent; up; up = up.parent) {
        if (up.type === 'namespace_definition' && !up.childForFieldName('name')) return false;
      }
      return true;
    },
  },
};

const EXTENSIONS: Array<[string, LanguageId]> = [
  ['.d.ts', 'typescript'], ['.ts', 'typescript'], ['.mts', 'typescript'], ['.cts', 'typescript'],
  ['.tsx', 'tsx'],
  ['.js', 'javascript'], ['.mjs', 'javascript'], ['.cjs', 'javascript'], ['.jsx', 'javascript'],
  ['.py', 'python'], ['.pyi', 'python'],
  ['.rs', 'rust'],
  ['.go', 'go'],
  ['.java', 'java'],
  ['.cc', 'cpp'], ['.cpp', 'cpp'], ['.cxx', 'cpp'], ['.c++', 'cpp'], ['.hh', 'cpp'], ['.hpp', 'cpp'],
  ['.hxx', 'cpp'], ['.h++', 'cpp'], ['.h', 'cpp'], ['.ipp', 'cpp'], ['.tpp', 'cpp'], ['.inl', 'cpp'],
];

/** The language of a file by its name, or null when CodeGraph does not parse it. `.h` is parsed as
 * C++ (the C++ grammar accepts C headers). */
export function detectLanguage(filePath: string): LanguageId | null {
  const lower = filePath.toLowerCase();
  for (const [ext, id] of EXTENSIONS) if (lower.endsWith(ext)) return id;
  return null;
}

const require = createRequire(import.meta.url);
const HERE = path.dirname(fileURLToPath(import.meta.url));

export function grammarPath(spec: LanguageSpec): string {
  return require.resolve(spec.wasm);
}

function queryPath(spec: LanguageSpec): string {
  return path.join(HERE, spec.queryDir, 'tags.scm');
}

const INCLUDE = /^;[ \t]*@include[ \t]+(\S+)[ \t]*$/gm;

/** The text of a language's query: its tags.scm with each `; @include <relative path>` line replaced
 * by that file's text (includes nest; a file included twice on one chain is an error). Shared
 * patterns live once: `ecmascript/references.scm` serves JavaScript, TypeScript and TSX. */
export function querySource(spec: LanguageSpec): string {
  const expand = (file: string, chain: readonly string[]): string => {
    if (chain.includes(file)) throw new Error(`query include cycle: ${[...chain, file].map((f) => path.relative(HERE, f)).join(' -> ')}`);
    const text = fs.readFileSync(file, 'utf8');
    return text.replace(INCLUDE, (_line, rel: string) => expand(path.resolve(path.dirname(file), rel), [...chain, file]));
  };
  return expand(queryPath(spec), []);
}
