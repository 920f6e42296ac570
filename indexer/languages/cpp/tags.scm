; C++ (and C headers) definitions and references (tree-sitter-cpp 0.23).
; Capture conventions: indexer/languages/README.md. Earlier patterns win on the same node.
;
; Choices:
; - Definitions are the `function_definition` / `declaration` / `*_specifier` nodes; the
;   `template_declaration`, `declaration` and `linkage_specification` around them are wrappers
;   (spec CPP_WRAPPERS) that carry the doc comment.
; - Methods are entities both where declared in a class body (`void touch();`) and where defined
;   out of line (`void Shape::touch() {}`): `@receiver` is the innermost qualifier, so the latter
;   is `Shape.touch` (inside `namespace geo { }`: `geo.Shape.touch`). Prototypes at namespace scope
;   (`int f(int);`, the API of a header) are functions too.
; - Constructors are methods named like their class (engine rule); destructors are methods `~Foo`;
;   operators are methods `operator==`, conversion operators `operator bool`, `operator const T*`.
; - `typedef struct {...} Foo;` is the struct `Foo`; `typedef struct foo {...} foo_t;` is the struct
;   `foo` plus the type `foo_t` (its entity is the declarator, so the struct is not nested in it).
; - Enumerators are constants of their enum (spec memberConstants); object-like macros with a value
;   are constants and function-like macros are functions.
; - `#include` is an import entity named by the header: `shapes/registry.h`, `<vector>` (system
;   headers keep their angle brackets). `using namespace a::b;` is the import reference `*` from
;   `a::b`, `using a::b;` the reference `b` from `a`.

(comment) @comment

; ---- locals first ------------------------------------------------------------------------------
; A declaration in a body shaped like a prototype is a local (`std::string s(buf, n);`): claim it as
; a variable, which the engine keeps only at namespace level, so no later pattern makes it a function.
(compound_statement
  (declaration
    declarator: [
      (function_declarator declarator: (_) @name)
      (pointer_declarator declarator: (function_declarator declarator: (_) @name))
      (reference_declarator (function_declarator declarator: (_) @name))
    ]) @definition.variable)

; ---- namespaces --------------------------------------------------------------------------------
(namespace_definition name: (namespace_identifier) @name) @definition.namespace
; namespace a::b { }: the entity `b`, qualified `a.b`.
(namespace_definition
  name: (nested_namespace_specifier (_) @receiver . (namespace_identifier) @name .)) @definition.namespace

; ---- types -------------------------------------------------------------------------------------
; typedef struct {...} Vec2;  — the anonymous struct takes the typedef's name.
(type_definition
  type: (struct_specifier !name body: (_)) @definition.struct
  declarator: (type_identifier) @name)
(type_definition
  type: (union_specifier !name body: (_)) @definition.struct
  declarator: (type_identifier) @name)
(type_definition
  type: (enum_specifier !name body: (_)) @definition.enum
  declarator: (type_identifier) @name)
(type_definition
  type: (class_specifier !name body: (_)) @definition.class
  declarator: (type_identifier) @name)

(class_specifier name: (type_identifier) @name body: (_)) @definition.class
(struct_specifier name: (type_identifier) @name body: (_)) @definition.struct
(union_specifier name: (type_identifier) @name body: (_)) @definition.struct
(enum_specifier name: (type_identifier) @name body: (_)) @definition.enum
; template <> struct hash<Foo> {...}: a specialization named by its template.
(class_specifier name: (template_type name: (type_identifier) @name) body: (_)) @definition.class
(struct_specifier name: (template_type name: (type_identifier) @name) body: (_)) @definition.struct
(union_specifier name: (template_type name: (type_identifier) @name) body: (_)) @definition.struct
; class Outer::Inner {...} defined outside Outer.
(class_specifier
  name: (qualified_identifier scope: (_) @receiver name: [(type_identifier) (template_type name: (_) @name)] @name)
  body: (_)) @definition.class
(struct_specifier
  name: (qualified_identifier scope: (_) @receiver name: [(type_identifier) (template_type name: (_) @name)] @name)
  body: (_)) @definition.struct
(enum_specifier
  name: (qualified_identifier scope: (_) @receiver name: (type_identifier) @name)
  body: (_)) @definition.enum

(enumerator name: (identifier) @name) @definition.constant

; ---- type aliases ------------------------------------------------------------------------------
(alias_declaration name: (type_identifier) @name) @definition.type
; typedef struct node_s {...} node_t;  — the declarator is the entity, so `node_s` is not inside it.
(type_definition
  type: [
    (struct_specifier name: (_) body: (_))
    (union_specifier name: (_) body: (_))
    (enum_specifier name: (_) body: (_))
    (class_specifier name: (_) body: (_))
  ]
  declarator: [
    (type_identifier) @name @definition.type
    (pointer_declarator declarator: (type_identifier) @name @definition.type)
  ])
