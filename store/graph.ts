// Call and import resolution at a commit (internal to store/).
//
// A call reference carries its callee name, its receiver text (`qualifier`), and the local binding of
// the receiver or bare callee recorded at extraction (indexer/scope.ts). Resolution uses them, per
// receiver form (issue 10), as a compiler-less best effort:
//   - `f()`: a parameter or local `f` shadows every definition (links only to a function defined
//     inside the caller's enclosing functions); else the lexically enclosing definitions of the file,
//     then the file's imports (re-exports followed), then the same directory, then the unique
//     definition anywhere. Methods are no bare-call targets, except through Java/C++ implicit `this`.
//   - `this.m()` / `self.m()`: the enclosing class, then its ancestors (`extends`, `implements`,
//     `embeds` references), first hit wins: the static target, not the overrides. `super.m()`,
//     `super().m()`, `super(...)`: the ancestors only.
//   - `x.m()` with `x` a local of known type (`x: Foo`, `new Foo()`, Go receivers): `Foo.m` up Foo's
//     ancestors. A receiver the extractor could only describe (`makeStore()`, `this.#client.
//     getQueryCache()`, a callback parameter `operate(0:1)`, `x as Foo`) is a type expression,
//     evaluated here over the `type` facts of the whole tree (declared or single-expression return
//     types, field types, module-level variables, callback parameter types; `typesOf`). A receiver
//     whose type stays unknown falls back to the rule for other receivers below. `ns.f()` with `ns` a namespace import / Python module alias / Go package: that
//     module's definitions (re-exports followed). `Foo.m()` with `Foo` a visible class, namespace or
//     object: its member.
//   - Any other receiver: a name a built-in type also has (`get`, `push`, `then`...) never links;
//     another links only when one definition remains once overrides are set aside.
// `new X()` and `super(...)` land on the constructor: X's own, else (JS/TS, Python) the one X
// inherits, else the class. Where several types share a simple name, the one the caller's file sees
// (same file, imported, same directory or package) is taken. A bare name the file defines or
// imports as a value or type of its own never falls back to another file's same-name function. A
// call is credited to the innermost entity around it only.
//
// Each edge says how it was resolved (`Via`): `exact` (lexical scope, `this`/`super`, same-file
// class), `import` (through an import), `receiver_type` (a typed local), `name_only` (same
// directory, unique name). Resolution runs at query time over the stored references, so a changed
// callee elsewhere re-resolves old callers without re-indexing them.
import { posix } from 'node:path';
import { EXTRACTOR_VERSION, qualify } from '../indexer/types.ts';
import { chainParams, treeSql, type Chain } from './chain.ts';
import type { Queryable } from './db.ts';
import { StoreError } from './errors.ts';
import { isTypeSpaceKind, parseEntityId, type CallEdge, type EntityRef, type ResolutionStats } from './types.ts';

export interface Def {
  path: string;
  extractionId: number;
  idx: number;
  parentIdx: number;
  kind: string;
  name: string;
  qname: string;
  startLine: number;
  endLine: number;
}

export type Via = CallEdge['via'];

/** Confidence order of `Via`, lowest first: a minimum confidence keeps this one and the later ones. */
export const VIA_ORDER: readonly Via[] = ['name_only', 'receiver_type', 'import', 'exact'];

/** Why a call resolved to nothing. */
export type Unresolved = 'local' | 'builtin' | 'external' | 'ambiguous' | 'none';

/** The extractor version whose call references carry bindings (migrations/0004_call_bindings.sql). */
export const CALL_BINDINGS_SINCE = 4;

const CLASS_LIKE = new Set(['class', 'struct', 'interface', 'trait', 'enum']);
/** How many alias-of-alias steps `callersOf` follows (`a` re-exported as `b`, imported as `c`). */
export const MAX_ALIAS_STEPS = 3;
const CALLABLE = new Set(['function', 'method', 'constructor']);
/** Containers whose members a qualified call can name. */
const CONTAINER = new Set([...CLASS_LIKE, 'namespace', 'constant', 'variable', 'type']);
/** Kinds a bare call can land on. */
const BARE_TARGET = new Set(['function', 'class', 'struct', 'constructor']);
const SELF = new Set(['this', 'self', 'cls']);
/** A binding that is one type name (`x: Foo`), not a type expression to evaluate. */
const PLAIN_TYPE = /^[A-Za-z_$][\w$]*$/;
/** Type expressions are evaluated this many steps deep (return types of return types...), and
 * denote at most this many types: a guess that stays cheap and narrow. */
const MAX_TYPE_DEPTH = 6;
const MAX_TYPES = 4;
/** `f(i:k)` in a type expression: parameter k of the callback passed as argument i of `f`. */
const CALLBACK_PARAM = /^([\w$]+)\((\d+:\d+)\)$/;
const SUPER = new Set(['super', 'super()']);
/** Method names built-in types (JS/TS, Python, Go, Java, Rust, C++ standard libraries) also have: on
 * a receiver of unknown type they say nothing about the target, so they never link by name alone. */
const BUILTIN_METHODS = new Set([
  'get', 'set', 'has', 'delete', 'add', 'clear', 'push', 'pop', 'shift', 'unshift', 'slice', 'splice', 'map', 'filter', 'reduce',
  'reduceRight', 'forEach', 'find', 'findIndex', 'some', 'every', 'includes', 'indexOf', 'lastIndexOf', 'join', 'concat', 'keys',
  'values', 'entries', 'then', 'catch', 'finally', 'resolve', 'reject', 'all', 'allSettled', 'race', 'any', 'toString', 'valueOf',
  'call', 'apply', 'bind', 'next', 'return', 'throw', 'emit', 'on', 'off', 'once', 'addEventListener', 'removeEventListener', 'sort',
  'reverse', 'fill', 'flat', 'flatMap', 'at', 'replace', 'split', 'trim', 'startsWith', 'endsWith', 'toLowerCase', 'toUpperCase',
  'match', 'test', 'exec', 'assign', 'create', 'freeze', 'from', 'of', 'isArray', 'stringify', 'parse', 'log', 'error', 'warn',
  'info', 'debug', 'append', 'extend', 'insert', 'remove', 'update', 'copy', 'items', 'format', 'write', 'read', 'close', 'open',
  'len', 'iter', 'clone', 'unwrap', 'expect', 'collect', 'size', 'length', 'equals', 'hashCode', 'compareTo', 'begin', 'end',
  'emplace_back', 'push_back', 'pop_back', 'front', 'back', 'empty', 'erase', 'substr', 'c_str', 'data', 'String', 'Error',
  'toJSON', 'hasOwnProperty', 'getOwnPropertyNames', 'defineProperty', 'setTimeout', 'clearTimeout', 'abort', 'subscribe',
  'unsubscribe', 'dispatch', 'send', 'handle', 'run', 'start', 'stop', 'wait', 'lock', 'unlock', 'Lock', 'Unlock',
]);

export interface EntityRow { idx: number; parent_idx: number; kind: string; name: string; qname: string; start_line: number; end_line: number }
export interface RefRow {
  kind: string; name: string; qualifier: string | null; line: number; from_idx: number; module: string | null; alias: string | null; binding: string | null;
  /** Java / C++ calls: the argument count (migrations/0013_call_arity.sql); null when unknown. */
  args: number | null;
}
/** One extraction as the resolver reads it: entities in idx order (`entities[idx]`), calls in
 * `callOrder`, imports and type facts in the extraction's order; `bases` (extends / implements /
 * embeds references) only when the tree is held in memory (`TreeMemory`). */
export interface FileData { entities: EntityRow[]; calls: RefRow[]; imports: RefRow[]; types: RefRow[]; language: string; bases?: RefRow[] }

