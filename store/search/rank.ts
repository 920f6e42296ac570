// Ranking of one search mode over a snapshot (pure given the snapshot; no I/O but embeddings).
import type { VectorSource } from '../ann/source.ts';
import type { Embedder } from '../embedders/index.ts';
import { SearchError } from './errors.ts';
import { FIELDS, type Field, type Snapshot, type TextIndex } from './snapshot.ts';
import { asksForTests, editDistance, joinedRuns, maxEdits, trigrams, words } from './tokens.ts';

export type MatchField = Field | 'body' | 'embedding';

/** Why an entity matched: in which field, through which of its tokens (or matched text). */
export interface SearchMatch {
  field: MatchField;
  tokens: string[];
}

export interface Ranked {
  i: number;
  score: number;
  matches: SearchMatch[];
}

/** Per-field weight of a TEXT hit: a word in the name says more than one in the doc comment. */
const FIELD_WEIGHT = [4, 2, 1.5, 1];
/** Weight of a hit through a longer token the query word is a prefix of (`resp` -> response). */
const PREFIX_WEIGHT = 0.5;
/** Most vocabulary tokens one short query word may expand to. */
const MAX_PREFIX_EXPANSION = 256;

const byScore = (a: Ranked, b: Ranked): number => b.score - a.score || a.i - b.i;

/** Score factor of an entity in test code when the query does not ask for tests: a test that
 * calls `renderJSON` mentions "render" and "json" in its own name, and ranked above the function it
 * tests (found in a user trial on gin: `render json` put `TestRenderJSONError` first). */
export const TEST_WEIGHT = 0.5;

/** Per-entity score factors of one query: TEST_WEIGHT on test code unless the query asks for
 * tests (`asksForTests`), else 1. */
export function testWeights(snap: Snapshot, query: string): (i: number) => number {
  if (asksForTests(query)) return () => 1;
  const mask = snap.testMask();
  return (i) => (mask[i] === 1 ? TEST_WEIGHT : 1);
}

function prefixRange(vocab: string[], prefix: string): string[] {
  let lo = 0;
  let hi = vocab.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (vocab[mid]! < prefix) lo = mid + 1;
    else hi = mid;
  }
  const out: string[] = [];
  for (let k = lo; k < vocab.length && vocab[k]!.startsWith(prefix) && out.length < MAX_PREFIX_EXPANSION; k++) {
    if (vocab[k] !== prefix) out.push(vocab[k]!);
  }
  return out;
}

function matchesOf(found: Map<Field, Set<string>>): SearchMatch[] {
  return FIELDS.filter((f) => found.has(f)).map((f) => ({ field: f, tokens: [...found.get(f)!] }));
}

/**
 * TEXT: every query word (identifier sub-tokens, so `parse response` and `parseResponse` are the
 * same two words) must hit a token of the name, qualified name, signature or doc, exactly or as a
 * prefix. Score: sum over words of field weight x idf; an entity whose whole name is the query
 * scores x3 (x4 when the case matches too). When no entity has all words, entities with some
 * words are ranked, scaled by the share of words they have. Test code scores x TEST_WEIGHT unless
 * the query asks for tests.
 *
 * The scan keeps per-entity numbers in typed arrays and records no reasons: a common word ("get",
 * a package name every qualified name holds) has tens of thousands of postings, and a Map and a
 * Set per entity made the garbage collector the p99 of this mode (#12). `matches` is computed on
 * first read, from the entity's tokens, so only the returned page pays for it.
 */
export function rankText(snap: Snapshot, query: string, allowed: (i: number) => boolean): Ranked[] {
  const qWords = words(query);
  if (qWords.length === 0) throw new SearchError('EMPTY_QUERY', 'the query has no word to search for (letters or digits); give a name or keywords.');
  const idx = snap.textIndex();
  const sc = scratch(snap.entities.length);
  try {
    return textHits(snap, idx, query, qWords, allowed, sc);
  } catch (err) {
    shared = null; // left half-written: the next query starts from fresh arrays
    throw err;
  }
}

