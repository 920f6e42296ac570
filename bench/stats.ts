// Latency helpers shared by the benches: percentiles and timed sequential runs.

/** The p-th percentile (nearest rank) of `xs`; NaN when there are none. */
export function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))]!;
}

/** Runs `fn` on each item in turn; returns the milliseconds each call took. */
export async function times<T>(items: T[], fn: (q: T) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (const q of items) {
    const s = performance.now();
    await fn(q);
    out.push(performance.now() - s);
  }
  return out;
}
