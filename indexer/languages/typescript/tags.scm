; TypeScript and TSX definitions and references.
; Capture conventions (see indexer/languages/README.md): @definition.<kind> marks the entity node,
; @name its name, @params/@returns its signature parts, @doc a docstring; @reference.<kind> marks a
; reference with @name, @qualifier, @module, @alias; @scope/@scope.name a naming-only container;
; @comment every comment. Earlier patterns win when two patterns capture the same node.

(comment) @comment

; ---- types -------------------------------------------------------------------------------------
(class_declaration name: (_) @name) @definition.class
(abstract_class_declaration name: (_) @name) @definition.class
(class name: (_) @name) @definition.class
(interface_declaration name: (_) @name) @definition.interface
(enum_declaration name: (_) @name) @definition.enum
(type_alias_declaration name: (_) @name) @definition.type
(internal_module name: (_) @name) @definition.namespace
(module name: (string (string_fragment) @name)) @definition.namespace
(module name: (_) @name) @definition.namespace

; ---- functions and methods ---------------------------------------------------------------------
(function_declaration name: (_) @name parameters: (_) @params return_type: (_)? @returns) @definition.function
(generator_function_declaration name: (_) @name parameters: (_) @params return_type: (_)? @returns) @definition.function
(function_signature name: (_) @name parameters: (_) @params return_type: (_)? @returns) @definition.function
(method_definition name: (string (string_fragment) @name) parameters: (_) @params return_type: (_)? @returns) @definition.method
(method_definition name: (_) @name parameters: (_) @params return_type: (_)? @returns) @definition.method
(method_signature name: (_) @name parameters: (_) @params return_type: (_)? @returns) @definition.method
(abstract_method_signature name: (_) @name parameters: (_) @params return_type: (_)? @returns) @definition.method

; const f = (a) => ..., const f = function () {...}
(variable_declarator
  name: (identifier) @name
  value: [
    (arrow_function parameters: (_) @params return_type: (_)? @returns)
    (arrow_function parameter: (_) @params)
    (function_expression parameters: (_) @params return_type: (_)? @returns)
    (generator_function parameters: (_) @params return_type: (_)? @returns)
  ]) @definition.function
; the same behind a type assertion: const f = ((a) => ...) as F, or (...) satisfies F
(variable_declarator
  name: (identifier) @name
  value: [(as_expression . (parenthesized_expression [
      (arrow_function parameters: (_) @params return_type: (_)? @returns)
      (arrow_function parameter: (_) @params)
      (function_expression parameters: (_) @params return_type: (_)? @returns)]))
    (satisfies_expression . (parenthesized_expression [
      (arrow_function parameters: (_) @params return_type: (_)? @returns)
      (arrow_function parameter: (_) @params)
      (function_expression parameters: (_) @params return_type: (_)? @returns)]))
  ]) @definition.function

; class fields holding functions: handler = () => {...}
(public_field_definition
  name: (_) @name
  value: [
    (arrow_function parameters: (_) @params return_type: (_)? @returns)
    (arrow_function parameter: (_) @params)
    (function_expression parameters: (_) @params return_type: (_)? @returns)
  ]) @definition.method

; Construct signatures in interfaces and declared classes: `new (size: number): Buffer`.
(construct_signature "new" @name parameters: (_) @params type: (_)? @returns) @definition.constructor

; Function-typed members of interfaces and object types: `add: (x: T) => void`.
(property_signature
  name: (_) @name
  type: (type_annotation (function_type parameters: (_) @params return_type: (_) @returns))) @definition.method

; Object-literal properties holding functions: `{ key: function () {}, 'k': () => {} }`.
(pair
  key: [(property_identifier) @name (string (string_fragment) @name) (computed_property_name) @name]
  value: [
    (arrow_function parameters: (_) @params return_type: (_)? @returns)
    (arrow_function parameter: (_) @params)
    (function_expression parameters: (_) @params return_type: (_)? @returns)
    (generator_function parameters: (_) @params return_type: (_)? @returns)
  ]) @definition.method

