// Regression: overload signatures of an interface method (`fetch(a: A): R; fetch(b: B): R;`) fold
// into one entity, but that entity spanned only the first signature, so Universal Ctags' tags for
// the other overloads matched nothing (CI's recall sample of @whatwg-node/server fell to 0.91) and
// an edit to any later overload was not seen as a change of the method.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { extract } from '../indexer/index.ts';

const SRC = [
  'export interface Server {',
  '  fetch(url: string): Response;',
  '  fetch(url: URL, init: object): Response;',
  '  fetch(req: Request): Response;',
  '  close(): void;',
  '}',
  'export interface Server {',
  '  fetch(extra: number): Response;',
  '}',
  '',
].join('\n');

const fetchOf = async (src: string) => {
  const found = (await extract('typescript', Buffer.from(src))).entities.filter((e) => e.qualifiedName === 'Server.fetch');
  assert.equal(found.length, 1, 'one entity for the overload set');
  return found[0]!;
};

test('gh: interface method overloads are one entity spanning every overload in its block', async () => {
  const e = await fetchOf(SRC);
  assert.equal(e.startLine, 2);
  // Lines 2-4, not the redeclaration in the second merged block (line 8), which is elsewhere.
  assert.equal(e.endLine, 4);
  const edited = await fetchOf(SRC.replace('fetch(req: Request)', 'fetch(req: Request, signal: AbortSignal)'));
  assert.notEqual(edited.bodyHash, e.bodyHash, 'an edit to the third overload changes the method');
  const elsewhere = await fetchOf(SRC.replace('fetch(extra: number)', 'fetch(extra: string)'));
  assert.equal(elsewhere.bodyHash, e.bodyHash, 'the merged block is not part of the span');
});
