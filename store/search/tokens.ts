// Text features of names and queries, shared by TEXT and FUZZY search (pure).
import { subTokens } from '../embed.ts';

export { subTokens };

/** Distinct lower-cased identifier sub-tokens and plain words of `text`, in order of appearance. */
export function words(text: string): string[] {
  return [...new Set(subTokens(text))];
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
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  let cur = new Array<number>(n + 1).fill(0);
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
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n]! > max ? max + 1 : prev[n]!;
}

/** Edits a FUZZY query of this length tolerates: 1 up to 4 characters, 2 up to 8, then 3. */
export function maxEdits(length: number): number {
  return length <= 4 ? 1 : length <= 8 ? 2 : 3;
}