; typedef unsigned long Id;  typedef struct foo *foo_p;  typedef void (*Callback)(int);
; typedef typename _Alloc::pointer pointer;  typedef const T& const_reference;  typedef T** map_t;
(type_definition
  type: [
    (primitive_type) (type_identifier) (sized_type_specifier) (template_type) (qualified_identifier)
    (placeholder_type_specifier) (decltype) (dependent_type)
    (struct_specifier !body) (union_specifier !body) (enum_specifier !body) (class_specifier !body)
  ]
  declarator: [
    (type_identifier) @name
    ; typedef __UINTPTR_TYPE__ uintptr_t;  — a standard type name the grammar knows as primitive
    (primitive_type) @name
    (pointer_declarator declarator: (type_identifier) @name)
    (pointer_declarator declarator: (pointer_declarator declarator: (type_identifier) @name))
    (reference_declarator (type_identifier) @name)
    (array_declarator declarator: (type_identifier) @name)
    ; typedef void (*Callback)(int);
    (function_declarator
      declarator: (parenthesized_declarator (pointer_declarator declarator: (type_identifier) @name)))
    (function_declarator declarator: (type_identifier) @name)
  ]) @definition.type

; ---- functions and methods ---------------------------------------------------------------------
; Names a function declarator can carry; qualified names give the receiver (innermost scope).
(function_definition
  type: (_)? @returns
  declarator: [
    (function_declarator
      declarator: [(identifier) (field_identifier) (operator_name) (destructor_name)] @name
      parameters: (_) @params)
    (function_declarator
      declarator: (template_function name: (_) @name)
      parameters: (_) @params)
    (function_declarator
      declarator: (qualified_identifier
        scope: (_) @receiver
        name: [(identifier) (operator_name) (destructor_name) (template_function name: (_) @name)] @name)
      parameters: (_) @params)
    (function_declarator
      declarator: (qualified_identifier
        name: (qualified_identifier
          scope: (_) @receiver
          name: [(identifier) (operator_name) (destructor_name) (template_function name: (_) @name)] @name))
      parameters: (_) @params)
    (function_declarator
      declarator: (qualified_identifier
        name: (qualified_identifier
          name: (qualified_identifier
            scope: (_) @receiver
            name: [(identifier) (operator_name) (destructor_name) (template_function name: (_) @name)] @name)))
      parameters: (_) @params)
    ; T* f(...), T& f(...)
    (pointer_declarator
      declarator: (function_declarator
        declarator: [(identifier) (field_identifier) (operator_name)] @name
        parameters: (_) @params))
    (reference_declarator
      (function_declarator
        declarator: [(identifier) (field_identifier) (operator_name)] @name
        parameters: (_) @params))
    (pointer_declarator
      declarator: (function_declarator
        declarator: (qualified_identifier scope: (_) @receiver name: [(identifier) (operator_name)] @name)
        parameters: (_) @params))
    (reference_declarator
      (function_declarator
        declarator: (qualified_identifier scope: (_) @receiver name: [(identifier) (operator_name)] @name)
        parameters: (_) @params))
    (pointer_declarator
      declarator: (pointer_declarator
        declarator: (function_declarator
          declarator: [(identifier) (field_identifier)] @name
          parameters: (_) @params)))
  ]) @definition.function

; operator bool() const {...}  /  Foo::operator bool() const {...}  /  operator const T*() const
; The name node holds the parameters, so the name is its text before them (engine rule): `operator bool`.
(function_definition
  declarator: (operator_cast
    declarator: [
      (abstract_function_declarator parameters: (_) @params)
      (abstract_pointer_declarator declarator: (abstract_function_declarator parameters: (_) @params))
      (abstract_reference_declarator (abstract_function_declarator parameters: (_) @params))
    ]) @name) @definition.function
(function_definition
  declarator: (qualified_identifier
    scope: (_) @receiver
    name: (operator_cast declarator: [
      (abstract_function_declarator parameters: (_) @params)
      (abstract_pointer_declarator declarator: (abstract_function_declarator parameters: (_) @params))
      (abstract_reference_declarator (abstract_function_declarator parameters: (_) @params))
    ]) @name)) @definition.function

; Declarations: methods in class bodies, prototypes at namespace scope.
(field_declaration
  type: (_)? @returns
  declarator: [
    (function_declarator
      declarator: [(field_identifier) (identifier) (operator_name) (destructor_name)] @name
      parameters: (_) @params)
    (pointer_declarator
      declarator: (function_declarator declarator: [(field_identifier) (operator_name)] @name parameters: (_) @params))
    (reference_declarator
      (function_declarator declarator: [(field_identifier) (operator_name)] @name parameters: (_) @params))
  ]) @definition.function
(field_declaration
  declarator: (operator_cast declarator: [
    (abstract_function_declarator parameters: (_) @params)
    (abstract_pointer_declarator declarator: (abstract_function_declarator parameters: (_) @params))
    (abstract_reference_declarator (abstract_function_declarator parameters: (_) @params))
  ]) @name) @definition.function
