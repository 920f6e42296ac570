; Python definitions and references.
; Capture conventions: indexer/languages/README.md. Earlier patterns win when two patterns capture
; the same node. Decorators live on `decorated_definition`, a wrapper (index.ts), so the entity
; node stays the `class_definition` / `function_definition` and the doc comment above the
; decorators is still found. Docstrings are the first statement of a body (@doc).

(comment) @comment

; ---- classes -----------------------------------------------------------------------------------
(class_definition
  name: (identifier) @name
  body: (block . (expression_statement (string) @doc))) @definition.class
(class_definition name: (identifier) @name) @definition.class

; ---- functions and methods (methods and `__init__` constructors by container, in the engine) ---
(function_definition
  name: (identifier) @name
  parameters: (parameters) @params
  return_type: (_)? @returns
  body: (block . (expression_statement (string) @doc))) @definition.function
(function_definition
  name: (identifier) @name
  parameters: (parameters) @params
  return_type: (_)? @returns) @definition.function

; ---- module-level bindings (the engine drops those inside functions and classes) ---------------
; f = lambda x: ... is a function.
(assignment
  left: (identifier) @name
  right: (lambda parameters: (lambda_parameters)? @params)) @definition.function
; ALL_CAPS names are constants by convention (PEP 8), the rest variables; `X: Final = 1` too.
(assignment
  left: (identifier) @name
  (#match? @name "^_*[A-Z][A-Z0-9_]*$")) @definition.constant
(assignment
  left: (identifier) @name
  type: (type (generic_type (identifier) @_final))
  (#eq? @_final "Final")) @definition.constant
(assignment
  left: (identifier) @name
  type: (type (identifier) @_final)
  (#eq? @_final "Final")) @definition.constant
; `Alias: TypeAlias = ...` and PEP 695 `type Alias = ...`.
(assignment
  left: (identifier) @name
  type: (type (identifier) @_alias)
  (#eq? @_alias "TypeAlias")) @definition.type
(type_alias_statement left: (type (identifier) @name)) @definition.type
(assignment left: (identifier) @name) @definition.variable

; ---- imports -----------------------------------------------------------------------------------
; One entity per statement, named by its (first) module.
(import_statement name: [(dotted_name) @name (aliased_import name: (dotted_name) @name)]) @definition.import
(import_from_statement module_name: (_) @name) @definition.import
(future_import_statement "__future__" @name) @definition.import

; import a.b, import a.b as c: the whole module (name `*`), bound to its alias when renamed.
(import_statement name: (dotted_name) @module @name (#set! name "*")) @reference.import
(import_statement
  name: (aliased_import name: (dotted_name) @module @name alias: (identifier) @alias)
  (#set! name "*")) @reference.import
; from m import a, from . import b as c, from m import (a as b)
(import_from_statement
  module_name: (_) @module
  name: (dotted_name) @name) @reference.import
(import_from_statement
  module_name: (_) @module
  name: (aliased_import name: (dotted_name) @name alias: (identifier) @alias)) @reference.import
(import_from_statement
  module_name: (_) @module
  (wildcard_import) @name) @reference.import
(future_import_statement
  "__future__" @module
  name: (dotted_name) @name) @reference.import

; ---- calls -------------------------------------------------------------------------------------
(call function: (identifier) @name) @reference.call
(call function: (attribute object: (_) @qualifier attribute: (identifier) @name)) @reference.call

; Decorators without arguments apply a function too: @property, @functools.cache.
(decorator (identifier) @name) @reference.call
(decorator (attribute object: (_) @qualifier attribute: (identifier) @name)) @reference.call

; ---- inheritance: class A(B, mod.C, Generic[T], metaclass=M) -----------------------------------
(class_definition superclasses: (argument_list (identifier) @name)) @reference.extends
(class_definition
  superclasses: (argument_list (attribute object: (_) @qualifier attribute: (identifier) @name))) @reference.extends
(class_definition
  superclasses: (argument_list (subscript value: (identifier) @name))) @reference.extends
(class_definition
  superclasses: (argument_list
    (subscript value: (attribute object: (_) @qualifier attribute: (identifier) @name)))) @reference.extends
