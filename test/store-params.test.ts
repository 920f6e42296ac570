// Array parameters are sent as literals built by JSON.stringify (store/params.ts, issue #9: the
// per-element encoding of node-postgres was a large share of the main thread's work on a first
// index). The value PostgreSQL receives must be exactly what node-postgres would have sent, on both
// backends: every awkward string round-trips, and arrays JSON cannot write the same way fall back.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createRequire } from 'node:module';
import { arrayLiteral, encodeParams } from '../store/params.ts';
import { withBackends } from './harness/pg.ts';

/** node-postgres' own encoding of a parameter (not part of its typed API). */
const pgUtils = createRequire(import.meta.url)('pg/lib/utils.js') as { prepareValue(v: unknown): unknown };

const AWKWARD = [
  'plain', '', ' ', 'with space', 'comma,inside', '{braces}', 'quote " inside', "single ' quote", 'back\\slash',
  'ends with backslash\\', '\\"', 'literal \\n not a newline', 'NULL', 'null', 'é ü 中文 😀', '\u2028\u2029', '/slash/',
  'a'.repeat(10_000),
];
const CONTROLS = ['new\nline', 'tab\there', 'cr\r', 'bell\u0007', 'escape\u001b[0m'];

it('arrayLiteral writes flat arrays JSON can express, and declines the rest', () => {
  assert.equal(arrayLiteral([1, 2, -3, 1.5]), '{1,2,-3,1.5}');
  assert.equal(arrayLiteral([true, false, null, undefined]), '{true,false,null,null}');
  assert.equal(arrayLiteral(['a', 'b"c', 'd\\e']), '{"a","b\\"c","d\\\\e"}');
  assert.equal(arrayLiteral([]), '{}');
  for (const s of CONTROLS) assert.equal(arrayLiteral(['x', s]), null, JSON.stringify(s));
  assert.equal(arrayLiteral([NaN]), null);
  assert.equal(arrayLiteral([Infinity]), null);
  assert.equal(arrayLiteral([[1, 2]]), null);
  assert.equal(arrayLiteral([Buffer.from('x')]), null);
  assert.equal(arrayLiteral([new Date(0)]), null);
  assert.equal(arrayLiteral([{ a: 1 }]), null);
  const params = ['x', [1, 2], 3];
  assert.deepEqual(encodeParams(params), ['x', '{1,2}', 3]);
  const same = ['x', 3];
  assert.equal(encodeParams(same), same, 'unchanged params are returned as they are');
});

await withBackends('array parameters reach PostgreSQL unchanged', (b) => {
  it('text, int, boolean and float arrays round-trip, including control characters and NULLs', async () => {
    const db = await (await b.fresh()).open();
    try {
      const texts = [...AWKWARD, ...CONTROLS, null];
      const { rows: [r] } = await db.query<{ t: Array<string | null>; i: number[]; b: Array<boolean | null>; f: number[]; n: number }>(
        'SELECT $1::text[] AS t, $2::int[] AS i, $3::boolean[] AS b, $4::float8[] AS f, cardinality($1::text[]) AS n',
        [texts, [0, -1, 2147483647], [true, false, null], [0.1, -2.5e-10, 1e21]]);
      assert.deepEqual(r!.t, texts);
      assert.deepEqual(r!.i, [0, -1, 2147483647]);
      assert.deepEqual(r!.b, [true, false, null]);
      assert.deepEqual(r!.f, [0.1, -2.5e-10, 1e21]);
      // The same bytes node-postgres itself sends, where the literal is used.
      // (Not the text `\\n`: it looks like an escaped newline to the quick test, so it falls back.)
      assert.equal(arrayLiteral(['literal \\n']), null);
      for (const a of [AWKWARD.filter((s) => !s.includes('\\n')), [1, 2, 3], [true, null]]) {
        const ours = arrayLiteral(a);
        assert.ok(ours !== null);
        const { rows: [same] } = await db.query<{ eq: boolean }>('SELECT $1::text[] IS NOT DISTINCT FROM $2::text[] AS eq', [ours, pgUtils.prepareValue(a)]);
        assert.equal(same!.eq, true, ours.slice(0, 80));
      }
      // unnest over several arrays, as the store's bulk inserts use them.
      const { rows } = await db.query<{ s: string; k: number }>('SELECT s, k FROM unnest($1::text[], $2::int[]) AS u(s, k) ORDER BY k', [AWKWARD, AWKWARD.map((_, k) => k)]);
      assert.deepEqual(rows.map((x) => x.s), AWKWARD);
    } finally {
      await db.close();
    }
  });
});
