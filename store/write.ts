// Writing: one commit per transaction, refs and the ref log (internal to store/).
import { EXTRACTOR_VERSION, type FileExtraction } from '../indexer/types.ts';
import { versionsAt, type ChainCache, type Chain, type Version } from './chain.ts';
import type { Queryable } from './db.ts';
import { DIFF_EXCLUDED_KINDS, diffVersions, type DiffSources, type EntityRow } from './diff.ts';
import { EMBEDDED_KINDS_EXCLUDED, bodyHashIn, embed, toStoredEmbedding } from './embed.ts';
import { StoreError } from './errors.ts';
import type { CommitInput, FileDeltaInput } from './types.ts';

/** Files per bulk statement, so no statement nears the 65,535-parameter limit. */
const CHUNK = 200;
/** Entity rows per INSERT: bounds the main-thread time of encoding one statement's parameters. */
const ENTITY_ROWS = 2_000;

/** Fault injection for the crash test: CODEGRAPH_TEST_KILL_IN_COMMIT=k SIGKILLs the process in the
 * middle of the transaction of the k-th commit it stores (file deltas written, commit not ended). */
const KILL_IN_COMMIT = Number(process.env.CODEGRAPH_TEST_KILL_IN_COMMIT ?? '0');
let commitsWritten = 0;

export interface StoredCommit {
  id: number;
  sha: string;
  /** False when the commit was already stored (nothing was written). */
  created: boolean;
}

/** Bounds of the writer's memory (entries, not bytes). */
const PATH_CACHE_LIMIT = 500_000;
const TREE_CACHE_ENTRIES = 400_000;
const ENTITY_CACHE_ROWS = 100_000;
const EXTRACTION_ID_LIMIT = 200_000;

/**
 * What the writer of one process remembers between commits, so a commit touching a few files costs
 * a few statements instead of reading back what it just wrote (#9: history at >= 50 commits/s).
 * Everything here is immutable once stored, so another process writing the same database (the CLI
 * beside `serve`) cannot make it stale: a path's id, an extraction's id and entities, and the tree
 * (path -> version) at a commit. Trees are handed from a commit to its first child (linear history
 * needs no copy); a commit whose parent's tree is not held reads that tree whole, once (storeCommit).
 */
export class WriteCache implements DiffSources {
  private readonly pathIds = new Map<number, Map<string, number>>();
  private readonly names = new Map<number, string>();
  private pathCount = 0;
  private readonly trees = new Map<number, Map<number, Version>>();
  private treeEntries = 0;
  private readonly rows = new Map<number, EntityRow[]>();
  private rowCount = 0;
  private readonly extractionIds = new Map<string, number>();
  private readonly currentIds = new Set<number>();

  pathId(repoId: number, path: string): number | undefined {
    return this.pathIds.get(repoId)?.get(path);
  }

  addPath(repoId: number, path: string, id: number): void {
    if (this.pathCount >= PATH_CACHE_LIMIT) {
      this.pathIds.clear();
      this.names.clear();
      this.pathCount = 0;
    }
    let m = this.pathIds.get(repoId);
    if (!m) this.pathIds.set(repoId, (m = new Map()));
    if (!m.has(path)) this.pathCount++;
    m.set(path, id);
    this.names.set(id, path);
  }

  pathName(pathId: number): string | undefined {
    return this.names.get(pathId);
  }

  extractionId(key: string): number | undefined {
    return this.extractionIds.get(key);
  }

  addExtractionId(key: string, id: number): void {
    if (this.extractionIds.size >= EXTRACTION_ID_LIMIT) {
      this.extractionIds.clear();
      this.currentIds.clear();
    }
    this.extractionIds.set(key, id);
    this.currentIds.add(id);
  }

  /** Every extraction id this cache was given is at the current EXTRACTOR_VERSION (storeExtractions
   * writes and looks up no other). */
  isCurrent(extractionId: number): boolean {
    return this.currentIds.has(extractionId);
  }

  entities(extractionId: number): EntityRow[] | undefined {
    const r = this.rows.get(extractionId);
    if (r) {
      // Most recently used last.
      this.rows.delete(extractionId);
      this.rows.set(extractionId, r);
    }
    return r;
  }

  remember(extractionId: number, rows: EntityRow[]): void {
    if (this.rows.has(extractionId)) return;
    this.rows.set(extractionId, rows);
    this.rowCount += rows.length + 1;
    for (const [x, r] of this.rows) {
      if (this.rowCount <= ENTITY_CACHE_ROWS) break;
      this.rows.delete(x);
      this.rowCount -= r.length + 1;
    }
  }

  /** False once a whole tree was too large to hold: a tree not held is then never read whole. */
  #wholeTreeReads = true;

  readsWholeTrees(): boolean {
    return this.#wholeTreeReads;
  }

  stopWholeTreeReads(): void {
    this.#wholeTreeReads = false;
  }

  /** Takes the tree held for `commitId` out of the cache (its new owner is a child commit). */
  takeTree(commitId: number): Map<number, Version> | undefined {
    const t = this.trees.get(commitId);
    if (t) {
      this.trees.delete(commitId);
      this.treeEntries -= t.size;
    }
    return t;
  }

