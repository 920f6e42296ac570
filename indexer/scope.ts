// Local bindings for call references (issue 10): is a call's callee name, or its receiver, a
// parameter or local variable of an enclosing function, and if so, of which simple type?
//
// The resolver (store/graph.ts) uses the answer so that a parameter or local shadows same-name
// definitions elsewhere (`onFocus()` with `onFocus` a parameter links nothing), and so that
// `x.m()` with `x: Foo`, `x = new Foo()`, Go `func (s *Server)`, Java `Foo x`... links to `Foo.m`.
// Compiler-less best effort: one scope per function (block scopes are folded into it), types are the
// annotation's or the constructor's simple name.
//
// A binding's type is a small type expression (`TypeExpr`) the resolver evaluates over the whole
// tree: `Foo` (a type), `f()` (what the bare call `f()` returns), `this` (the enclosing class), each
// followed by `.p` (the type of field `p`) or `.m()` (what method `m` returns). So `const q =
// this.#client.getQueryCache()` binds `q` to `QueryClient.getQueryCache()` when `#client: QueryClient`
// is declared, and the resolver reads `getQueryCache`'s declared return type from the `type` facts
// the extractor records for functions, fields and module-level variables (`typeFacts`).
//
// Cost: the tags query also captures every function and declaration node (`scopeQuerySource`), so
// the enclosing functions of a reference are found by binary search over nested ranges, and each
// function's bindings are collected once from the declarations it owns (`ScopeIndex`), with no walk
// through `parent` or `namedChildren` (each step crosses into WASM and allocates a node; #9). Where
// ranges cannot stand for the tree (error-recovered parses), the old walks run: up the ancestors,
// and through the function's subtree stopping at nested functions, in the same order.
import type { Node } from 'web-tree-sitter';
import type { LanguageId } from './types.ts';

/** How a declaration-like node binds names: its name, type and value fields. */
interface DeclShape { name: string; type?: string; value?: string }

interface ScopeRules {
  /** Function-like node types: each opens a scope. */
  functions: ReadonlySet<string>;
  /** Declaration node types (parameters and locals), with their fields. */
  decls: Readonly<Record<string, DeclShape>>;
  /** Node types whose direct identifier children are parameters (`(a, b) =>`, Python `def f(a, b)`). */
  identLists: ReadonlySet<string>;
  /** Function fields holding a lone parameter identifier (`x => x.f()`). */
  loneParam?: string;
  /** Constructor expressions and the field naming their type (`new Foo()` -> `constructor`). */
  constructs: Readonly<Record<string, string>>;
}

const JS: ScopeRules = {
  functions: new Set(['function_declaration', 'function_expression', 'function', 'arrow_function', 'method_definition',
    'generator_function_declaration', 'generator_function']),
  decls: {
    required_parameter: { name: 'pattern', type: 'type', value: 'value' },
    optional_parameter: { name: 'pattern', type: 'type', value: 'value' },
    variable_declarator: { name: 'name', type: 'type', value: 'value' },
    assignment_pattern: { name: 'left' },
    rest_pattern: { name: '' },
    catch_clause: { name: 'parameter' },
    for_in_statement: { name: 'left' },
  },
  identLists: new Set(['formal_parameters']),
  loneParam: 'parameter',
  constructs: { new_expression: 'constructor' },
};

