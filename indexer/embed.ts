// The built-in, weight-free embedder: deterministic, nothing downloaded. It lives in indexer/
// because bodies are embedded in the extraction workers, where the blob bytes already are, off the
// thread that writes the store (#9); store/embed.ts re-exports it for queries.
//
// Features, each hashed (FNV-1a) into one of EMBEDDING_DIMS buckets with a hashed sign (the
// "hashing trick", Weinberger et al. 2009):
//  - identifier sub-tokens (`parseHTTPResponse` -> parse, http, response), weight 2;
//  - character trigrams of the whitespace-squeezed text, weight 1.
// The vector is L2-normalised, so cosine similarity = dot product. Sub-tokens make bodies that use
// the same vocabulary close; trigrams make small edits (a rename, one changed line) stay close.

/** Entity kinds that get no embedding: a module's body is its whole file, an import is one line. */
export const EMBEDDED_KINDS_EXCLUDED: readonly string[] = ['module', 'import'];

/** Dimensions of the built-in embedder (stored as that many bytes in `bodies.embedding`). */
export const EMBEDDING_DIMS = 256;

/** `h % EMBEDDING_DIMS` of an unsigned hash, as its low bits (the dimensions are a power of two). */
const DIM_MASK = EMBEDDING_DIMS - 1;

/** Adds `weight` to the bucket of a 32-bit hash (`h`, as Math.imul returns it: signed), its sign
 * the hash's top bit. Integer operations only: `(h >>> 0) % EMBEDDING_DIMS` took a floating-point
 * remainder for half the hashes, most of the embedding time (#9); the bucket and sign are the same. */
function addHash(v: Float64Array, h: number, weight: number): void {
  v[h & DIM_MASK]! += h < 0 ? -weight : weight;
}

/** FNV-1a state after the prefix `g:` of every trigram feature. */
const TRIGRAM_SEED = Math.imul(Math.imul(0x811c9dc5 ^ 0x67, 0x01000193) ^ 0x3a, 0x01000193);

/** Identifier sub-tokens, lower-cased: camelCase, PascalCase, snake_case, digits split. */
export function subTokens(text: string): string[] {
  const out: string[] = [];
  for (const ident of text.match(/[A-Za-z_$][A-Za-z0-9_$]*/g) ?? []) {
    for (const part of ident.split(/[_$]+/)) {
      for (const t of part.match(/[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+/g) ?? []) out.push(t.toLowerCase());
    }
  }
  return out;
}

/** FNV-1a state after the prefix `t:` of every sub-token feature. */
const TOKEN_SEED = Math.imul(Math.imul(0x811c9dc5 ^ 0x74, 0x01000193) ^ 0x3a, 0x01000193);
const C = { None: 0, Upper: 1, Lower: 2, Digit: 3, Joiner: 4 } as const;
/** Character classes of ASCII for `addSubTokens`: letters, digits, and `_` / `$` (which join
 * identifier parts); every other character ends an identifier. */
const CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  CLASS[c] = /[A-Z]/.test(ch) ? C.Upper : /[a-z]/.test(ch) ? C.Lower : /[0-9]/.test(ch) ? C.Digit : ch === '_' || ch === '$' ? C.Joiner : C.None;
}

/**
 * Adds feature `t:<token>` (weight 2) for each of `subTokens(text)`, hashing the lower-cased
 * characters in place instead of building the token strings and running three regular
 * expressions per identifier (a third of the embedding time, #9). The same tokens, so the same
 * vector: `subTokens` finds identifiers `[A-Za-z_$][A-Za-z0-9_$]*` (a run of identifier characters
 * less its leading digits), splits them at `_` / `$`, and cuts each part into `[A-Z]+(?![a-z])`,
 * `[A-Z]?[a-z]+` and `[0-9]+` tokens. The order of the additions does not matter: each adds an
 * integer, exactly.
 */
function addSubTokens(v: Float64Array, text: string): void {
  const n = text.length;
  const cls = (i: number): number => {
    const c = text.charCodeAt(i);
    return c < 128 ? CLASS[c]! : C.None;
  };
  let i = 0;
  while (i < n) {
    // The next identifier: skip to a letter, `_` or `$` (digits before it are not part of it).
    let k = cls(i);
    if (k === C.None || k === C.Digit) { i++; continue; }
    // Within the identifier [i, end): tokens of the parts between joiners.
    while (i < n) {
      k = cls(i);
      if (k === C.None) break;
      if (k === C.Joiner) { i++; continue; }
      let j = i;
      if (k === C.Digit) {
        while (j < n && cls(j) === C.Digit) j++;
      } else if (k === C.Lower) {
        while (j < n && cls(j) === C.Lower) j++;
      } else {
        while (j < n && cls(j) === C.Upper) j++;
        if (j < n && cls(j) === C.Lower) {
          // `[A-Z]+(?![a-z])` gives up its last capital to `[A-Z]?[a-z]+` (`HTTPResponse`: http,
          // response); a lone capital starts the lower-case token itself (`Parse`).
          if (j - i >= 2) j--;
          else while (j < n && cls(j) === C.Lower) j++;
        }
      }
      let h = TOKEN_SEED;
      for (let p = i; p < j; p++) {
        const c = text.charCodeAt(p);
        h = Math.imul(h ^ (c >= 65 && c <= 90 ? c + 32 : c), 0x01000193);
      }
      addHash(v, h, 2);
      i = j;
    }
  }
}