/** The order of a file's calls (its `k`s): by line, then name, else the extraction's order. */
export const callOrder = (a: RefRow, b: RefRow): number => a.line - b.line || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * A tree held in memory (the hot store's tip, store/hot): what the resolver would otherwise read
 * from the database, without a round trip per file. Calls are only asked of the files being
 * resolved (`resolveFile`), which the holder loads in batches beforehand.
 */
export interface TreeMemory {
  /** The extraction `x` without its calls. */
  file(x: number): FileData;
  /** The calls of `x` (callOrder), when loaded. */
  calls(x: number): RefRow[] | undefined;
  /** Definitions named `name` (not module or import), sorted by (path, idx). */
  defsNamed(name: string): Def[];
  /** Base-type names of each class-like name, as `Resolver.bases` reads them from the database. */
  bases(): Promise<Map<string, string[]>>;
}

/** One call of the tree as the resolver sees it. */
export interface CallSite { path: string; extractionId: number; ref: RefRow }

export type Resolution = { targets: Def[]; via: Via } | { targets: []; via: null; why: Unresolved };

/** An entity of the tree by its path and its index in the file's extraction. */
export interface EntityAt {
  path: string;
  idx: number;
}

/** What resolving one file's references read of the rest of the tree, as dependency keys (`DEP`;
 * the value each file gives a key is `fileDeps`), and the import specifiers it resolved against
 * the set of paths (`fromPath\0module`; `specMayName` says whether an added or removed path can
 * change their answer). Reads of the file's own content are not recorded: a changed file is
 * resolved again anyway. The hot store (store/hot) re-resolves a file after an edit elsewhere only
 * when a key it recorded has a new value, or a path it could import came or went. */
export interface ResolveTrace {
  keys: Set<string>;
  specs: Set<string>;
}

/**
 * Dependency keys: one per thing resolution reads of another file, fine enough that adding or
 * editing one function changes only the keys of its own name (and, when it shifts entity indexes,
 * those of the entities after it). `fileDeps` gives each key's value in one file; a key's value
 * in the tree is the set of its files' values.
 */
export const DEP = {
  /** Definitions named n anywhere (defsNamed): their idx, parent, kind, qname, parent kind, language. */
  name: (n: string): string => `n\0${n}`,
  /** The entities of `path` named n (exports, members, lexical scope of another file). */
  ents: (path: string, n: string): string => `e\0${path}\0${n}`,
  /** The imports of `path` (re-exports followed, visibility from another file). */
  imports: (path: string): string => `i\0${path}`,
  /** The type facts of entity idx of `path`. */
  types: (path: string, idx: number): string => `t\0${path}\0${idx}`,
  /** The constructors among the children of entity idx of `path`. */
  ctors: (path: string, idx: number): string => `c\0${path}\0${idx}`,
  /** The chain of entities enclosing entity idx of `path` (scope, enclosing type). */
  scope: (path: string, idx: number): string => `a\0${path}\0${idx}`,
  /** The language of `path`. */
  lang: (path: string): string => `l\0${path}`,
  /** The base types of the class-like name n. */
  bases: (n: string): string => `b\0${n}`,
} as const;

/** An ECMAScript source file's path (TypeScript or JavaScript, any module flavour). */
const ECMA_FILE = /\.[cm]?[jt]sx?$/;

/** The value `path` (holding `f`) gives each dependency key (DEP) it contributes to. Two versions
 * of a file differ on a key exactly when a resolution reading that key may see a difference. */
export function fileDeps(path: string, f: FileData): Map<string, string> {
  const out = new Map<string, string>();
  const push = (m: Map<string, unknown[]>, k: string, v: unknown): void => {
    const l = m.get(k);
    if (l) l.push(v);
    else m.set(k, [v]);
  };
  const lists = new Map<string, unknown[]>();
  for (const e of f.entities) {
    const parent = f.entities[e.parent_idx];
    if (e.kind !== 'module' && e.kind !== 'import') push(lists, DEP.name(e.name), [path, e.idx, e.parent_idx, e.kind, e.qname, parent?.kind ?? null]);
    push(lists, DEP.ents(path, e.name), [e.idx, e.parent_idx, e.kind, e.qname]);
    if (e.kind === 'constructor' && parent) push(lists, DEP.ctors(path, e.parent_idx), e.idx);
    const chain: unknown[] = [];
    for (let i = e.idx; i >= 0 && chain.length < 256; i = f.entities[i]?.parent_idx ?? -1) {
      const a = f.entities[i];
      chain.push(a ? [i, a.kind, a.name, a.qname] : [i]);
    }
    out.set(DEP.scope(path, e.idx), JSON.stringify(chain));
  }
  for (const t of f.types) push(lists, DEP.types(path, t.from_idx), [t.name, t.qualifier]);
  for (const r of f.bases ?? []) {
    const owner = f.entities[r.from_idx];
    if (r.kind !== 'extends' && r.kind !== 'implements' && r.kind !== 'embeds') continue;
    if (owner && CLASS_LIKE.has(owner.kind) && owner.name !== r.name) push(lists, DEP.bases(owner.name), r.name);
  }
  for (const [k, v] of lists) out.set(k, JSON.stringify(k.startsWith('n\0') ? [f.language, v] : k.startsWith('b\0') ? [...new Set(v as string[])].sort() : v));
  out.set(DEP.imports(path), JSON.stringify(f.imports.map((r) => [r.name, r.module, r.alias])));
  out.set(DEP.lang(path), f.language);
  return out;
}

/** Can the path `candidate`, added to or removed from the tree, change which files the import
 * specifier `module` written in `fromPath` names (Resolver.filesOf)? */
export function specMayName(fromPath: string, module: string, candidate: string): boolean {
  if (importNames(module, fromPath, candidate)) return true;
  // Go's fallback: the longest tail of the import path that is a directory of the tree.
  if (!module.includes('/') || module.startsWith('.') || ECMA_FILE.test(fromPath)) return false;
  const dir = posix.dirname(candidate);
  const segs = module.split('/');
  for (let k = segs.length - 1; k >= 1; k--) {
    const tailDir = segs.slice(segs.length - k).join('/');
    if (dir === tailDir || dir.endsWith(`/${tailDir}`)) return true;
  }
  return false;
}

/** One file's outgoing graph (Resolver.resolveFile): resolved calls in the file's call order
 * (`k`: position of the call among the file's calls), and `extends` edges. */
export interface FileEdges {
  calls: Array<{ k: number; fromIdx: number; line: number; name: string; via: Via; to: EntityAt[] }>;
  inherits: Array<{ fromIdx: number; line: number; to: EntityAt[] }>;
  trace: ResolveTrace;
}

/** The resolved graph of a whole tree (hot/tree.ts resolveTree): every resolved call and `extends`
 * edge, plus file-to-file imports, for global queries (search ranking, PageRank, paths, cycles). */
export interface ResolvedGraph {
  calls: Array<{ from: EntityAt; to: EntityAt; line: number; via: Via }>;
  inherits: Array<{ from: EntityAt; to: EntityAt; line: number }>;
  imports: Array<{ from: string; to: string }>;
}

const keyOf = (d: { path: string; idx: number }): string => `${d.path}\0${d.idx}`;
/** Languages whose files call each other's definitions. */
const familyOf = (language: string): string => (language === 'typescript' || language === 'tsx' || language === 'javascript' ? 'ecmascript' : language);
/** The container segment of a qualified name: `Foo` for `a.Foo.m`, '' for a top-level name. */
const containerOf = (qn: string): string => {
  const j = qn.lastIndexOf('.');
  return j < 0 ? '' : qn.slice(qn.lastIndexOf('.', j - 1) + 1, j);
};

export function defRef(d: Def): EntityRef {
  return { kind: d.kind as EntityRef['kind'], name: d.name, qualifiedName: qualify(d.path, d.qname), path: d.path, startLine: d.startLine, endLine: d.endLine };
}

/** Where a package of the tree keeps the file its bare name (`''`) or a sub-path names: without a
 * package.json `exports` map, the conventional `index`, `src/index`, `lib/index` and the sub-path
 * itself, under `src/` or `lib/`. */
const entryForms = (sub: string): string[] => (sub === '' ? ['index', 'src/index', 'lib/index']
  : [sub, `${sub}/index`, `src/${sub}`, `src/${sub}/index`, `lib/${sub}`, `lib/${sub}/index`]);

const SOURCE_ROOT = /(^|\/)(src|lib|app|source)$/;
/** Does the bare specifier `spec` of an ECMAScript file name a file (the matcher is given its path
 * without extension)? Two readings: a path from a source root (`baseUrl`, `paths` like `@/x` or `~/x`), as
 * `components/Button` names `src/components/Button`; and a package of the tree, a monorepo's
 * `@scope/util/math` naming `packages/util/src/math` (the folder named like the package, scope
 * dropped; package.json is not read, so a package whose folder is named otherwise is not found).
 * Unlike Python modules, a bare name never names every file of a directory (`react` is not the
 * tree's `hooks/react/` folder). */
function bareEcmaMatcher(spec: string): (noExt: string) => boolean {
  const aliased = /^[@~]\//.test(spec);
  const clean = (aliased ? spec.slice(2) : spec).replace(/\.[cm]?[jt]sx?$/, '').replace(/\/+$/, '');
  if (clean === '') return () => false;
  const own = [clean, `${clean}/index`].map((form) => ({ form, suffix: `/${form}` }));
  // Under a source root: any folder for a path (`components/Button`), a conventional root folder
  // for a single name (`utils` is `src/utils`, but `react` is not `hooks/react`).
  const anyFolder = clean.includes('/');
  const ownForm = (noExt: string): boolean => own.some(({ form, suffix }) => noExt === form
    || (noExt.endsWith(suffix) && (anyFolder || SOURCE_ROOT.test(noExt.slice(0, -suffix.length)))));
  if (aliased) return ownForm;
  const segs = clean.split('/');
  const scoped = clean.startsWith('@');
  const pkg = segs[scoped ? 1 : 0];
  if (!pkg) return ownForm;
  const forms = entryForms(segs.slice(scoped ? 2 : 1).join('/'));
  const marker = `${pkg}/`;
  const folder = `/${marker}`;
  return (noExt) => {
    if (ownForm(noExt)) return true;
    // Each folder of the path named like the package (`at`: where its name starts).
    const next = (from: number): number => { const i = noExt.indexOf(folder, from); return i < 0 ? -1 : i + 1; };
    for (let at = noExt.startsWith(marker) ? 0 : next(0); at >= 0; at = next(at)) {
      if (forms.includes(noExt.slice(at + marker.length))) return true;
    }
    return false;
  };
}

/** The parameter counts an overload named with its parameter types takes (`f(int,String...)`:
 * 1 or more): null for a name without them. Java counts exactly; C++ parameters may have defaults,
 * which the name leaves out, so any count up to the parameters' is taken. */
function parameterCounts(d: Def): [number, number] | null {
  const qn = d.qname;
  if (!qn.endsWith(')')) return null;
  let depth = 0;
  let open = -1;
  for (let i = qn.length - 1; i >= 0; i--) {
    const c = qn[i];
    if (c === ')') depth++;
    else if (c === '(' && --depth === 0) { open = i; break; }
  }
  if (open <= 0 || qn[open - 1] === '.') return null;
  const inner = qn.slice(open + 1, -1);
  const params: string[] = [];
  let level = 0;
  let start = 0;
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i];
    if (c === '<' || c === '(' || c === '[' || c === '{') level++;
    else if (c === '>' || c === ')' || c === ']' || c === '}') level--;
    else if (c === ',' && level === 0) { params.push(inner.slice(start, i)); start = i + 1; }
  }
  if (inner.trim() !== '') params.push(inner.slice(start));
  if (params.length === 1 && params[0]!.trim() === 'void') params.pop();
  const n = params.length;
  const variadic = n > 0 && params[n - 1]!.trim().endsWith('...');
  if (d.path.endsWith('.java')) return variadic ? [n - 1, Infinity] : [n, n];
  return [0, variadic ? Infinity : n];
}

