; JavaScript and JSX definitions and references (ES modules, CommonJS, prototype-style classes).
; Capture conventions: indexer/languages/README.md. Earlier patterns win when two patterns capture
; the same node, so the specific assignment shapes (CommonJS exports, prototypes) come before the
; generic `a.b = function` pattern.

(comment) @comment

; ---- classes -----------------------------------------------------------------------------------
(class_declaration name: (_) @name) @definition.class
(class name: (_) @name) @definition.class

; ---- functions and methods ---------------------------------------------------------------------
(function_declaration name: (_) @name parameters: (_) @params) @definition.function
(generator_function_declaration name: (_) @name parameters: (_) @params) @definition.function
; Class members and object-literal shorthand methods (`get x()`, `*gen()`, `async m()` included).
(method_definition name: (string (string_fragment) @name) parameters: (_) @params) @definition.method
(method_definition name: (_) @name parameters: (_) @params) @definition.method

; const f = (a) => ..., const f = function () {...}, const f = function* () {...}
(variable_declarator
  name: (identifier) @name
  value: [
    (arrow_function parameters: (_) @params)
    (arrow_function parameter: (_) @params)
    (function_expression parameters: (_) @params)
    (generator_function parameters: (_) @params)
  ]) @definition.function

; class fields holding functions: handler = () => {...}
(field_definition
  property: (_) @name
  value: [
    (arrow_function parameters: (_) @params)
    (arrow_function parameter: (_) @params)
    (function_expression parameters: (_) @params)
  ]) @definition.method

; Object-literal properties holding functions: `{ key: function () {}, 'k': () => {} }`.
(pair
  key: [(property_identifier) @name (string (string_fragment) @name) (computed_property_name) @name]
  value: [
    (arrow_function parameters: (_) @params)
    (arrow_function parameter: (_) @params)
    (function_expression parameters: (_) @params)
    (generator_function parameters: (_) @params)
  ]) @definition.method