const RULES: Readonly<Record<LanguageId, ScopeRules>> = {
  typescript: JS,
  tsx: JS,
  javascript: JS,
  python: {
    functions: new Set(['function_definition', 'lambda']),
    decls: {
      typed_parameter: { name: '', type: 'type' },
      default_parameter: { name: 'name' },
      typed_default_parameter: { name: 'name', type: 'type' },
      list_splat_pattern: { name: '' },
      dictionary_splat_pattern: { name: '' },
      assignment: { name: 'left', type: 'type', value: 'right' },
      for_statement: { name: 'left' },
      as_pattern: { name: 'alias' },
    },
    identLists: new Set(['parameters', 'lambda_parameters']),
    constructs: { call: 'function' },
  },
  go: {
    functions: new Set(['function_declaration', 'method_declaration', 'func_literal']),
    decls: {
      parameter_declaration: { name: 'name', type: 'type' },
      variadic_parameter_declaration: { name: 'name', type: 'type' },
      short_var_declaration: { name: 'left', value: 'right' },
      var_spec: { name: 'name', type: 'type', value: 'value' },
      range_clause: { name: 'left' },
    },
    identLists: new Set(),
    constructs: { composite_literal: 'type' },
  },
  java: {
    functions: new Set(['method_declaration', 'constructor_declaration', 'lambda_expression']),
    decls: {
      formal_parameter: { name: 'name', type: 'type' },
      spread_parameter: { name: '', type: '' },
      catch_formal_parameter: { name: 'name' },
      local_variable_declaration: { name: 'declarator', type: 'type' },
      enhanced_for_statement: { name: 'name', type: 'type' },
    },
    identLists: new Set(['inferred_parameters']),
    loneParam: 'parameters',
    constructs: { object_creation_expression: 'type' },
  },
  cpp: {
    functions: new Set(['function_definition', 'lambda_expression']),
    decls: {
      parameter_declaration: { name: 'declarator', type: 'type' },
      optional_parameter_declaration: { name: 'declarator', type: 'type' },
      declaration: { name: 'declarator', type: 'type' },
      for_range_loop: { name: 'declarator', type: 'type' },
    },
    identLists: new Set(),
    constructs: {},
  },
  rust: {
    functions: new Set(['function_item', 'closure_expression']),
    decls: {
      parameter: { name: 'pattern', type: 'type' },
      let_declaration: { name: 'pattern', type: 'type', value: 'value' },
      for_expression: { name: 'pattern' },
    },
    identLists: new Set(['closure_parameters']),
    constructs: { struct_expression: 'name' },
  },
};

const IDENT = new Set(['identifier', 'shorthand_property_identifier_pattern', 'field_identifier']);
const TYPE_NAME = new Set(['type_identifier', 'identifier', 'primitive_type', 'predefined_type']);
/** Types that say nothing about which class a receiver is. */
const NO_TYPE = new Set(['any', 'unknown', 'object', 'Object', 'auto', 'var', 'let', 'const', 'self', 'Self', 'this']);

/** Type nodes that are not one class: unions, arrays, functions, tuples, Go slices, maps, channels. */
const NOT_ONE_TYPE = new Set(['union_type', 'array_type', 'function_type', 'tuple_type', 'slice_type', 'map_type', 'channel_type']);

/** `base` followed by one more member step, or '' when the expression grows too long. */
function extend(base: string, step: string): string {
  return base.length + step.length > MAX_EXPR ? '' : base + step;
}

/** The simple name of a type node: `Foo` for `Foo<T>`, `*Foo`, `&mut Foo`, `pkg.Foo`, `ns::Foo`. */
function typeName(node: Node | null): string {
  if (!node) return '';
  if (node.type === 'type_annotation') return typeName(node.namedChildren[0] ?? null);
  // `(): this` on a fluent method: the receiver's own type, which the resolver substitutes.
  if (node.type === 'this_type') return 'this';
  // Qualified names: the last segment.
  if (node.type === 'nested_type_identifier' || node.type === 'qualified_type' || node.type === 'scoped_type_identifier'
    || node.type === 'qualified_identifier' || node.type === 'scoped_identifier' || node.type === 'member_expression' || node.type === 'attribute') {
    const last = node.childForFieldName('name') ?? node.childForFieldName('property') ?? node.childForFieldName('attribute') ?? node.lastNamedChild;
    return last && last !== node ? typeName(last) : '';
  }
  if (TYPE_NAME.has(node.type)) return NO_TYPE.has(node.text) || node.type === 'primitive_type' || node.type === 'predefined_type' ? '' : node.text;
  // Generic, pointer, reference, union with null...: the first named part that is a type name.
  // Containers (Go slices, maps and channels too) say nothing about their elements' methods.
  if (NOT_ONE_TYPE.has(node.type)) return '';
  const first = node.childForFieldName('type') ?? node.childForFieldName('name') ?? node.namedChildren[0] ?? null;
  return first && first !== node ? typeName(first) : '';
}

