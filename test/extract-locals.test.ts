// Regression: locals inside anonymous functions (test callbacks, closures, lambdas) were reported as
// module-level variables, because no named entity enclosed them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { extract } from '../indexer/index.ts';
import type { LanguageId } from '../indexer/index.ts';

const names = async (language: LanguageId, src: string): Promise<string[]> =>
  (await extract(language, Buffer.from(src))).entities.filter((e) => e.kind === 'variable' || e.kind === 'constant').map((e) => e.qualifiedName);

test('locals in anonymous functions are not module-level variables', async () => {
  assert.deepEqual(await names('typescript', "export const TOP = 1;\nlet n = 0;\ntest('x', async () => { const db = 1; let y = 2; });\n[1].map(function () { var z = 3; });\n"), ['TOP', 'n']);
  assert.deepEqual(await names('javascript', 'const A = 1;\nsetTimeout(() => { const b = 2; });\n'), ['A']);
  assert.deepEqual(await names('python', 'X = 1\nf = lambda: [y for y in range(3)]\nif True:\n    Y = 2\n'), ['X', 'Y']);
  assert.deepEqual(await names('go', 'package p\nvar V = 1\nvar F = func() { x := 1; _ = x }\n'), ['V']);
  assert.deepEqual(await names('rust', 'const C: i32 = 1;\nfn f() { let g = || { const D: i32 = 2; D }; }\n'), ['C']);
});