  /** Forgets every held tree: the extractions they name changed (HistoryStore.storeRefreshed). */
  forgetTrees(): void {
    this.trees.clear();
    this.treeEntries = 0;
  }

  putTree(commitId: number, tree: Map<number, Version>): void {
    if (tree.size > TREE_CACHE_ENTRIES) return;
    this.trees.set(commitId, tree);
    this.treeEntries += tree.size;
    for (const [id, t] of this.trees) {
      if (this.treeEntries <= TREE_CACHE_ENTRIES) break;
      this.trees.delete(id);
      this.treeEntries -= t.size;
    }
  }

  /** A view for one transaction: reads fall through to this cache, additions wait for `commit()`,
   * so ids of rows a rolled-back transaction inserted never reach the cache. */
  stage(): StagedCache {
    return new StagedCache(this);
  }
}

/** WriteCache additions of one transaction, applied by `commit()` once it committed. */
export class StagedCache implements DiffSources {
  private readonly paths: Array<[number, string, number]> = [];
  private readonly pathIds = new Map<string, number>();
  private readonly names = new Map<number, string>();
  private readonly xids = new Map<string, number>();
  private readonly currentIds = new Set<number>();
  private readonly rows = new Map<number, EntityRow[]>();
  private readonly trees = new Map<number, Map<number, Version>>();

  constructor(private readonly base: WriteCache) {}

  pathId(repoId: number, path: string): number | undefined {
    return this.base.pathId(repoId, path) ?? this.pathIds.get(`${repoId}\0${path}`);
  }

  addPath(repoId: number, path: string, id: number): void {
    this.paths.push([repoId, path, id]);
    this.pathIds.set(`${repoId}\0${path}`, id);
    this.names.set(id, path);
  }

  pathName(pathId: number): string | undefined {
    return this.base.pathName(pathId) ?? this.names.get(pathId);
  }

  extractionId(key: string): number | undefined {
    return this.base.extractionId(key) ?? this.xids.get(key);
  }

  addExtractionId(key: string, id: number): void {
    this.xids.set(key, id);
    this.currentIds.add(id);
  }

  isCurrent(extractionId: number): boolean {
    return this.base.isCurrent(extractionId) || this.currentIds.has(extractionId);
  }

  entities(extractionId: number): EntityRow[] | undefined {
    return this.base.entities(extractionId) ?? this.rows.get(extractionId);
  }

  remember(extractionId: number, rows: EntityRow[]): void {
    this.rows.set(extractionId, rows);
  }

  takeTree(commitId: number): Map<number, Version> | undefined {
    // Taken out, not read: the tree object is handed on and mutated by its new owner (several
    // commits of one transaction, storeCommits), so a second child must not see the first's tree.
    const mine = this.trees.get(commitId);
    if (mine) {
      this.trees.delete(commitId);
      return mine;
    }
    return this.base.takeTree(commitId);
  }

  putTree(commitId: number, tree: Map<number, Version>): void {
    this.trees.set(commitId, tree);
  }

  readsWholeTrees(): boolean {
    return this.base.readsWholeTrees();
  }

  stopWholeTreeReads(): void {
    this.base.stopWholeTreeReads();
  }

  commit(): void {
    for (const [repoId, path, id] of this.paths) this.base.addPath(repoId, path, id);
    for (const [k, id] of this.xids) this.base.addExtractionId(k, id);
    for (const [x, r] of this.rows) this.base.remember(x, r);
    for (const [id, t] of this.trees) this.base.putTree(id, t);
  }
}

async function internPaths(q: Queryable, cache: StagedCache, repoId: number, paths: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const unknown: string[] = [];
  for (const p of new Set(paths)) {
    const id = cache.pathId(repoId, p);
    if (id === undefined) unknown.push(p);
    else out.set(p, id);
  }
  if (unknown.length === 0) return out;
  // One statement: the rows inserted now and the rows that were there (a CTE's inserts are not
  // visible to the rest of its statement, so the two sets do not overlap).
  const { rows } = await q.query<{ id: number; path: string }>(
    `WITH ins AS (INSERT INTO paths (repo_id, path) SELECT $1, p FROM unnest($2::text[]) AS u(p) ON CONFLICT DO NOTHING RETURNING id, path)
     SELECT id, path FROM ins UNION ALL SELECT id, path FROM paths WHERE repo_id = $1 AND path = ANY($2::text[])`, [repoId, unknown]);
  for (const r of rows) {
    out.set(r.path, r.id);
    cache.addPath(repoId, r.path, r.id);
  }
  return out;
}

type Parsed = Extract<FileDeltaInput, { status: 'parsed' }>;

/** Inserts extractions not stored yet (with their entities, references and body embeddings) and
 * returns the extraction id of every (sha, language) asked for. Extractions are content-addressed
 * and belong to no commit, so they may be written ahead of the commits that use them (a first index
 * writes them while the workers still parse; #9). */
