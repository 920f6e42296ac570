; CommonJS import definitions shared by JavaScript, TypeScript and TSX, included from their tags.scm
; before the module-level variable patterns, so that these win for the same declarator (earlier
; patterns win).
; CommonJS bindings (`const m = require('m')`, `var x = require('m').x`, `const { a } = require('m')`)
; are imports, as `import ... from 'm'` is: an import entity named by the module, not a variable
; (express's `var setCharset = require('./utils').setCharset` made `setCharset` name two entities).
(variable_declarator
  value: [
    (call_expression function: (identifier) @_require arguments: (arguments . (string (string_fragment) @name)))
    (member_expression object: (call_expression function: (identifier) @_require arguments: (arguments . (string (string_fragment) @name))))
  ]
  (#eq? @_require "require")) @definition.import
