// Entity matching between two versions of a set of files: the core of `diff`. Pure; the caller
// loads the entities of the changed paths only (unchanged files are never looked at).
//
// Order of the rules (each consumes what it matches):
//  1. same path + kind + local qualified name   -> unchanged (same body hash and visibility) or
//                                                  modified (body, signature or visibility);
//  2. same kind + local name, other path        -> moved (same body; or edited too, when it is the
//                                                  only such pair or the old file is gone and the
//                                                  new one is new: a file rename with edits);
//  3. same kind + body hash, other name         -> renamed (the body hash excludes the name); a
//                                                  trivial body (`= false`, `= string | number`)
//                                                  only within one file (or a renamed file) and
//                                                  only when unambiguous,
//                                                  never a namespace (Go package clause) across files;
//  4. same kind + path, embedding cosine >= SIMILAR_THRESHOLD -> renamed (renamed and edited);
//  5. the rest                                  -> removed / added.
//
// A doubtful pairing is worse than "removed + added": it makes `history` follow an unrelated
// entity back in time (issue 11: `disableColor = false` "renamed" to another file's
// `EnableDecoderDisallowUnknownFields = false`, Go `package gin` "renamed" to `package binding`).

export interface MatchEntity {
  kind: string;
  name: string;
  /** Local qualified name (no path). */
  qname: string;
  path: string;
  startLine: number;
  endLine: number;
  bodyHash: string;
  signature: string | null;
  /** Bytes of the entity's source span (name included). */
  bytes: number;
  exported: boolean;
  /** A digest of the doc comment, when the caller compares docs (`MatchOptions.docs`). */
  docHash?: string | null;
}

export interface MatchResult<E extends MatchEntity> {
  added: E[];
  removed: E[];
  /** `bodyChanged`: the body hash differs; `docChanged`: the doc comment differs (only with
   * `MatchOptions.docs`; a doc-only edit is then a modification with `bodyChanged` false). */
  modified: Array<{ before: E; after: E; signatureChanged: boolean; visibilityChanged: boolean; bodyChanged: boolean; docChanged: boolean }>;
  renamed: Array<{ before: E; after: E }>;
  moved: Array<{ before: E; after: E }>;
}

export interface MatchOptions {
  /** True when `path` exists in the `from` tree. */
  existsBefore: (path: string) => boolean;
  /** True when `path` exists in the `to` tree. */
  existsAfter: (path: string) => boolean;
  /** Compare doc comments too (`MatchEntity.docHash`): a doc-only edit is a modification. The
   * per-commit changes that entity history is built from leave this off, as `git log -L` does (the
   * comment above a function is outside its range); a diff a user asks for turns it on. */
  docs?: boolean;
}

/** A one-line entity, or one of fewer bytes than this without its name, has a body that says little:
 * `x = false`, `type T = string | number`, `func() {}` are shared by unrelated entities. Such a body
 * pairs only with an unambiguous candidate in its own file, or in the file its file was renamed to
 * (rule 3). */
export const TRIVIAL_BODY_BYTES = 24;

/** Namespaces (Go package clauses, TS namespaces, Rust `mod`) belong to their file: never paired
 * across files by body, and moved only with their file. */
const FILE_BOUND_KINDS = new Set(['namespace']);

const trivial = (e: MatchEntity): boolean => e.startLine === e.endLine || e.bytes - e.name.length < TRIVIAL_BODY_BYTES;

/** Cosine similarity above which an unmatched removed/added pair in one file is a rename. */
const SIMILAR_THRESHOLD = 0.85;

const byPosition = (a: MatchEntity, b: MatchEntity): number =>
  a.path < b.path ? -1 : a.path > b.path ? 1 : a.startLine - b.startLine || a.endLine - b.endLine || cmp(a.qname, b.qname);

const dirOf = (p: string): string => p.slice(0, p.lastIndexOf('/') + 1);

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function groupBy<E>(items: E[], key: (e: E) => string): Map<string, E[]> {
  const m = new Map<string, E[]>();
  for (const it of items) {
    const k = key(it);
    const list = m.get(k);
    if (list) list.push(it);
    else m.set(k, [it]);
  }
  return m;
}

/** Rules 1-3. Returns the result so far plus what is still unmatched (for rule 4, which needs
 * embeddings the caller loads only for these few). */