/** Of several targets, those whose parameter count takes `args` arguments, when any does. */
function byArity(targets: Def[], args: number | null): Def[] {
  if (args === null || targets.length < 2) return targets;
  const fits = targets.filter((t) => {
    const range = parameterCounts(t);
    return range === null || (args >= range[0] && args <= range[1]);
  });
  return fits.length > 0 ? fits : targets;
}

/** A path without its extension, as import specifiers name files. */
const stripExt = (path: string): string => path.replace(/\.[^./]+$/, '');

/** Does import specifier `spec`, written in `fromPath`, name a file? The test of one candidate (its
 * path and `stripExt` of it), with what depends on the specifier computed once: filesOf asks it of
 * every path of the tree, for every specifier of every file. */
function importMatcher(spec: string, fromPath: string): (candidate: string, noExt: string) => boolean {
  if (spec.startsWith('./') || spec.startsWith('../')) {
    const target = posix.normalize(posix.join(posix.dirname(fromPath), spec)).replace(/\.[cm]?[jt]sx?$/, '');
    const index = `${target}/index`;
    return (_, noExt) => noExt === target || noExt === index;
  }
  if (ECMA_FILE.test(fromPath) && !spec.startsWith('.')) {
    const bare = bareEcmaMatcher(spec);
    return (_, noExt) => bare(noExt);
  }
  let s = spec;
  let dir = '';
  const dots = /^\.+/.exec(s)?.[0].length ?? 0;
  if (dots > 0) {
    // Python relative import: one dot = this package, each further dot one level up.
    dir = posix.dirname(fromPath);
    for (let i = 1; i < dots; i++) dir = posix.dirname(dir);
    s = s.slice(dots);
  }
  const rel = s.replace(/::/g, '/').replace(/\./g, '/').replace(/^crate\//, '');
  const target = dir === '' || dir === '.' ? rel : rel === '' ? dir : `${dir}/${rel}`;
  if (target === '') return () => false;
  const suffix = `/${target}`;
  const init = `${target}/__init__`;
  const initSuffix = `/${init}`;
  return (candidate, noExt) => {
    if (noExt === target || noExt.endsWith(suffix) || noExt === init || noExt.endsWith(initSuffix)) return true;
    const d = posix.dirname(candidate);
    return d === target || d.endsWith(suffix);
  };
}

/** Does import specifier `spec`, written in `fromPath`, name the file `candidate`? */
function importNames(spec: string, fromPath: string, candidate: string): boolean {
  return importMatcher(spec, fromPath)(candidate, stripExt(candidate));
}

export class Resolver {
  private pathsByExtraction = new Map<number, string[]>();
  private extractionByPath = new Map<string, number>();
  private versionByExtraction = new Map<number, number>();
  private files = new Map<number, Promise<FileData>>();
  private defsCache = new Map<string, Def[]>();
  private importTargets = new Map<string, string[]>();
  private basesCache: Promise<Map<string, string[]>> | null = null;
  private sortedPaths: string[] | null = null;
  /** `stripExt` of each of `sortedPaths`. */
  private sortedStems: string[] | null = null;
  private stems: Map<string, string[]> | null = null;
  /** Set while resolveFile runs: what the resolution reads is recorded in it. */
  private trace: ResolveTrace | null = null;
  /** The path resolveFile is resolving (its own reads are not recorded). */
  private traceOwner = '';
  private typeCache = new Map<string, Promise<string[]>>();
  /** unknownReceiver's answer per method name, and the types whose bases it read. */
  private unknownRoots = new Map<string, { candidates: number; roots: Def[]; chains: string[] }>();
  /** The tree held in memory, when the resolver reads it instead of the database. */
  private mem: TreeMemory | null = null;

  private constructor(private readonly q: Queryable) {}

  /** A resolver over a tree held in memory (`files`: its paths), which reads no file, definition
   * or base type from the database. `q` still answers the whole-tree queries (callersOf,
   * callGraph), which a holder of memory does not ask. */
  static inMemory(q: Queryable, files: Iterable<{ path: string; extractionId: number; extractorVersion: number }>, mem: TreeMemory): Resolver {
    const r = new Resolver(q);
    r.mem = mem;
    for (const f of files) r.addFile(f.path, f.extractionId, f.extractorVersion);
    return r;
  }

  /** One file of the tree: its path and extraction. */
  private addFile(path: string, extractionId: number, extractorVersion: number): void {
    this.extractionByPath.set(path, extractionId);
    this.versionByExtraction.set(extractionId, extractorVersion);
    const list = this.pathsByExtraction.get(extractionId);
    if (list) list.push(path);
    else this.pathsByExtraction.set(extractionId, [path]);
  }

  /** Records a read of another file (DEP) in the trace of the file being resolved. */
  private dep(key: string, path: string | null = null): void {
    if (this.trace && path !== this.traceOwner) this.trace.keys.add(key);
  }

  static async at(q: Queryable, chain: Chain): Promise<Resolver> {
    const r = new Resolver(q);
    const { rows } = await q.query<{ path: string; extraction_id: number; extractor_version: number }>(
      `SELECT p.path, t.extraction_id, x.extractor_version FROM (${treeSql()}) t JOIN paths p ON p.id = t.path_id
       JOIN extractions x ON x.id = t.extraction_id
       WHERE t.extraction_id IS NOT NULL AND t.blob_sha IS NOT NULL`,
      chainParams(chain),
    );
    for (const row of rows) r.addFile(row.path, row.extraction_id, row.extractor_version);
    return r;
  }

  private get xids(): number[] {
    return [...this.pathsByExtraction.keys()];
  }

  /** Call edges need the bindings extractor version 4 records: a tree with older extractions would
   * resolve parameters and locals as if they were definitions, so it is refused, never silently wrong. */
  assertCurrent(): void {
    let stale = 0;
    for (const v of this.versionByExtraction.values()) if (v < CALL_BINDINGS_SINCE) stale++;
    if (stale > 0) {
      throw new StoreError('REINDEX_REQUIRED', `${stale} file(s) of this commit were indexed by an older extractor (before version ${CALL_BINDINGS_SINCE}, this build writes ${EXTRACTOR_VERSION}); `
        + 'their call references lack the scope information call edges need. Re-index the repository into a new data directory (codegraph index <repo> --data-dir <new dir>) to get call edges.', { stale });
    }
  }

  /** The extraction of a path of the tree. */
  private xOf(path: string): number | undefined {
    return this.extractionByPath.get(path);
  }

  /** An extraction's data. Reads of another file's data are recorded (DEP) where they are made. */
  private file(x: number): Promise<FileData> {
    let p = this.files.get(x);
    if (!p && this.mem) {
      p = Promise.resolve(this.mem.file(x));
      this.files.set(x, p);
    }
    if (!p) {
      p = (async () => {
        const [{ rows: entities }, { rows: refs }, lang] = await Promise.all([
          this.q.query<EntityRow>('SELECT idx, parent_idx, kind, name, qname, start_line, end_line FROM entities WHERE extraction_id = $1 ORDER BY idx', [x]),
          this.q.query<RefRow>(
            `SELECT u.kind, u.name, u.qualifier, u.line, u.from_idx, u.module, u.alias, u.binding, u.args
             FROM extraction_refs r, unnest(r.kind, r.name, r.qualifier, r.line, r.from_idx, r.module, r.alias, r.binding, r.args)
               AS u(kind, name, qualifier, line, from_idx, module, alias, binding, args)
             WHERE r.extraction_id = $1 AND u.kind IN ('call', 'import', 'type')`, [x]),
          this.q.query<{ language: string }>('SELECT language FROM extractions WHERE id = $1', [x]).then((res) => res.rows),
        ]);
        return {
          entities,
          calls: refs.filter((r) => r.kind === 'call').sort(callOrder),
          imports: refs.filter((r) => r.kind === 'import'),
          types: refs.filter((r) => r.kind === 'type'),
          language: lang[0]?.language ?? '',
        };
      })();
      this.files.set(x, p);
    }
    return p;
  }

  private def(path: string, x: number, e: EntityRow): Def {
    return { path, extractionId: x, idx: e.idx, parentIdx: e.parent_idx, kind: e.kind, name: e.name, qname: e.qname, startLine: e.start_line, endLine: e.end_line };
  }

  /** Definitions (any kind but module and import) named one of `names`, anywhere in the tree. */
  async defsNamed(names: string[]): Promise<Map<string, Def[]>> {
    for (const n of names) this.dep(DEP.name(n));
    const todo = [...new Set(names)].filter((n) => !this.defsCache.has(n));
    if (todo.length > 0 && this.mem) {
      for (const n of todo) this.defsCache.set(n, this.mem.defsNamed(n));
    } else if (todo.length > 0) {
      const { rows } = await this.q.query<EntityRow & { extraction_id: number }>(
        `SELECT extraction_id, idx, parent_idx, kind, name, qname, start_line, end_line FROM entities
         WHERE extraction_id = ANY($1::int[]) AND name = ANY($2::text[]) AND kind NOT IN ('module', 'import')`,
        [this.xids, todo],
      );
      for (const n of todo) this.defsCache.set(n, []);
      for (const r of rows) {
        for (const path of this.pathsByExtraction.get(r.extraction_id) ?? []) this.defsCache.get(r.name)!.push(this.def(path, r.extraction_id, r));
      }
      for (const n of todo) this.defsCache.get(n)!.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.idx - b.idx));
    }
    return new Map(names.map((n) => [n, this.defsCache.get(n) ?? []]));
  }

  private async named(name: string): Promise<Def[]> {
    if (this.mem) {
      this.dep(DEP.name(name));
      let hit = this.defsCache.get(name);
      if (!hit) this.defsCache.set(name, (hit = this.mem.defsNamed(name)));
      return hit;
    }
    return (await this.defsNamed([name])).get(name)!;
  }

  async importsOf(path: string): Promise<string[]> {
    const x = this.xOf(path);
    if (x === undefined) return [];
    return [...new Set((this.mem?.file(x) ?? await this.file(x)).imports.map((r) => r.module).filter((m): m is string => m !== null))];
  }

  /** Files of the tree an import specifier written in `fromPath` names (a file before a package directory). */
  private filesOf(module: string, fromPath: string): string[] {
    const key = `${fromPath}\0${module}`;
    this.trace?.specs.add(key);
    let hit = this.importTargets.get(key);
    if (!hit) {
      this.sortedPaths ??= [...this.extractionByPath.keys()].sort();
      const noExts = (this.sortedStems ??= this.sortedPaths.map(stripExt));
      const names = importMatcher(module, fromPath);
      const all = this.sortedPaths.filter((f, i) => f !== fromPath && names(f, noExts[i]!));
      const tail = module.replace(/^[./]+/, '').replace(/::|\./g, '/');
      const exact = all.filter((f) => stripExt(f).replace(/\/(index|__init__|mod)$/, '').endsWith(tail));
      hit = exact.length > 0 ? exact : all;
      // Go import paths start with a module path (`example.com/app/pkg`) the tree does not spell:
      // the longest tail of the path that is a directory of the tree names the package.
      if (hit.length === 0 && module.includes('/') && !module.startsWith('.') && !ECMA_FILE.test(fromPath)) {
        const segs = module.split('/');
        for (let k = segs.length - 1; k >= 1 && hit.length === 0; k--) {
          const tailDir = segs.slice(segs.length - k).join('/');
          hit = this.sortedPaths.filter((f) => { const d = posix.dirname(f); return d === tailDir || d.endsWith(`/${tailDir}`); });
        }
      }
      this.importTargets.set(key, hit);
    }
    return hit;
  }

  /** The imports of `path`, each with the file of the tree it names (null: external or unknown). */
  async importsResolved(path: string): Promise<Array<{ module: string; path: string | null }>> {
    return (await this.importsOf(path)).sort().map((module) => ({ module, path: this.filesOf(module, path)[0] ?? null }));
  }

  /** Base-type names of each class-like name in the tree. */
  private bases(): Promise<Map<string, string[]>> {
    if (this.mem) return (this.basesCache ??= this.mem.bases());
    this.basesCache ??= (async () => {
      const { rows } = await this.q.query<{ base: string; owner: string }>(
        `SELECT DISTINCT u.name AS base, e.name AS owner
         FROM extraction_refs r, unnest(r.kind, r.name, r.from_idx) AS u(kind, name, from_idx), entities e
         WHERE r.extraction_id = ANY($1::int[]) AND u.kind IN ('extends', 'implements', 'embeds')
           AND e.extraction_id = r.extraction_id AND e.idx = u.from_idx AND e.kind = ANY($2::text[])
         ORDER BY 2, 1`, [this.xids, [...CLASS_LIKE]]);
      const out = new Map<string, string[]>();
      for (const row of rows) {
        if (row.base === row.owner) continue;
        const list = out.get(row.owner);
        if (list) list.push(row.base);
        else out.set(row.owner, [row.base]);
      }
      return out;
    })();
    return this.basesCache;
  }

  /** `type` and its ancestors, nearest first (breadth-first, cycles cut). */
  private async chainOf(type: string): Promise<string[]> {
    const bases = await this.bases();
    const out = [type];
    for (let i = 0; i < out.length && out.length < 64; i++) {
      this.dep(DEP.bases(out[i]!));
      for (const b of bases.get(out[i]!) ?? []) if (!out.includes(b)) out.push(b);
    }
    return out;
  }

  /** Callable members named `name` of the first type of `types` that has one, in the caller's
   * language family (a Python `Base` is not a Java `Base`). */
  private async memberIn(types: string[], name: string, prefer: string): Promise<Def[]> {
    const family = familyOf(await this.languageOfPath(prefer));
    const cands: Def[] = [];
    for (const d of await this.named(name)) {
      if (CALLABLE.has(d.kind) && familyOf((this.mem?.file(d.extractionId) ?? await this.file(d.extractionId)).language) === family) cands.push(d);
    }
    for (const t of types) {
      const hits = cands.filter((d) => containerOf(d.qname) === t);
      if (hits.length > 0) {
        const near = hits.filter((d) => d.path === prefer);
        if (near.length > 0) return near;
        // Several types share the simple name: the one `prefer` sees (imports, same package).
        if (hits.some((d) => d.path !== hits[0]!.path)) {
          const owners = new Set((await this.typeDefs(t, prefer)).map((o) => o.path));
          const owned = hits.filter((d) => owners.has(d.path));
          if (owned.length > 0) return owned;
        }
        const dir = posix.dirname(prefer);
        const sameDir = hits.filter((d) => posix.dirname(d.path) === dir);
        return sameDir.length > 0 ? sameDir : hits;
      }
    }
    return [];
  }

  /** Class-like definitions named `name` in `path`'s language family, narrowed to those `path`
   * sees (same file, imported, same directory or package) when that decides; else all of them. */
  private async typeDefs(name: string, path: string): Promise<Def[]> {
    const family = familyOf(await this.languageOfPath(path));
    const all: Def[] = [];
    for (const d of await this.named(name)) {
      if (CLASS_LIKE.has(d.kind) && familyOf((this.mem?.file(d.extractionId) ?? await this.file(d.extractionId)).language) === family) all.push(d);
    }
    const x = this.xOf(path);
    if (all.length <= 1 || x === undefined) return all;
    return (await this.visible(path, await this.file(x), name, all))?.defs ?? all;
  }

  private async languageOfPath(path: string): Promise<string> {
    this.dep(DEP.lang(path), path);
    const x = this.xOf(path);
    return x === undefined ? '' : (this.mem?.file(x) ?? await this.file(x)).language;
  }

  /** A class-like definition as a call target: its constructor when it declares one. */
  private async construct(cls: Def): Promise<Def[]> {
    if (!CLASS_LIKE.has(cls.kind)) return [cls];
    const x = cls.extractionId;
    this.dep(DEP.ctors(cls.path, cls.idx), cls.path);
    this.dep(DEP.lang(cls.path), cls.path);
    // Every constructor: Java and C++ overload them (the call's argument count picks, byArity).
    const ctors = (this.mem?.file(x) ?? await this.file(x)).entities.filter((e) => e.parent_idx === cls.idx && e.kind === 'constructor');
    if (ctors.length > 0) return ctors.map((c) => this.def(cls.path, x, c));
    // Out-of-line (C++ `Foo::Foo`) or in another file, in the class's language family: a Python
    // `Base` without `__init__` is not a Java `Base` that has a constructor.
    const family = familyOf((this.mem?.file(x) ?? await this.file(x)).language);
    const elsewhere: Def[] = [];
    for (const d of await this.named(cls.name)) {
      if (d.kind === 'constructor' && containerOf(d.qname) === cls.name && familyOf((this.mem?.file(d.extractionId) ?? await this.file(d.extractionId)).language) === family) elsewhere.push(d);
    }
    const dir = posix.dirname(cls.path);
    const sameFile = elsewhere.filter((d) => d.path === cls.path);
    const sameDir = elsewhere.filter((d) => posix.dirname(d.path) === dir);
    // Out-of-line constructors of one file: the class's own file, else the first of its directory.
    const own = sameFile.length > 0 ? sameFile : sameDir.length > 0 ? sameDir.filter((d) => d.path === sameDir[0]!.path)
      : elsewhere.length === 1 ? elsewhere : [];
    if (own.length > 0) return own;
    // JS/TS and Python classes inherit their base's constructor: `new ZodAny()` with no constructor
    // in ZodAny runs ZodType's, which is what the compiler resolves it to. (Java and C++ classes
    // get an implicit constructor of their own; the class stands for it.)
    if (family === 'ecmascript' || family === 'python') {
      for (const base of (await this.chainOf(cls.name)).slice(1)) {
        for (const b of await this.typeDefs(base, cls.path)) {
          const bf = this.mem?.file(b.extractionId) ?? await this.file(b.extractionId);
          this.dep(DEP.ctors(b.path, b.idx), b.path);
          const ctor = bf.entities.find((e) => e.parent_idx === b.idx && e.kind === 'constructor');
          if (ctor) return [this.def(b.path, b.extractionId, ctor)];
        }
      }
    }
    return [cls];
  }

  /** What a call lands on: classes stand for their constructors, and of several overloads (Java
   * and C++, named with their parameter types) those whose parameter count takes `args`. */
  private async land(targets: Def[], args: number | null): Promise<Def[]> {
    const out: Def[] = [];
    const seen = new Set<string>();
    for (const t of targets) {
      for (const d of await this.construct(t)) {
        const k = keyOf(d);
        if (!seen.has(k)) { seen.add(k); out.push(d); }
      }
    }
    return byArity(out, args);
  }

  /** Entity indexes enclosing `idx` (itself included), innermost first. */
  private ancestors(f: FileData, idx: number): number[] {
    const out: number[] = [];
    for (let i = idx; i >= 0 && out.length < 256; i = f.entities[i]?.parent_idx ?? -1) out.push(i);
    return out;
  }

  /** The class-like type a method belongs to: the nearest class-like entity around it, else the
   * container in its qualified name (Go receivers, Rust `impl`, C++ out-of-line members). */
  private enclosingType(f: FileData, idx: number): string | null {
    const chain = this.ancestors(f, idx);
    for (const i of chain) {
      const e = f.entities[i]!;
      if (CLASS_LIKE.has(e.kind)) return e.name;
    }
    for (const i of chain) {
      const e = f.entities[i]!;
      if ((e.kind === 'method' || e.kind === 'constructor') && containerOf(e.qname) !== '') return containerOf(e.qname);
    }
    return null;
  }

  /** Top-level definitions named `name` of `path`, following its re-exports (`export * from`,
   * `export { a as b } from`, and imports it passes on) up to a few files deep. */
  private async exportsOf(path: string, name: string, seen = new Set<string>()): Promise<Def[]> {
    const key = `${path}\0${name}`;
    if (seen.has(key) || seen.size > 16) return [];
    seen.add(key);
    const x = this.xOf(path);
    if (x === undefined) return [];
    const f = this.mem?.file(x) ?? await this.file(x);
    this.dep(DEP.ents(path, name), path);
    const own = f.entities.filter((e) => e.name === name && e.parent_idx === 0 && e.kind !== 'import');
    if (own.length > 0) return own.map((e) => this.def(path, x, e));
    this.dep(DEP.imports(path), path);
    const out: Def[] = [];
    for (const imp of f.imports) {
      if (imp.module === null) continue;
      const local = imp.alias ?? imp.name;
      const star = imp.name === '*' && imp.alias === null;
      if (!star && local !== name) continue;
      for (const file of this.filesOf(imp.module, path)) out.push(...await this.exportsOf(file, star ? name : imp.name, seen));
      if (out.length > 0) break;
    }
    return out;
  }

  /** Files a namespace-like qualifier `q` of `path` names: `import * as q`, Python `import a.b as q`
   * / `import a.b` / `from pkg import q`, a Go package, a Rust `use a::q`. */
  private namespaceFiles(f: FileData, path: string, q: string): string[] {
    this.dep(DEP.lang(path), path);
    this.dep(DEP.imports(path), path);
    // Rust `module::f()` / `crate::a::f()` and Python `pkg.mod.f()` name files of the tree directly.
    if ((f.language === 'rust' && !/^[A-Z]/.test(q)) || (f.language === 'python' && q.includes('.'))) {
      const direct = this.filesOf(q.replace(/^(crate|self)::/, ''), path);
      if (direct.length > 0) return direct;
    }
    for (const imp of f.imports) {
      if (imp.module === null) continue;
      const local = imp.alias ?? (imp.name === '*' ? (f.language === 'go' ? imp.module.split('/').pop()! : imp.module) : imp.name);
      if (local !== q) continue;
      if (imp.name === '*') return this.filesOf(imp.module, path);
      // `from pkg import mod` / `use a::b`: the module `pkg.mod` when it is a file of the tree.
      const sep = f.language === 'rust' ? '::' : f.language === 'python' ? '.' : '/';
      const sub = this.filesOf(/^\.+$/.test(imp.module) ? `${imp.module}${imp.name}` : `${imp.module}${sep}${imp.name}`, path);
      if (sub.length > 0) return sub;
    }
    return [];
  }

  /** Resolves one call. */
  async resolveCall(path: string, x: number, r: RefRow): Promise<Resolution> {
    const f = this.mem?.file(x) ?? await this.file(x);
    const name = r.name;
    const q = r.qualifier;
    const lang = f.language;
    const none = (why: Unresolved): Resolution => ({ targets: [], via: null, why });
    const ok = async (targets: Def[], via: Via): Promise<Resolution> => ({ targets: await this.land(targets, r.args), via });

    // super(...): the base class's constructor.
    if (q === null && name === 'super' && lang !== 'python') {
      const own = this.enclosingType(f, r.from_idx);
      if (own === null) return none('none');
      for (const base of (await this.chainOf(own)).slice(1)) {
        const cls = await this.typeDefs(base, path);
        if (cls.length > 0) return ok([cls[0]!], 'exact');
      }
      return none('external');
    }

    if (q === null) return this.resolveBare(path, x, f, r, ok, none);

    // this.m(), self.m(), super.m()
    if (SELF.has(q) || SUPER.has(q)) {
      const own = this.enclosingType(f, r.from_idx);
      if (own === null) return none('none');
      const chain = await this.chainOf(own);
      const hits = await this.memberIn(SUPER.has(q) ? chain.slice(1) : chain, name, path);
      return hits.length > 0 ? ok(hits, 'exact') : none('external');
    }

    const simple = /^[A-Za-z_$][\w$]*$/.test(q);
    // A local or parameter receiver (its type when known), or a receiver whose type the extractor
    // wrote as a type expression (`this.x`, `makeStore()`, `this.#client.getQueryCache()`).
    if (r.binding !== null && (simple || r.binding !== '')) {
      if (r.binding === '') return this.unknownReceiver(name, ok, none);
      const types = await this.typesOf(r.binding, path, x, r.from_idx, null);
      if (types.length > 0) {
        const hits = await this.memberOfTypes(types, name, path);
        if (hits.length > 0) return ok(hits, 'receiver_type');
        // A declared type (`x: Map<K, V>`), or a class of the tree without that member (it comes
        // from an external base): not a definition of the tree.
        if (PLAIN_TYPE.test(r.binding) || await this.anyClassNamed(types, path)) return none('external');
      }
      if (simple) return this.unknownReceiver(name, ok, none);
    }

    // ns.f(), pkg.F(), mod.f(), a::b::f()
    const head = q.split(/::|\./).pop() ?? q;
    const nsFiles = this.namespaceFiles(f, path, q);
    if (nsFiles.length > 0) {
      const out: Def[] = [];
      for (const file of nsFiles) out.push(...await this.exportsOf(file, name));
      if (out.length > 0) return ok(out.filter((d) => BARE_TARGET.has(d.kind) || CALLABLE.has(d.kind)), 'import');
      return none('external');
    }
    // Foo.m(), Foo::m(), ns::f(): a member of a visible container named like the qualifier.
    if (/^[\w$:.]+$/.test(q) && !/^(this|self)\./.test(q)) {
      const containers = (await this.named(head)).filter((d) => CONTAINER.has(d.kind));
      if (containers.length > 0) {
        const visible = await this.visible(path, f, head, containers);
        if (visible) {
          const memberOf = async (c: Def): Promise<Def[]> => {
            const cf = this.mem?.file(c.extractionId) ?? await this.file(c.extractionId);
            this.dep(DEP.ents(c.path, name), c.path);
            const kids = cf.entities.filter((e) => e.parent_idx === c.idx && e.name === name && (CALLABLE.has(e.kind) || CLASS_LIKE.has(e.kind)));
            if (kids.length > 0) return kids.map((e) => this.def(c.path, c.extractionId, e));
            return CLASS_LIKE.has(c.kind) || c.kind === 'namespace' ? this.memberIn(await this.chainOf(c.name), name, c.path) : [];
          };
          const out: Def[] = [];
          for (const c of visible.defs) out.push(...await memberOf(c));
          if (out.length > 0) return ok(out, visible.via);
          // A variable or constant (`export const manager = new Manager()`): its recorded type.
          const values = visible.defs.filter((c) => c.kind === 'constant' || c.kind === 'variable');
          if (values.length > 0) {
            const hits: Def[] = [];
            for (const v of values) hits.push(...await this.memberOfTypes(await this.valueTypes(v, null, 0), name, v.path));
            if (hits.length > 0) return ok(hits, 'receiver_type');
            return this.unknownReceiver(name, ok, none);
          }
          return none('external');
        }
      }
      // A name no definition of the tree has (`Promise`, `console`, `fmt`): external.
      if (simple && (await this.named(q)).length === 0) return none('external');
    }
    return this.unknownReceiver(name, ok, none);
  }

  /** Callable members named `name` of the first type of each chain of `types`. */
  private async memberOfTypes(types: string[], name: string, path: string): Promise<Def[]> {
    const out: Def[] = [];
    for (const t of types) {
      for (const d of await this.memberIn(await this.chainOf(t), name, path)) if (!out.some((o) => keyOf(o) === keyOf(d))) out.push(d);
    }
    return out;
  }

  /** Is one of `types` a class-like definition of the tree, in `path`'s language family? */
  private async anyClassNamed(types: string[], path: string): Promise<boolean> {
    const family = familyOf(await this.languageOfPath(path));
    for (const t of types) {
      for (const d of await this.named(t)) {
        if (CLASS_LIKE.has(d.kind) && familyOf((this.mem?.file(d.extractionId) ?? await this.file(d.extractionId)).language) === family) return true;
      }
    }
    return false;
  }

  /** The `type` facts of entity `d` (what it returns or holds), evaluated: class-like names. `self`
   * stands for `this` in them (a fluent method's `this` is its receiver's type). */
  private async valueTypes(d: Def, self: string[] | null, depth: number): Promise<string[]> {
    const f = this.mem?.file(d.extractionId) ?? await this.file(d.extractionId);
    this.dep(DEP.types(d.path, d.idx), d.path);
    const out: string[] = [];
    for (const t of f.types) {
      if (t.from_idx !== d.idx || t.qualifier !== null) continue;
      for (const n of await this.typesOf(t.name, d.path, d.extractionId, d.idx, self, depth + 1)) if (!out.includes(n)) out.push(n);
    }
    return out;
  }

  /** The types field `field` of type `type` (or of its nearest ancestor declaring it) holds. */
  private async fieldTypes(type: string, field: string, path: string, depth: number): Promise<string[]> {
    const family = familyOf(await this.languageOfPath(path));
    for (const t of await this.chainOf(type)) {
      const out: string[] = [];
      for (const c of await this.named(t)) {
        if (!CLASS_LIKE.has(c.kind)) continue;
        const cf = this.mem?.file(c.extractionId) ?? await this.file(c.extractionId);
        if (familyOf(cf.language) !== family) continue;
        this.dep(DEP.types(c.path, c.idx), c.path);
        for (const fact of cf.types) {
          if (fact.from_idx !== c.idx || fact.qualifier !== field) continue;
          for (const n of await this.typesOf(fact.name, c.path, c.extractionId, c.idx, [type], depth + 1)) if (!out.includes(n)) out.push(n);
        }
      }
      if (out.length > 0) return out;
    }
    return [];
  }

  /** Evaluates a type expression (indexer/scope.ts) written in `path` inside entity `fromIdx`: the
   * class-like names it may denote, at most a few. `Foo` is itself; `this` the enclosing type (or
   * `self`); `f()` what the function a bare call `f()` there resolves to returns (a class: itself);
   * `.p` the type of field `p`; `.m()` what method `m` returns. Unknown: []. */
  private async typesOf(expr: string, path: string, x: number, fromIdx: number, self: string[] | null, depth = 0): Promise<string[]> {
    if (depth > MAX_TYPE_DEPTH) return [];
    // The depth is part of the key: a recursive expression (a method returning `this.m()`) then
    // meets a deeper key, never its own pending promise.
    const key = `${depth}\0${path}\0${fromIdx}\0${expr}\0${self?.join(',') ?? ''}`;
    let hit = this.typeCache.get(key);
    if (!hit) {
      hit = this.evalType(expr, path, x, fromIdx, self, depth);
      this.typeCache.set(key, hit);
    }
    return hit;
  }

  private async evalType(expr: string, path: string, x: number, fromIdx: number, self: string[] | null, depth: number): Promise<string[]> {
    const [head, ...steps] = expr.split('.');
    if (head === undefined || head === '') return [];
    let types: string[];
    if (head === 'this') {
      if (self === null) this.dep(DEP.scope(path, fromIdx), path);
      const own = self ?? [this.enclosingType(await this.file(x), fromIdx)].filter((t): t is string => t !== null);
      types = own;
    } else if (CALLBACK_PARAM.test(head)) {
      // `f(i:k)`: parameter k of the callback passed as argument i of `f(...)` / `new f(...)`.
      const [, fname, slot] = CALLBACK_PARAM.exec(head)!;
      const ref: RefRow = { kind: 'call', name: fname!, qualifier: null, line: 0, from_idx: fromIdx, module: null, alias: null, binding: null, args: null };
      const res = await this.resolveBare(path, x, this.mem?.file(x) ?? await this.file(x), ref, async (t, via) => ({ targets: await this.land(t, null), via }),
        (why) => ({ targets: [], via: null, why }));
      types = [];
      for (const t of res.targets) {
        const tf = this.mem?.file(t.extractionId) ?? await this.file(t.extractionId);
        this.dep(DEP.types(t.path, t.idx), t.path);
        for (const fact of tf.types) {
          if (fact.from_idx !== t.idx || fact.qualifier !== `(${slot})`) continue;
          for (const n of await this.typesOf(fact.name, t.path, t.extractionId, t.idx, null, depth + 1)) if (!types.includes(n)) types.push(n);
        }
      }
    } else if (head.endsWith('()')) {
      const ref: RefRow = { kind: 'call', name: head.slice(0, -2), qualifier: null, line: 0, from_idx: fromIdx, module: null, alias: null, binding: null, args: null };
      const f = this.mem?.file(x) ?? await this.file(x);
      const res = await this.resolveBare(path, x, f, ref, async (t, via) => ({ targets: t, via }), (why) => ({ targets: [], via: null, why }));
      types = [];
      for (const t of res.targets) {
        const got = CLASS_LIKE.has(t.kind) ? [t.name] : CALLABLE.has(t.kind) ? await this.valueTypes(t, null, depth) : [];
        for (const n of got) if (!types.includes(n)) types.push(n);
      }
    } else {
      types = [head];
    }
    for (const step of steps) {
      if (types.length === 0) return [];
      const next: string[] = [];
      for (const t of types.slice(0, MAX_TYPES)) {
        let got: string[];
        if (step.endsWith('()')) {
          got = [];
          for (const m of await this.memberIn(await this.chainOf(t), step.slice(0, -2), path)) {
            for (const n of await this.valueTypes(m, [t], depth)) if (!got.includes(n)) got.push(n);
          }
        } else {
          got = await this.fieldTypes(t, step, path, depth);
        }
        for (const n of got) if (!next.includes(n)) next.push(n);
      }
      types = next;
    }
    return types.slice(0, MAX_TYPES);
  }

  /** Is one of `defs` (named `name`) visible from `path`: same file, imported, or the only one? */
  private async visible(path: string, f: FileData, name: string, defs: Def[]): Promise<{ defs: Def[]; via: Via } | null> {
    this.dep(DEP.imports(path), path);
    this.dep(DEP.lang(path), path);
    const same = defs.filter((d) => d.path === path);
    if (same.length > 0) return { defs: same, via: 'exact' };
    for (const imp of f.imports) {
      if (imp.module === null || (imp.alias ?? imp.name) !== name) continue;
      const out: Def[] = [];
      for (const file of this.filesOf(imp.module, path)) out.push(...await this.exportsOf(file, imp.name === '*' ? name : imp.name));
      const hits = out.filter((d) => defs.some((c) => keyOf(c) === keyOf(d)));
      if (hits.length > 0) return { defs: hits, via: 'import' };
    }
    const dir = posix.dirname(path);
    const sameDir = defs.filter((d) => posix.dirname(d.path) === dir);
    if (sameDir.length > 0) return { defs: sameDir, via: f.language === 'go' || f.language === 'java' ? 'exact' : 'name_only' };
    if (defs.length === 1) return { defs, via: 'name_only' };
    return null;
  }

  private async resolveBare(
    path: string, x: number, f: FileData, r: RefRow,
    ok: (t: Def[], via: Via) => Promise<Resolution>, none: (why: Unresolved) => Resolution,
  ): Promise<Resolution> {
    const name = r.name;
    for (const k of [DEP.scope(path, r.from_idx), DEP.ents(path, name), DEP.lang(path), DEP.imports(path)]) this.dep(k, path);
    const scope = new Set(this.ancestors(f, r.from_idx));
    const lexical = f.entities.filter((e) => e.name === name && scope.has(e.parent_idx) && BARE_TARGET.has(e.kind))
      .sort((a, b) => b.parent_idx - a.parent_idx);
    // A parameter or local variable shadows every outer definition: only a function defined inside
    // the enclosing functions (a local arrow function is an entity) can be the callee.
    if (r.binding !== null) {
      const inner = lexical.filter((e) => e.parent_idx !== 0);
      return inner.length > 0 ? ok([this.def(path, x, inner[0]!)], 'exact') : none('local');
    }
    // Java / C++: a bare call inside a class is `this.m()`.
    if (f.language === 'java' || f.language === 'cpp') {
      const own = this.enclosingType(f, r.from_idx);
      if (own !== null) {
        const hits = await this.memberIn(await this.chainOf(own), name, path);
        if (hits.length > 0) return ok(hits, 'exact');
      }
    }
    if (lexical.length > 0) return ok([this.def(path, x, lexical[0]!)], 'exact');
    // An imported name, followed through re-exports and aliases (`import { b }` of `export { a as b }`).
    let imported = false;
    let external = false;
    for (const imp of f.imports) {
      if (imp.module === null || imp.name === '*' || (imp.alias ?? imp.name) !== name) continue;
      const out: Def[] = [];
      const files = this.filesOf(imp.module, path);
      for (const file of files) out.push(...await this.exportsOf(file, imp.name));
      const targets = out.filter((d) => BARE_TARGET.has(d.kind) && d.kind !== 'constructor');
      if (targets.length > 0) return ok(targets, 'import');
      if (out.length > 0) imported = true;
      else if (files.length === 0) external = true;
    }
    // Imported by name from a module outside the tree (`import { useState } from 'react'`): never
    // another file's same-name definition.
    if (external && !imported && ECMA_FILE.test(path)) return none('external');
    // The name is this file's own value or type (`const ZodEnum = $constructor(...)` beside
    // `interface ZodEnum`), or an import of one: not some other file's same-name function or class.
    if (imported || f.entities.some((e) => e.name === name && e.parent_idx === 0 && e.kind !== 'import' && e.kind !== 'module')) return none('none');
    // Elsewhere, only what a file can export: top-level definitions (or a namespace's / package's).
    const topLevel: Def[] = [];
    for (const d of await this.named(name)) {
      if (!BARE_TARGET.has(d.kind) || d.kind === 'constructor' || d.path === path) continue;
      const parent = (this.mem?.file(d.extractionId) ?? await this.file(d.extractionId)).entities[d.parentIdx];
      if (parent && (parent.kind === 'module' || parent.kind === 'namespace')) topLevel.push(d);
    }
    if (topLevel.length === 0) return none('none');
    const seen = await this.visible(path, f, name, topLevel);
    if (seen) return ok(seen.defs, seen.via);
    return none('ambiguous');
  }

  /** `x.m()` with `x` of unknown type: linked only when the candidates, overrides set aside, are one. */
  private async unknownReceiver(
    name: string, ok: (t: Def[], via: Via) => Promise<Resolution>, none: (why: Unresolved) => Resolution,
  ): Promise<Resolution> {
    if (BUILTIN_METHODS.has(name)) return none('builtin');
    const named = await this.named(name); // (also records the name as read, cached answer or not)
    let known = this.unknownRoots.get(name);
    if (known) {
      for (const t of known.chains) this.dep(DEP.bases(t));
    } else {
      // The answer depends on the name alone, not on the call: computed once per name (a tree with
      // many same-named methods, effect's `map` or `pipe`, compared every pair at every call site).
      const cands = named.filter((d) => (d.kind === 'method' || d.kind === 'function') && containerOf(d.qname) !== '');
      const owners = cands.map((c) => containerOf(c.qname));
      const count = new Map<string, number>();
      for (const t of owners) count.set(t, (count.get(t) ?? 0) + 1);
      const roots: Def[] = [];
      const chains = new Set<string>();
      for (let i = 0; i < cands.length; i++) {
        const chain = await this.chainOf(owners[i]!);
        for (const t of chain) chains.add(t);
        // Another candidate is a method of one of this one's bases: this one overrides it.
        if (!chain.slice(1).some((t) => (count.get(t) ?? 0) - (t === owners[i] ? 1 : 0) > 0)) roots.push(cands[i]!);
      }
      known = { candidates: cands.length, roots, chains: [...chains] };
      this.unknownRoots.set(name, known);
    }
    if (known.candidates === 0) return none('none');
    return known.roots.length === 1 ? ok(known.roots, 'name_only') : none('ambiguous');
  }

  /** The entity at `id`: a qualified name (`path::Local.name`, or a path for the module), or an
   * entity id (`path::Foo#type`, store/types.ts entityId). Of several entities sharing a qualified
   * name and no kind given, the callable one with a body wins, a type-space one last. */
  async find(id: string): Promise<Def> {
    const { qualifiedName, kind } = parseEntityId(id);
    const cut = qualifiedName.indexOf('::');
    const path = cut < 0 ? qualifiedName : qualifiedName.slice(0, cut);
    const qname = cut < 0 ? '' : qualifiedName.slice(cut + 2);
    const x = this.extractionByPath.get(path);
    if (x !== undefined) {
      const f = this.mem?.file(x) ?? await this.file(x);
      const hits = f.entities.filter((e) => e.qname === qname && e.kind !== 'import' && (kind === null || e.kind === kind));
      const rank = (e: EntityRow): number => (CALLABLE.has(e.kind) ? 0 : isTypeSpaceKind(e.kind) ? 3 : CLASS_LIKE.has(e.kind) ? 1 : 2) * 1e6 - (e.end_line - e.start_line);
      const best = hits.sort((a, b) => rank(a) - rank(b))[0];
      if (best) return this.def(path, x, best);
      // A Java or C++ overload set: each overload's name carries its parameter types.
      const overloads = [...new Set(f.entities.filter((e) => e.qname.startsWith(`${qname}(`) && CALLABLE.has(e.kind)).map((e) => `${path}::${e.qname}`))];
      if (overloads.length > 0) {
        throw new StoreError('ENTITY_NOT_FOUND', `${JSON.stringify(id)} is overloaded: name one overload by its parameter types, one of ${overloads.map((o) => `\`${o}\``).join(', ')}.`, { qualifiedName });
      }
    }
    throw new StoreError('ENTITY_NOT_FOUND', `No entity ${JSON.stringify(id)} at this commit. Qualified names look like \`src/a.ts::Parser.parse\`; list them with entities().`, { qualifiedName });
  }

  private async entityAt(path: string, extractionId: number, idx: number): Promise<Def | null> {
    const e = (this.mem?.file(extractionId) ?? await this.file(extractionId)).entities[idx];
    return e ? this.def(path, extractionId, e) : null;
  }

  /** Direct callees of `d`: the calls made in its own body (not in nested named entities). */
  async calleesOf(d: Def): Promise<Array<{ target: Def; line: number; via: Via }>> {
    this.assertCurrent();
    const f = this.mem?.file(d.extractionId) ?? await this.file(d.extractionId);
    // Entities sharing d's qualified name (overload signatures and their implementation) are one.
    const same = new Set(f.entities.filter((e) => e.qname === d.qname && CALLABLE.has(e.kind)).map((e) => e.idx));
    same.add(d.idx);
    const out: Array<{ target: Def; line: number; via: Via }> = [];
    for (const r of f.calls) {
      if (!same.has(r.from_idx)) continue;
      const res = await this.resolveCall(d.path, d.extractionId, r);
      if (res.via !== null) for (const t of res.targets) out.push({ target: t, line: r.line, via: res.via });
    }
    return out;
  }

  /** Call names that can land on `d`: its name; a constructor also its class's name and `super`. */
  private async callNames(d: Def): Promise<string[]> {
    if (d.kind === 'constructor' || CLASS_LIKE.has(d.kind)) {
      const f = this.mem?.file(d.extractionId) ?? await this.file(d.extractionId);
      const cls = d.kind === 'constructor' ? f.entities[d.parentIdx] : f.entities[d.idx];
      const own = d.kind === 'constructor' ? containerOf(d.qname) : d.name;
      return [...new Set([d.name, own, cls?.name ?? own, 'super'].filter((n) => n !== ''))];
    }
    return [d.name];
  }

  /** Names a definition called `names` is also imported or re-exported under anywhere in the tree
   * (`import { a as b }`, `export { a as b }`, and aliases of those, a few steps deep), so that a
   * call `b()` is found among `a`'s callers as `callees` finds it. Whether each call really reaches
   * `d` is decided by resolving it; this only widens the calls looked at. */
  private async aliasNames(names: string[]): Promise<string[]> {
    const all = new Set(names);
    let frontier = names;
    for (let step = 0; step < MAX_ALIAS_STEPS && frontier.length > 0; step++) {
      const { rows } = await this.q.query<{ alias: string }>(
        `SELECT DISTINCT u.alias FROM extraction_refs r, unnest(r.kind, r.name, r.alias) AS u(kind, name, alias)
         WHERE r.extraction_id = ANY($1::int[]) AND u.kind = 'import' AND u.name = ANY($2::text[]) AND u.alias IS NOT NULL AND u.alias <> ''`,
        [this.xids, frontier]);
      frontier = rows.map((r) => r.alias).filter((a) => !all.has(a));
      for (const a of frontier) all.add(a);
    }
    return [...all];
  }

  /** Direct callers of `d`: calls anywhere in the tree that resolve to it, under its own name or an
   * alias it was imported or re-exported as. */
  async callersOf(d: Def): Promise<Array<{ caller: Def; line: number; via: Via }>> {
    this.assertCurrent();
    const names = await this.aliasNames(await this.callNames(d));
    const { rows } = await this.q.query<{ extraction_id: number }>(
      `SELECT DISTINCT r.extraction_id FROM extraction_refs r, unnest(r.kind, r.name) AS u(kind, name)
       WHERE r.extraction_id = ANY($1::int[]) AND u.kind = 'call' AND u.name = ANY($2::text[]) ORDER BY 1`, [this.xids, names]);
    const out: Array<{ caller: Def; line: number; via: Via }> = [];
    for (const { extraction_id: x } of rows) {
      const f = this.mem?.file(x) ?? await this.file(x);
      for (const r of f.calls) {
        if (!names.includes(r.name)) continue;
        for (const path of this.pathsByExtraction.get(x) ?? []) {
          const res = await this.resolveCall(path, x, r);
          if (res.via === null || !res.targets.some((t) => keyOf(t) === keyOf(d))) continue;
          const caller = await this.entityAt(path, x, r.from_idx);
          if (caller) out.push({ caller, line: r.line, via: res.via });
        }
      }
    }
    return out;
  }

  /** Callers of a name that resolve to nothing at this commit (e.g. after the callee was removed). */
  async brokenCallersOf(name: string): Promise<Def[]> {
    this.assertCurrent();
    const { rows } = await this.q.query<{ extraction_id: number }>(
      `SELECT DISTINCT r.extraction_id FROM extraction_refs r, unnest(r.kind, r.name) AS u(kind, name)
       WHERE r.extraction_id = ANY($1::int[]) AND u.kind = 'call' AND u.name = $2 ORDER BY 1`, [this.xids, name]);
    const out: Def[] = [];
    const seen = new Set<string>();
    for (const { extraction_id: x } of rows) {
      for (const r of (this.mem?.file(x) ?? await this.file(x)).calls) {
        if (r.name !== name) continue;
        for (const path of this.pathsByExtraction.get(x) ?? []) {
          const res = await this.resolveCall(path, x, r);
          // Only calls that could have meant a definition: not locals, built-ins or external names.
          if (res.via !== null || res.why === 'local' || res.why === 'builtin' || res.why === 'external') continue;
          const caller = await this.entityAt(path, x, r.from_idx);
          if (caller && !seen.has(keyOf(caller))) { seen.add(keyOf(caller)); out.push(caller); }
        }
      }
    }
    return out;
  }

  /** Breadth-first walk of callers (`up`) or callees (`down`) to `depth` levels, keeping edges at
   * or above `minVia` confidence. Stops, nearest levels first, once more than `limit` distinct
   * entities are reached (the caller reports truncation). */
  async walk(start: Def, depth: number, direction: 'up' | 'down', minVia: Via = 'name_only', limit = Infinity): Promise<CallEdge[]> {
    const floor = VIA_ORDER.indexOf(minVia);
    const edges: CallEdge[] = [];
    const seen = new Set([keyOf(start)]);
    let frontier = [start];
    for (let level = 1; level <= depth && frontier.length > 0; level++) {
      const next: Def[] = [];
      for (const d of frontier) {
        if (seen.size > limit + 1) return edges; // `seen` holds the start too
        const steps = direction === 'up'
          ? (await this.callersOf(d)).map((s) => ({ from: s.caller, to: d, line: s.line, via: s.via, other: s.caller }))
          : (await this.calleesOf(d)).map((s) => ({ from: d, to: s.target, line: s.line, via: s.via, other: s.target }));
        for (const s of steps) {
          if (VIA_ORDER.indexOf(s.via) < floor) continue;
          edges.push({ from: defRef(s.from), to: defRef(s.to), line: s.line, via: s.via, depth: level });
          if (!seen.has(keyOf(s.other))) {
            seen.add(keyOf(s.other));
            next.push(s.other);
          }
        }
      }
      frontier = next;
    }
    return edges;
  }

  /** Every call of the tree, resolved: the whole call graph at the commit, each edge with how it was
   * resolved, plus the calls left unresolved counted by reason. */
  async callGraph(): Promise<{ edges: CallEdge[]; stats: ResolutionStats }> {
    this.assertCurrent();
    const edges: CallEdge[] = [];
    const stats: ResolutionStats = { resolved: 0, unresolved: 0, ambiguous: 0, byReason: {} };
    await this.eachCall((path, x, f, r, res) => {
      if (res.via === null) {
        if (res.why === 'ambiguous') stats.ambiguous++;
        else stats.unresolved++;
        stats.byReason[res.why] = (stats.byReason[res.why] ?? 0) + 1;
        return;
      }
      stats.resolved++;
      const from = f.entities[r.from_idx];
      if (!from) return;
      for (const t of res.targets) edges.push({ from: defRef(this.def(path, x, from)), to: defRef(t), line: r.line, via: res.via, depth: 1 });
    });
    return { edges, stats };
  }

  private async eachCall(fn: (path: string, x: number, f: FileData, r: RefRow, res: Resolution) => void): Promise<void> {
    for (const x of this.xids) {
      const f = this.mem?.file(x) ?? await this.file(x);
      for (const r of f.calls) {
        for (const path of this.pathsByExtraction.get(x) ?? []) fn(path, x, f, r, await this.resolveCall(path, x, r));
      }
    }
  }

  /** The files of the tree that `path`'s import specifiers `modules` name (import edges, one per
   * specifier that names a file). Depends on the set of paths only. */
  importEdgesOf(path: string, modules: Iterable<string>): string[] {
    if (!this.stems) {
      const byStem = new Map<string, string[]>();
      const push = (k: string, f: string): void => {
        const l = byStem.get(k);
        if (l) l.push(f);
        else byStem.set(k, [f]);
      };
      this.sortedPaths ??= [...this.extractionByPath.keys()].sort();
      for (const f of this.sortedPaths) {
        const stem = posix.basename(f).replace(/\.[^.]+$/, '');
        push(stem, f);
        push(`dir:${posix.basename(posix.dirname(f))}`, f);
      }
      this.stems = byStem;
    }
    const byStem = this.stems;
    const files = this.sortedPaths!;
    const out: string[] = [];
    for (const module of modules) {
      const last = module.replace(/\.[cm]?[jt]sx?$/, '').replace(/\/+$/, '').split(/\/|::|\./).filter((s) => s !== '').pop() ?? '';
      // A bare relative package (`from . import x`) may name any file of its directory.
      const cands = last === '' ? new Set(files) : new Set([...(byStem.get(last) ?? []), ...(byStem.get(`dir:${last}`) ?? []),
        ...(byStem.get('index') ?? []), ...(byStem.get('__init__') ?? [])]);
      const names = importMatcher(module, path);
      const hits = [...cands].filter((f) => f !== path && names(f, stripExt(f))).sort();
      const want = module.replace(/^[./]+/, '').replace(/::|\./g, '/');
      const exact = hits.find((f) => stripExt(f).replace(/\/(index|__init__)$/, '').endsWith(want));
      const target = exact ?? hits[0];
      if (target !== undefined) out.push(target);
    }
    return out;
  }

  /** One file's calls and `extends` edges, resolved exactly as callers and callees resolve them, with what
   * the resolution read of the rest of the tree (the hot store's incremental update, store/hot). */
  async resolveFile(path: string): Promise<FileEdges> {
    const x = this.extractionByPath.get(path);
    const trace: ResolveTrace = { keys: new Set(), specs: new Set() };
    const out: FileEdges = { calls: [], inherits: [], trace };
    if (x === undefined) return out;
    // Evaluated types are cached with no record of what they read: start each file without them,
    // so the trace holds every read (a hit within the file was recorded when it was computed).
    this.typeCache.clear();
    this.trace = trace;
    this.traceOwner = path;
    try {
      const f = this.mem?.file(x) ?? await this.file(x);
      const calls = this.mem ? this.mem.calls(x) : f.calls;
      if (!calls) throw new Error(`resolveFile(${path}): its calls were not loaded into the tree held in memory`);
      for (let k = 0; k < calls.length; k++) {
        // A file of thousands of calls resolved from memory would hold the event loop: yield.
        if (this.mem && k % 256 === 255) await new Promise((r) => setImmediate(r));
        const r = calls[k]!;
        const res = await this.resolveCall(path, x, r);
        if (res.via !== null) out.calls.push({ k, fromIdx: r.from_idx, line: r.line, name: r.name, via: res.via, to: res.targets.map((t) => ({ path: t.path, idx: t.idx })) });
      }
      const rows = this.mem ? (f.bases ?? []).filter((r) => r.kind === 'extends') : (await this.q.query<{ name: string; line: number; from_idx: number }>(
        `SELECT u.name, u.line, u.from_idx FROM extraction_refs r, unnest(r.kind, r.name, r.line, r.from_idx) AS u(kind, name, line, from_idx)
         WHERE r.extraction_id = $1 AND u.kind = 'extends'`, [x])).rows;
      for (const r of rows) {
        const bases = (await this.named(r.name)).filter((d) => CLASS_LIKE.has(d.kind));
        const seen = bases.length > 0 ? await this.visible(path, f, r.name, bases) : null;
        out.inherits.push({ fromIdx: r.from_idx, line: r.line, to: (seen?.defs ?? []).map((t) => ({ path: t.path, idx: t.idx })) });
      }
    } finally {
      this.trace = null;
      this.traceOwner = '';
    }
    return out;
  }

  /** Resolution counts over every call reference in the tree. */
  async stats(): Promise<ResolutionStats> {
    return (await this.callGraph()).stats;
  }


  /** Methods that override `d` (same name, in a type whose ancestors include d's type): a relation of
   * its own, never call edges. */
  async overridesOf(d: Def): Promise<Def[]> {
    const own = containerOf(d.qname);
    if (own === '' || !CALLABLE.has(d.kind)) return [];
    const out: Def[] = [];
    for (const c of await this.named(d.name)) {
      if (keyOf(c) === keyOf(d) || !CALLABLE.has(c.kind)) continue;
      const t = containerOf(c.qname);
      if (t !== '' && t !== own && (await this.chainOf(t)).includes(own)) out.push(c);
    }
    return out;
  }
}

