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

/** Dimensions of `bodies.embedding` (migrations/0001_history.sql declares `vector(256)`). */
export const EMBEDDING_DIMS = 256;

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function add(v: Float64Array, feature: string, weight: number): void {
  const h = fnv1a(feature);
  const sign = (h & 0x80000000) !== 0 ? -1 : 1;
  v[h % EMBEDDING_DIMS]! += sign * weight;
}

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

/** The embedding of `text` (an entity body, or a query), L2-normalised; all zeros only for text
 * without any feature. */
export function embed(text: string): Float32Array {
  const v = new Float64Array(EMBEDDING_DIMS);
  for (const t of subTokens(text)) add(v, `t:${t}`, 2);
  const squeezed = text.replace(/\s+/g, ' ').trim();
  for (let i = 0; i + 3 <= squeezed.length; i++) add(v, `g:${squeezed.slice(i, i + 3)}`, 1);
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  const out = new Float32Array(EMBEDDING_DIMS);
  if (norm > 0) for (let i = 0; i < EMBEDDING_DIMS; i++) out[i] = v[i]! / norm;
  return out;
}

/** pgvector's text form, `[0.1,-0.2,...]`, with 4 significant digits (ample for cosine
 * ranking, and a quarter less text to parse). */
export function toVectorLiteral(v: Float32Array): string {
  return `[${Array.from(v, (x) => (x === 0 ? '0' : x.toPrecision(4))).join(',')}]`;
}

/** Parses pgvector's text form back. */
export function fromVectorLiteral(s: string): Float32Array {
  return Float32Array.from(s.slice(1, -1).split(','), Number);
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

/** The embeddings of the distinct entity bodies of one file, as [body hash, pgvector literal]
 * pairs: what the store's `bodies` table receives. `content` is the file's bytes (entity byte
 * ranges index into it). */
export function embedBodies(entities: ReadonlyArray<{ kind: string; bodyHash: string; startByte: number; endByte: number }>, content: Uint8Array): Array<[string, string]> {
  const decoder = new TextDecoder();
  const seen = new Set<string>();
  const out: Array<[string, string]> = [];
  for (const en of entities) {
    if (EMBEDDED_KINDS_EXCLUDED.includes(en.kind) || seen.has(en.bodyHash)) continue;
    seen.add(en.bodyHash);
    out.push([en.bodyHash, toVectorLiteral(embed(decoder.decode(content.subarray(en.startByte, en.endByte))))]);
  }
  return out;
}
