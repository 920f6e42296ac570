; TSX: the TypeScript query plus JSX element references.
; @include ../typescript/tags.scm
; @include ../ecmascript/jsx.scm