/** The type a value constructs (`new Foo()`, `Foo{}`, `Foo(...)` in Python, Rust `Foo::new()`). */
function constructedType(value: Node | null, rules: ScopeRules): string {
  if (!value) return '';
  let v: Node | null = value;
  if (v.type === 'expression_list') v = v.namedChildren[0] ?? null;
  if (v && v.type === 'unary_expression') v = v.childForFieldName('operand');
  if (v && v.type === 'await_expression') v = v.namedChildren[0] ?? null;
  if (!v) return '';
  const field = rules.constructs[v.type];
  if (field !== undefined) {
    const t = typeName(v.childForFieldName(field));
    // Python: only a capitalised callee is taken for a class.
    return v.type === 'call' && !/^[A-Z]/.test(t) ? '' : t;
  }
  // Rust `Foo::new(...)`, `Foo::default()`: the path's type.
  if (v.type === 'call_expression') {
    const f = v.childForFieldName('function');
    if (f && f.type === 'scoped_identifier') {
      const path = f.childForFieldName('path');
      if (path && /^[A-Z]/.test(path.text)) return typeName(path);
    }
  }
  return '';
}

/** The identifiers a name node binds: itself, or every identifier of a pattern / declarator. */
function boundNames(node: Node, out: string[]): void {
  const stack = [node];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (IDENT.has(n.type)) { out.push(n.text); continue; }
    // Initialisers and default values are not bound names.
    if (n.type === 'init_declarator' || n.type === 'variable_declarator' || n.type === 'assignment_pattern') {
      const d = n.childForFieldName('declarator') ?? n.childForFieldName('name') ?? n.childForFieldName('left');
      if (d) stack.push(d);
      continue;
    }
    if (n.type === 'pair_pattern') {
      const v = n.childForFieldName('value');
      if (v) stack.push(v);
      continue;
    }
    for (const c of n.namedChildren) if (c) stack.push(c);
  }
}

/** Class node types whose fields can type a `this.x` receiver, per language. */
const CLASSES: Readonly<Partial<Record<LanguageId, ReadonlySet<string>>>> = {
  typescript: new Set(['class_declaration', 'abstract_class_declaration', 'class']),
  tsx: new Set(['class_declaration', 'abstract_class_declaration', 'class']),
  javascript: new Set(['class_declaration', 'class']),
  python: new Set(['class_definition']),
  java: new Set(['class_declaration', 'enum_declaration', 'record_declaration']),
  // Structs, whose field types type a chain through a named receiver: `group.engine.addRoute()`
  // (gin) and Rust `self.engine.add_route()`.
  go: new Set(['type_spec']),
  rust: new Set(['struct_item']),
};

/** The receiver object and field of `this.x` / `self.x` (TS member_expression, Python attribute,
 * Java field_access), or null for any other node. */
export function selfField(n: Node): string | null {
  const obj = n.childForFieldName('object');
  const field = n.childForFieldName('property') ?? n.childForFieldName('attribute') ?? n.childForFieldName('field');
  if (!obj || !field || (n.type !== 'member_expression' && n.type !== 'attribute' && n.type !== 'field_access')) return null;
  return obj.type === 'this' || obj.text === 'this' || obj.text === 'self' ? field.text : null;
}

/** A binding: its type expression, or the value node it is initialised with (typed on demand, so a
 * local typed by another local declared later in the walk still gets its type). */
type Binding = string | Node;

/** Type expressions longer than this, or nested deeper, are given up (left unknown). */
const MAX_EXPR = 200;
const MAX_DEPTH = 8;

/** Member-access node types and their object / member fields, per grammar. */
const MEMBER: Readonly<Record<string, readonly [string, string]>> = {
  member_expression: ['object', 'property'], // TS / JS
  attribute: ['object', 'attribute'], // Python
  field_access: ['object', 'field'], // Java
  selector_expression: ['operand', 'field'], // Go
  field_expression: ['value', 'field'], // Rust
};
/** Wrappers that keep their operand's type. */
const TRANSPARENT = new Set(['parenthesized_expression', 'non_null_expression', 'await_expression']);

/** Adds `names` with `type`: a typed declaration overrides, an untyped one only fills a gap. */
function addBinding(map: Map<string, Binding>, names: readonly string[], type: Binding): void {
  for (const n of names) if (!map.has(n) || type !== '') map.set(n, type);
}

/** Query patterns that find a tree's scope nodes: `@local.function` on function-like nodes,
 * `@local.declaration` on declarations and identifier lists. The extractor appends them to the
 * language's tags query, so one query run finds both (a separate run walked the whole tree again).
 * Types the grammar does not have are left out (a query naming an unknown type does not compile). */
