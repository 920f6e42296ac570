// Call bindings come from the scope index (indexer/scope.ts `ScopeIndex`): function nodes as nested
// ranges and each function's declarations from the tags query, instead of walking parents and
// subtrees node by node (#9). The index must give exactly what the walk gave, including the order
// in which a function's declarations are met (a later typed declaration of a name overrides an
// earlier one), nodes that share a range (`...xs` is a rest pattern inside a parameter of the same
// range), nested functions that shadow a parameter, and files whose ranges cannot stand for the
// tree (zero-width nodes of an error-recovered parse fall back to the walk). The expected values
// were taken from the walking implementation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { extract } from '../indexer/index.ts';
import type { LanguageId } from '../indexer/index.ts';

type Call = [qualifier: string | null, name: string, binding: string | null];

async function calls(language: LanguageId, src: string): Promise<Call[]> {
  const r = await extract(language, Buffer.from(src));
  return r.references.filter((x) => x.kind === 'call').map((x) => [x.qualifier, x.name, x.binding ?? null]);
}

test('scope index: a name declared in two sibling blocks binds as the walk met them (later block first)', async () => {
  assert.deepEqual(await calls('typescript', 'function f(flag: boolean) {\n  if (flag) { const x = new A(); } else { const x = new B(); }\n  x.m();\n}\n'),
    [[null, 'A', null], [null, 'B', null], ['x', 'm', 'A']]);
  assert.deepEqual(await calls('javascript', 'function f() { let x = new A(); { let x = make(); } x.go(); }\n'),
    [[null, 'A', null], [null, 'make', null], ['x', 'go', 'A']]);
});

test('scope index: declarations sharing one range (rest parameters) and typed rest parameters', async () => {
  assert.deepEqual(await calls('typescript', 'function f(...xs: Foo[]) { xs.push(1); }\nfunction g(...ys) { ys.go(); }\n'),
    [['xs', 'push', ''], ['ys', 'go', '']]);
});

test('scope index: a nested function shadows a parameter only inside itself', async () => {
  assert.deepEqual(await calls('typescript', 'function outer(a: Outer) {\n  const inner = (a: Inner) => a.run();\n  a.stop();\n  return () => a.more();\n}\n'),
    [['a', 'run', 'Inner'], ['a', 'stop', 'Outer'], ['a', 'more', 'Outer']]);
  assert.deepEqual(await calls('python', 'def f(q):\n    g = lambda a=Foo(): a.bar()\n    q.baz()\n    for q in items: q.qux()\n'),
    [[null, 'Foo', null], ['a', 'bar', ''], ['q', 'baz', ''], ['q', 'qux', '']]);
  assert.deepEqual(await calls('go', 'package p\nfunc (s *Server) Run(a, b Client) { a.Do(); b.Do(); s.Stop() }\n'),
    [['a', 'Do', 'Client'], ['b', 'Do', 'Client'], ['s', 'Stop', 'Server']]);
});

test('scope index: an error-recovered parse with missing nodes still binds locals', async () => {
  // The missing `)` and `}` are zero-width nodes; bindings must not depend on which path ran.
  const r = await calls('typescript', 'function f(a: Foo {\n  const b = new Bar();\n  a.x();\n  b.y();\n');
  assert.deepEqual(r.filter(([q]) => q === 'b'), [['b', 'y', 'Bar']]);
});
