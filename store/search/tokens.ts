// Text features of names and queries, shared by TEXT and FUZZY search (pure).
import { subTokens } from '../embed.ts';

export { subTokens };

/** Distinct lower-cased identifier sub-tokens and plain words of `text`, in order of appearance. */
export function words(text: string): string[] {
  return [...new Set(subTokens(text))];
}

/**
 * Runs of two and three adjacent name sub-tokens written together (`compileETag`: `compilee`,
 * `etag`, `compileetag`), not already among `tokens`: TEXT finds a name by a word its case splits
 * (`etag`, `sendfile`, `xmlhttprequest` in `newXMLHttpRequest`), as users type them.
 */
export function joinedRuns(tokens: readonly string[]): string[] {
  if (tokens.length < 2) return [];
  const have = new Set(tokens);
  const out = new Set<string>();
  for (let i = 0; i + 1 < tokens.length; i++) {
    for (let n = 2; n <= 3 && i + n <= tokens.length; n++) {
      const run = tokens.slice(i, i + n).join('');
      if (!have.has(run)) out.add(run);
    }
  }
  return [...out];
}

/** pg_trgm-style trigrams of a lower-cased name: padded with two spaces in front and one behind. */
export function trigrams(name: string): string[] {
  const s = `  ${name.toLowerCase()} `;
  const out = new Set<string>();
  for (let i = 0; i + 3 <= s.length; i++) out.add(s.slice(i, i + 3));
  return [...out];
}

/**
 * Optimal-string-alignment distance (Damerau-Levenshtein with adjacent transpositions, each
 * substring edited once), or `max + 1` as soon as it must exceed `max` (the band keeps it
 * O(len * max) per pair).
 */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const n = b.length;
  // Three rows reused across calls: a short FUZZY query compares against every distinct name, and
  // three fresh arrays per pair were most of that scan's garbage (#12).
  if (rows[0]!.length < n + 1) for (let r = 0; r < 3; r++) rows[r] = new Int32Array(2 * (n + 1));
  let prev2 = rows[0]!;
  let prev = rows[1]!;
  let cur = rows[2]!;
  for (let j = 0; j <= n; j++) {
    prev2[j] = 0;
    prev[j] = j;
    cur[j] = 0;
  }
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2]! + 1);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    const t = prev2;
    prev2 = prev;
    prev = cur;
    cur = t;
  }
  return prev[n]! > max ? max + 1 : prev[n]!;
}

/** editDistance's rows (it runs synchronously, so one set serves every call). */
const rows: Int32Array[] = [new Int32Array(64), new Int32Array(64), new Int32Array(64)];

/** Edits a FUZZY query of this length tolerates: 1 up to 4 characters, 2 up to 8, then 3. */
export function maxEdits(length: number): number {
  return length <= 4 ? 1 : length <= 8 ? 2 : 3;
}

/** Folders that hold tests (a path segment, any depth). `testing` is left out: it is often a
 * library's own test utilities (rxjs `internal/testing/TestScheduler`), which users search for. */
const TEST_DIRS = new Set(['test', 'tests', '__tests__', 'spec', 'specs', 'e2e', '__mocks__', 'testdata']);
/** File names of tests in the seven languages: `x_test.go`, `x.test.ts`, `x.spec.js`,
 * `test_x.py`, `x_test.py`, `XTest.java`, `XTests.java`, `x_test.cc`, `x_unittest.cpp`, `x_test.rs`. */
const TEST_FILE = /(?:^test_.*\.py|_test\.(?:go|py|rs|cc|cpp|cxx|c)|_unittest\.(?:cc|cpp|cxx)|\.(?:test|spec)\.[cm]?[jt]sx?|Tests?\.java)$/;

/** Whether `path` is test code, by the conventions of its language (folder or file name). */
export function isTestPath(path: string): boolean {
  const segs = path.split('/');
  const file = segs[segs.length - 1]!;
  if (TEST_FILE.test(file)) return true;
  for (let k = 0; k < segs.length - 1; k++) if (TEST_DIRS.has(segs[k]!)) return true;
  return false;
}

/** Whether a query asks for tests itself (`render json test`, `TestRender`), so test code keeps
 * its full weight. */
export function asksForTests(query: string): boolean {
  return words(query).some((w) => w === 'test' || w === 'tests' || w === 'spec' || w === 'specs');
}