export async function storeExtractions(
  q: Queryable, parsed: Parsed[], cachedKeys: Array<{ sha: string; language: string }>, cache?: StagedCache, rememberRows = true,
): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  const key = (sha: string, language: string): string => `${sha}\0${language}`;
  const uniq = new Map<string, Parsed>();
  for (const p of parsed) {
    const k = key(p.blobSha, p.language);
    const known = cache?.extractionId(k);
    if (known !== undefined) ids.set(k, known);
    else uniq.set(k, p);
  }
  const list = [...uniq.values()];
  for (let i = 0; i < list.length; i += CHUNK) {
    const chunk = list.slice(i, i + CHUNK);
    const { rows } = await q.query<{ id: number; blob_sha: string; language: string }>(
      `INSERT INTO extractions (blob_sha, language, extractor_version, lines, bytes, error_count, invalid_utf8)
       SELECT s, l, $1, n, b, e, u FROM unnest($2::text[], $3::text[], $4::int[], $5::int[], $6::int[], $7::int[]) AS t(s, l, n, b, e, u)
       ON CONFLICT DO NOTHING RETURNING id, blob_sha, language`,
      [EXTRACTOR_VERSION, chunk.map((p) => p.blobSha), chunk.map((p) => p.language), chunk.map((p) => p.extraction.lines),
        chunk.map((p) => p.extraction.bytes), chunk.map((p) => p.extraction.errorCount), chunk.map((p) => p.extraction.invalidUtf8)],
    );
    const fresh: Array<{ id: number; p: Parsed }> = [];
    for (const r of rows) {
      const k = key(r.blob_sha, r.language);
      ids.set(k, r.id);
      const p = uniq.get(k)!;
      fresh.push({ id: r.id, p });
      if (cache) {
        cache.addExtractionId(k, r.id);
        // A commit's entity changes compare these rows with the next version of the file.
        if (rememberRows) cache.remember(r.id, diffRows(r.id, p.extraction));
      }
    }
    await insertEntities(q, fresh);
  }
  const missing = [...cachedKeys, ...list.map((p) => ({ sha: p.blobSha, language: p.language }))].filter((k) => {
    if (ids.has(key(k.sha, k.language))) return false;
    const known = cache?.extractionId(key(k.sha, k.language));
    if (known !== undefined) ids.set(key(k.sha, k.language), known);
    return known === undefined;
  });
  if (missing.length > 0) {
    const { rows } = await q.query<{ id: number; blob_sha: string; language: string }>(
      `SELECT x.id, x.blob_sha, x.language FROM extractions x JOIN unnest($1::text[], $2::text[]) AS t(s, l)
         ON x.blob_sha = t.s AND x.language = t.l WHERE x.extractor_version = $3`,
      [missing.map((m) => m.sha), missing.map((m) => m.language), EXTRACTOR_VERSION],
    );
    for (const r of rows) {
      ids.set(key(r.blob_sha, r.language), r.id);
      cache?.addExtractionId(key(r.blob_sha, r.language), r.id);
    }
  }
  return ids;
}

/** The rows `diffVersions` reads for an extraction, built from the extraction in memory. */
function diffRows(id: number, ex: FileExtraction): EntityRow[] {
  return ex.entities.filter((en) => !DIFF_EXCLUDED_KINDS.includes(en.kind)).map((en) => ({
    extraction_id: id, kind: en.kind, name: en.name, qname: en.qualifiedName, start_line: en.startLine, end_line: en.endLine,
    body_hash: en.bodyHash, signature: en.signature, bytes: en.endByte - en.startByte, exported: en.exported,
  }));
}