export function matchExact<E extends MatchEntity>(beforeIn: E[], afterIn: E[], opts: MatchOptions): MatchResult<E> {
  const before = [...beforeIn].sort(byPosition);
  const after = [...afterIn].sort(byPosition);
  const res: MatchResult<E> = { added: [], removed: [], modified: [], renamed: [], moved: [] };
  const usedB = new Set<E>();
  const usedA = new Set<E>();

  // 1. Same identity in the same file; duplicates (overloads, redefinitions) pair in order.
  const afterById = groupBy(after, (e) => `${e.path}\0${e.kind}\0${e.qname}`);
  for (const b of before) {
    const a = afterById.get(`${b.path}\0${b.kind}\0${b.qname}`)?.shift();
    if (!a) continue;
    usedB.add(b);
    usedA.add(a);
    const docChanged = opts.docs === true && (a.docHash ?? null) !== (b.docHash ?? null);
    if (a.bodyHash !== b.bodyHash || a.exported !== b.exported || docChanged) {
      res.modified.push({
        before: b, after: a, signatureChanged: a.signature !== b.signature, visibilityChanged: a.exported !== b.exported,
        bodyChanged: a.bodyHash !== b.bodyHash, docChanged,
      });
    }
  }

  // 2. Moved to another file under the same local name.
  const restA = (): E[] => after.filter((a) => !usedA.has(a));
  const afterByName = groupBy(restA(), (e) => `${e.kind}\0${e.qname}`);
  const beforeByName = groupBy(before.filter((b) => !usedB.has(b)), (e) => `${e.kind}\0${e.qname}`);
  for (const b of before) {
    if (usedB.has(b)) continue;
    const cands = afterByName.get(`${b.kind}\0${b.qname}`);
    if (!cands) continue;
    if (FILE_BOUND_KINDS.has(b.kind)) {
      // Only with its file: a file rename (old file gone, new file new) with the same clause.
      const j = cands.findIndex((a) => !usedA.has(a) && a.bodyHash === b.bodyHash && !opts.existsAfter(b.path) && !opts.existsBefore(a.path));
      if (j >= 0) {
        const a = cands.splice(j, 1)[0]!;
        usedB.add(b);
        usedA.add(a);
        res.moved.push({ before: b, after: a });
      }
      continue;
    }
    let i = cands.findIndex((a) => !usedA.has(a) && a.bodyHash === b.bodyHash);
    // Moved and edited: the only unmatched pair under this name, or a file rename (old file gone,
    // new file new).
    if (i < 0 && cands.length === 1 && (beforeByName.get(`${b.kind}\0${b.qname}`) ?? []).filter((x) => !usedB.has(x)).length === 1) i = 0;
    if (i < 0) i = cands.findIndex((a) => !usedA.has(a) && !opts.existsAfter(b.path) && !opts.existsBefore(a.path));
    if (i < 0) continue;
    const a = cands[i]!;
    cands.splice(i, 1);
    usedB.add(b);
    usedA.add(a);
    res.moved.push({ before: b, after: a });
  }

  // 3. Renamed: same body (the hash leaves the name out), another name; prefer the same file.
  // Trivial bodies and namespaces: only in the same file, and only when exactly one entity on each
  // side of that file has the body.
  const afterByBody = groupBy(restA(), (e) => `${e.kind}\0${e.bodyHash}`);
  const beforeByBody = groupBy(before.filter((b) => !usedB.has(b)), (e) => `${e.kind}\0${e.bodyHash}`);
  for (const b of before) {
    if (usedB.has(b)) continue;
    const key = `${b.kind}\0${b.bodyHash}`;
    const cands = afterByBody.get(key);
    if (!cands) continue;
    let i: number;
    if (trivial(b) || FILE_BOUND_KINDS.has(b.kind)) {
      // Its own file, or the file it went to when its file was renamed (old gone, new one new).
      const fileRenamed = !opts.existsAfter(b.path) && !FILE_BOUND_KINDS.has(b.kind);
      const near = (a: E): boolean => a.path === b.path || (fileRenamed && !opts.existsBefore(a.path));
      const nearAfter = cands.filter((a) => !usedA.has(a) && near(a));
      const nearBefore = (beforeByBody.get(key) ?? []).filter((x) => !usedB.has(x) && x.path === b.path);
      i = nearAfter.length === 1 && nearBefore.length === 1 ? cands.indexOf(nearAfter[0]!) : -1;
    } else {
      i = cands.findIndex((a) => !usedA.has(a) && a.path === b.path);
      if (i < 0) i = cands.findIndex((a) => !usedA.has(a) && dirOf(a.path) === dirOf(b.path));
      if (i < 0) i = cands.findIndex((a) => !usedA.has(a));
    }
    if (i < 0) continue;
    const a = cands[i]!;
    cands.splice(i, 1);
    usedB.add(b);
    usedA.add(a);
    res.renamed.push({ before: b, after: a });
  }

  res.removed = before.filter((b) => !usedB.has(b));
  res.added = after.filter((a) => !usedA.has(a));
  return res;
}

/** Rule 4 over the leftovers of `matchExact`: pairs in the same file and of the same kind whose
 * bodies are similar. `similarity` returns null when it cannot tell (no embedding). */
export function matchSimilar<E extends MatchEntity>(res: MatchResult<E>, similarity: (a: E, b: E) => number | null): MatchResult<E> {
  if (res.removed.length === 0 || res.added.length === 0) return res;
  const pairs: Array<{ b: E; a: E; s: number }> = [];
  const addedByFile = groupBy(res.added, (e) => `${e.path}\0${e.kind}`);
  for (const b of res.removed) {
    for (const a of addedByFile.get(`${b.path}\0${b.kind}`) ?? []) {
      const s = similarity(b, a);
      if (s !== null && s >= SIMILAR_THRESHOLD) pairs.push({ b, a, s });
    }
  }
  if (pairs.length === 0) return res;
  // Greedy, best first; ties broken by position so the result is deterministic.
  pairs.sort((x, y) => y.s - x.s || byPosition(x.b, y.b) || byPosition(x.a, y.a));
  const usedB = new Set<E>();
  const usedA = new Set<E>();
  for (const p of pairs) {
    if (usedB.has(p.b) || usedA.has(p.a)) continue;
    usedB.add(p.b);
    usedA.add(p.a);
    res.renamed.push({ before: p.b, after: p.a });
  }
  res.removed = res.removed.filter((b) => !usedB.has(b));
  res.added = res.added.filter((a) => !usedA.has(a));
  return res;
}

/** Sorts every list of a result by position (before side for pairs), for stable output. */
export function sortResult<E extends MatchEntity>(res: MatchResult<E>): MatchResult<E> {
  res.added.sort(byPosition);
  res.removed.sort(byPosition);
  res.modified.sort((x, y) => byPosition(x.before, y.before));
  res.renamed.sort((x, y) => byPosition(x.before, y.before));
  res.moved.sort((x, y) => byPosition(x.before, y.before));
  return res;
}