(declaration
  type: (_)? @returns
  declarator: [
    (function_declarator
      declarator: [(identifier) (field_identifier) (operator_name) (destructor_name)] @name
      parameters: (_) @params)
    (function_declarator
      declarator: (qualified_identifier scope: (_) @receiver name: [(identifier) (operator_name) (destructor_name)] @name)
      parameters: (_) @params)
    (pointer_declarator
      declarator: (function_declarator declarator: [(identifier) (operator_name)] @name parameters: (_) @params))
    (reference_declarator
      (function_declarator declarator: [(identifier) (operator_name)] @name parameters: (_) @params))
  ]) @definition.function
(declaration
  declarator: (operator_cast declarator: [
    (abstract_function_declarator parameters: (_) @params)
    (abstract_pointer_declarator declarator: (abstract_function_declarator parameters: (_) @params))
    (abstract_reference_declarator (abstract_function_declarator parameters: (_) @params))
  ]) @name) @definition.function

; auto cmp = [](const A& a, const A& b) {...};  — a lambda bound at namespace scope
(declaration
  declarator: (init_declarator
    declarator: (identifier) @name
    value: (lambda_expression declarator: (abstract_function_declarator parameters: (_) @params)))) @definition.function
(declaration
  declarator: (init_declarator
    declarator: (identifier) @name
    value: (lambda_expression))) @definition.function

; ---- macros ------------------------------------------------------------------------------------
(preproc_function_def name: (identifier) @name parameters: (preproc_params) @params) @definition.function
(preproc_def name: (identifier) @name value: (_)) @definition.constant

; ---- variables and constants (kept by the engine at namespace level only) ----------------------
(declaration
  (type_qualifier) @_q
  declarator: [
    (init_declarator declarator: [(identifier) (array_declarator declarator: (identifier))] @name) @definition.constant
    (identifier) @name @definition.constant
  ]
  (#match? @_q "^(const|constexpr|constinit)$"))
(declaration
  declarator: [
    (init_declarator
      declarator: [
        (identifier) @name
        (qualified_identifier name: (identifier) @name)
        (pointer_declarator declarator: (identifier) @name)
        (reference_declarator (identifier) @name)
        (array_declarator declarator: (identifier) @name)
      ]) @definition.variable
    (identifier) @name @definition.variable
    (pointer_declarator declarator: (identifier) @name) @definition.variable
    (array_declarator declarator: (identifier) @name) @definition.variable
  ])

; ---- imports -----------------------------------------------------------------------------------
; The entity is the path: the include node itself ends after the newline.
(preproc_include path: (string_literal (string_content) @name) @definition.import)
(preproc_include path: (system_lib_string) @name @definition.import)
(preproc_include path: (string_literal (string_content) @name @module)) @reference.import
(preproc_include path: (system_lib_string) @name @module) @reference.import
; using namespace std;  using namespace a::b;
(using_declaration "namespace" [(identifier) (namespace_identifier) (qualified_identifier)] @name) @definition.import
(using_declaration
  "namespace"
  [(identifier) (namespace_identifier) (qualified_identifier)] @module @name
  (#set! name "*")) @reference.import
; using std::string;
(using_declaration
  !name
  (qualified_identifier scope: (_) @module name: (_) @name)) @reference.import

; ---- calls -------------------------------------------------------------------------------------
(call_expression function: (identifier) @name) @reference.call
(call_expression function: (template_function name: (identifier) @name)) @reference.call
(call_expression
  function: (field_expression
    argument: (_) @qualifier
    field: [(field_identifier) @name (template_method name: (field_identifier) @name) (destructor_name) @name])) @reference.call
; ns::f(), a::b::f<T>(), Foo::Bar::baz(): the qualifier is the text before the name.
(call_expression
  function: (qualified_identifier
    name: [
      (identifier) @name
      (template_function name: (identifier) @name)
      (qualified_identifier
        name: [
          (identifier) @name
          (template_function name: (identifier) @name)
          (qualified_identifier
            name: [(identifier) @name (template_function name: (identifier) @name)])
        ])
    ]) @qualifier) @reference.call
; new Foo(...), new ns::Foo<T>(...)
(new_expression type: (type_identifier) @name) @reference.call
(new_expression type: (template_type name: (type_identifier) @name)) @reference.call
(new_expression
  type: (qualified_identifier
    name: [
      (type_identifier) @name
      (template_type name: (type_identifier) @name)
      (qualified_identifier name: [(type_identifier) @name (template_type name: (type_identifier) @name)])
    ]) @qualifier) @reference.call

; ---- inheritance -------------------------------------------------------------------------------
(base_class_clause (type_identifier) @name) @reference.extends
(base_class_clause (template_type name: (type_identifier) @name)) @reference.extends
(base_class_clause
  (qualified_identifier
    name: [
      (type_identifier) @name
      (template_type name: (type_identifier) @name)
      (qualified_identifier name: [(type_identifier) @name (template_type name: (type_identifier) @name)])
    ]) @qualifier) @reference.extends