; CommonJS: module.exports.x = function () {}, exports.x = () => {} (exported: see index.ts).
(assignment_expression
  left: (member_expression
    object: [
      (identifier) @_exports
      (member_expression object: (identifier) @_module property: (property_identifier) @_exports)
    ]
    property: (property_identifier) @name)
  right: [
    (arrow_function parameters: (_) @params)
    (arrow_function parameter: (_) @params)
    (function_expression parameters: (_) @params)
    (generator_function parameters: (_) @params)
  ]
  (#eq? @_exports "exports")) @definition.function

; Named function expressions that are not bound by one of the patterns here: returned, passed
; as arguments, or assigned to `module.exports` whole (`module.exports = function getCallers() {}`).
([
  (return_statement (function_expression name: (identifier) @name parameters: (_) @params) @definition.function)
  (return_statement (generator_function name: (identifier) @name parameters: (_) @params) @definition.function)
  (arguments (function_expression name: (identifier) @name parameters: (_) @params) @definition.function)
  (parenthesized_expression (function_expression name: (identifier) @name parameters: (_) @params) @definition.function)
  (assignment_expression
    left: (member_expression object: (identifier) @_module property: (property_identifier) @_exports)
    right: (function_expression name: (identifier) @name parameters: (_) @params) @definition.function
    (#eq? @_module "module")
    (#eq? @_exports "exports"))
 ])

; module.exports = function () {} / = (a) => {}: the module's anonymous main export, named
; `exports` (as Universal Ctags does).
(assignment_expression
  left: (member_expression object: (identifier) @_module property: (property_identifier) @name)
  right: [
    (arrow_function parameters: (_) @params)
    (arrow_function parameter: (_) @params)
    (function_expression !name parameters: (_) @params)
  ]
  (#eq? @_module "module")
  (#eq? @name "exports")) @definition.function

; CommonJS exports of other values: exports.Errors = {...}, module.exports.VERSION = '1.0'.
(expression_statement
  (assignment_expression
    left: (member_expression
      object: [
        (identifier) @_exports
        (member_expression object: (identifier) @_module property: (property_identifier) @_exports)
      ]
      property: (property_identifier) @name)
    (#eq? @_exports "exports")) @definition.variable)

; Prototype methods: Foo.prototype.bar = function () {} -> method Foo.bar.
(assignment_expression
  left: (member_expression
    object: (member_expression object: (identifier) @receiver property: (property_identifier) @_proto)
    property: (property_identifier) @name)
  right: [
    (arrow_function parameters: (_) @params)
    (arrow_function parameter: (_) @params)
    (function_expression parameters: (_) @params)
    (generator_function parameters: (_) @params)
  ]
  (#eq? @_proto "prototype")) @definition.function

; Static members and namespace objects: Foo.bar = function () {} -> method Foo.bar.
(assignment_expression
  left: (member_expression object: (identifier) @receiver property: (property_identifier) @name)
  right: [
    (arrow_function parameters: (_) @params)
    (arrow_function parameter: (_) @params)
    (function_expression parameters: (_) @params)
    (generator_function parameters: (_) @params)
  ]
  (#not-eq? @receiver "exports")
  (#not-eq? @receiver "module")) @definition.function

; Plain (re)assignments of functions to module-level names: `handler = function () {}`.
(expression_statement
  (assignment_expression
    left: (identifier) @name
    right: [
      (arrow_function parameters: (_) @params)
      (arrow_function parameter: (_) @params)
      (function_expression parameters: (_) @params)
      (generator_function parameters: (_) @params)
    ]) @definition.function)

; Foo.prototype = { bar() {}, baz: function () {} } names its members Foo.bar, Foo.baz.
(assignment_expression
  left: (member_expression
    object: (identifier) @scope.name
    property: (property_identifier) @_proto)
  right: (object)
  (#eq? @_proto "prototype")) @scope

; ---- module-level variables --------------------------------------------------------------------
(lexical_declaration kind: "const" (variable_declarator name: (identifier) @name) @definition.constant)
(lexical_declaration (variable_declarator name: (identifier) @name) @definition.variable)
(variable_declaration (variable_declarator name: (identifier) @name) @definition.variable)

; ---- imports -----------------------------------------------------------------------------------
(import_statement source: (string (string_fragment) @name)) @definition.import
(import_statement
  (import_clause (named_imports (import_specifier name: (_) @name alias: (_)? @alias)))
  source: (string (string_fragment) @module)) @reference.import
(import_statement
  (import_clause (identifier) @alias @name)
  source: (string (string_fragment) @module)
  (#set! name "default")) @reference.import
(import_statement
  (import_clause (namespace_import (identifier) @alias @name))
  source: (string (string_fragment) @module)
  (#set! name "*")) @reference.import
(export_statement
  (export_clause (export_specifier name: (_) @name alias: (_)? @alias))
  source: (string (string_fragment) @module)) @reference.import
(export_statement
  "*"
  source: (string (string_fragment) @module) @name
  (#set! name "*")) @reference.import
(export_statement
  (namespace_export (_) @alias)
  source: (string (string_fragment) @module) @name
  (#set! name "*")) @reference.import
(call_expression
  function: (import)
  arguments: (arguments . (string (string_fragment) @module) @name)
  (#set! name "*")) @reference.import

; CommonJS: const { a, b: c } = require('m'); const m = require('m'); require('m').
(variable_declarator
  name: (object_pattern
    [
      (shorthand_property_identifier_pattern) @name
      (pair_pattern key: (property_identifier) @name value: (identifier) @alias)
    ])
  value: (call_expression
    function: (identifier) @_require
    arguments: (arguments . (string (string_fragment) @module)))
  (#eq? @_require "require")) @reference.import
(variable_declarator
  name: (identifier) @alias
  value: (call_expression
    function: (identifier) @_require
    arguments: (arguments . (string (string_fragment) @module) @name))
  (#eq? @_require "require")
  (#set! name "*")) @reference.import
(member_expression
  object: (call_expression
    function: (identifier) @_require
    arguments: (arguments . (string (string_fragment) @module)))
  property: (property_identifier) @name
  (#eq? @_require "require")) @reference.import
; require('m') for side effects, re-exports and arguments: the whole module. (Not matched inside
; declarators, which the patterns above cover with the local name.)
([
  (expression_statement (call_expression
    function: (identifier) @_require arguments: (arguments . (string (string_fragment) @module) @name)))
  (assignment_expression right: (call_expression
    function: (identifier) @_require arguments: (arguments . (string (string_fragment) @module) @name)))
  (arguments (call_expression
    function: (identifier) @_require arguments: (arguments . (string (string_fragment) @module) @name)))
  (pair value: (call_expression
    function: (identifier) @_require arguments: (arguments . (string (string_fragment) @module) @name)))
 ] @reference.import
 (#eq? @_require "require")
 (#set! name "*"))

; ---- calls -------------------------------------------------------------------------------------
(call_expression function: (identifier) @name) @reference.call
(call_expression
  function: (member_expression object: (_) @qualifier property: (_) @name)) @reference.call
(new_expression constructor: (identifier) @name) @reference.call
(new_expression constructor: (member_expression object: (_) @qualifier property: (_) @name)) @reference.call

; ---- inheritance -------------------------------------------------------------------------------
(class_heritage (identifier) @name) @reference.extends
(class_heritage (member_expression object: (_) @qualifier property: (_) @name)) @reference.extends
; Mixins: class A extends mixin(B) -> extends B.
(class_heritage (call_expression arguments: (arguments (identifier) @name))) @reference.extends