function textHits(snap: Snapshot, idx: TextIndex, query: string, qWords: string[], allowed: (i: number) => boolean, sc: Scratch): Ranked[] {
  const total = snap.entities.length;
  const { score, covered, best, asked, ok, gen } = sc;
  const hits: number[] = [];
  /** Per query word, the tokens it reaches: itself, then its prefix expansions. */
  const reach: string[][] = [];
  for (const qw of qWords) {
    const touched: number[] = [];
    const consider = (token: string, weight: number): void => {
      const list = idx.postings.get(token);
      if (!list) return;
      for (let k = 0; k < list.length; k++) {
        const v = list[k]!;
        const e = Math.floor(v / FIELDS.length);
        if (asked[e] !== gen) {
          asked[e] = gen;
          ok[e] = allowed(e) ? 1 : 0;
        }
        if (ok[e] === 0) continue;
        const w = FIELD_WEIGHT[v % FIELDS.length]! * weight;
        if (best[e] === 0) touched.push(e);
        if (best[e]! < w) best[e] = w;
      }
    };
    const expansions = prefixRange(idx.vocabulary, qw);
    reach.push([qw, ...expansions]);
    consider(qw, 1);
    for (const t of expansions) consider(t, PREFIX_WEIGHT);
    const idf = Math.log(1 + total / (1 + touched.length));
    for (const e of touched) {
      score[e] = score[e]! + best[e]! * idf;
      if (covered[e] === 0) hits.push(e);
      covered[e]!++;
      best[e] = 0;
    }
  }
  let all = false;
  for (const e of hits) if (covered[e] === qWords.length) all = true;
  const trimmed = query.trim();
  const joined = qWords.join('');
  const weight = testWeights(snap, query);
  const out: Ranked[] = [];
  const why = (e: number): SearchMatch[] => textMatches(snap, e, reach);
  for (const e of hits) {
    const c = covered[e]!;
    if (all && c < qWords.length) continue;
    const name = snap.entities[e]!.name;
    let bonus = 1;
    if (name === trimmed) bonus = 4;
    else if (name.toLowerCase() === trimmed.toLowerCase() || idx.nameTokens[e]!.join('') === joined) bonus = 3;
    out.push(new LazyHit(e, score[e]! * bonus * (c / qWords.length) * weight(e), why));
  }
  for (const e of hits) {
    score[e] = 0;
    covered[e] = 0;
  }
  return out.sort(byScore);
}

interface Scratch {
  score: Float64Array;
  covered: Int32Array;
  best: Float64Array;
  /** `asked[e] === gen`: `ok[e]` holds whether entity e passes this query's filter. */
  asked: Uint32Array;
  ok: Uint8Array;
  gen: number;
}

let shared: Scratch | null = null;

/**
 * TEXT's per-entity arrays, kept between queries (rankText runs synchronously, so one set serves
 * all). Fresh arrays per query were ~1 MB of array buffers on a 43k-entity tree, and that external
 * memory made V8 run full collections of the whole heap during queries (#12). `score` and
 * `covered` are zero on entry (rankText clears what it set), `best` too; `asked` is invalidated by
 * bumping the generation.
 */
function scratch(n: number): Scratch {
  if (!shared || shared.score.length < n || shared.gen >= 0xfffffffe) {
    const size = Math.max(n, shared?.score.length ?? 0);
    shared = { score: new Float64Array(size), covered: new Int32Array(size), best: new Float64Array(size), asked: new Uint32Array(size), ok: new Uint8Array(size), gen: 0 };
  }
  shared.gen++;
  return shared;
}

/** A ranked hit whose `matches` are computed on first read (then kept): a query ranks up to tens
 * of thousands of entities and a page shows a few, so a per-hit closure or reasons array is
 * garbage nobody reads. `compute` is one function per query. */
class LazyHit implements Ranked {
  private m: SearchMatch[] | null = null;
  constructor(readonly i: number, public score: number, private readonly compute: (i: number) => SearchMatch[]) {}
  get matches(): SearchMatch[] {
    this.m ??= this.compute(this.i);
    return this.m;
  }
}