/** The embedding of `text` (an entity body, or a query), L2-normalised; all zeros only for text
 * without any feature. */
export function embed(text: string): Float32Array {
  const v = new Float64Array(EMBEDDING_DIMS);
  addSubTokens(v, text);
  const squeezed = text.replace(/\s+/g, ' ').trim();
  // fnv1a(`g:${trigram}`) without building the string (half of the embedding time, #9).
  for (let i = 0; i + 3 <= squeezed.length; i++) {
    let h = Math.imul(TRIGRAM_SEED ^ squeezed.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ squeezed.charCodeAt(i + 1), 0x01000193);
    h = Math.imul(h ^ squeezed.charCodeAt(i + 2), 0x01000193);
    addHash(v, h, 1);
  }
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  const out = new Float32Array(EMBEDDING_DIMS);
  if (norm > 0) for (let i = 0; i < EMBEDDING_DIMS; i++) out[i] = v[i]! / norm;
  return out;
}

/**
 * The stored form of an embedding (`bodies.embedding`, a `bytea`; migrations/0007_bodies_int8.sql):
 * one signed byte per dimension, `round(127 * x[i] / max|x|)`, so the byte length is the number of
 * dimensions and any embedder's vectors fit (h-embed's providers store theirs the same way). No
 * scale is stored: cosine similarity does not depend on it (`fromStoredEmbedding` returns the
 * L2-normalised direction). 1 byte per dimension instead of pgvector's 4 keeps a first snapshot
 * near 40 bytes per line of source with embeddings (#12); the quantisation error (at most 1/254
 * of the largest component per dimension) moves cosines by about 0.005 on 256 dimensions, far
 * below what ranking or the 0.85 rename threshold (store/match.ts) can tell apart.
 */
export function toStoredEmbedding(v: Float32Array): Uint8Array {
  let max = 0;
  for (const x of v) max = Math.max(max, Math.abs(x));
  const out = new Int8Array(v.length);
  if (max > 0) for (let i = 0; i < v.length; i++) out[i] = Math.round((127 * v[i]!) / max);
  return new Uint8Array(out.buffer);
}

/** Decodes `toStoredEmbedding`'s bytes: the L2-normalised vector (all zeros stays all zeros). */
export function fromStoredEmbedding(b: Uint8Array): Float32Array {
  const q = new Int8Array(b.buffer, b.byteOffset, b.byteLength);
  let norm = 0;
  for (const x of q) norm += x * x;
  const out = new Float32Array(q.length);
  if (norm > 0) {
    const k = 1 / Math.sqrt(norm);
    for (let i = 0; i < q.length; i++) out[i] = q[i]! * k;
  }
  return out;
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/**
 * Stored embeddings of recently embedded texts, most recently used last: a history of small commits
 * re-parses whole files whose bodies are mostly unchanged (#9: a tenth of a history index's
 * extraction time). Keyed by the text itself, not the body hash (which leaves comments out), so a
 * hit returns exactly what embedding the text would: which store, commit or order came first
 * changes nothing. Bounded by the characters it keeps (1M, ~2 MB of keys) and by entries.
 */
export class EmbeddingCache {
  readonly #map = new Map<string, Uint8Array>();
  #chars = 0;
  constructor(readonly maxEntries = 4096, readonly maxChars = 1024 * 1024) {}

  get(text: string): Uint8Array | undefined {
    const v = this.#map.get(text);
    if (v !== undefined) {
      this.#map.delete(text);
      this.#map.set(text, v);
    }
    return v;
  }

  set(text: string, v: Uint8Array): void {
    if (text.length > this.maxChars / 4 || this.#map.has(text)) return;
    this.#map.set(text, v);
    this.#chars += text.length;
    while (this.#map.size > this.maxEntries || this.#chars > this.maxChars) {
      const oldest = this.#map.keys().next().value!;
      this.#map.delete(oldest);
      this.#chars -= oldest.length;
    }
  }
}

/** The embeddings of the distinct entity bodies of one file, as [body hash, stored form
 * (`toStoredEmbedding`)] pairs: what the store's `bodies` table receives. `content` is the file's bytes (entity byte
 * ranges index into it). */
export function embedBodies(
  entities: ReadonlyArray<{ kind: string; bodyHash: string; startByte: number; endByte: number }>, content: Uint8Array, cache?: EmbeddingCache,
): Array<[string, Uint8Array]> {
  const decoder = new TextDecoder();
  const seen = new Set<string>();
  const out: Array<[string, Uint8Array]> = [];
  for (const en of entities) {
    if (EMBEDDED_KINDS_EXCLUDED.includes(en.kind) || seen.has(en.bodyHash)) continue;
    seen.add(en.bodyHash);
    const text = decoder.decode(content.subarray(en.startByte, en.endByte));
    let v = cache?.get(text);
    if (v === undefined) {
      v = toStoredEmbedding(embed(text));
      cache?.set(text, v);
    }
    out.push([en.bodyHash, v]);
  }
  return out;
}