export function scopeQuerySource(language: LanguageId, hasType: (type: string) => boolean): string {
  const rules = RULES[language];
  const alt = (types: Iterable<string>): string => `[${[...types].filter(hasType).map((t) => `(${t})`).join(' ')}]`;
  return `${alt(rules.functions)} @local.function\n${alt([...Object.keys(rules.decls), ...rules.identLists])} @local.declaration\n`;
}

/** What the scope patterns captured, in any order: `functions` (`@local.function`) and `decls`
 * (`@local.declaration`). */
export interface ScopeCaptures {
  functions: Node[];
  decls: Node[];
}

/**
 * The function nodes of one tree as nested ranges, so that "the nearest function above this node"
 * is a binary search instead of a walk up `parent` (each step of which crosses into WASM and
 * allocates a node), and each function's declarations come from one query run instead of a walk
 * of its subtree through `namedChildren` (most of extraction's JavaScript time, #9).
 *
 * Ranges stand for ancestry because tree nodes nest. Where they could not tell two nodes apart (a
 * zero-width node, two functions or a function and a declaration with the same range, both only in
 * error-recovered trees) `build` returns null and the caller walks the tree as before.
 */
class ScopeIndex {
  private readonly starts: number[];
  private readonly ends: number[];
  private readonly owned: Node[][];
  private readonly sorted: boolean[];

  private constructor(readonly fns: Node[], ends: number[], readonly parent: Int32Array) {
    this.starts = fns.map((f) => f.startIndex);
    this.ends = ends;
    this.owned = fns.map(() => []);
    this.sorted = fns.map(() => false);
  }

  static build(captured: ScopeCaptures): ScopeIndex | null {
    const fns = captured.functions.map((node) => ({ node, start: node.startIndex, end: node.endIndex }));
    fns.sort((a, b) => a.start - b.start || b.end - a.end);
    const parent = new Int32Array(fns.length);
    const stack: number[] = [];
    for (let i = 0; i < fns.length; i++) {
      const f = fns[i]!;
      if (f.start === f.end) return null;
      const prev = fns[i - 1];
      if (prev && prev.start === f.start && prev.end === f.end) return null;
      while (stack.length > 0 && fns[stack[stack.length - 1]!]!.end < f.end) stack.pop();
      parent[i] = stack.length > 0 ? stack[stack.length - 1]! : -1;
      stack.push(i);
    }
    const index = new ScopeIndex(fns.map((f) => f.node), fns.map((f) => f.end), parent);
    for (const node of captured.decls) {
      const owner = index.around(node.startIndex, node.endIndex);
      if (owner === -2) return null;
      if (owner >= 0) index.owned[owner]!.push(node);
    }
    return index;
  }

  /** The innermost function strictly around [start, end): its position, -1 for none, -2 when a
   * function has exactly that range (ranges cannot tell whether it is above or below). */
  around(start: number, end: number): number {
    if (start === end) return -2;
    const starts = this.starts;
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid]! <= start) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo - 1; i >= 0; i = this.parent[i]!) {
      const e = this.ends[i]!;
      if (starts[i] === start && e === end) return -2;
      if (end <= e) return i;
    }
    return -1;
  }

  /**
   * The declarations whose nearest function is function `i`, in the order a walk of its subtree
   * meets them when it pops the last child first (the order the parent-walking path uses): a node
   * before its descendants, a later sibling's subtree before an earlier one's. That is by end
   * descending, then start ascending; nodes with the same range are an ancestor chain, put
   * outermost first.
   */
  ownedBy(i: number): Node[] {
    const nodes = this.owned[i]!;
    if (this.sorted[i]) return nodes;
    this.sorted[i] = true;
    const keyed = nodes.map((node) => ({ node, start: node.startIndex, end: node.endIndex, depth: 0 }));
    keyed.sort((a, b) => b.end - a.end || a.start - b.start);
    for (let k = 0; k + 1 < keyed.length; k++) {
      const a = keyed[k]!;
      const b = keyed[k + 1]!;
      if (a.start !== b.start || a.end !== b.end) continue;
      // A run of same-range nodes: order it by depth, counted up the (short) same-range chain.
      let m = k + 1;
      while (m + 1 < keyed.length && keyed[m + 1]!.start === a.start && keyed[m + 1]!.end === a.end) m++;
      const run = keyed.slice(k, m + 1);
      const ids = new Set(run.map((r) => r.node.id));
      for (const r of run) {
        for (let up = r.node.parent; up !== null && up.startIndex === a.start && up.endIndex === a.end; up = up.parent) if (ids.has(up.id)) r.depth++;
      }
      run.sort((x, y) => x.depth - y.depth);
      keyed.splice(k, run.length, ...run);
      k = m;
    }
    nodes.length = 0;
    for (const k of keyed) nodes.push(k.node);
    return nodes;
  }
}