/** TEXT's reasons for one entity: per field, its tokens each query word reached, in the order the
 * words and their expansions were tried (the order a per-posting scan records them in). */
function textMatches(snap: Snapshot, e: number, reach: string[][]): SearchMatch[] {
  const fields = snap.tokens(e).map((t, f) => new Set(f === 0 ? [...t, ...joinedRuns(t)] : t));
  const found = new Map<Field, Set<string>>();
  for (const tokens of reach) {
    for (const t of tokens) {
      fields.forEach((has, f) => {
        if (!has.has(t)) return;
        let set = found.get(FIELDS[f]!);
        if (!set) found.set(FIELDS[f]!, (set = new Set()));
        set.add(t);
      });
    }
  }
  return matchesOf(found);
}

/** FUZZY: names within a few typos of the query (1 edit up to 4 characters, 2 up to 8, then 3;
 * adjacent swaps count as one). Score: 1 - edits / length; an exact name scores 1. */
export function rankFuzzy(snap: Snapshot, query: string, allowed: (i: number) => boolean): Ranked[] {
  const trimmed = query.trim();
  const q = trimmed.toLowerCase();
  if (q === '') throw new SearchError('EMPTY_QUERY', 'the query is empty; give the (misspelt) name to look for.');
  const max = maxEdits(q.length);
  const fi = snap.fuzzyIndex();
  let candidates: number[];
  if (q.length <= 4) {
    // Short names can share no trigram yet be one edit apart ("ab" / "xb"): scan them all.
    candidates = fi.names.map((_, p) => p);
  } else {
    // Each edit destroys at most 3 trigrams, and a name within `max` edits keeps at least one.
    const shared = new Map<number, number>();
    for (const g of trigrams(q)) for (const p of fi.postings.get(g) ?? []) shared.set(p, (shared.get(p) ?? 0) + 1);
    candidates = [...shared.keys()];
  }
  const out: Ranked[] = [];
  const why = (e: number): SearchMatch[] => [{ field: 'name', tokens: [snap.entities[e]!.name] }];
  for (const p of candidates) {
    const name = fi.names[p]!;
    if (Math.abs(name.length - q.length) > max) continue;
    const d = editDistance(q, name, max);
    if (d > max) continue;
    for (const e of fi.entitiesOf[p]!) {
      if (!allowed(e)) continue;
      const real = snap.entities[e]!.name;
      const s = 1 - d / Math.max(q.length, name.length) - (d === 0 && real !== trimmed ? 0.001 : 0);
      out.push(new LazyHit(e, s, why));
    }
  }
  return out.sort(byScore);
}

/** Approximate nearest bodies: rows of the snapshot's embedding matrix, best first. */
export type AnnSearch = (query: Float32Array, k: number) => number[];

/**
 * VECTOR: cosine between the query's embedding and each entity body's (x TEST_WEIGHT in test code
 * unless the query asks for tests). Exact over every body, or,
 * with `ann`, over the `annDepth` nearest bodies it returns (the caller uses it only for large trees
 * and unfiltered queries). `matches` (the query words the entity shares) is computed on first read,
 * so only the returned page pays for it.
 */