async function insertEntities(q: Queryable, fresh: Array<{ id: number; p: Parsed }>): Promise<void> {
  if (fresh.length === 0) return;
  const e = {
    x: [] as number[], idx: [] as number[], parent: [] as number[], kind: [] as string[], name: [] as string[], qname: [] as string[],
    sl: [] as number[], el: [] as number[], sb: [] as number[], eb: [] as number[], sig: [] as Array<string | null>,
    doc: [] as Array<string | null>, exp: [] as boolean[], hash: [] as string[],
  };
  const r: Array<{
    id: number; kind: string[]; name: string[]; qual: Array<string | null>; line: number[]; from: number[];
    module: Array<string | null>; alias: Array<string | null>; binding: Array<string | null>; args: Array<number | null> | null;
  }> = [];
  /** Body hash -> its text to embed, or its embedding already computed by the worker (stored form). */
  const bodies = new Map<string, { text: string } | { vector: Uint8Array }>();
  for (const { id, p } of fresh) {
    const ex: FileExtraction = p.extraction;
    for (const [hash, vector] of p.bodies ?? []) if (!bodies.has(hash)) bodies.set(hash, { vector });
    ex.entities.forEach((en, i) => {
      e.x.push(id); e.idx.push(i); e.parent.push(en.parent); e.kind.push(en.kind); e.name.push(en.name); e.qname.push(en.qualifiedName);
      e.sl.push(en.startLine); e.el.push(en.endLine); e.sb.push(en.startByte); e.eb.push(en.endByte); e.sig.push(en.signature);
      e.doc.push(en.doc); e.exp.push(en.exported); e.hash.push(en.bodyHash);
      if (p.bodies === undefined && !EMBEDDED_KINDS_EXCLUDED.includes(en.kind) && !bodies.has(en.bodyHash)) {
        const text = p.content ? p.content.subarray(en.startByte, en.endByte).toString('utf8')
          : [en.name, en.signature ?? '', en.doc ?? ''].join(' ');
        bodies.set(en.bodyHash, { text });
      }
    });
    const refs = ex.references;
    r.push({
      id, kind: refs.map((x) => x.kind), name: refs.map((x) => x.name), qual: refs.map((x) => x.qualifier), line: refs.map((x) => x.line),
      from: refs.map((x) => x.from), module: refs.map((x) => x.module ?? null), alias: refs.map((x) => x.alias ?? null),
      binding: refs.map((x) => x.binding ?? null),
      // Only Java and C++ calls count their arguments: other files store no array at all.
      args: refs.some((x) => x.args !== undefined) ? refs.map((x) => x.args ?? null) : null,
    });
  }
  // Statements of at most ENTITY_ROWS rows: the parameters of one statement are encoded in one
  // synchronous stretch of this thread, and 20,000 rows at once stalled the event loop (#9).
  for (let i = 0; i < e.x.length; i += ENTITY_ROWS) {
    const s = <T>(a: T[]): T[] => (e.x.length <= ENTITY_ROWS ? a : a.slice(i, i + ENTITY_ROWS));
    await q.query(
      `INSERT INTO entities (extraction_id, idx, parent_idx, kind, name, qname, start_line, end_line, start_byte, end_byte, signature, doc, exported, body_hash)
       SELECT x, i, p, k, n, qn, sl, el, sb, eb, sig, doc, exp, decode(h, 'hex')
       FROM unnest($1::int[], $2::int[], $3::int[], $4::text[], $5::text[], $6::text[], $7::int[], $8::int[], $9::int[], $10::int[],
                   $11::text[], $12::text[], $13::boolean[], $14::text[]) AS t(x, i, p, k, n, qn, sl, el, sb, eb, sig, doc, exp, h)`,
      [s(e.x), s(e.idx), s(e.parent), s(e.kind), s(e.name), s(e.qname), s(e.sl), s(e.el), s(e.sb), s(e.eb), s(e.sig), s(e.doc), s(e.exp), s(e.hash)],
    );
  }
  for (let i = 0; i < r.length; i += CHUNK) {
    const chunk = r.slice(i, i + CHUNK);
    const values = chunk.map((_, j) => `(${Array.from({ length: 10 }, (_, k) => `$${j * 10 + k + 1}${k === 0 ? '' : k === 4 || k === 5 || k === 9 ? '::int[]' : '::text[]'}`).join(', ')})`);
    await q.query(
      `INSERT INTO extraction_refs (extraction_id, kind, name, qualifier, line, from_idx, module, alias, binding, args) VALUES ${values.join(', ')}`,
      chunk.flatMap((x) => [x.id, x.kind, x.name, x.qual, x.line, x.from, x.module, x.alias, x.binding, x.args]),
    );
  }
  await insertBodies(q, bodies);
}

/** Embeds and stores bodies not stored yet: once per distinct body hash, across all repositories.
 * Embeddings the workers computed are inserted as they are; the rest are computed here, only for
 * hashes the store does not hold. Stored form: `toStoredEmbedding` (one byte per dimension,
 * indexer/embed.ts). The embeddings travel as ONE binary parameter (node-postgres sends a Buffer in
 * binary format), cut in SQL: no text to escape or parse (#9). */
async function insertBodies(q: Queryable, bodies: Map<string, { text: string } | { vector: Uint8Array }>): Promise<void> {
  if (bodies.size === 0) return;
  let todo = [...bodies.keys()];
  const toEmbed = todo.filter((h) => 'text' in bodies.get(h)!);
  if (toEmbed.length > 0) {
    const { rows } = await q.query<{ body_hash: string }>(`SELECT encode(body_hash, 'hex') AS body_hash FROM bodies WHERE ${bodyHashIn('body_hash', '$1')}`, [toEmbed]);
    const have = new Set(rows.map((r) => r.body_hash));
    todo = todo.filter((h) => !have.has(h));
  }
  const vector = (h: string): Uint8Array => {
    const b = bodies.get(h)!;
    return 'vector' in b ? b.vector : toStoredEmbedding(embed(b.text));
  };
  // One statement per dimension count (one embedder: one group), each body a fixed-size slice.
  const byDims = new Map<number, Array<{ h: string; v: Uint8Array }>>();
  for (const h of todo) {
    const v = vector(h);
    const g = byDims.get(v.length);
    if (g) g.push({ h, v });
    else byDims.set(v.length, [{ h, v }]);
  }
  for (const [dims, group] of byDims) {
    for (let i = 0; i < group.length; i += 5000) {
      const chunk = group.slice(i, i + 5000);
      await q.query(
        `INSERT INTO bodies (body_hash, embedding)
         SELECT decode(h, 'hex'), substring($2::bytea FROM (n - 1)::int * $3 + 1 FOR $3) FROM unnest($1::text[]) WITH ORDINALITY AS t(h, n)
         ON CONFLICT DO NOTHING`,
        [chunk.map((x) => x.h), Buffer.concat(chunk.map((x) => x.v)), dims],
      );
    }
  }
}

