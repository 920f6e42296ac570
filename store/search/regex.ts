// REGEX search with a time and size guard. A JavaScript regular expression can backtrack
// exponentially (`(a+)+$` on "aaaa...!"), and V8's backtracking engine cannot be told to give up.
// So the whole scan runs as ONE script in a vm context with a `timeout`: V8's watchdog terminates
// it mid-match, and the query fails with REGEX_TIMEOUT instead of freezing the process. The scan
// blocks the event loop for at most that budget (default 250 ms).
import vm from 'node:vm';
import { SearchError } from './errors.ts';

/** One match: the item's position and the matched text. */
export interface RegexHit {
  item: number;
  text: string;
}

// The context's globals are read once into locals: each read of a global of a vm context goes
// through its interceptor, and reading `items`, `re` and `out` per item made that lookup,
// not the matching, most of a REGEX query's time (#12).
const SCAN = new vm.Script(`
  ((re, items, out) => {
    out.length = 0;
    for (let k = 0, n = items.length; k < n; k++) {
      const m = re.exec(items[k]);
      if (m !== null) out.push(k, m.index, m[0].length);
    }
  })(re, items, out);`);

/** Compiles a pattern, plain (`get[A-Z]\\w*`) or in slash form with flags (`/parse/i`). */
export function compile(pattern: string, maxLength: number): RegExp {
  if (pattern.length > maxLength) {
    throw new SearchError('INVALID_REGEX', `the pattern is ${pattern.length} characters long; the limit is ${maxLength}.`, { length: pattern.length, limit: maxLength });
  }
  const slash = /^\/(.+)\/([imsu]*)$/s.exec(pattern);
  try {
    return slash ? new RegExp(slash[1]!, slash[2]) : new RegExp(pattern);
  } catch (err) {
    throw new SearchError('INVALID_REGEX', `invalid regular expression: ${(err as Error).message}. Escape special characters with \\ (e.g. \\( or \\.), or use mode TEXT.`, { pattern });
  }
}

export class RegexScanner {
  private readonly context = vm.createContext({ re: /$^/, items: [] as string[], out: [] as number[] });

  /** Items `re` matches, in item order. Throws REGEX_TIMEOUT when the scan takes over `timeoutMs`. */
  scan(re: RegExp, items: readonly string[], timeoutMs: number): RegexHit[] {
    const out: number[] = [];
    this.context.re = re;
    this.context.items = items;
    this.context.out = out;
    try {
      SCAN.runInContext(this.context, { timeout: timeoutMs });
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
        throw new SearchError('REGEX_TIMEOUT',
          `the pattern ${JSON.stringify(re.source.slice(0, 80))} ran over its ${timeoutMs} ms budget on ${items.length} items (catastrophic backtracking?). ` +
          'Avoid nested quantifiers such as (a+)+ or (a|a)*, anchor the pattern, or narrow the search with path or kinds.',
          { pattern: re.source, timeoutMs, items: items.length });
      }
      throw err;
    } finally {
      this.context.items = [];
      this.context.out = [];
    }
    const hits: RegexHit[] = [];
    for (let k = 0; k + 2 < out.length; k += 3) {
      const item = out[k]!;
      hits.push({ item, text: items[item]!.slice(out[k + 1]!, out[k + 1]! + out[k + 2]!) });
    }
    return hits;
  }
}
