; References shared by JavaScript, TypeScript and TSX (included from their tags.scm with
; `; @include ../ecmascript/references.scm`): ES module and CommonJS imports, calls, `new`, decorators.
; Every node type here exists in both grammars.

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

; Decorators without arguments apply a function too: @sealed, @core.injectable.
(decorator (identifier) @name) @reference.call
(decorator (member_expression object: (_) @qualifier property: (_) @name)) @reference.call

; super(...) in a constructor calls the base class's constructor (issue 10): a call named `super`.
(call_expression function: (super) @name) @reference.call
