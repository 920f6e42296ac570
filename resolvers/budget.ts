// The work model behind cost estimates and result caps (issue #8 item 2), shared by the static
// estimate at validation (daemon/server/limits.ts) and the check the `impacted` resolver makes once
// the diff's size is known. One cost point is about one entity resolved; a call-graph step (the
// callers of one entity: several statements) weighs WALK_STEP points.

/** Assumed callers (or callees) per entity per level, for estimates. */
export const FANOUT = 4;
/** Cost of expanding one entity in a call-graph walk, relative to resolving one field. */
export const WALK_STEP = 5;
/** Changed entities assumed for a diff before it is computed (plain lists assume as many). */
export const ASSUMED_LIST = 10;

/** Entities a walk of `depth` levels from `sources` entities reaches, at most `maxResults` (the cap). */
export function reach(sources: number, depth: number, maxResults: number): number {
  return Math.min(maxResults, sources * FANOUT ** depth);
}

/**
 * Estimated cost of a call-graph walk: expanding the sources and every entity reached, plus
 * `perResult` for what is selected on each result. `callers`/`callees` have one source;
 * `impacted` has one per changed (modified, renamed, moved or removed) entity of the diff.
 */
export function walkCost(sources: number, depth: number, maxResults: number, perResult: number): number {
  const n = reach(sources, depth, maxResults);
  return 1 + WALK_STEP * (sources + n) + n * perResult;
}
