// Ranking of one search mode over a snapshot (pure given the snapshot; no I/O but embeddings).
import type { VectorSource } from '../ann/source.ts';
import type { Embedder } from '../embedders/index.ts';
import { SearchError } from './errors.ts';
import { FIELDS, Snapshot, type Field } from './snapshot.ts';
import { editDistance, maxEdits, trigrams, words } from './tokens.ts';

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
 * words are ranked, scaled by the share of words they have.
 */
export function rankText(snap: Snapshot, query: string, allowed: (i: number) => boolean): Ranked[] {
  const qWords = words(query);
  if (qWords.length === 0) throw new SearchError('EMPTY_QUERY', 'the query has no word to search for (letters or digits); give a name or keywords.');
  const idx = snap.textIndex();
  const total = snap.entities.length;
  const score = new Map<number, number>();
  const covered = new Map<number, number>();
  const found = new Map<number, Map<Field, Set<string>>>();
  for (const qw of qWords) {
    const best = new Map<number, number>();
    const consider = (token: string, weight: number): void => {
      for (const v of idx.postings.get(token) ?? []) {
        const e = Math.floor(v / FIELDS.length);
        if (!allowed(e)) continue;
        const f = v % FIELDS.length;
        const w = FIELD_WEIGHT[f]! * weight;
        if ((best.get(e) ?? 0) < w) best.set(e, w);
        let m = found.get(e);
        if (!m) found.set(e, (m = new Map()));
        let s = m.get(FIELDS[f]!);
        if (!s) m.set(FIELDS[f]!, (s = new Set()));
        s.add(token);
      }
    };
    consider(qw, 1);
    for (const t of prefixRange(idx.vocabulary, qw)) consider(t, PREFIX_WEIGHT);
    const idf = Math.log(1 + total / (1 + best.size));
    for (const [e, w] of best) {
      score.set(e, (score.get(e) ?? 0) + w * idf);
      covered.set(e, (covered.get(e) ?? 0) + 1);
    }
  }
  const all = [...covered.values()].some((c) => c === qWords.length);
  const trimmed = query.trim();
  const joined = qWords.join('');
  const out: Ranked[] = [];
  for (const [e, s] of score) {
    const c = covered.get(e)!;
    if (all && c < qWords.length) continue;
    const name = snap.entities[e]!.name;
    let bonus = 1;
    if (name === trimmed) bonus = 4;
    else if (name.toLowerCase() === trimmed.toLowerCase() || idx.nameTokens[e]!.join('') === joined) bonus = 3;
    out.push({ i: e, score: s * bonus * (c / qWords.length), matches: matchesOf(found.get(e)!) });
  }
  return out.sort(byScore);
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
  for (const p of candidates) {
    const name = fi.names[p]!;
    if (Math.abs(name.length - q.length) > max) continue;
    const d = editDistance(q, name, max);
    if (d > max) continue;
    for (const e of fi.entitiesOf[p]!) {
      if (!allowed(e)) continue;
      const real = snap.entities[e]!.name;
      const s = 1 - d / Math.max(q.length, name.length) - (d === 0 && real !== trimmed ? 0.001 : 0);
      out.push({ i: e, score: s, matches: [{ field: 'name', tokens: [real] }] });
    }
  }
  return out.sort(byScore);
}

/** Approximate nearest bodies: rows of the snapshot's embedding matrix, best first. */
export type AnnSearch = (query: Float32Array, k: number) => number[];

/**
 * VECTOR: cosine between the query's embedding and each entity body's. Exact over every body, or,
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
  const push = (i: number, score: number): void => {
    let matches: SearchMatch[] | null = null;
    out.push({
      i, score,
      get matches(): SearchMatch[] {
        const shared = Snapshot.fieldTokens(snap.entities[i]!).flat().filter((t) => qWords.has(t));
        matches ??= [{ field: 'embedding', tokens: [...new Set(shared)] }];
        return matches;
      },
    });
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
  const acc = new Map<number, Ranked>();
  const add = (i: number, s: number, matches: SearchMatch[]): void => {
    const r = acc.get(i);
    if (r) {
      r.score += s;
      r.matches.push(...matches);
    } else {
      acc.set(i, { i, score: s, matches: [...matches] });
    }
  };
  text.forEach((r, k) => add(r.i, 1 / (RRF_K + k + 1), r.matches));
  vector.slice(0, HYBRID_VECTOR_DEPTH).forEach((r, k) => add(r.i, 1 / (RRF_K + k + 1), r.matches));
  for (const i of exact) add(i, 2 / (RRF_K + 1), []);
  let maxRank = 0;
  for (const r of acc.values()) maxRank = Math.max(maxRank, rank[r.i] ?? 0);
  if (maxRank > 0) for (const r of acc.values()) r.score += (0.5 / (RRF_K + 1)) * ((rank[r.i] ?? 0) / maxRank);
  return [...acc.values()].sort(byScore);
}

/** Entities named exactly as the query (case-insensitive), for HYBRID's exact-name list. */
export function exactNames(snap: Snapshot, query: string, allowed: (i: number) => boolean): number[] {
  const q = query.trim().toLowerCase();
  return snap.entities.filter((e) => e.name !== '' && e.name.toLowerCase() === q && allowed(e.i)).map((e) => e.i);
}
