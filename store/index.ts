// Public surface of the history store. Everything else in store/ is internal.
import { EXTRACTOR_VERSION, qualify, type EntityKind } from '../indexer/types.ts';
import { AnnIndex, builtinVectors, type AnnOptions, type AnnTipInput, type SyncStats, type VectorSource } from './ann/index.ts';
import { ChainCache, chainParams, treeSql, type Chain } from './chain.ts';
import type { Embedder } from './embedders/index.ts';
import { modelVectors, Reembedder, type BlobSource, type ReembedOptions } from './reembed.ts';
import type { Db, Queryable } from './db.ts';
import { DIFF_EXCLUDED_KINDS, diffChains } from './diff.ts';
import { EMBEDDING_DIMS, cosine, embed, fromStoredEmbedding } from './embed.ts';
import { StoreError } from './errors.ts';
import { cancellable, type ReadOptions } from './abort.ts';
import { Resolver, defRef, type Def } from './graph.ts';
import { blame, entityHistory } from './lineage.ts';
import { announcing, dropFromOutbox, markAnnounced, startAnnouncing, unannounced } from './outbox.ts';
import { SearchEngine, type SearchLimits } from './search/index.ts';
import { DEFAULT_HOT_TIPS, HotStore, isTracked } from './hot/index.ts';
import { WriteCache, prepareCommits, recordRefs, storeCommit, storeExtractions, type RefMove, type StoredCommit } from './write.ts';
import type {
  BlameEntry, CallEdge, ChangeCounts, CommitInput, EntityChangeRecord, EntityDiff, EntityQuery, EntityRef, FileDeltaInput, ResolutionStats, SkipCounts,
  StoredEntity, TreeFile,
} from './types.ts';

export { StoreError, type StoreErrorCode } from './errors.ts';
export { Checkpoint, type ReadOptions } from './abort.ts';
export { embed, EMBEDDING_DIMS, cosine } from './embed.ts';
export { HttpEmbedder, OnnxEmbedder, type Embedder, type HttpEmbedderOptions, type OnnxEmbedderOptions } from './embedders/index.ts';
export { Reembedder, type BlobSource, type ReembedOptions, type ReembedProgress } from './reembed.ts';
export { AnnIndex, AnnError, ANN_FORMAT, type AnnErrorCode, type AnnHit, type AnnTip, type SyncStats } from './ann/index.ts';
export { storeDigest } from './digest.ts';
export { verifyStore, StoreCorruptError, type TableMismatch, type VerifyResult } from './verify.ts';
export { DEFAULT_MIGRATIONS_DIR, migrate, MigrationError, type MigrationErrorCode } from './migrate.ts';
export {
  SearchEngine, SearchError, SEARCH_MODES, EDGE_KINDS, DEFAULT_LIMITS as SEARCH_LIMITS,
  type SearchMode, type EdgeKind, type SearchHit, type SearchMatch, type SearchQuery, type Neighbour, type ImportCycle, type Paged, type BlobReader,
  type SearchErrorCode, type SearchLimits,
} from './search/index.ts';
export type * from './types.ts';
export { entityId, parseEntityId } from './types.ts';
export type { RefMove, StoredCommit } from './write.ts';
export { DEFAULT_HOT_TIPS, HotStore, isTracked, HOT_FORMAT_VERSION, type UpdateStats } from './hot/index.ts';

export interface ImpactEntry {
  entity: EntityRef;
  /** 1 = calls a changed entity directly. */
  depth: number;
  /** Qualified name of the changed entity (at `from` for removed ones) this caller depends on. */
  because: string;
}

interface CommitRow {
  id: number;
  sha: string;
  depth: number;
}

