; Go definitions and references.
; Capture conventions: indexer/languages/README.md. Earlier patterns win when two patterns capture
; the same node. Decisions specific to Go are in indexer/languages/go/README.md.

(comment) @comment

; ---- package -----------------------------------------------------------------------------------
; The package clause is a `namespace` entity spanning the clause: it records the package name and
; the package doc comment. It does not contain the file's entities (the module entity is the file),
; so qualified names stay file-local like every other language's (`Client.Do`, not `http.Client.Do`).
(package_clause (package_identifier) @name) @definition.namespace

; ---- types -------------------------------------------------------------------------------------
(type_spec name: (type_identifier) @name type: (struct_type)) @definition.struct
(type_spec name: (type_identifier) @name type: (interface_type)) @definition.interface
(type_spec name: (type_identifier) @name) @definition.type
(type_alias name: (type_identifier) @name) @definition.type

; ---- functions and methods ---------------------------------------------------------------------
(function_declaration
  name: (identifier) @name
  parameters: (parameter_list) @params
  result: (_)? @returns) @definition.function
; func (s *Server[T]) Serve(...) -> `Server.Serve`; the receiver type joins the qualified name.
; The receiver is captured as the bare type name (`*List[K, V]` -> `List`).
(method_declaration
  receiver: (parameter_list (parameter_declaration type: [
    (type_identifier) @receiver
    (pointer_type (type_identifier) @receiver)
    (generic_type type: (type_identifier) @receiver)
    (pointer_type (generic_type type: (type_identifier) @receiver))
  ]))
  name: (field_identifier) @name
  parameters: (parameter_list) @params
  result: (_)? @returns) @definition.method
; Interface methods (methods of the interface entity).
(method_elem
  name: (field_identifier) @name
  parameters: (parameter_list) @params
  result: (_)? @returns) @definition.method

; Package-level function values: `var Handler = func(w io.Writer) error { ... }`.
(var_spec
  name: (identifier) @name .
  value: (expression_list . (func_literal parameters: (parameter_list) @params result: (_)? @returns) .)) @definition.function

; ---- package-level constants and variables -----------------------------------------------------
; A spec with one name is the entity (its range covers type and value); in a spec naming several
; (`const a, b = 1, 2`) each name is an entity on its identifier. The identifier patterns also match
; single-name specs, where the engine drops them as nested in the spec's entity.
; (No field name on purpose: `name:` matches only the first of repeated fields.)
(const_spec . name: (identifier) @name . type: (_)) @definition.constant
(const_spec . name: (identifier) @name . value: (_)) @definition.constant
(const_spec . name: (identifier) @name .) @definition.constant
(const_spec (identifier) @name @definition.constant)
(var_spec . name: (identifier) @name . type: (_)) @definition.variable
(var_spec . name: (identifier) @name . value: (_)) @definition.variable
(var_spec . name: (identifier) @name .) @definition.variable
(var_spec (identifier) @name @definition.variable)

; ---- imports -----------------------------------------------------------------------------------
; The import entity is named by the import path; the reference imports the whole package (`*`),
; with the local name as alias (`.` for dot imports, `_` for blank imports).
(import_spec path: (interpreted_string_literal (interpreted_string_literal_content) @name)) @definition.import
(import_spec path: (raw_string_literal (raw_string_literal_content) @name)) @definition.import
(import_spec
  name: (_)? @alias
  path: (interpreted_string_literal (interpreted_string_literal_content) @name @module)
  (#set! name "*")) @reference.import
(import_spec
  name: (_)? @alias
  path: (raw_string_literal (raw_string_literal_content) @name @module)
  (#set! name "*")) @reference.import

; ---- calls -------------------------------------------------------------------------------------
(call_expression function: (identifier) @name) @reference.call
(call_expression function: (selector_expression operand: (_) @qualifier field: (field_identifier) @name)) @reference.call
; Explicit instantiation with one type argument parses as an index: Map[int](xs), pkg.Map[int](xs)
(call_expression function: (index_expression operand: (identifier) @name)) @reference.call
(call_expression function: (index_expression operand: (selector_expression operand: (_) @qualifier field: (field_identifier) @name))) @reference.call
(call_expression function: (parenthesized_expression (identifier) @name)) @reference.call
(call_expression function: (parenthesized_expression (selector_expression operand: (_) @qualifier field: (field_identifier) @name))) @reference.call

; ---- embedding ---------------------------------------------------------------------------------
; Struct fields without a name embed their type: `sync.Mutex`, `*Base`, `List[T]`.
(field_declaration !name type: (type_identifier) @name) @reference.embeds
(field_declaration !name type: (qualified_type package: (_) @qualifier name: (_) @name)) @reference.embeds
(field_declaration !name type: (pointer_type (type_identifier) @name)) @reference.embeds
(field_declaration !name type: (pointer_type (qualified_type package: (_) @qualifier name: (_) @name))) @reference.embeds
(field_declaration !name type: (generic_type type: (type_identifier) @name)) @reference.embeds
(field_declaration !name type: (generic_type type: (qualified_type package: (_) @qualifier name: (_) @name))) @reference.embeds
; Interfaces embed interfaces: `io.Reader`, `fmt.Stringer`. Constraint unions (`~int | ~string`)
; are type sets, not embeddings: only a lone type element counts.
(interface_type (type_elem . (type_identifier) @name .)) @reference.embeds
(interface_type (type_elem . (qualified_type package: (_) @qualifier name: (_) @name) .)) @reference.embeds
(interface_type (type_elem . (generic_type type: (type_identifier) @name) .)) @reference.embeds
(interface_type (type_elem . (generic_type type: (qualified_type package: (_) @qualifier name: (_) @name)) .)) @reference.embeds