export async function rankVector(snap: Snapshot, query: string, allowed: (i: number) => boolean, embedder: Embedder, ann?: { search: AnnSearch; depth: number }, source?: VectorSource): Promise<Ranked[]> {
  if (query.trim() === '') throw new SearchError('EMPTY_QUERY', 'the query is empty; describe the code to look for.');
  const [qv] = await embedder.embed([query]);
  if (!qv) throw new SearchError('INVALID_ARGUMENT', 'the embedder returned no vector for the query.');
  const { byEntity, entitiesOfRow, matrix, dims } = await snap.embeddings(source);
  if (dims !== 0 && dims !== qv.length) {
    throw new SearchError('INVALID_ARGUMENT', `stored embeddings have ${dims} dimensions, the query embedder ${qv.length}; re-embed the store.`, { dims, query: qv.length });
  }
  const qWords = new Set(words(query));
  const out: Ranked[] = [];
  const why = (i: number): SearchMatch[] => {
    const shared = snap.tokens(i).flat().filter((t) => qWords.has(t));
    return [{ field: 'embedding', tokens: [...new Set(shared)] }];
  };
  const weight = testWeights(snap, query);
  const push = (i: number, score: number): void => {
    out.push(new LazyHit(i, score * weight(i), why));
  };
  const cosine = (row: number): number => {
    let s = 0;
    for (let k = 0, o = row * dims; k < dims; k++) s += qv[k]! * matrix[o + k]!;
    return s;
  };
  if (ann) {
    for (const row of ann.search(qv, ann.depth)) {
      const s = cosine(row);
      if (s > 0) for (const i of entitiesOfRow[row] ?? []) if (allowed(i)) push(i, s);
    }
    return out.sort(byScore);
  }
  const cache = new Map<number, number>();
  for (const e of snap.entities) {
    const row = byEntity[e.i]!;
    if (row < 0 || !allowed(e.i)) continue;
    let s = cache.get(row);
    if (s === undefined) cache.set(row, (s = cosine(row)));
    if (s > 0) push(e.i, s);
  }
  return out.sort(byScore);
}

/** Reciprocal rank fusion constant (Cormack et al. 2009). */
const RRF_K = 60;
/** How many vector hits take part in the fusion. */
const HYBRID_VECTOR_DEPTH = 200;

/**
 * HYBRID: reciprocal rank fusion of TEXT and VECTOR, plus an exact-name list counted twice (so
 * the entity named exactly as the query always ranks first), plus a graph-centrality boost of up
 * to half a first place in one list, proportional to the entity's call-graph PageRank.
 */
export function fuse(text: Ranked[], vector: Ranked[], exact: number[], rank: Float64Array): Ranked[] {
  // Reasons stay unread here (each list computes its own on first read): the fused list holds the
  // sources of each entry and concatenates their reasons only for the page returned.
  const acc = new Map<number, { i: number; score: number; from: Ranked[] | null }>();
  const add = (i: number, s: number, from: Ranked | null): void => {
    const r = acc.get(i);
    if (r) {
      r.score += s;
      if (from) (r.from ??= []).push(from);
    } else {
      acc.set(i, { i, score: s, from: from ? [from] : null });
    }
  };
  text.forEach((r, k) => add(r.i, 1 / (RRF_K + k + 1), r));
  vector.slice(0, HYBRID_VECTOR_DEPTH).forEach((r, k) => add(r.i, 1 / (RRF_K + k + 1), r));
  for (const i of exact) add(i, 2 / (RRF_K + 1), null);
  let maxRank = 0;
  for (const r of acc.values()) maxRank = Math.max(maxRank, rank[r.i] ?? 0);
  if (maxRank > 0) for (const r of acc.values()) r.score += (0.5 / (RRF_K + 1)) * ((rank[r.i] ?? 0) / maxRank);
  const why = (i: number): SearchMatch[] => acc.get(i)!.from?.flatMap((f) => f.matches) ?? [];
  const out: Ranked[] = [];
  for (const r of acc.values()) out.push(new LazyHit(r.i, r.score, why));
  return out.sort(byScore);
}

/** Entities named exactly as the query (case-insensitive), for HYBRID's exact-name list; then, for
 * a query of several words, the entities whose name is those words run together, as TEXT's
 * whole-name bonus counts them (`parse params` names `ParseParams`, `$ParseParams`,
 * `parse_params`): the name a user spells out in words ranks first as when typed whole. */
export function exactNames(snap: Snapshot, query: string, allowed: (i: number) => boolean): number[] {
  const out = (snap.byLowerName().get(query.trim().toLowerCase()) ?? []).filter(allowed);
  const qWords = words(query);
  if (qWords.length < 2) return out;
  const joined = qWords.join('');
  const idx = snap.textIndex();
  const seen = new Set(out);
  for (const v of idx.postings.get(qWords[0]!) ?? []) {
    const e = Math.floor(v / FIELDS.length);
    if (v % FIELDS.length !== 0 || seen.has(e) || idx.nameTokens[e]!.join('') !== joined || !allowed(e)) continue;
    seen.add(e);
    out.push(e);
  }
  return out;
}