/** `HistoryStore.entities` over a hot tip's entity table (already in the statement's order). */
function hotEntities(all: readonly StoredEntity[], query: EntityQuery, limit: number, offset: number): StoredEntity[] {
  const kinds = query.kind === undefined ? null : new Set<string>(Array.isArray(query.kind) ? query.kind : [query.kind]);
  const { pathPrefix, name } = query;
  const prefix = query.nameMatch === 'prefix';
  const out: StoredEntity[] = [];
  let skip = offset;
  for (const e of all) {
    if (kinds && !kinds.has(e.kind)) continue;
    if (pathPrefix && !e.path.startsWith(pathPrefix)) continue;
    if (name !== undefined && (prefix ? !e.name.startsWith(name) : e.name !== name)) continue;
    if (skip > 0) {
      skip--;
      continue;
    }
    out.push({
      kind: e.kind, name: e.name, qualifiedName: e.qualifiedName, path: e.path, startLine: e.startLine, endLine: e.endLine,
      signature: e.signature, doc: e.doc, exported: e.exported, bodyHash: e.bodyHash, language: e.language, localName: e.localName,
    });
    if (out.length >= limit) break;
  }
  return out;
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The versioned code graph of any number of repositories, over one database. */
export class HistoryStore {
  private readonly chains = new ChainCache();
  /** What the writer remembers between commits (store/write.ts). */
  private readonly writeCache = new WriteCache();
  private searchEngine: SearchEngine | null = null;
  private annIndex: AnnIndex | null = null;
  private reembedder: Reembedder | null = null;
  /** Per repository and ref, the sha the ANN index last held (a moved ref is updated by delta). */
  private readonly annRefs = new Map<string, string>();
  /** The hot working set at the ref tips (store/hot), once opened. */
  hot: HotStore | null = null;
  /** A write found entities stored (so the next one is no first snapshot, compactIndexes). */
  private loaded = false;

  /** `db` must be migrated (store/migrate.ts). `searchLimits` override the search engine's
   * (a one-shot CLI query scans vectors exactly rather than build an ANN index for one query). */
  constructor(readonly db: Db, private readonly searchLimits: Partial<SearchLimits> = {}) {}

  /** Search (TEXT, FUZZY, REGEX, VECTOR, HYBRID) and whole-graph queries (paths, neighbourhood,
   * PageRank, import cycles) at any indexed commit: store/search/. */
  get search(): SearchEngine {
    if (!this.searchEngine) {
      this.searchEngine = new SearchEngine(this.db, (repoId, sha) => this.chainOf(repoId, sha), {
        limits: this.searchLimits,
        ann: () => this.annIndex,
        vectors: () => {
          const r = this.reembedder;
          return r?.complete ? { embedder: r.embedder, source: modelVectors(r.state) } : null;
        },
      });
      this.searchEngine.hot = (repoId, sha) => this.hot?.snapshot(repoId, sha);
    }
    return this.searchEngine;
  }

  /**
   * Embeds every stored body with `embedder` in the background (store/reembed.ts); VECTOR and
   * HYBRID use its vectors once they are complete, the built-in ones until then. Null: the
   * built-in embedder only. `wake()` the returned job after each index run.
   */
  async useEmbedder(embedder: Embedder | null, blobs: BlobSource, opts: ReembedOptions = {}): Promise<Reembedder | null> {
    await this.reembedder?.stop();
    this.reembedder = embedder && embedder.id !== `builtin:fnv-${EMBEDDING_DIMS}` ? await Reembedder.open(this.db, embedder, blobs, opts) : null;
    return this.reembedder;
  }

  /** The vectors VECTOR search uses now: a provider's once complete, else the built-in ones. */
  activeVectors(): VectorSource {
    const r = this.reembedder;
    return r?.complete ? modelVectors(r.state) : builtinVectors(`builtin:fnv-${EMBEDDING_DIMS}`, EMBEDDING_DIMS);
  }

  /** The persisted ANN index of the ref tips (store/ann), once `openAnn` ran. */
  get ann(): AnnIndex | null {
    return this.annIndex;
  }

  /** Opens the ANN index in `dir` (`<dataDir>/hot/ann`) over `vectors` (default: the built-in
   * embeddings); `syncAnn` then fills or updates it. */
  openAnn(dir: string, opts: { vectors?: VectorSource; log?: AnnOptions['log'] } = {}): AnnIndex {
    this.annIndex = AnnIndex.open({ dir, vectors: opts.vectors ?? this.activeVectors(), ...(opts.log ? { log: opts.log } : {}) });
    this.annRefs.clear();
    return this.annIndex;
  }

  /** Brings the ANN index to the current tips of the hot refs of `repoIds` (`hotRefs`; refs at
   * commits that are not indexed are left out). */
  async syncAnn(repoIds: number[], maxTips = DEFAULT_HOT_TIPS): Promise<SyncStats | null> {
    const ann = this.annIndex;
    if (!ann) return null;
    const tips: AnnTipInput[] = [];
    const seen = new Map<string, string>();
    for (const repoId of repoIds) {
      for (const ref of await this.hotRefs(repoId, maxTips)) {
        let chain: Chain;
        try {
          ({ chain } = await this.chainOf(repoId, ref.sha));
        } catch (err) {
          if (StoreError.is(err, 'COMMIT_NOT_INDEXED')) continue;
          throw err;
        }
        const key = `${repoId}:${ref.name}`;
        seen.set(key, ref.sha);
        tips.push({ repoId, sha: ref.sha, chain, previous: this.annRefs.get(key) ?? null });
      }
    }
    const stats = await ann.sync(this.db, tips);
    this.annRefs.clear();
    for (const [k, v] of seen) this.annRefs.set(k, v);
    return stats;
  }

  /** Opens the hot store at `location` (`<dataDir>/hot/graph`): graph and search queries at the
   * tips it holds are answered from it. Fill it with `hot.sync(repoId, await refs(repoId))`. */
  async openHot(location: string): Promise<HotStore> {
    await this.hot?.close();
    this.hot = await HotStore.open(location, this.db, (repoId, sha) => this.chainOf(repoId, sha));
    return this.hot;
  }

  /** The id of the repository stored under `path`, created on first use. */
  async repository(path: string): Promise<number> {
    await this.db.query('INSERT INTO repositories (path) VALUES ($1) ON CONFLICT DO NOTHING', [path]);
    const { rows } = await this.db.query<{ id: number }>('SELECT id FROM repositories WHERE path = $1', [path]);
    return rows[0]!.id;
  }

  /** Which of `shas` are stored. */
  async indexedCommits(repoId: number, shas: string[]): Promise<Set<string>> {
    if (shas.length === 0) return new Set();
    const { rows } = await this.db.query<{ sha: string }>('SELECT sha FROM commits WHERE repo_id = $1 AND sha = ANY($2::text[])', [repoId, shas]);
    return new Set(rows.map((r) => r.sha));
  }

  /** Keys `${sha}\0${language}` of the blobs among `shas` whose extraction (at the current
   * EXTRACTOR_VERSION) is stored: the indexer need not parse them again. */
  async cachedExtractions(shas: string[]): Promise<Set<string>> {
    if (shas.length === 0) return new Set();
    const { rows } = await this.db.query<{ blob_sha: string; language: string }>(
      'SELECT blob_sha, language FROM extractions WHERE blob_sha = ANY($1::text[]) AND extractor_version = $2', [shas, EXTRACTOR_VERSION]);
    return new Set(rows.map((r) => `${r.blob_sha}\0${r.language}`));
  }

  /** The blobs among `shas` that only an older extractor version extracted (the store outlived an
   * upgrade): a commit changing such a file compares its entities with this blob extracted again by
   * the current rules (store/diff.ts `alignVersions`). */
  async staleExtractions(shas: string[]): Promise<Set<string>> {
    if (shas.length === 0) return new Set();
    const { rows } = await this.db.query<{ blob_sha: string }>(
      'SELECT DISTINCT blob_sha FROM extractions WHERE blob_sha = ANY($1::text[]) GROUP BY blob_sha, language HAVING max(extractor_version) < $2',
      [shas, EXTRACTOR_VERSION]);
    return new Set(rows.map((r) => r.blob_sha));
  }

  /** Stores extraction results (entities, references, body embeddings) ahead of the commits that
   * will use them, in one transaction; those commits then find them cached. Idempotent. */
  async storeExtractions(files: Array<Extract<FileDeltaInput, { status: 'parsed' }>>): Promise<void> {
    if (files.length === 0) return;
    const staged = this.writeCache.stage();
    await this.db.transaction((tx) => storeExtractions(tx, files, [], staged, false));
    staged.commit();
  }

  /**
   * The files at the commits `shas` of `repoId` whose extraction is by an older extractor version
   * (the store outlived an upgrade) with no extraction of their blob by this one: one per blob,
   * with a path it has (the indexer picks the language by path). Commits not stored are skipped.
   */
  async staleAt(repoId: number, shas: string[]): Promise<Array<{ path: string; blobSha: string; language: string }>> {
    const out = new Map<string, { path: string; blobSha: string; language: string }>();
    // Asked at every start: on a store with no older extraction (the usual case) one cheap query
    // instead of a whole-tree read per tip (100-500 ms for express's 17 tips).
    if (!(await this.anyOlderExtraction())) return [];
    for (const sha of new Set(shas)) {
      let chain: Chain;
      try {
        ({ chain } = await this.chainOf(repoId, sha));
      } catch (err) {
        if (StoreError.is(err, 'COMMIT_NOT_INDEXED')) continue;
        throw err;
      }
      const { rows } = await this.db.query<{ path: string; blob_sha: string; language: string }>(
        `SELECT p.path, t.blob_sha, t.language FROM (${treeSql()}) t JOIN paths p ON p.id = t.path_id
           JOIN extractions x ON x.id = t.extraction_id
         WHERE x.extractor_version < $3 ORDER BY p.path`, [...chainParams(chain), EXTRACTOR_VERSION]);
      for (const r of rows) {
        const key = `${r.blob_sha}\0${r.language}`;
        if (!out.has(key)) out.set(key, { path: r.path, blobSha: r.blob_sha, language: r.language });
      }
    }
    return [...out.values()];
  }

  /** Every blob of `repoId`'s stored commits that `staleAt` would report at some commit: the
   * background pass after an upgrade (daemon/service.ts refreshHistory) works through them. */
  async staleStored(repoId: number): Promise<Array<{ path: string; blobSha: string; language: string }>> {
    if (!(await this.anyOlderExtraction())) return [];
    const { rows } = await this.db.query<{ path: string; blob_sha: string; language: string }>(
      `SELECT DISTINCT ON (x.blob_sha, x.language) p.path, x.blob_sha, x.language
         FROM extractions x JOIN file_deltas d ON d.extraction_id = x.id JOIN paths p ON p.id = d.path_id
        WHERE p.repo_id = $1 AND x.extractor_version < $2
          AND NOT EXISTS (SELECT 1 FROM extractions n WHERE n.blob_sha = x.blob_sha AND n.language = x.language AND n.extractor_version = $2)
        ORDER BY x.blob_sha, x.language, p.path`, [repoId, EXTRACTOR_VERSION]);
    return rows.map((r) => ({ path: r.path, blobSha: r.blob_sha, language: r.language }));
  }

  /** Does the store hold an extraction by an older extractor version (it outlived an upgrade)? */
  private async anyOlderExtraction(): Promise<boolean> {
    const { rows } = await this.db.query('SELECT 1 FROM extractions WHERE extractor_version < $1 LIMIT 1', [EXTRACTOR_VERSION]);
    return rows.length > 0;
  }

  /**
   * Stores the current extractions of blobs that `staleAt` or `staleStored` found
   * (storeExtractions), after which every tree naming those blobs reads them (store/chain.ts
   * treeSql). The caches that hold trees by commit (the writer's trees, search snapshots) drop them;
   * with `atTips`, so do the ANN index's and the hot store's tips of `repoId`. Each reads again on
   * next use.
   */
  async storeRefreshed(repoId: number, files: Array<Extract<FileDeltaInput, { status: 'parsed' }>>, atTips: boolean): Promise<void> {
    if (files.length === 0) return;
    await this.storeExtractions(files);
    this.writeCache.forgetTrees();
    this.searchEngine?.forget();
    if (!atTips) return;
    await this.annIndex?.forget(repoId);
    await this.hot?.forget(repoId);
  }

  /** Stores one commit in one transaction (idempotent: a stored commit is left alone). */
  async storeCommit(repoId: number, input: CommitInput): Promise<StoredCommit> {
    const first = await this.firstLoad();
    const staged = this.writeCache.stage();
    const stored = await this.db.transaction((tx) => storeCommit(tx, this.chains, staged, repoId, input));
    staged.commit();
    if (first) await this.compactIndexes();
    return stored;
  }

  /** Is the next write the first snapshot into an empty store? Asked until a write found entities. */
  private async firstLoad(): Promise<boolean> {
    if (this.loaded) return false;
    const { rows } = await this.db.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM entities) AS any');
    this.loaded = rows[0]?.any === true;
    return !this.loaded;
  }

  /**
   * Rebuilds the indexes of the tables a first snapshot fills. Their keys (body hashes, names)
   * arrive in no order, so B-tree pages split as they fill and stay about half full; rebuilt, leaf
   * pages are 90% full: on a 709k-line first snapshot, 1.25 bytes per line of source less (#12).
   * Later writes are small beside the table and are left to fill the pages as they go. On a
   * server, CONCURRENTLY, so other repositories' readers and writers are not blocked.
   */
  async compactIndexes(): Promise<void> {
    this.loaded = true;
    for (const table of ['entities', 'bodies', 'extraction_refs']) {
      await this.db.query(this.db.kind === 'postgres' ? `REINDEX TABLE CONCURRENTLY ${table}` : `REINDEX TABLE ${table}`);
    }
  }

  /**
   * Stores commits in order (each one's first parent stored or earlier in `inputs`) in ONE
   * transaction, as `storeCommit` would one by one (#9: a transaction per commit made a history of
   * small commits cost ~8 round trips and a WAL flush each). Their paths and new extractions are
   * written first, in a few statements for all of them. Stops after the commit that ends past
   * `budgetMs` (the embedded database serves one transaction at a time, so other clients wait for
   * it) or at `maxCommits`, and returns the commits stored: a prefix of `inputs`, at least one.
   * All or nothing: a failure or a crash leaves none of them stored. With `announce: false` the
   * commits are not queued in the outbox (no `commitIndexed` notice; daemon/service.ts backfill).
   */
  async storeCommits(repoId: number, inputs: readonly CommitInput[], opts: { budgetMs?: number; maxCommits?: number; announce?: boolean } = {}): Promise<StoredCommit[]> {
    const budgetMs = opts.budgetMs ?? Infinity;
    const max = opts.maxCommits ?? inputs.length;
    const first = await this.firstLoad();
    const staged = this.writeCache.stage();
    const stored = await this.db.transaction(async (tx) => {
      const t0 = performance.now();
      const lookups = await prepareCommits(tx, staged, repoId, inputs.slice(0, max));
      const out: StoredCommit[] = [];
      for (const input of inputs.slice(0, max)) {
        out.push(await storeCommit(tx, this.chains, staged, repoId, input, lookups));
        if (performance.now() - t0 > budgetMs) break;
      }
      // Not announced (older history filled in behind the tips): the outbox rows the trigger wrote
      // go in the same transaction, so no crash can leave them queued.
      if (opts.announce === false) await dropFromOutbox(tx, repoId, out.filter((c) => c.created).map((c) => c.id));
      return out;
    });
    staged.commit();
    if (first) await this.compactIndexes();
    return stored;
  }

  /** Brings the stored refs to `refs`, logging every move; `isForced(old, new)` says whether
   * `old` is NOT an ancestor of `new` (a force push). */
  async recordRefs(repoId: number, refs: Array<{ name: string; sha: string }>, isForced: (oldSha: string, newSha: string) => Promise<boolean>): Promise<RefMove[]> {
    return this.db.transaction((tx) => recordRefs(tx, repoId, refs, isForced));
  }

  /** Commits stored but not announced yet, oldest first (the outbox, store/outbox.ts). */
  async unannounced(repoId: number): Promise<string[]> {
    return unannounced(this.db, repoId);
  }

  /** Takes a commit out of the outbox once its notice is sent. */
  async markAnnounced(repoId: number, sha: string): Promise<void> {
    await markAnnounced(this.db, repoId, sha);
  }

  /** After the repository's first index: commits stored from now on are queued in the outbox.
   * Returns false when they already were. */
  async startAnnouncing(repoId: number): Promise<boolean> {
    return startAnnouncing(this.db, repoId);
  }

  /** Did the repository's first index complete (`startAnnouncing` was called)? */
  async announcing(repoId: number): Promise<boolean> {
    return announcing(this.db, repoId);
  }

  async refs(repoId: number): Promise<Array<{ name: string; sha: string }>> {
    const { rows } = await this.db.query<{ name: string; sha: string }>('SELECT name, sha FROM git_refs WHERE repo_id = $1 ORDER BY name', [repoId]);
    return rows;
  }

  /**
   * The refs whose tips the hot working set holds (the hot store's graphs and the ANN index): HEAD,
   * then local branches, then remote-tracking branches (tags never: their commits are answered by
   * the history store), newest commit first within each group, until `max` distinct commits are
   * taken; a ref at a commit already taken costs nothing. Each held tip costs memory (a zod clone's
   * 137 branch tips took the daemon to 1.65 GB, #9), so a clone with many remote branches holds
   * the `max` most recent. Within a group, refs at commits that are not indexed come last, in name
   * order.
   */
  async hotRefs(repoId: number, max: number): Promise<Array<{ name: string; sha: string }>> {
    const refs = (await this.refs(repoId)).filter((r) => isTracked(r.name));
    if (new Set(refs.map((r) => r.sha)).size <= max) return refs;
    const { rows } = await this.db.query<{ sha: string; t: string }>(
      `SELECT sha, extract(epoch FROM committer_date)::float8 AS t FROM commits WHERE repo_id = $1 AND sha = ANY($2::text[])`,
      [repoId, [...new Set(refs.map((r) => r.sha))]],
    );
    const time = new Map(rows.map((r) => [r.sha, Number(r.t)]));
    const group = (name: string): number => (name === 'HEAD' ? 0 : name.startsWith('refs/heads/') ? 1 : 2);
    const ordered = [...refs].sort((a, b) => group(a.name) - group(b.name)
      || (time.get(b.sha) ?? -Infinity) - (time.get(a.sha) ?? -Infinity) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const taken = new Set<string>();
    const out: Array<{ name: string; sha: string }> = [];
    for (const r of ordered) {
      if (!taken.has(r.sha)) {
        if (taken.size >= max) continue;
        taken.add(r.sha);
      }
      out.push(r);
    }
    return out;
  }

  /** Every recorded move of `name` (all refs when omitted), oldest first. */
  async refLog(repoId: number, name?: string): Promise<Array<RefMove & { recordedAt: string }>> {
    const { rows } = await this.db.query<{ name: string; old_sha: string | null; new_sha: string | null; forced: boolean; recorded_at: Date }>(
      `SELECT name, old_sha, new_sha, forced, recorded_at FROM ref_log WHERE repo_id = $1 AND ($2::text IS NULL OR name = $2) ORDER BY id`,
      [repoId, name ?? null]);
    return rows.map((r) => ({ name: r.name, oldSha: r.old_sha, newSha: r.new_sha, forced: r.forced, recordedAt: new Date(r.recorded_at).toISOString() }));
  }

  /** The stored commit a full sha or unique prefix (>= 4 hex digits) names. */
  async resolve(repoId: number, rev: string): Promise<CommitRow> {
    if (!/^[0-9a-f]{4,64}$/.test(rev)) {
      throw new StoreError('COMMIT_NOT_INDEXED', `${JSON.stringify(rev)} is not a commit id; resolve branch names with git first.`, { rev });
    }
    const { rows } = await this.db.query<CommitRow>(
      'SELECT id, sha, depth FROM commits WHERE repo_id = $1 AND sha LIKE $2 ORDER BY sha LIMIT 2', [repoId, `${rev}%`]);
    if (rows.length === 0) throw new StoreError('COMMIT_NOT_INDEXED', `Commit ${rev} is not indexed. Index it first (\`codegraph index\`, or indexCommit).`, { rev });
    if (rows.length > 1) throw new StoreError('AMBIGUOUS_REVISION', `${rev} matches several indexed commits (${rows.map((r) => r.sha.slice(0, 12)).join(', ')}); give more digits.`, { rev });
    return rows[0]!;
  }

  /** Commit metadata. */
  async commit(repoId: number, sha: string): Promise<{
    sha: string; parents: string[]; authorName: string; authorEmail: string; authorDate: string; committerDate: string; message: string;
  }> {
    const c = await this.resolve(repoId, sha);
    const { rows } = await this.db.query<{ sha: string; parents: string[]; author_name: string; author_email: string; author_date: Date; committer_date: Date; message: string }>(
      'SELECT sha, parents, author_name, author_email, author_date, committer_date, message FROM commits WHERE id = $1', [c.id]);
    const r = rows[0]!;
    return {
      sha: r.sha, parents: r.parents, authorName: r.author_name, authorEmail: r.author_email,
      authorDate: new Date(r.author_date).toISOString(), committerDate: new Date(r.committer_date).toISOString(), message: r.message,
    };
  }

  private async chainOf(repoId: number, sha: string, q: Queryable = this.db): Promise<{ sha: string; chain: Chain }> {
    const c = await this.resolve(repoId, sha);
    return { sha: c.sha, chain: await this.chains.get(q, c.id, c.depth) };
  }

  /** Every file of the tree at `sha`, sorted by path, skipped files included with their reason. */
  async tree(repoId: number, sha: string, pathPrefix = ''): Promise<TreeFile[]> {
    const { chain } = await this.chainOf(repoId, sha);
    const { rows } = await this.db.query<{ path: string; blob_sha: string; language: string | null; skip_reason: string | null; skip_detail: string | null; extraction_id: number | null }>(
      `SELECT p.path, t.blob_sha, t.language, t.skip_reason, t.skip_detail, t.extraction_id
       FROM (${treeSql()}) t JOIN paths p ON p.id = t.path_id
       WHERE t.blob_sha IS NOT NULL AND p.path LIKE $3 ORDER BY p.path`,
      [...chainParams(chain), `${escapeLike(pathPrefix)}%`]);
    return rows.map((r) => ({
      path: r.path, blobSha: r.blob_sha, language: r.language, skipReason: r.skip_reason as TreeFile['skipReason'],
      skipDetail: r.skip_detail, parsed: r.extraction_id !== null,
    }));
  }

  /** Entities in the tree at `sha`, ordered by path and position (by similarity for fuzzy names). */
  async entities(repoId: number, sha: string, query: EntityQuery = {}): Promise<StoredEntity[]> {
    const limit = query.limit ?? 100;
    const offset = query.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new StoreError('INVALID_INPUT', 'query.limit must be an integer from 1 to 10000.', { limit });
    if (!Number.isInteger(offset) || offset < 0) throw new StoreError('INVALID_INPUT', 'query.offset must be a non-negative integer.', { offset });
    // At a tip the hot store holds, the entity table is in memory in this query's order (path in
    // the database's collation, start line, idx): a page of it costs no SQL (#12, the GraphQL page
    // of 100 entities spent most of its time in this statement). Fuzzy names rank by pg_trgm
    // similarity, which only the database computes.
    const img = query.nameMatch === 'fuzzy' ? undefined : this.hot?.image(repoId, sha);
    if (img) return hotEntities(img.entities, query, limit, offset);
    const { chain } = await this.chainOf(repoId, sha);
    const params: unknown[] = [...chainParams(chain)];
    const where = ['t.blob_sha IS NOT NULL'];
    const add = (v: unknown): string => `$${params.push(v)}`;
    if (query.pathPrefix) where.push(`p.path LIKE ${add(`${escapeLike(query.pathPrefix)}%`)}`);
    if (query.kind !== undefined) where.push(`e.kind = ANY(${add(Array.isArray(query.kind) ? query.kind : [query.kind])}::text[])`);
    let order = 'p.path, e.start_line, e.idx';
    if (query.name !== undefined) {
      const match = query.nameMatch ?? 'exact';
      if (match === 'exact') where.push(`e.name = ${add(query.name)}`);
      else if (match === 'prefix') where.push(`e.name LIKE ${add(`${escapeLike(query.name)}%`)}`);
      else {
        const n = add(query.name);
        where.push(`e.name % ${n}`);
        order = `similarity(e.name, ${n}) DESC, ${order}`;
      }
    }
    const { rows } = await this.db.query<{
      path: string; language: string; kind: EntityKind; name: string; qname: string; start_line: number; end_line: number;
      signature: string | null; doc: string | null; exported: boolean; body_hash: string;
    }>(
      `SELECT p.path, t.language, e.kind, e.name, e.qname, e.start_line, e.end_line, e.signature, e.doc, e.exported, encode(e.body_hash, 'hex') AS body_hash
       FROM (${treeSql()}) t JOIN paths p ON p.id = t.path_id JOIN entities e ON e.extraction_id = t.extraction_id
       WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT ${add(limit)} OFFSET ${add(offset)}`, params);
    return rows.map((r) => ({
      kind: r.kind, name: r.name, qualifiedName: qualify(r.path, r.qname), path: r.path, startLine: r.start_line, endLine: r.end_line,
      signature: r.signature, doc: r.doc, exported: r.exported, bodyHash: r.body_hash, language: r.language, localName: r.qname,
    }));
  }

  /** Entities at `sha` whose bodies are nearest to `text`: an exact cosine scan over the bodies of
   * the tree at `sha` (embeddings are stored as bytes, indexer/embed.ts `toStoredEmbedding`, with
   * no index in the database; the search engine's ANN index serves large trees, store/search/). */
  async similar(repoId: number, sha: string, text: string, limit = 10): Promise<Array<StoredEntity & { score: number }>> {
    const { chain } = await this.chainOf(repoId, sha);
    const query = embed(text);
    const { rows: ents } = await this.db.query<{
      path: string; language: string; kind: EntityKind; name: string; qname: string; start_line: number; end_line: number;
      signature: string | null; doc: string | null; exported: boolean; body_hash: string; embedding: Buffer;
    }>(
      `SELECT p.path, t.language, e.kind, e.name, e.qname, e.start_line, e.end_line, e.signature, e.doc, e.exported, encode(e.body_hash, 'hex') AS body_hash, b.embedding
       FROM (${treeSql()}) t JOIN paths p ON p.id = t.path_id JOIN entities e ON e.extraction_id = t.extraction_id
       JOIN bodies b ON b.body_hash = e.body_hash`, [...chainParams(chain)]);
    const score = new Map<string, number>();
    for (const r of ents) if (!score.has(r.body_hash)) score.set(r.body_hash, cosine(query, fromStoredEmbedding(r.embedding)));
    return ents.map((r) => ({
      kind: r.kind, name: r.name, qualifiedName: qualify(r.path, r.qname), path: r.path, startLine: r.start_line, endLine: r.end_line,
      signature: r.signature, doc: r.doc, exported: r.exported, bodyHash: r.body_hash, language: r.language, localName: r.qname,
      score: score.get(r.body_hash) ?? 0,
    })).sort((a, b) => b.score - a.score || (a.path < b.path ? -1 : a.path > b.path ? 1 : a.startLine - b.startLine)).slice(0, limit);
  }

  /** Entity-level diff between any two indexed commits. */
  async diff(repoId: number, from: string, to: string, opts: ReadOptions = {}): Promise<EntityDiff> {
    const q = cancellable(this.db, opts.signal);
    return diffChains(q, await this.chainOf(repoId, from, q), await this.chainOf(repoId, to, q));
  }

  /**
   * Transitive callers, at `diff.to`, of what the diff changed (modified, renamed, moved) or
   * removed (callers whose call no longer resolves), nearest first: one breadth-first walk from
   * every changed entity at once, so `maxEntries` (stop once more than that many are found) keeps
   * the nearest callers and their distances are the shortest.
   */
  async impact(repoId: number, diff: EntityDiff, depth = 3, opts: ReadOptions & { maxEntries?: number } = {}): Promise<ImpactEntry[]> {
    const q = cancellable(this.db, opts.signal);
    const max = opts.maxEntries ?? Infinity;
    const { chain } = await this.chainOf(repoId, diff.to, q);
    const r = await Resolver.at(q, chain);
    const out = new Map<string, ImpactEntry>();
    // Entities whose callers were (or are about to be) looked up; the changed ones start there, yet
    // are reported themselves when they call each other.
    const expanded = new Set<string>();
    const keyOf = (d: Def) => `${d.path}\0${d.idx}`;
    let frontier: Array<{ def: Def; because: string }> = [];
    // A doc-only edit changes nothing a caller runs.
    const code = diff.modified.filter((m) => m.bodyChanged || m.visibilityChanged || !m.docChanged);
    for (const e of [...code, ...diff.renamed, ...diff.moved].map((m) => m.after)) {
      let def;
      try { def = await r.find(e.qualifiedName); } catch { continue; }
      if (!expanded.has(keyOf(def))) { expanded.add(keyOf(def)); frontier.push({ def, because: e.qualifiedName }); }
    }
    // Callers of removed entities: their call no longer resolves; they are at distance 1.
    const broken: Array<{ def: Def; because: string }> = [];
    for (const e of diff.removed) {
      for (const caller of await r.brokenCallersOf(e.name)) broken.push({ def: caller, because: e.qualifiedName });
    }
    for (let level = 1; level <= depth && out.size <= max; level++) {
      const next: Array<{ def: Def; because: string }> = [];
      const reach = (def: Def, because: string) => {
        const ref = defRef(def);
        if (out.size > max || out.has(ref.qualifiedName)) return;
        out.set(ref.qualifiedName, { entity: ref, depth: level, because });
        if (!expanded.has(keyOf(def))) { expanded.add(keyOf(def)); next.push({ def, because }); }
      };
      if (level === 1) for (const b of broken) reach(b.def, b.because);
      for (const f of frontier) {
        if (out.size > max) break;
        for (const s of await r.callersOf(f.def)) reach(s.caller, f.because);
      }
      frontier = next;
    }
    return [...out.values()].sort((a, b) => a.depth - b.depth || (a.entity.qualifiedName < b.entity.qualifiedName ? -1 : 1));
  }

  /** Callers of the entity at `sha`, transitively to `depth`, nearest first, keeping edges resolved
   * at least as surely as `minConfidence` (store/graph.ts VIA_ORDER); `opts.limit`: stop once more
   * than that many distinct callers are found. */
  async callers(
    repoId: number, sha: string, qualifiedName: string, depth = 1, minConfidence: CallEdge['via'] = 'name_only', opts: ReadOptions & { limit?: number } = {},
  ): Promise<CallEdge[]> {
    return this.walkOne(repoId, sha, qualifiedName, depth, 'up', minConfidence, opts);
  }

  /** Callees of the entity at `sha`, transitively to `depth` (see `callers`). */
  async callees(
    repoId: number, sha: string, qualifiedName: string, depth = 1, minConfidence: CallEdge['via'] = 'name_only', opts: ReadOptions & { limit?: number } = {},
  ): Promise<CallEdge[]> {
    return this.walkOne(repoId, sha, qualifiedName, depth, 'down', minConfidence, opts);
  }

  /** A resolver over the tree at `sha`, its statements cancelled with `signal`. */
  private async resolverAt(repoId: number, sha: string, signal: AbortSignal | undefined): Promise<Resolver> {
    const q = cancellable(this.db, signal);
    return Resolver.at(q, (await this.chainOf(repoId, sha, q)).chain);
  }

  /** One walk: from the hot store at a held tip, else over the tree at `sha`. */
  private async walkOne(
    repoId: number, sha: string, qualifiedName: string, depth: number, direction: 'up' | 'down', minConfidence: CallEdge['via'],
    opts: ReadOptions & { limit?: number }, resolver?: () => Promise<Resolver>,
  ): Promise<CallEdge[]> {
    const hot = this.hot?.walk(repoId, sha, qualifiedName, depth, direction, minConfidence, opts.limit);
    if (hot) return hot;
    const r = await (resolver ?? (() => this.resolverAt(repoId, sha, opts.signal)))();
    return r.walk(await r.find(qualifiedName), depth, direction, minConfidence, opts.limit);
  }

  /**
   * Callers (`up`) or callees (`down`) of several entities at `sha` (see `callers`), one list per
   * name, null for a name with no entity there. Away from a hot tip the tree is read once for all
   * of them: a GraphQL page of 100 entities with their callees read it 100 times (~4 s on gin).
   */
  async walkMany(
    repoId: number, sha: string, qualifiedNames: readonly string[], depth: number, direction: 'up' | 'down',
    minConfidence: CallEdge['via'] = 'name_only', opts: ReadOptions & { limit?: number } = {},
  ): Promise<Array<CallEdge[] | null>> {
    const out: Array<CallEdge[] | null> = [];
    let tree: Promise<Resolver> | null = null;
    const resolver = (): Promise<Resolver> => (tree ??= this.resolverAt(repoId, sha, opts.signal));
    for (const name of qualifiedNames) {
      try {
        out.push(await this.walkOne(repoId, sha, name, depth, direction, minConfidence, opts, resolver));
      } catch (err) {
        if (!StoreError.is(err, 'ENTITY_NOT_FOUND')) throw err;
        out.push(null);
      }
    }
    return out;
  }

  /** The whole call graph at `sha`: every call of the tree resolved (edges with how each was
   * resolved, `via`), plus the counts of calls left unresolved by reason. Read by the hot store. */
  async callGraph(repoId: number, sha: string): Promise<{ edges: CallEdge[]; stats: ResolutionStats }> {
    return (await Resolver.at(this.db, (await this.chainOf(repoId, sha)).chain)).callGraph();
  }

  /** Methods overriding the method at `sha` (a relation of its own: never call edges). */
  async overrides(repoId: number, sha: string, qualifiedName: string): Promise<EntityRef[]> {
    const r = await Resolver.at(this.db, (await this.chainOf(repoId, sha)).chain);
    return (await r.overridesOf(await r.find(qualifiedName))).map(defRef);
  }

  /** Import resolution at `sha`: each module `path` imports, with the file it names (null when it is
   * outside the repository or unknown). */
  async imports(repoId: number, sha: string, path: string): Promise<Array<{ module: string; path: string | null }>> {
    return (await Resolver.at(this.db, (await this.chainOf(repoId, sha)).chain)).importsResolved(path);
  }

  /** Call resolution counts at `sha` (resolved / unresolved / ambiguous). */
  async resolutionStats(repoId: number, sha: string): Promise<ResolutionStats> {
    return (await Resolver.at(this.db, (await this.chainOf(repoId, sha)).chain)).stats();
  }

  /** Commits, newest first along the first-parent chain of `sha`, that changed the entity,
   * following it across renames and moves. `kind` chooses among entities sharing the name; without
   * it, a name shared by entities of several kinds is an AMBIGUOUS_ENTITY error. */
  async entityHistory(repoId: number, sha: string, qualifiedName: string, kind?: EntityKind): Promise<EntityChangeRecord[]> {
    const { chain } = await this.chainOf(repoId, sha);
    return entityHistory(this.db, repoId, chain, qualifiedName, kind);
  }

  /** The entity-level changes `sha` made against its first parent, as stored at index time (empty
   * for a base commit). Feeds the `commitIndexed` event. */
  async commitChanges(repoId: number, sha: string): Promise<Array<{
    change: EntityChangeRecord['change']; kind: EntityKind; qualifiedName: string | null; previousQualifiedName: string | null;
    signatureChanged: boolean; visibilityChanged: boolean;
  }>> {
    const c = await this.resolve(repoId, sha);
    const { rows } = await this.db.query<{
      change: EntityChangeRecord['change']; kind: EntityKind; path: string | null; qname: string | null; old_path: string | null; old_qname: string | null;
      signature_changed: boolean; visibility_changed: boolean;
    }>(
      `SELECT ec.change, ec.kind, p.path, ec.qname, op.path AS old_path, ec.old_qname, ec.signature_changed, ec.visibility_changed
       FROM entity_changes ec LEFT JOIN paths p ON p.id = ec.path_id LEFT JOIN paths op ON op.id = ec.old_path_id
       WHERE ec.commit_id = $1 ORDER BY coalesce(p.path, op.path), coalesce(ec.qname, ec.old_qname), ec.change`, [c.id]);
    return rows.map((r) => ({
      change: r.change, kind: r.kind,
      qualifiedName: r.path !== null && r.qname !== null ? qualify(r.path, r.qname) : null,
      previousQualifiedName: r.old_path !== null && r.old_qname !== null ? qualify(r.old_path, r.old_qname) : null,
      signatureChanged: r.signature_changed, visibilityChanged: r.visibility_changed,
    }));
  }

  /** How many entities `sha` added, removed, modified, renamed and moved against its first parent,
   * as stored at index time: one grouped read, cheap enough for a page of commits. Null for a
   * commit stored as a whole tree (the first of its indexed window), which has no stored changes. */
  async changeCounts(repoId: number, sha: string): Promise<ChangeCounts | null> {
    const c = await this.resolve(repoId, sha);
    if (c.depth === 0) return null;
    const { rows } = await this.db.query<{ change: keyof ChangeCounts; n: number }>(
      'SELECT change, count(*)::int AS n FROM entity_changes WHERE commit_id = $1 GROUP BY change', [c.id]);
    const out: ChangeCounts = { added: 0, removed: 0, modified: 0, renamed: 0, moved: 0 };
    for (const r of rows) out[r.change] = r.n;
    return out;
  }

  /** Function-level blame: for each entity of `path` at `sha`, the last commit that changed it. */
  async blame(repoId: number, sha: string, path: string): Promise<BlameEntry[]> {
    const { chain } = await this.chainOf(repoId, sha);
    const ents = (await this.entities(repoId, sha, { pathPrefix: path, limit: 10_000 }))
      .filter((e) => e.path === path && !DIFF_EXCLUDED_KINDS.includes(e.kind));
    return blame(this.db, repoId, chain, path, ents.map((e) => ({
      kind: e.kind, name: e.name, qualifiedName: e.qualifiedName, path: e.path, startLine: e.startLine, endLine: e.endLine, localName: e.localName,
    })));
  }

  /** Skipped files in the tree at `sha`, counted by reason. */
  async skipCounts(repoId: number, sha: string): Promise<SkipCounts> {
    const { chain } = await this.chainOf(repoId, sha);
    const { rows } = await this.db.query<{ skip_reason: string; n: number }>(
      `SELECT t.skip_reason, count(*)::int AS n FROM (${treeSql()}) t
       WHERE t.blob_sha IS NOT NULL AND t.skip_reason IS NOT NULL GROUP BY t.skip_reason ORDER BY t.skip_reason`,
      chainParams(chain));
    return Object.fromEntries(rows.map((r) => [r.skip_reason, r.n])) as SkipCounts;
  }

  /** Runs `fn` in one transaction on the underlying database (for callers composing writes). */
  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.db.transaction(fn);
  }
}
