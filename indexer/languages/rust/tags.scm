; Rust definitions and references.
; Capture conventions: indexer/languages/README.md. Earlier patterns win when two patterns capture
; the same node. Decisions specific to Rust are in indexer/languages/rust/README.md.

(line_comment) @comment
(block_comment) @comment

; ---- modules and types -------------------------------------------------------------------------
(mod_item name: (identifier) @name) @definition.namespace
(struct_item name: (type_identifier) @name) @definition.struct
(union_item name: (type_identifier) @name) @definition.struct
(enum_item name: (type_identifier) @name) @definition.enum
(trait_item name: (type_identifier) @name) @definition.trait
(type_item name: (type_identifier) @name) @definition.type
; `type Item;` / `type Item: Bound;` inside a trait
(associated_type name: (type_identifier) @name) @definition.type

; `impl Foo { ... }` and `impl Trait for Foo<T> { ... }` name their methods `Foo.method`.
; The scope is named by the bare type name: `Store<K, V>` -> `Store`, `fmt::Formatter` -> `Formatter`.
; `impl Trait for &T`, `impl dyn Any + Send`: the referenced / trait-object type names the scope.
(impl_item type: [
  (type_identifier) @scope.name
  (generic_type type: (type_identifier) @scope.name)
  (scoped_type_identifier name: (type_identifier) @scope.name)
  (generic_type type: (scoped_type_identifier name: (type_identifier) @scope.name))
  (reference_type type: (type_identifier) @scope.name)
  (reference_type type: (generic_type type: (type_identifier) @scope.name))
  (reference_type type: (scoped_type_identifier name: (type_identifier) @scope.name))
  (dynamic_type trait: (type_identifier) @scope.name)
  (dynamic_type trait: (generic_type type: (type_identifier) @scope.name))
  (dynamic_type trait: (scoped_type_identifier name: (type_identifier) @scope.name))
  (bounded_type . (dynamic_type trait: (type_identifier) @scope.name))
]) @scope
; Impls for tuples, slices, arrays, fn pointers: methods, unqualified (no single type name).
(impl_item) @scope

; ---- functions and methods ---------------------------------------------------------------------
; A `function` inside an impl scope or a trait becomes a `method` (engine rule).
(function_item
  name: (identifier) @name
  parameters: (parameters) @params
  return_type: (_)? @returns) @definition.function
; Trait method declarations without a body, and `extern "C" { fn f(); }` declarations.
(function_signature_item
  name: (identifier) @name
  parameters: (parameters) @params
  return_type: (_)? @returns) @definition.function

; `macro_rules! name { ... }` defines a function-like entity named `name`; invocations `name!(..)`
; are call references named `name`, so the two resolve to each other.
(macro_definition name: (identifier) @name) @definition.function

; ---- module-level constants and statics --------------------------------------------------------
; The engine keeps them only at module / `mod` level (associated consts in impls are dropped).
(const_item name: (identifier) @name) @definition.constant
(static_item name: (identifier) @name) @definition.variable

; ---- imports -----------------------------------------------------------------------------------
; The import entity is named by the `use` path (the part before any `{...}` group or `as`).
(use_declaration argument: (scoped_use_list path: (_) @name)) @definition.import
(use_declaration argument: (use_as_clause path: (_) @name)) @definition.import
(use_declaration argument: (use_wildcard . (_) @name)) @definition.import
(use_declaration argument: (use_list) @name) @definition.import
(use_declaration argument: (_) @name) @definition.import
(extern_crate_declaration name: (identifier) @name) @definition.import