/** What several commits of one transaction share, written ahead of them (storeCommits, #9): the
 * paths of all their deltas in one statement and their new extractions in one statement per table,
 * instead of a few statements per commit. Each commit then finds them in `cache`. */
export async function prepareCommits(q: Queryable, cache: StagedCache, repoId: number, inputs: readonly CommitInput[]): Promise<CommitLookups> {
  await internPaths(q, cache, repoId, inputs.flatMap((i) => i.files.map((f) => f.path)));
  await storeExtractions(q, inputs.flatMap((i) => i.files.filter((f): f is Parsed => f.status === 'parsed')), [], cache);
  return CommitLookups.read(q, repoId, inputs);
}

type LookupRow = { k: 'self' | 'base' | 'orphan'; id: number; depth: number; line_id: number };
type StoredRow = { id: number; depth: number; line_id: number };

/**
 * storeCommit's lookup (the commit itself, its base, stored bases waiting for it) for all the
 * commits of one transaction in one statement, instead of one statement each: on a history of small
 * commits the per-commit lookup, mostly planning, took 1.3-1.5 ms of the ~7 ms a commit cost the
 * embedded database (#9). Commits stored by the transaction are added as they are stored. Orphans
 * re-attached by a commit move the commits above them down their chain: the lookups then stop
 * answering, and each remaining commit reads its own (a lookup of one).
 */
export class CommitLookups {
  #valid = true;

  private constructor(
    private readonly rows: Map<string, StoredRow>,
    private readonly orphans: Map<string, StoredRow[]>,
  ) {}

  static async read(q: Queryable, repoId: number, inputs: readonly CommitInput[]): Promise<CommitLookups> {
    const shas = [...new Set(inputs.flatMap((i) => (i.baseSha !== null ? [i.commit.sha, i.baseSha] : [i.commit.sha])))];
    const { rows } = await q.query<StoredRow & { sha: string; k: 'row' | 'orphan'; parent: string | null }>(
      `SELECT 'row' AS k, sha, NULL AS parent, id, depth, line_id FROM commits WHERE repo_id = $1 AND sha = ANY($2::text[])
       UNION ALL SELECT 'orphan', sha, parents[1], id, depth, line_id FROM commits
         WHERE repo_id = $1 AND base_id IS NULL AND parents[1] = ANY($3::text[])`,
      [repoId, shas, inputs.map((i) => i.commit.sha)]);
    const found = new Map<string, StoredRow>();
    const orphans = new Map<string, StoredRow[]>();
    for (const r of rows) {
      const row = { id: r.id, depth: r.depth, line_id: r.line_id };
      if (r.k === 'row') found.set(r.sha, row);
      else orphans.set(r.parent!, [...(orphans.get(r.parent!) ?? []), row]);
    }
    return new CommitLookups(found, orphans);
  }

