// store/search/tokens.ts: the bounded edit distance reuses its rows between calls (#12, FUZZY p99);
// a long comparison followed by short ones, and the reverse, must give what a fresh computation
// gives (a row left over from a longer call must not leak into a shorter one).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { editDistance, joinedRuns, words } from '../store/search/tokens.ts';

/** Plain optimal-string-alignment distance, no band, fresh arrays. */
function reference(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

describe('editDistance with reused rows', () => {
  it('answers as a fresh computation whatever the previous call compared', () => {
    const words = ['a', 'ab', 'ba', 'abc', 'createStore', 'creatStore', 'craeteStore', 'x'.repeat(90), 'x'.repeat(88) + 'yx', 'useStore', 'usestore', '', 'parseHTTPResponse', 'parseHttpResponse'];
    for (const a of words) {
      for (const b of words) {
        for (const max of [1, 2, 3]) {
          const want = Math.min(reference(a, b), max + 1);
          assert.equal(editDistance(a, b, max), want, `${a} / ${b} (max ${max})`);
        }
      }
    }
  });
});

// Regression (tried as a user on expressjs/express): TEXT `etag` did not find compileETag or
// createETagGenerator, whose case splits the word a user types whole (`e`, `tag`); only the
// weight-free embedding ranked them, below unrelated functions.
describe('joinedRuns', () => {
  it('writes two and three adjacent sub-tokens together, leaving out what is already a token', () => {
    assert.deepEqual(joinedRuns(words('compileETag')), ['compilee', 'compileetag', 'etag']);
    assert.deepEqual(joinedRuns(words('newXMLHttpRequest')), ['newxml', 'newxmlhttp', 'xmlhttp', 'xmlhttprequest', 'httprequest']);
    assert.deepEqual(joinedRuns(words('send_file')), ['sendfile']);
    assert.deepEqual(joinedRuns(words('etag')), []);
    assert.deepEqual(joinedRuns(['a', 'b', 'ab']), ['abab', 'bab']);
  });
});
