; JSX elements are calls of their component: `<Button />` and `<Form.Field>` reference `Button` and
; `Field`. Intrinsic elements (`<div>`, lower case by JSX's rule) are not references. Included from the
; JavaScript and TSX queries (the plain TypeScript grammar has no JSX).
(jsx_opening_element name: (identifier) @name (#match? @name "^[A-Z]")) @reference.call
(jsx_self_closing_element name: (identifier) @name (#match? @name "^[A-Z]")) @reference.call
(jsx_opening_element name: (member_expression object: (_) @qualifier property: (_) @name)) @reference.call
(jsx_self_closing_element name: (member_expression object: (_) @qualifier property: (_) @name)) @reference.call