; Named function expressions that are returned, passed, or assigned to a property.
([
  (return_statement (function_expression name: (identifier) @name parameters: (_) @params return_type: (_)? @returns) @definition.function)
  (arguments (function_expression name: (identifier) @name parameters: (_) @params return_type: (_)? @returns) @definition.function)
  (assignment_expression
    left: (member_expression)
    right: (function_expression name: (identifier) @name parameters: (_) @params return_type: (_)? @returns) @definition.function)
 ])

; Prototype and static members assigned outside the class: Foo.prototype.bar = ..., Foo.bar = ...
(assignment_expression
  left: (member_expression
    object: (member_expression object: (identifier) @receiver property: (property_identifier) @_proto)
    property: (property_identifier) @name)
  right: [
    (arrow_function parameters: (_) @params return_type: (_)? @returns)
    (arrow_function parameter: (_) @params)
    (function_expression parameters: (_) @params return_type: (_)? @returns)
  ]
  (#eq? @_proto "prototype")) @definition.function
(assignment_expression
  left: (member_expression object: (identifier) @receiver property: (property_identifier) @name)
  right: [
    (arrow_function parameters: (_) @params return_type: (_)? @returns)
    (arrow_function parameter: (_) @params)
    (function_expression !name parameters: (_) @params return_type: (_)? @returns)
  ]
  (#not-eq? @receiver "exports")
  (#not-eq? @receiver "module")) @definition.function
; A function stored in a nested member (`inst._zod.parse = (payload, ctx) => ...`, the pattern of
; schema libraries that build objects in closures): method `inst._zod.parse`, so the calls in it
; belong to it rather than to the enclosing definition (issue 10). `prototype` chains and CommonJS
; exports are matched above or are not members.
(assignment_expression
  left: (member_expression
    object: (member_expression object: (identifier) @_root property: (property_identifier) @_mid) @receiver
    property: (property_identifier) @name)
  right: [
    (arrow_function parameters: (_) @params return_type: (_)? @returns)
    (arrow_function parameter: (_) @params)
    (function_expression !name parameters: (_) @params return_type: (_)? @returns)
  ]
  (#not-eq? @_mid "prototype")
  (#not-eq? @_root "module")
  (#not-eq? @_root "exports")) @definition.function

; @include ../ecmascript/commonjs.scm

; ---- module-level variables --------------------------------------------------------------------
(lexical_declaration kind: "const" (variable_declarator name: (identifier) @name) @definition.constant)
(lexical_declaration (variable_declarator name: (identifier) @name) @definition.variable)
(variable_declaration (variable_declarator name: (identifier) @name) @definition.variable)

; ---- imports and calls -------------------------------------------------------------------------
; TypeScript's own import form: import fs = require('fs').
(import_statement (import_require_clause source: (string (string_fragment) @name))) @definition.import
(import_statement
  !source
  (import_require_clause (identifier) @alias source: (string (string_fragment) @module) @name)
  (#set! name "*")) @reference.import
; @include ../ecmascript/references.scm

; ---- inheritance -------------------------------------------------------------------------------
(extends_clause value: (identifier) @name) @reference.extends
(extends_clause value: (member_expression object: (_) @qualifier property: (_) @name)) @reference.extends
(implements_clause (type_identifier) @name) @reference.implements
(implements_clause (generic_type name: (type_identifier) @name)) @reference.implements
(implements_clause (nested_type_identifier module: (_) @qualifier name: (_) @name)) @reference.implements
(implements_clause (generic_type name: (nested_type_identifier module: (_) @qualifier name: (_) @name))) @reference.implements
(extends_type_clause (type_identifier) @name) @reference.extends
(extends_type_clause (generic_type name: (type_identifier) @name)) @reference.extends
(extends_type_clause (nested_type_identifier module: (_) @qualifier name: (_) @name)) @reference.extends