/** Maps a function node to its bindings (name -> type expression, '' when unknown). */
export class Scopes {
  private readonly rules: ScopeRules;
  private readonly classes: ReadonlySet<string>;
  private readonly cache = new Map<number, Map<string, Binding>>();
  private readonly fieldCache = new Map<number, Map<string, string>>();
  /** Node id -> the nearest function / class node at or above it (`nearest`). */
  private readonly functionAbove = new Map<number, Node | null>();
  private readonly classAbove = new Map<number, Node | null>();

  /** The tree's function nodes by range (see `ScopeIndex`), or null when the ranges cannot stand for
   * the tree's structure: then every lookup walks parents and every scope walks its subtree. */
  private readonly index: ScopeIndex | null;

  /** `captured`: the tree's nodes of `scopeQuerySource`'s patterns, as `scopeCaptures` returns them. */
  constructor(language: LanguageId, captured?: ScopeCaptures) {
    this.rules = RULES[language];
    this.classes = CLASSES[language] ?? new Set();
    this.index = captured ? ScopeIndex.build(captured) : null;
  }

  /** Java: a bare identifier that is no local is a field of `this` (`helper.help()`). */
  implicitField(at: Node, name: string): string | undefined {
    return this.rules === RULES.java ? this.fieldType(at, name) : undefined;
  }

  /** The declared or constructed type of field `field` of the class around `at`, if known. */
  fieldType(at: Node, field: string): string | undefined {
    const cls = this.nearest(at.parent, this.classes, this.classAbove);
    if (cls === null) return undefined;
    const t = this.fields(cls).get(field);
    return t === '' ? undefined : t;
  }

  /**
   * The nearest node of a type in `types` at or above `start`, or null. Every reference walked up
   * the tree to the root, and each `parent` step crosses into WASM and allocates a node (a tenth of
   * a history index's extraction time, #9), so the answer is remembered for each node passed: the
   * next reference below the same statement stops after a step or two. Keyed by node id, which is
   * unique for inner nodes (only leaf tokens can share one, and a parent is never a leaf).
   */
  private nearest(start: Node | null, types: ReadonlySet<string>, memo: Map<number, Node | null>): Node | null {
    const passed: number[] = [];
    let found: Node | null = null;
    for (let n = start; n !== null; n = n.parent) {
      const known = memo.get(n.id);
      if (known !== undefined) {
        found = known;
        break;
      }
      if (types.has(n.type)) {
        found = n;
        break;
      }
      passed.push(n.id);
    }
    for (const id of passed) memo.set(id, found);
    return found;
  }

