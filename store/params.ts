// Array parameters as PostgreSQL array literals, built with one native JSON.stringify per array
// (issue #9: event-loop lag). The store's bulk statements bind whole columns as arrays
// (`unnest($1::int[], $2::text[], ...)`, thousands of elements per statement on a first index);
// node-postgres turns each element into text with two regex replacements and a string
// concatenation in JavaScript, which the lag bench's CPU profile showed as the largest block of
// main-thread work after process spawns. JSON.stringify of a flat array of strings, finite numbers,
// booleans and nulls IS the PostgreSQL array literal once its brackets become braces, as long as
// JSON used no escape other than `\"` and `\\` (which mean the same in both): `null` is NULL in an
// array literal (unquoted, any case), numbers and booleans need no quotes. JSON's escapes of control
// characters (`\n`, `\u0001`) do not exist in an array literal (there a backslash only quotes the
// next character), so an array whose JSON has one keeps node-postgres' encoding; so does anything
// else (nested arrays, Buffers, Dates, objects, NaN and Infinity, which JSON turns into null).

/** A JSON escape other than `\"` and `\\` (may also match `\\n`, an escaped backslash then `n`:
 * then the array just keeps node-postgres' encoding). */
const CONTROL_ESCAPE = /\\[bfnrtu/]/;

function flatPrimitives(a: readonly unknown[]): boolean {
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    const t = typeof v;
    if (t === 'string' || t === 'boolean' || v === null || v === undefined) continue;
    if (t === 'number' && Number.isFinite(v)) continue;
    return false;
  }
  return true;
}

/** The PostgreSQL array literal of a flat array of strings, finite numbers, booleans and nulls
 * without control characters; null for any other array. */
export function arrayLiteral(a: readonly unknown[]): string | null {
  if (!flatPrimitives(a)) return null;
  const json = JSON.stringify(a);
  if (json.includes('\\') && CONTROL_ESCAPE.test(json)) return null;
  return `{${json.slice(1, -1)}}`;
}

/** `params` with every array that `arrayLiteral` can write replaced by its literal (the same value
 * for PostgreSQL); other values untouched. Returns `params` itself when nothing changes. */
export function encodeParams(params: readonly unknown[] | undefined): unknown[] | undefined {
  if (params === undefined) return undefined;
  let out: unknown[] | null = null;
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (!Array.isArray(p)) continue;
    const lit = arrayLiteral(p);
    if (lit === null) continue;
    out ??= [...params];
    out[i] = lit;
  }
  return out ?? (params as unknown[]);
}