; Import references: `name` is the imported item, `module` the path it comes from (segments joined
; with `::`, also across nested groups), `alias` the `as` name; globs are named `*`.
; use a::b::c;  use a::b::c as d;
(use_declaration argument: (scoped_identifier path: (_) @module name: (identifier) @name)) @reference.import
(use_declaration argument: (use_as_clause path: (scoped_identifier path: (_) @module name: (identifier) @name) alias: (identifier) @alias)) @reference.import
; use a;  use a as b;  (a crate or a `mod` in scope: the module is the name itself)
(use_declaration argument: (identifier) @name @module) @reference.import
(use_declaration argument: (use_as_clause path: (identifier) @name @module alias: (identifier) @alias)) @reference.import
; use a::b::*;
(use_declaration argument: (use_wildcard . (_) @module @name) (#set! name "*")) @reference.import

; Grouped imports: `use a::{b, c as d, e::f, g::*, self}`, nested up to three groups deep (a
; `self` in a nested group is named `self`).
; Predicates apply to a whole pattern, so globs get their own patterns.
(use_declaration argument: (scoped_use_list path: (_) @module list: (use_list [
  (identifier) @name
  (use_as_clause path: (identifier) @name alias: (identifier) @alias)
  (scoped_identifier path: (_) @module name: (identifier) @name)
  (use_as_clause path: (scoped_identifier path: (_) @module name: (identifier) @name) alias: (identifier) @alias)
]))) @reference.import
; `use std::fmt::{self, ..}` imports `fmt` from `std`, like `use std::fmt;`.
(use_declaration argument: (scoped_use_list path: (scoped_identifier path: (_) @module name: (identifier) @name) list: (use_list (self)))) @reference.import
(use_declaration argument: (scoped_use_list path: (identifier) @name @module list: (use_list (self)))) @reference.import
(use_declaration argument: (scoped_use_list path: (_) @module list: (use_list (scoped_use_list path: (_) @module list: (use_list [
  (identifier) @name
  (use_as_clause path: (identifier) @name alias: (identifier) @alias)
  (scoped_identifier path: (_) @module name: (identifier) @name)
  (use_as_clause path: (scoped_identifier path: (_) @module name: (identifier) @name) alias: (identifier) @alias)
  (self) @name
]))))) @reference.import
(use_declaration argument: (scoped_use_list path: (_) @module list: (use_list (scoped_use_list path: (_) @module list: (use_list (scoped_use_list path: (_) @module list: (use_list [
  (identifier) @name
  (use_as_clause path: (identifier) @name alias: (identifier) @alias)
  (scoped_identifier path: (_) @module name: (identifier) @name)
  (use_as_clause path: (scoped_identifier path: (_) @module name: (identifier) @name) alias: (identifier) @alias)
  (self) @name
]))))))) @reference.import
(use_declaration argument: (scoped_use_list path: (_) @module list: (use_list (use_wildcard . (_) @module @name))) (#set! name "*")) @reference.import
(use_declaration argument: (scoped_use_list path: (_) @module list: (use_list (scoped_use_list path: (_) @module list: (use_list (use_wildcard . (_) @module @name))))) (#set! name "*")) @reference.import
(use_declaration argument: (scoped_use_list path: (_) @module list: (use_list (scoped_use_list path: (_) @module list: (use_list (scoped_use_list path: (_) @module list: (use_list (use_wildcard . (_) @module @name))))))) (#set! name "*")) @reference.import
; use {a, b::c};  (2018-edition crate-root groups)
(use_declaration argument: (use_list [
  (identifier) @name @module
  (scoped_identifier path: (_) @module name: (identifier) @name)
])) @reference.import

; extern crate foo;  extern crate foo as bar;
(extern_crate_declaration name: (identifier) @name @module alias: (identifier)? @alias) @reference.import

; ---- calls -------------------------------------------------------------------------------------
(call_expression function: (identifier) @name) @reference.call
(call_expression function: (field_expression value: (_) @qualifier field: (field_identifier) @name)) @reference.call
(call_expression function: (scoped_identifier path: (_) @qualifier name: (identifier) @name)) @reference.call
(call_expression function: (scoped_identifier !path name: (identifier) @name)) @reference.call
(call_expression function: (generic_function function: (identifier) @name)) @reference.call
(call_expression function: (generic_function function: (field_expression value: (_) @qualifier field: (field_identifier) @name))) @reference.call
(call_expression function: (generic_function function: (scoped_identifier path: (_) @qualifier name: (identifier) @name))) @reference.call
; Macro invocations are calls named without the `!` (`vec!` -> `vec`), see README.md.
(macro_invocation macro: (identifier) @name) @reference.call
(macro_invocation macro: (scoped_identifier path: (_) @qualifier name: (identifier) @name)) @reference.call
; Macro arguments are unparsed token trees: a name right before a `(...)` group is a call there
; (`println!("{}", self.render(x))`, `assert_eq!(Vec::new(), v)`). Qualified forms first: of two
; matches at one name, the first is kept.
(token_tree [(identifier) (self)] @qualifier . "." . (identifier) @name . (token_tree . "(")) @reference.call
(token_tree (identifier) @qualifier . "::" . (identifier) @name . (token_tree . "(")) @reference.call
(token_tree (identifier) @name . (token_tree . "(")) @reference.call

; ---- inheritance -------------------------------------------------------------------------------
; impl Trait for Type
(impl_item trait: (type_identifier) @name) @reference.implements
(impl_item trait: (scoped_type_identifier path: (_) @qualifier name: (type_identifier) @name)) @reference.implements
(impl_item trait: (generic_type type: (type_identifier) @name)) @reference.implements
(impl_item trait: (generic_type type: (scoped_type_identifier path: (_) @qualifier name: (type_identifier) @name))) @reference.implements
; trait Sub: Super + fmt::Debug + Into<T>
(trait_item bounds: (trait_bounds (type_identifier) @name)) @reference.extends
(trait_item bounds: (trait_bounds (scoped_type_identifier path: (_) @qualifier name: (type_identifier) @name))) @reference.extends
(trait_item bounds: (trait_bounds (generic_type type: (type_identifier) @name))) @reference.extends
(trait_item bounds: (trait_bounds (generic_type type: (scoped_type_identifier path: (_) @qualifier name: (type_identifier) @name)))) @reference.extends