  private fields(cls: Node): Map<string, string> {
    let map = this.fieldCache.get(cls.id);
    if (map) return map;
    map = new Map();
    this.fieldCache.set(cls.id, map);
    const set = (name: string | undefined, type: string): void => {
      if (name !== undefined && type !== '' && !map!.has(name)) map!.set(name, type);
    };
    const stack: Node[] = [];
    for (const c of cls.namedChildren) if (c) stack.push(c);
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (this.classes.has(n.type)) continue;
      switch (n.type) {
        case 'public_field_definition': // TS / JS class field: `x: Foo`, `x = new Foo()`
        case 'field_definition':
          set(n.childForFieldName('name')?.text ?? n.childForFieldName('property')?.text,
            typeName(n.childForFieldName('type')) || this.exprType(n.childForFieldName('value')));
          break;
        case 'required_parameter': // TS parameter property: `constructor(private x: Foo)`
          if (n.namedChildren.some((c) => c?.type === 'accessibility_modifier' || c?.type === 'override_modifier')) {
            set(n.childForFieldName('pattern')?.text, typeName(n.childForFieldName('type')));
          }
          break;
        case 'field_declaration': { // Java: `private Foo x;`; Go `a, b *Foo`, embedded `*Foo`; Rust `a: Foo`
          const t = typeName(n.childForFieldName('type'));
          for (const d of n.childrenForFieldName('declarator')) if (d) set(d.childForFieldName('name')?.text, t);
          const names = n.childrenForFieldName('name');
          for (const d of names) if (d) set(d.text, t);
          // A Go embedded field is named after its type: `engine.RouterGroup.handle()`.
          if (this.rules === RULES.go && names.length === 0) set(t === '' ? undefined : t, t);
          break;
        }
        case 'assignment_expression': // JS `this.x = new Foo()`
        case 'assignment': { // Python `self.x = Foo()`, `self.x: Foo = ...`, class-level `x: Foo`
          const left = n.childForFieldName('left');
          if (!left) break;
          const name = left.type === 'identifier' && n.type === 'assignment' ? left.text : selfField(left) ?? undefined;
          set(name, typeName(n.childForFieldName('type')) || this.exprType(n.childForFieldName('right')));
          break;
        }
      }
      for (const c of n.namedChildren) if (c) stack.push(c);
    }
    return map;
  }

  /** The binding of `name` visible at `at`: '' (a local or parameter of unknown type), its type
   * expression, or undefined when no enclosing function binds it (a module-level or outer definition). */
  lookup(at: Node, name: string, depth = 0): string | undefined {
    const index = this.index;
    const around = index === null ? -2 : index.around(at.startIndex, at.endIndex);
    if (around === -2) {
      for (let n = this.nearest(at.parent, this.rules.functions, this.functionAbove); n !== null; n = this.nearest(n.parent, this.rules.functions, this.functionAbove)) {
        const b = this.bindings(n).get(name);
        if (b === undefined) continue;
        return typeof b === 'string' ? b : this.exprType(b, depth + 1);
      }
      return undefined;
    }
    for (let i = around; i >= 0; i = index!.parent[i]!) {
      const b = this.bindings(index!.fns[i]!, i).get(name);
      if (b === undefined) continue;
      return typeof b === 'string' ? b : this.exprType(b, depth + 1);
    }
    return undefined;
  }

  /** The type expression of a value or receiver expression where it stands, '' when unknown:
   * `new Foo()` -> `Foo`, `x as Foo` -> `Foo`, `this` -> `this`, `this.a` -> the field's type (or
   * `this.a`), `a.b` / `a.m()` -> a's type followed by `.b` / `.m()`, `f()` -> `f()` unless `f` is a
   * local. */
  exprType(node: Node | null, depth = 0): string {
    if (!node || depth > MAX_DEPTH) return '';
    const made = constructedType(node, this.rules);
    if (made !== '') return made;
    const t = node.type;
    if (t === 'this' || t === 'self' || (t === 'identifier' && this.rules === RULES.python && node.text === 'self')) return 'this';
    if (t === 'identifier') return this.lookup(node, node.text, depth) ?? '';
    if (TRANSPARENT.has(t)) return this.exprType(node.namedChildren.find((c) => c !== null && c.type !== 'type_annotation') ?? null, depth + 1);
    if (t === 'as_expression' || t === 'satisfies_expression') return typeName(node.namedChildren[1] ?? null);
    const member = MEMBER[t];
    if (member) {
      const obj = node.childForFieldName(member[0]);
      const prop = node.childForFieldName(member[1]);
      if (!obj || !prop) return '';
      const base = this.exprType(obj, depth + 1);
      if (base === 'this') {
        const f = this.fieldType(node, prop.text);
        if (f !== undefined) return f;
      }
      return base === '' ? '' : extend(base, `.${prop.text}`);
    }
    if (t === 'method_invocation') { // Java `a.m()`, `m()`
      const obj = node.childForFieldName('object');
      const name = node.childForFieldName('name');
      if (!name) return '';
      if (!obj) return `${name.text}()`;
      const base = this.exprType(obj, depth + 1);
      return base === '' ? '' : extend(base, `.${name.text}()`);
    }
    if (t === 'call_expression' || t === 'call') {
      const fn = node.childForFieldName('function');
      if (!fn) return '';
      // `super()` (Python) is the receiver `super()`, which the resolver reads itself.
      if (fn.type === 'identifier') return fn.text !== 'super' && this.lookup(fn, fn.text, depth) === undefined ? `${fn.text}()` : '';
      const m = MEMBER[fn.type];
      const obj = m ? fn.childForFieldName(m[0]) : null;
      const prop = m ? fn.childForFieldName(m[1]) : null;
      if (!obj || !prop) return '';
      const base = this.exprType(obj, depth + 1);
      return base === '' ? '' : extend(base, `.${prop.text}()`);
    }
    return '';
  }

  /** Is `node` a class whose fields `fieldTypes` reads? */
  isClass(node: Node): boolean {
    return this.classes.has(node.type);
  }

  /** The type of a declaration node (`let x: Foo`, `const x = new Foo()`, `const x = make()`). */
  declaredType(decl: Node): string {
    return typeName(decl.childForFieldName('type')) || this.exprType(decl.childForFieldName('value'));
  }

  /** The field types of class node `cls` (declared, constructed, or of their initial value). */
  fieldTypes(cls: Node): ReadonlyMap<string, string> {
    return this.fields(cls);
  }

  /** What function node `fn` returns: its declared type, else the type every `return` in its body
   * (or its expression body) agrees on; '' when unknown. */
  returnType(fn: Node, declared: Node | null): string {
    const d = typeName(declared);
    if (d !== '') return d;
    const body = fn.childForFieldName('body');
    if (!body) return '';
    if (body.type !== 'statement_block' && body.type !== 'block') return this.functions.has(fn.type) ? this.exprType(body) : '';
    let found = '';
    const stack: Node[] = [body];
    let seen = 0;
    while (stack.length > 0 && seen++ < 10_000) {
      const n = stack.pop()!;
      if (n !== body && this.rules.functions.has(n.type)) continue;
      if (n.type === 'return_statement') {
        const t = this.exprType(n.namedChildren[0] ?? null);
        if (t === '' || (found !== '' && t !== found)) return '';
        found = t;
        continue;
      }
      for (const c of n.namedChildren) if (c) stack.push(c);
    }
    return found;
  }

  private get functions(): ReadonlySet<string> {
    return this.rules.functions;
  }

  /** The bindings of function node `fn` (`index`: its position in the scope index, if any). */
  private bindings(fn: Node, index = -1): Map<string, Binding> {
    let map = this.cache.get(fn.id);
    if (map) return map;
    map = new Map();
    this.cache.set(fn.id, map);
    if (this.rules.loneParam) {
      const p = fn.childForFieldName(this.rules.loneParam);
      if (p && p.type === 'identifier') addBinding(map, [p.text], '');
    }
    const owned = index >= 0 ? this.index!.ownedBy(index) : null;
    if (owned !== null) {
      for (const n of owned) this.declare(n, map);
    } else {
      // The walk's order is the scope index's order (`ScopeIndex.ownedBy`): a later declaration of
      // the same name can override an earlier one, so both paths must see them in the same order.
      const stack: Node[] = [];
      for (const c of fn.namedChildren) if (c) stack.push(c);
      while (stack.length > 0) {
        const n = stack.pop()!;
        // A nested function is its own scope; its parameters are not ours.
        if (this.rules.functions.has(n.type)) continue;
        this.declare(n, map);
        for (const c of n.namedChildren) if (c) stack.push(c);
      }
    }
    this.contextualParams(fn, map);
    return map;
  }

  /** Adds the names declaration-like node `n` binds (a parameter, a local, an identifier list) to `map`. */
  private declare(n: Node, map: Map<string, Binding>): void {
    const shape = this.rules.decls[n.type];
    if (shape) {
      const names: string[] = [];
      const nameNode = shape.name === '' ? n : n.childForFieldName(shape.name);
      // Python `a.b = x` and `a[i] = x` bind nothing.
      if (nameNode && !(n.type === 'assignment' && nameNode.type !== 'identifier' && nameNode.type !== 'pattern_list' && nameNode.type !== 'tuple_pattern')) {
        if (shape.name === '') {
          // Python typed_parameter / splat: the identifiers directly below.
          for (const c of n.namedChildren) if (c && c.type === 'identifier') { names.push(c.text); break; }
        } else {
          boundNames(nameNode, names);
        }
      }
      // Java / C++ declare several names of one type: `Foo a, b;` (each declarator is a field).
      if (n.type === 'local_variable_declaration' || n.type === 'declaration') {
        for (const d of n.childrenForFieldName('declarator')) if (d && d !== nameNode) boundNames(d, names);
      }
      if (n.type === 'parameter_declaration' && this.rules === RULES.go) {
        for (const d of n.childrenForFieldName('name')) if (d && d !== nameNode) names.push(d.text);
      }
      let type: Binding = shape.type ? typeName(n.childForFieldName(shape.type)) : '';
      if (type === '' && shape.value) type = constructedType(n.childForFieldName(shape.value), this.rules);
      if (type === '' && (n.type === 'local_variable_declaration' || n.type === 'declaration')) {
        const d = n.childForFieldName('declarator');
        if (d && d.type === 'variable_declarator') type = constructedType(d.childForFieldName('value'), this.rules);
      }
      // One plain name bound to a value (`const q = cache.build()`): typed from the value on
      // demand. A destructuring pattern's names are parts of the value, not the value.
      if (type === '' && shape.value && names.length === 1 && nameNode && IDENT.has(nameNode.type)) {
        const v = n.childForFieldName(shape.value);
        if (v) type = v;
      }
      addBinding(map, names, type);
    } else if (this.rules.identLists.has(n.type)) {
      addBinding(map, n.namedChildren.filter((c): c is Node => c !== null && c.type === 'identifier').map((c) => c.text), '');
    }
  }

  /** A callback's unannotated parameters take the types the callee declares for them (contextual
   * typing): `operate((source, subscriber) => ...)` with `operate(init: (source: Observable<T>,
   * subscriber: Subscriber<R>) => void)` binds `subscriber` to `operate(0:1)`, parameter 1 of the
   * function passed as argument 0 of `operate`, which the resolver reads from `operate`'s `type`
   * facts. Only for a bare callee or `new X(...)`, whose target the resolver can find. */
  private contextualParams(fn: Node, map: Map<string, Binding>): void {
    const args = fn.parent;
    const call = args?.parent;
    if (!args || !call || args.type !== 'arguments' || (call.type !== 'call_expression' && call.type !== 'new_expression')) return;
    const callee = call.childForFieldName(call.type === 'new_expression' ? 'constructor' : 'function');
    if (!callee || callee.type !== 'identifier' || this.lookup(call, callee.text) !== undefined) return;
    const i = args.namedChildren.findIndex((c) => c !== null && c.id === fn.id);
    if (i < 0) return;
    for (const [k, p] of callbackParams(fn).entries()) {
      if (p.type === 'identifier' && map.get(p.text) === '') map.set(p.text, `${callee.text}(${i}:${k})`);
    }
  }
}