  /** The rows of storeCommit's lookup, or null once they may be stale (see the class). */
  lookup(sha: string, baseSha: string | null): LookupRow[] | null {
    if (!this.#valid) return null;
    const out: LookupRow[] = [];
    const self = this.rows.get(sha);
    if (self) out.push({ k: 'self', ...self });
    const base = baseSha !== null ? this.rows.get(baseSha) : undefined;
    if (base) out.push({ k: 'base', ...base });
    for (const o of this.orphans.get(sha) ?? []) out.push({ k: 'orphan', ...o });
    return out;
  }

  stored(sha: string, row: StoredRow, attached: boolean): void {
    this.rows.set(sha, row);
    if (attached) this.#valid = false;
  }
}

/** Stores one commit (metadata, file delta, new extractions, entity-level changes) in ONE
 * transaction; a no-op when the commit is already stored. Round trips for a commit changing a few
 * files (#9): one lookup (the commit itself, its base, stored bases that wait for it), the new
 * extractions, and one statement writing the commit, its delta and its entity changes. */
export async function storeCommit(q: Queryable, chains: ChainCache, cache: StagedCache, repoId: number, input: CommitInput, lookups?: CommitLookups): Promise<StoredCommit> {
  const c = input.commit;
  // Alone, or after the transaction's lookups stopped answering: this commit's own.
  const found = lookups?.lookup(c.sha, input.baseSha) ?? (await CommitLookups.read(q, repoId, [input])).lookup(c.sha, input.baseSha)!;
  const self = found.find((r) => r.k === 'self');
  if (self) return { id: self.id, sha: c.sha, created: false };
  const orphans = found.filter((r) => r.k === 'orphan').sort((a, b) => a.id - b.id);

  let base: { id: number; depth: number; line_id: number } | null = null;
  if (input.baseSha !== null) {
    base = found.find((r) => r.k === 'base') ?? null;
    if (!base) {
      throw new StoreError('BASE_NOT_INDEXED', `Cannot store ${c.sha} as a delta: its first parent ${input.baseSha} is not indexed. Index the parent first, or pass baseSha null to store the whole tree.`, { sha: c.sha, base: input.baseSha });
    }
  }
  const seen = new Set<string>();
  for (const f of input.files) {
    if (seen.has(f.path)) throw new StoreError('INVALID_INPUT', `Path ${JSON.stringify(f.path)} appears twice in the delta of ${c.sha}; a delta has one row per path.`, { sha: c.sha, path: f.path });
    seen.add(f.path);
  }

  const pathIds = await internPaths(q, cache, repoId, input.files.map((f) => f.path));
  const parsed = input.files.filter((f): f is Parsed => f.status === 'parsed');
  const cached = input.files.flatMap((f) => (f.status === 'cached' ? [{ sha: f.blobSha, language: f.language }] : []));
  const extractionIds = await storeExtractions(q, parsed, cached, cache);

  const depth = base ? base.depth + 1 : 0;
  const after = new Map<number, Version | null>();
  const d = {
    path: [] as number[], sha: [] as Array<string | null>, lang: [] as Array<string | null>, x: [] as Array<number | null>,
    reason: [] as Array<string | null>, detail: [] as Array<string | null>,
  };
  for (const f of input.files) {
    const pathId = pathIds.get(f.path)!;
    let v: Version | null = null;
    if (f.status !== 'deleted') {
      let x: number | null = null;
      if (f.status === 'parsed' || f.status === 'cached') {
        x = extractionIds.get(`${f.blobSha}\0${f.language}`) ?? null;
        if (x === null) {
          throw new StoreError('EXTRACTION_MISSING', `No stored extraction for blob ${f.blobSha} (${f.language}) at ${f.path}, reported as cached. Re-run indexing; the cache check and the store disagree.`, { sha: f.blobSha, path: f.path });
        }
      }
      v = {
        pathId, blobSha: f.blobSha, language: f.language, extractionId: x,
        skipReason: f.status === 'skipped' ? f.reason : null, skipDetail: f.status === 'skipped' ? f.detail : null,
      };
    }
    after.set(pathId, v);
    d.path.push(pathId); d.sha.push(v?.blobSha ?? null); d.lang.push(v?.language ?? null); d.x.push(v?.extractionId ?? null);
    d.reason.push(v?.skipReason ?? null); d.detail.push(v?.skipDetail ?? null);
  }

  // The tree of the first parent: handed over from the parent when this process stored it (then
  // it becomes this commit's tree), else the versions of the delta's paths are read.
  const baseChain: Chain | null = base ? await chains.get(q, base.id, base.depth) : null;
  let tree: Map<number, Version> | undefined = base ? cache.takeTree(base.id) : new Map();
  let ch: EntityChanges | null = null;
  if (base && baseChain) {
    // A parent whose tree is not held (a branch point whose first child took it, a parent another
    // process stored) has its whole tree read once, so this commit hands a tree on again. Reading
    // only the delta's paths instead left every later commit of the chain without a tree: on
    // expressjs/express, 6,005 of 6,210 commits read their paths' versions, each read costing
    // more as the chain deepened (18 of 49 s of an `index --history all`).
    if (!tree && cache.readsWholeTrees()) {
      tree = await versionsAt(q, baseChain);
      if (tree.size > TREE_CACHE_ENTRIES) cache.stopWholeTreeReads();
    }
    const beforeVersions = tree ?? await versionsAt(q, baseChain, [...after.keys()]);
    const before = new Map<number, Version | null>([...after.keys()].map((p) => [p, beforeVersions.get(p) ?? null]));
    ch = await entityChanges(q, before, after, cache);
  }

  // The commit, its delta and its entity changes in one statement. Its line continues the base's
  // line unless another child already did (migrations/0002); otherwise it starts its own (its id).
  const FIRST = 5000;
  const s = (a: unknown[], from: number, to: number): unknown[] => a.slice(from, to);
  const { rows: [ins] } = await q.query<{ id: number; line_id: number }>(
    `WITH n AS (SELECT nextval(pg_get_serial_sequence('commits', 'id'))::int AS id),
     c AS (
       INSERT INTO commits (id, repo_id, sha, parents, tree, author_name, author_email, author_date, committer_name, committer_email,
                            committer_date, message, base_id, depth, line_id)
       SELECT n.id, $1, $2, $3::text[], $4, $5, $6, $7, $8, $9, $10, $11, $12::int, $13::int,
              CASE WHEN $14::int IS NULL OR EXISTS (SELECT 1 FROM commits WHERE line_id = $14 AND depth = $13) THEN n.id ELSE $14 END
       FROM n RETURNING id, line_id),
     d AS (
       INSERT INTO file_deltas (commit_id, path_id, blob_sha, language, extraction_id, skip_reason, skip_detail)
       SELECT c.id, u.* FROM c, unnest($15::int[], $16::text[], $17::text[], $18::int[], $19::text[], $20::text[]) AS u),
     e AS (
       INSERT INTO entity_changes (commit_id, change, kind, path_id, qname, old_path_id, old_qname, signature_changed, visibility_changed)
       SELECT c.id, u.* FROM c, unnest($21::text[], $22::text[], $23::int[], $24::text[], $25::int[], $26::text[], $27::boolean[], $28::boolean[]) AS u)
     SELECT id, line_id FROM c`,
    [repoId, c.sha, c.parents, c.tree, c.author.name, c.author.email, c.author.date, c.committer.name, c.committer.email,
      c.committer.date, c.message, base?.id ?? null, depth, base?.line_id ?? null,
      s(d.path, 0, FIRST), s(d.sha, 0, FIRST), s(d.lang, 0, FIRST), s(d.x, 0, FIRST), s(d.reason, 0, FIRST), s(d.detail, 0, FIRST),
      ch?.change ?? [], ch?.kind ?? [], ch?.path ?? [], ch?.qname ?? [], ch?.oldPath ?? [], ch?.oldQname ?? [], ch?.sig ?? [], ch?.vis ?? []],
  );
  const commitId = ins!.id;
  const line = ins!.line_id;
  for (let i = FIRST; i < d.path.length; i += 5000) {
    await q.query(
      `INSERT INTO file_deltas (commit_id, path_id, blob_sha, language, extraction_id, skip_reason, skip_detail)
       SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[])`,
      [commitId, s(d.path, i, i + 5000), s(d.sha, i, i + 5000), s(d.lang, i, i + 5000), s(d.x, i, i + 5000), s(d.reason, i, i + 5000), s(d.detail, i, i + 5000)],
    );
  }

  if (KILL_IN_COMMIT > 0 && ++commitsWritten === KILL_IN_COMMIT) process.kill(process.pid, 'SIGKILL');

  const chain = chains.extend(commitId, depth, line, baseChain);
  // This commit's tree, for its first child: the parent's tree with this delta applied.
  if (tree) {
    for (const [p, v] of after) {
      if (v) tree.set(p, v);
      else tree.delete(p);
    }
    cache.putTree(commitId, tree);
  }
  // Commits stored earlier whose first parent is this one (the indexed window grew below them):
  // they become deltas on top of it, so lineage runs through (issue 11).
  if (orphans.length > 0) await attachOrphans(q, chains, cache, repoId, { id: commitId, sha: c.sha, depth, line, chain }, orphans);
  lookups?.stored(c.sha, { id: commitId, depth, line_id: line }, orphans.length > 0);
  return { id: commitId, sha: c.sha, created: true };
}

interface EntityChanges {
  change: string[]; kind: string[]; path: Array<number | null>; qname: Array<string | null>;
  oldPath: Array<number | null>; oldQname: Array<string | null>; sig: boolean[]; vis: boolean[];
}

/** The entity-level change list of a commit against its first parent (function-level `git log`
 * and blame), from the versions of the delta's paths before and after. */
async function entityChanges(q: Queryable, before: Map<number, Version | null>, after: Map<number, Version | null>, sources?: DiffSources): Promise<EntityChanges> {
  const res = await diffVersions(q, before, after, sources);
  const ch: EntityChanges = { change: [], kind: [], path: [], qname: [], oldPath: [], oldQname: [], sig: [], vis: [] };
  const push = (change: string, kind: string, a: { pathId: number; qname: string } | null, b: { pathId: number; qname: string } | null, sig = false, vis = false): void => {
    ch.change.push(change); ch.kind.push(kind); ch.path.push(a?.pathId ?? null); ch.qname.push(a?.qname ?? null);
    ch.oldPath.push(b?.pathId ?? null); ch.oldQname.push(b?.qname ?? null); ch.sig.push(sig); ch.vis.push(vis);
  };
  for (const e of res.added) push('added', e.kind, e, null);
  for (const e of res.removed) push('removed', e.kind, null, e);
  for (const m of res.modified) push('modified', m.after.kind, m.after, m.before, m.signatureChanged, m.visibilityChanged);
  for (const m of res.renamed) push('renamed', m.after.kind, m.after, m.before);
  for (const m of res.moved) push('moved', m.after.kind, m.after, m.before);
  return ch;
}

/** Stores the entity changes of `commitId` against the tree at `baseChain` (attachOrphans). */
async function storeEntityChanges(q: Queryable, commitId: number, baseChain: Chain, after: Map<number, Version | null>, sources?: DiffSources): Promise<void> {
  const beforeVersions = await versionsAt(q, baseChain, [...after.keys()]);
  const before = new Map<number, Version | null>([...after.keys()].map((p) => [p, beforeVersions.get(p) ?? null]));
  const ch = await entityChanges(q, before, after, sources);
  if (ch.change.length > 0) {
    await q.query(
      `INSERT INTO entity_changes (commit_id, change, kind, path_id, qname, old_path_id, old_qname, signature_changed, visibility_changed)
       SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int[], $5::text[], $6::int[], $7::text[], $8::boolean[], $9::boolean[])`,
      [commitId, ch.change, ch.kind, ch.path, ch.qname, ch.oldPath, ch.oldQname, ch.sig, ch.vis],
    );
  }
}

const sameVersion = (a: Version, b: Version): boolean =>
  a.blobSha === b.blobSha && a.language === b.language && a.extractionId === b.extractionId
  && a.skipReason === b.skipReason && a.skipDetail === b.skipDetail;

interface Parent {
  id: number;
  sha: string;
  depth: number;
  line: number;
  chain: Chain;
}

/** Turns every stored base whose first parent is `parent` into a delta on top of it, as if the
 * window had always included `parent`: its whole-tree delta becomes its delta against `parent`,
 * its entity changes are computed, and it and every commit stored on top of it move down the
 * first-parent chain (depth + parent depth + 1; its line joins the parent's when free). Without
 * this, growing the window (`--history 300` then `1500`) left the old window start as a base and
 * every function's history stopped there (issue 11). The result equals a one-step index except
 * for line ids (storage order) and file rows whose only change was the file mode (git reports
 * them, a tree comparison cannot see them; the store keeps no mode). */
async function attachOrphans(q: Queryable, chains: ChainCache, cache: StagedCache, repoId: number, parent: Parent, orphans: Array<{ id: number; line_id: number }>): Promise<void> {
  const parentTree = await versionsAt(q, parent.chain);
  for (const orphan of orphans) {
    // 1. Its delta against the parent: rows that differ from the parent's tree, deletions of the rest.
    const { rows } = await q.query<{ path_id: number; blob_sha: string; language: string | null; extraction_id: number | null; skip_reason: string | null; skip_detail: string | null }>(
      'SELECT path_id, blob_sha, language, extraction_id, skip_reason, skip_detail FROM file_deltas WHERE commit_id = $1', [orphan.id]);
    const after = new Map<number, Version | null>();
    const same: number[] = [];
    for (const r of rows) {
      const v: Version = { pathId: r.path_id, blobSha: r.blob_sha, language: r.language, extractionId: r.extraction_id, skipReason: r.skip_reason, skipDetail: r.skip_detail };
      const p = parentTree.get(r.path_id);
      if (p && sameVersion(p, v)) same.push(r.path_id);
      else after.set(r.path_id, v);
    }
    const present = new Set(rows.map((r) => r.path_id));
    const gone = [...parentTree.keys()].filter((p) => !present.has(p));
    for (const p of gone) after.set(p, null);
    // The deleted rows are counted in store_counts by a trigger (migrations/0008_count_deletes.sql).
    await q.query('DELETE FROM file_deltas WHERE commit_id = $1 AND path_id = ANY($2::int[])', [orphan.id, same]);
    if (gone.length > 0) {
      await q.query('INSERT INTO file_deltas (commit_id, path_id) SELECT $1, p FROM unnest($2::int[]) AS u(p)', [orphan.id, gone]);
    }
    // 2. It and everything stored on top of it move down by the parent's depth + 1. Its line joins
    // the parent's when no other child continues it. Two steps through negative depths, because
    // the unique (line_id, depth) index is checked row by row.
    const shift = parent.depth + 1;
    const taken = await q.query('SELECT 1 FROM commits WHERE line_id = $1 AND depth = $2', [parent.line, shift]);
    const line = taken.rows.length === 0 ? parent.line : orphan.line_id;
    await q.query(
      `WITH RECURSIVE sub(id) AS (SELECT $1::int UNION ALL SELECT c.id FROM commits c JOIN sub ON c.base_id = sub.id)
       UPDATE commits SET depth = -(depth + $2) - 1, line_id = CASE WHEN line_id = $3 THEN $4 ELSE line_id END
       FROM sub WHERE commits.id = sub.id`,
      [orphan.id, shift, orphan.line_id, line]);
    await q.query('UPDATE commits SET depth = -depth - 1, base_id = CASE WHEN id = $2 THEN $3 ELSE base_id END WHERE repo_id = $1 AND depth < 0',
      [repoId, orphan.id, parent.id]);
    // Chains of the moved commits changed: forget every cached chain.
    chains.clear();
    // 3. Its entity changes against the parent, as any non-base commit has.
    await storeEntityChanges(q, orphan.id, parent.chain, after, cache);
  }
}

export interface RefMove {
  name: string;
  oldSha: string | null;
  newSha: string | null;
  forced: boolean;
}

/** Brings `git_refs` to `refs` and appends one ref_log row per move, in one transaction. */
export async function recordRefs(
  q: Queryable, repoId: number, refs: Array<{ name: string; sha: string }>,
  isForced: (oldSha: string, newSha: string) => Promise<boolean>,
): Promise<RefMove[]> {
  const { rows } = await q.query<{ name: string; sha: string }>('SELECT name, sha FROM git_refs WHERE repo_id = $1 ORDER BY name', [repoId]);
  const old = new Map(rows.map((r) => [r.name, r.sha]));
  const moves: RefMove[] = [];
  const now = new Map(refs.map((r) => [r.name, r.sha]));
  for (const [name, sha] of [...now].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const prev = old.get(name);
    if (prev === sha) continue;
    moves.push({ name, oldSha: prev ?? null, newSha: sha, forced: prev !== undefined && await isForced(prev, sha) });
  }
  for (const [name, sha] of old) if (!now.has(name)) moves.push({ name, oldSha: sha, newSha: null, forced: false });
  for (const m of moves) {
    if (m.newSha === null) await q.query('DELETE FROM git_refs WHERE repo_id = $1 AND name = $2', [repoId, m.name]);
    else {
      await q.query(`INSERT INTO git_refs (repo_id, name, sha) VALUES ($1, $2, $3)
                     ON CONFLICT (repo_id, name) DO UPDATE SET sha = EXCLUDED.sha`, [repoId, m.name, m.newSha]);
    }
    await q.query('INSERT INTO ref_log (repo_id, name, old_sha, new_sha, forced) VALUES ($1, $2, $3, $4, $5)',
      [repoId, m.name, m.oldSha, m.newSha, m.forced]);
  }
  return moves;
}
