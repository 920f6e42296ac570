; Java definitions and references (tree-sitter-java 0.23).
; Capture conventions: indexer/languages/README.md. Earlier patterns win on the same node.
;
; Choices:
; - The package declaration is a `namespace` entity spanning the declaration only: qualified names
;   are the container chain inside the file (`Order.Inner.run`), as in every other language; the
;   Java name is `<package>.<qualified name>`. (Wrapping the whole file would also put the imports
;   under the package: `com.example.java.util.List`.)
; - Fields are not entities, except constants: `static final` fields, interface/annotation constants
;   (implicitly static final) and enum constants, kept as `constant` members (spec `memberConstants`).
; - Records are classes, annotation types are interfaces (their elements are methods).
; - Signatures are `<return type> (<params>)`; constructors have no return type.

[(line_comment) (block_comment)] @comment

; ---- package -----------------------------------------------------------------------------------
(package_declaration [(identifier) (scoped_identifier)] @name) @definition.namespace

; ---- types -------------------------------------------------------------------------------------
(class_declaration name: (identifier) @name) @definition.class
(record_declaration name: (identifier) @name) @definition.class
(interface_declaration name: (identifier) @name) @definition.interface
(annotation_type_declaration name: (identifier) @name) @definition.interface
(enum_declaration name: (identifier) @name) @definition.enum

; ---- methods and constructors ------------------------------------------------------------------
(method_declaration
  type: (_) @returns
  name: (identifier) @name
  parameters: (formal_parameters) @params) @definition.method
(constructor_declaration
  name: (identifier) @name
  parameters: (formal_parameters) @params) @definition.constructor
; record Point(int x, int y) { Point { ... } }: the compact constructor takes the record's components.
(record_declaration
  parameters: (formal_parameters) @params
  body: (class_body
    (compact_constructor_declaration name: (identifier) @name) @definition.constructor))
(compact_constructor_declaration name: (identifier) @name) @definition.constructor
; @interface Tag { String value() default ""; }
(annotation_type_element_declaration
  type: (_) @returns
  name: (identifier) @name) @definition.method

; ---- constants ---------------------------------------------------------------------------------
(field_declaration
  (modifiers) @_mods
  declarator: (variable_declarator name: (identifier) @name) @definition.constant
  (#match? @_mods "\\bstatic\\b")
  (#match? @_mods "\\bfinal\\b"))
(constant_declaration
  declarator: (variable_declarator name: (identifier) @name) @definition.constant)
(enum_constant name: (identifier) @name) @definition.constant

; ---- imports -----------------------------------------------------------------------------------
; One import entity per declaration, named by the imported path; one reference per imported name.
(import_declaration [(identifier) (scoped_identifier)] @name) @definition.import
; import java.util.List;  import static java.util.Objects.requireNonNull;
(import_declaration
  (scoped_identifier scope: (_) @module name: (identifier) @name)
  .) @reference.import
; import java.util.*;  import static org.junit.Assert.*;
(import_declaration
  [(identifier) (scoped_identifier)] @module
  (asterisk) @name) @reference.import
; import Foo; (default package, legal only in old code)
(import_declaration
  (identifier) @name
  .) @reference.import

; ---- calls -------------------------------------------------------------------------------------
(method_invocation
  object: (_) @qualifier
  name: (identifier) @name) @reference.call
(method_invocation
  !object
  name: (identifier) @name) @reference.call

; new Foo(), new Foo<>(), new a.b.Foo(), outer.new Inner()
(object_creation_expression type: (type_identifier) @name) @reference.call
(object_creation_expression type: (generic_type (type_identifier) @name)) @reference.call
(object_creation_expression
  type: (scoped_type_identifier (_) @qualifier . "." . (type_identifier) @name .)) @reference.call
(object_creation_expression
  type: (generic_type
    (scoped_type_identifier (_) @qualifier . "." . (type_identifier) @name .))) @reference.call

; super(...) in a constructor calls the base class's constructor (issue 10): a call named `super`,
; resolved like the TypeScript one. `this(...)` (another constructor of the same class, which shares
; the caller's qualified name) is not a reference.
(explicit_constructor_invocation constructor: (super) @name) @reference.call

; Foo::bar, this::bar (a method reference names the method it will call)
(method_reference (_) @qualifier . "::" . (identifier) @name) @reference.call

; ---- inheritance -------------------------------------------------------------------------------
(superclass (type_identifier) @name) @reference.extends
(superclass (generic_type (type_identifier) @name)) @reference.extends
(superclass (scoped_type_identifier (_) @qualifier . "." . (type_identifier) @name .)) @reference.extends
(superclass
  (generic_type (scoped_type_identifier (_) @qualifier . "." . (type_identifier) @name .))) @reference.extends

(super_interfaces (type_list (type_identifier) @name)) @reference.implements
(super_interfaces (type_list (generic_type (type_identifier) @name))) @reference.implements
(super_interfaces
  (type_list (scoped_type_identifier (_) @qualifier . "." . (type_identifier) @name .))) @reference.implements
(super_interfaces
  (type_list (generic_type (scoped_type_identifier (_) @qualifier . "." . (type_identifier) @name .)))) @reference.implements

; interface I extends A, B<T>
(extends_interfaces (type_list (type_identifier) @name)) @reference.extends
(extends_interfaces (type_list (generic_type (type_identifier) @name))) @reference.extends
(extends_interfaces
  (type_list (scoped_type_identifier (_) @qualifier . "." . (type_identifier) @name .))) @reference.extends
(extends_interfaces
  (type_list (generic_type (scoped_type_identifier (_) @qualifier . "." . (type_identifier) @name .)))) @reference.extends