/** The parameter name nodes of a function node (an identifier, or the pattern of an unannotated
 * parameter; null for an annotated or destructured one), in order, `this` left out. */
function callbackParams(fn: Node): Array<Node | { type: '' }> {
  const lone = fn.childForFieldName('parameter');
  if (lone) return [lone];
  const out: Array<Node | { type: '' }> = [];
  for (const p of fn.childForFieldName('parameters')?.namedChildren ?? []) {
    if (!p) continue;
    if (p.type === 'identifier') { out.push(p); continue; }
    if (p.type !== 'required_parameter' && p.type !== 'optional_parameter') continue;
    const pat = p.childForFieldName('pattern');
    if (pat?.type === 'this') continue;
    out.push(pat && !p.childForFieldName('type') ? pat : { type: '' });
  }
  return out;
}

/** The declared types of the parameters of each function-typed parameter of a function node:
 * `[i, k, type]` for parameter k of the callback that is parameter i (`this` parameters left out).
 * Recorded as `type` facts with qualifier `(i:k)` (see `contextualParams`). */
export function callbackParamTypes(fn: Node): Array<[number, number, string]> {
  const out: Array<[number, number, string]> = [];
  let i = 0;
  for (const p of fn.childForFieldName('parameters')?.namedChildren ?? []) {
    if (!p || (p.type !== 'required_parameter' && p.type !== 'optional_parameter')) continue;
    if (p.childForFieldName('pattern')?.type === 'this') continue;
    let t = p.childForFieldName('type');
    if (t?.type === 'type_annotation') t = t.namedChildren[0] ?? null;
    while (t?.type === 'parenthesized_type') t = t.namedChildren[0] ?? null;
    if (t?.type === 'function_type') {
      let k = 0;
      for (const q of t.childForFieldName('parameters')?.namedChildren ?? []) {
        if (!q || (q.type !== 'required_parameter' && q.type !== 'optional_parameter')) continue;
        if (q.childForFieldName('pattern')?.type === 'this') continue;
        const name = typeName(q.childForFieldName('type'));
        if (name !== '') out.push([i, k, name]);
        k++;
      }
    }
    i++;
  }
  return out;
}
