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
; A function stored in a nested member (`inst._zod.parse = (payload, ctx) => ...`, the pattern of
; schema libraries that build objects in closures): method `inst._zod.parse`, so the calls in it
; belong to it rather than to the enclosing definition (issue 10). `prototype` chains and CommonJS
; exports are matched above or are not members.
(assignment_expression
  left: (member_expression
    object: (member_expression object: (identifier) @_root property: (property_identifier) @_mid) @receiver
    property: (property_identifier) @name)
  right: [
    (arrow_function parameters: (_) @params)
    (arrow_function parameter: (_) @params)
    (function_expression parameters: (_) @params)
    (generator_function parameters: (_) @params)
  ]
  (#not-eq? @_mid "prototype")
  (#not-eq? @_root "module")
  (#not-eq? @_root "exports")) @definition.function

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

; @include ../ecmascript/commonjs.scm

; ---- module-level variables --------------------------------------------------------------------
(lexical_declaration kind: "const" (variable_declarator name: (identifier) @name) @definition.constant)
(lexical_declaration (variable_declarator name: (identifier) @name) @definition.variable)
(variable_declaration (variable_declarator name: (identifier) @name) @definition.variable)

; ---- imports, calls, JSX --------------------------------------------------------------------
; @include ../ecmascript/references.scm
; @include ../ecmascript/jsx.scm

; ---- inheritance -------------------------------------------------------------------------------
(class_heritage (identifier) @name) @reference.extends
(class_heritage (member_expression object: (_) @qualifier property: (_) @name)) @reference.extends
; Mixins: class A extends mixin(B) -> extends B.
(class_heritage (call_expression arguments: (arguments (identifier) @name))) @reference.extends
