// The GraphBackend the GraphQL layer calls, over the history store (store/) and the repositories'
// git (for revisions the store cannot name: branch names unknown to it, short shas, `HEAD~2`).
// Entity ids are the qualified names (`path::Container.name`), with `#interface` / `#type` after
// a type-space entity's (store/types.ts entityId), unique within a commit's tree.
import picomatch from 'picomatch';
import type { GitRepo } from '../indexer/git/index.ts';
import { Checkpoint, entityId, StoreError, type ChangeCounts, type EntityDiff, type EntityRef, type HistoryStore, type StoredEntity } from '../store/index.ts';
import { UNRESOLVED_REASONS } from '../resolvers/context.ts';
import type {
  CallOptions, CallResolutionRecord, CallWalkRecord, CommitRecord, DiffRecord, EntityFilter, EntityRecord, GraphBackend, HistoryRecord, ImpactRecord, Page, PageArgs, RefRecord,
  RepositoryRecord, ResolvedRev, SkipCountRecord, WalkRecord,
} from '../resolvers/context.ts';
import type { EntityKind, SkipReason } from '../indexer/types.ts';
import { StoreSearch } from './search-backend.ts';
import { callsGauge } from './server/metrics.ts';

export interface BackendRepo {
  name: string;
  repo: GitRepo;
  repoId: number;
}

/** Kinds the store's diffs leave out (diff-tree already names changed files); same rule for root diffs. */
const DIFF_EXCLUDED_KINDS: readonly string[] = ['module', 'import'];

/** How far back along HEAD's first parents entityHistory looks for an indexed commit. */
const HISTORY_START_WINDOW = 1_000;
const FULL_SHA = /^[0-9a-f]{40}$/;
const SHORT_SHA = /^[0-9a-f]{4,39}$/;

function toRecord(e: StoredEntity): EntityRecord {
  return {
    id: entityId(e.qualifiedName, e.kind), kind: e.kind, name: e.name, qualifiedName: e.qualifiedName, path: e.path, language: e.language,
    startLine: e.startLine, endLine: e.endLine, signature: e.signature, doc: e.doc, localName: e.localName, exported: e.exported, bodyHash: e.bodyHash,
  };
}

/** loadByPath's key of one entity: its id, kind and first line. */
function exactKey(id: string, kind: string, startLine: number): string {
  return `${id}\0${kind}\0${startLine}`;
}

/** The local name of an entity qualified as `qualify(path, local)` (indexer/types.ts). */
function localNameOf(e: EntityRef): string {
  return e.qualifiedName === e.path ? '' : e.qualifiedName.slice(e.path.length + 2);
}

/** A ref-only entity (diff, call edges) when its full row is not found (should not happen). */
function bareRecord(e: EntityRef): EntityRecord {
  return {
    id: entityId(e.qualifiedName, e.kind), kind: e.kind, name: e.name, qualifiedName: e.qualifiedName, path: e.path, language: '', startLine: e.startLine, endLine: e.endLine,
    signature: null, doc: null, localName: localNameOf(e), exported: false, bodyHash: null,
  };
}

/** `p`, or the signal's reason as soon as it aborts. */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function notFound(repo: string): StoreError {
  return new StoreError('UNKNOWN_REPOSITORY', `unknown repository '${repo}'; Query.repositories lists the configured ones`, { repo });
}

/**
 * Stores a commit outside the indexed window, serialized with the repository's indexer (the
 * daemon's queue); throws StoreError COMMIT_NOT_INDEXED when this process may not write.
 */
export type OnDemandIndexer = (repo: BackendRepo, sha: string, signal?: AbortSignal) => Promise<void>;

/** Without an on-demand indexer (a read-only backend): unindexed commits stay unindexed. */
const readOnly: OnDemandIndexer = async (repo, sha) => {
  throw new StoreError('COMMIT_NOT_INDEXED', `commit ${sha} of repository '${repo.name}' exists but is not indexed, and this server does not index on demand. Index it with \`codegraph index --history N\`.`, { sha });
};

/** The store's read options from a backend call's options. */
function readOpts(opts: CallOptions): { signal?: AbortSignal } {
  return opts.signal ? { signal: opts.signal } : {};
}

/** Distinct entities of a walk, nearest first, cut at `max` (a walk stops just past it). */
function capped<T>(list: T[], max: number | undefined): WalkRecord<T> {
  return max !== undefined && list.length > max ? { nodes: list.slice(0, max), truncated: true } : { nodes: list, truncated: false };
}

/** Store diffs kept (a diff of two commits never changes): `diff { impacted }` computes it once. */
const DIFF_CACHE = 8;

export class StoreBackend implements GraphBackend {
  private readonly repos: Map<string, BackendRepo>;
  private readonly diffs = new Map<string, { p: Promise<EntityDiff>; signal: AbortSignal | undefined }>();
  readonly search: StoreSearch;

  constructor(private readonly store: HistoryStore, repos: BackendRepo[], private readonly onDemand: OnDemandIndexer = readOnly) {
    this.repos = new Map(repos.map((r) => [r.name, r]));
    this.search = new StoreSearch(store, (name) => this.get(name), toRecord);
  }

  private get(name: string): BackendRepo {
    const r = this.repos.get(name);
    if (!r) throw notFound(name);
    return r;
  }

  async repositories(): Promise<RepositoryRecord[]> {
    return [...this.repos.keys()].sort().map((name) => ({ name }));
  }

  async repository(name: string): Promise<RepositoryRecord | null> {
    return this.repos.has(name) ? { name } : null;
  }

  async refs(repo: string): Promise<RefRecord[]> {
    const r = this.get(repo);
    return this.store.refs(r.repoId);
  }

  private async indexed(r: BackendRepo, sha: string): Promise<boolean> {
    // A tip the hot store holds is indexed: no SQL round trip for every request at a tip (#12).
    if (this.store.hot?.image(r.repoId, sha)) return true;
    return (await this.store.indexedCommits(r.repoId, [sha])).has(sha);
  }

  async resolveRev(repo: string, rev: string): Promise<ResolvedRev | null> {
    const r = this.get(repo);
    const indexed = (sha: string) => ({ sha, indexed: true });
    if (FULL_SHA.test(rev) && (await this.indexed(r, rev))) return indexed(rev);
    if (!FULL_SHA.test(rev)) {
      const refs = await this.store.refs(r.repoId);
      const byName = new Map(refs.map((x) => [x.name, x.sha]));
      const stored = byName.get(rev) ?? byName.get(`refs/heads/${rev}`) ?? byName.get(`refs/tags/${rev}`) ?? byName.get(`refs/remotes/${rev}`);
      // A ref names a commit the store may not hold: a tag outside the window, or a branch whose
      // window is still being filled in behind the first index (service.ts runBackfill).
      if (stored !== undefined) return { sha: stored, indexed: await this.indexed(r, stored) };
      if (SHORT_SHA.test(rev)) {
        try {
          return indexed((await this.store.resolve(r.repoId, rev)).sha);
        } catch (err) {
          if (!StoreError.is(err, 'COMMIT_NOT_INDEXED')) throw err;
        }
      }
    }
    // `HEAD`, `main~2`, a ref the store has not recorded yet, a commit outside the window: ask git.
    if (rev.startsWith('-')) return null;
    const sha = await r.repo.tryResolveCommit(rev);
    if (sha === null) return null;
    return { sha, indexed: await this.indexed(r, sha) };
  }

  async indexOnDemand(repo: string, sha: string, opts: CallOptions = {}): Promise<void> {
    const r = this.get(repo);
    if (await this.indexed(r, sha)) return;
    await this.onDemand(r, sha, opts.signal);
  }

  async commits(repo: string, ref: string | null, page: PageArgs): Promise<Page<CommitRecord>> {
    const r = this.get(repo);
    const tip = ref === null ? await r.repo.tryResolveCommit('HEAD') : (await this.resolveRev(repo, ref))?.sha ?? null;
    if (tip === null) return { items: [], hasNextPage: false };
    const start = page.after === null ? 0 : Number(page.after);
    if (!Number.isInteger(start) || start < 0) throw new StoreError('INVALID_INPUT', 'invalid cursor: pass a cursor returned by a previous page', { after: page.after });
    // Cursor = position in git's list (newest first); commits outside the indexed window are left out.
    const want = start + page.first + 1;
    const shas = await r.repo.revList({ tips: [tip], maxCount: want * 2 + 16 });
    const stored = await this.store.indexedCommits(r.repoId, shas.slice(start));
    const picked: Array<{ pos: number; sha: string }> = [];
    for (let i = start; i < shas.length && picked.length <= page.first; i++) if (stored.has(shas[i]!)) picked.push({ pos: i, sha: shas[i]! });
    const hasNextPage = picked.length > page.first;
    const take = picked.slice(0, page.first);
    const recs = await this.commitsBySha(repo, take.map((p) => p.sha));
    return { items: take.map((p, i) => ({ cursor: String(p.pos + 1), node: recs[i]! })), hasNextPage };
  }

  async commitsBySha(repo: string, shas: string[]): Promise<Array<CommitRecord | null>> {
    const r = this.get(repo);
    if (shas.length === 0) return [];
    const { rows } = await this.store.db.query<{
      sha: string; parents: string[]; author_name: string; author_email: string; author_date: Date; committer_name: string; committer_email: string; committer_date: Date; message: string;
    }>(
      `SELECT sha, parents, author_name, author_email, author_date, committer_name, committer_email, committer_date, message
       FROM commits WHERE repo_id = $1 AND sha = ANY($2::text[])`, [r.repoId, shas]);
    const bySha = new Map(rows.map((c) => [c.sha, {
      sha: c.sha, parents: c.parents, message: c.message,
      author: { name: c.author_name, email: c.author_email, date: new Date(c.author_date).toISOString() },
      committer: { name: c.committer_name, email: c.committer_email, date: new Date(c.committer_date).toISOString() },
    }]));
    return shas.map((s) => bySha.get(s) ?? null);
  }

  async entities(repo: string, commitSha: string, filter: EntityFilter, page: PageArgs, opts: CallOptions = {}): Promise<Page<EntityRecord>> {
    opts.signal?.throwIfAborted();
    const r = this.get(repo);
    const start = page.after === null ? 0 : Number(page.after);
    if (!Number.isInteger(start) || start < 0) throw new StoreError('INVALID_INPUT', 'invalid cursor: pass a cursor returned by a previous page', { after: page.after });
    const base = {
      ...(filter.kinds ? { kind: filter.kinds } : {}),
      ...(filter.name !== null ? { name: filter.name, nameMatch: 'exact' as const } : {}),
    };
    let rows: StoredEntity[];
    if (filter.path !== null) {
      // The store filters by prefix; the glob's static prefix narrows, picomatch decides.
      const scan = picomatch.scan(filter.path);
      const prefix = scan.isGlob ? scan.base : filter.path;
      const match = picomatch(filter.path, { dot: true });
      rows = (await this.store.entities(r.repoId, commitSha, { ...base, pathPrefix: prefix === '' ? '' : prefix, limit: 10_000 })).filter((e) => match(e.path));
      rows = rows.slice(start, start + page.first + 1);
    } else {
      rows = await this.store.entities(r.repoId, commitSha, { ...base, limit: page.first + 1, offset: start });
    }
    const items = rows.slice(0, page.first).map((e, i) => ({ cursor: String(start + i + 1), node: toRecord(e) }));
    return { items, hasNextPage: rows.length > page.first };
  }

  /** The store's diff, shared by the requests that ask for it at the same time or soon after. */
  private async storeDiff(r: BackendRepo, from: string, to: string, opts: CallOptions): Promise<EntityDiff> {
    const key = `${r.repoId}:${from}:${to}`;
    let entry = this.diffs.get(key);
    if (entry) {
      this.diffs.delete(key); // most recently used last
    } else {
      const p = this.store.diff(r.repoId, from, to, readOpts(opts));
      const created = { p, signal: opts.signal };
      entry = created;
      // A failed (or cancelled) diff is not kept; the least recently used entry goes first.
      p.catch(() => {
        if (this.diffs.get(key) === created) this.diffs.delete(key);
      });
      if (this.diffs.size >= DIFF_CACHE) this.diffs.delete(this.diffs.keys().next().value!);
    }
    this.diffs.set(key, entry);
    try {
      return await (opts.signal ? raceAbort(entry.p, opts.signal) : entry.p);
    } catch (err) {
      // Cancelled because the request that started it went away: this one computes its own.
      if (entry.signal?.aborted && entry.signal !== opts.signal && !opts.signal?.aborted) return this.storeDiff(r, from, to, opts);
      throw err;
    }
  }

  async entitiesByQualifiedName(repo: string, commitSha: string, qualifiedNames: string[]): Promise<Array<EntityRecord | null>> {
    const r = this.get(repo);
    const byQn = await this.loadByPath(r, commitSha, qualifiedNames.map((q) => q.split('::')[0]!), undefined, qualifiedNames);
    // A value's id is its qualified name; a name only a type-space entity has is found by its id.
    return qualifiedNames.map((q) => byQn.get(q) ?? byQn.get(entityId(q, 'interface')) ?? byQn.get(entityId(q, 'type')) ?? null);
  }

  /**
   * Entities of the given paths at `sha`, one store query per distinct path, keyed by entity id and
   * by `exactKey(id, kind, startLine)`. An import shares its id with a definition of its name in the
   * file (express's lib/utils.js had `var etag = require('etag')` and `function etag`), and repeated
   * inline callbacks share one (a test file's many `createError`): under the bare id the first
   * definition wins, and a caller that knows the entity (enrich) asks for it exactly.
   */
  private async loadByPath(r: BackendRepo, sha: string, paths: string[], signal?: AbortSignal, qualifiedNames?: string[]): Promise<Map<string, EntityRecord>> {
    const out = new Map<string, EntityRecord>();
    const put = (e: StoredEntity): void => {
      const id = entityId(e.qualifiedName, e.kind);
      const had = out.get(id);
      if (had === undefined || (had.kind === 'import' && e.kind !== 'import')) out.set(id, toRecord(e));
      out.set(exactKey(id, e.kind, e.startLine), toRecord(e));
    };
    // At a tip the hot store holds (store/hot), the entities are in memory.
    const hot = qualifiedNames && this.store.hot?.entities(r.repoId, sha, qualifiedNames);
    if (hot) {
      for (const list of hot) for (const e of list) put(e);
      return out;
    }
    // One path after the other, with the event loop given turns and the signal checked between
    // (a diff of distant commits names hundreds of paths).
    const checkpoint = new Checkpoint(signal);
    for (const p of new Set(paths)) {
      await checkpoint.tick();
      for (const e of await this.store.entities(r.repoId, sha, { pathPrefix: p, limit: 10_000 })) {
        if (e.path === p) put(e);
      }
    }
    return out;
  }

  private async enrich(r: BackendRepo, sha: string, refs: EntityRef[], signal?: AbortSignal): Promise<EntityRecord[]> {
    if (refs.length === 0) return [];
    const byQn = await this.loadByPath(r, sha, refs.map((e) => e.path), signal, refs.map((e) => e.qualifiedName));
    return refs.map((e) => byQn.get(exactKey(entityId(e.qualifiedName, e.kind), e.kind, e.startLine)) ?? byQn.get(entityId(e.qualifiedName, e.kind)) ?? bareRecord(e));
  }

  async diff(repo: string, from: string | null, to: string, opts: CallOptions = {}): Promise<DiffRecord> {
    const r = this.get(repo);
    opts.signal?.throwIfAborted();
    // A root commit, or a base whose parent lies outside the indexed window: everything is added.
    if (from === null || !(await this.indexed(r, from))) {
      const all = (await this.store.entities(r.repoId, to, { limit: 10_000 })).filter((e) => !DIFF_EXCLUDED_KINDS.includes(e.kind));
      return { from, to, added: all.map(toRecord), removed: [], modified: [], renamed: [], moved: [] };
    }
    const d = await this.storeDiff(r, from, to, opts);
    const beforeRefs = [...d.removed, ...d.modified.map((m) => m.before), ...d.renamed.map((m) => m.before), ...d.moved.map((m) => m.before)];
    const afterRefs = [...d.added, ...d.modified.map((m) => m.after), ...d.renamed.map((m) => m.after), ...d.moved.map((m) => m.after)];
    const before = await this.enrich(r, from, beforeRefs, opts.signal);
    const after = await this.enrich(r, to, afterRefs, opts.signal);
    let bi = 0;
    let ai = 0;
    const removed = d.removed.map(() => before[bi++]!);
    const added = d.added.map(() => after[ai++]!);
    const modified = d.modified.map((m) => ({ before: before[bi++]!, after: after[ai++]!, signatureChanged: m.signatureChanged, visibilityChanged: m.visibilityChanged, bodyChanged: m.bodyChanged, docChanged: m.docChanged }));
    const renamed = d.renamed.map(() => ({ before: before[bi++]!, after: after[ai++]! }));
    const moved = d.moved.map(() => ({ before: before[bi++]!, after: after[ai++]! }));
    return { from, to, added, removed, modified, renamed, moved };
  }

  async impact(repo: string, from: string | null, to: string, depth: number, opts: CallOptions = {}): Promise<WalkRecord<ImpactRecord>> {
    const r = this.get(repo);
    if (from === null) return { nodes: [], truncated: false };
    const d = await this.storeDiff(r, from, to, opts);
    const entries = await this.store.impact(r.repoId, d, depth, { ...readOpts(opts), ...(opts.maxResults !== undefined ? { maxEntries: opts.maxResults } : {}) });
    const walk = capped(entries, opts.maxResults);
    const recs = await this.enrich(r, to, walk.nodes.map((e) => e.entity), opts.signal);
    return { nodes: walk.nodes.map((e, i) => ({ entity: recs[i]!, distance: e.depth })), truncated: walk.truncated };
  }

  private async walk(repo: string, commitSha: string, ids: string[], depth: number, dir: 'callers' | 'callees', opts: CallOptions): Promise<CallWalkRecord[]> {
    const r = this.get(repo);
    const storeOpts = { ...readOpts(opts), ...(opts.maxResults !== undefined ? { limit: opts.maxResults } : {}) };
    // The store resolves every entity's calls against one tree read; edges are then enriched in
    // one batch.
    const found = await this.store.walkMany(r.repoId, commitSha, ids, depth, dir === 'callers' ? 'up' : 'down', opts.minConfidence ?? 'name_only', storeOpts);
    const edges = found.map((e) => e ?? []);
    // Distinct entities per walk, nearest first, then capped; the calls that reached the kept ones.
    const idOf = (ref: EntityRef): string => entityId(ref.qualifiedName, ref.kind);
    const walks = edges.map((list) => {
      const seen = new Set<string>();
      const out: EntityRef[] = [];
      for (const e of list) {
        const ref = dir === 'callers' ? e.from : e.to;
        if (!seen.has(idOf(ref))) { seen.add(idOf(ref)); out.push(ref); }
      }
      const walk = capped(out, opts.maxResults);
      const kept = new Set(walk.nodes.map(idOf));
      return { walk, calls: list.filter((e) => kept.has(idOf(dir === 'callers' ? e.from : e.to))) };
    });
    // One enrichment of every entity named, once each.
    const refs = new Map<string, EntityRef>();
    for (const w of walks) {
      for (const n of w.walk.nodes) refs.set(idOf(n), n);
      for (const c of w.calls) { refs.set(idOf(c.from), c.from); refs.set(idOf(c.to), c.to); }
    }
    const list = [...refs.values()];
    const recs = await this.enrich(r, commitSha, list, opts.signal);
    const rec = new Map(list.map((ref, i) => [idOf(ref), recs[i]!]));
    return walks.map(({ walk, calls }) => ({
      nodes: walk.nodes.map((n) => rec.get(idOf(n))!), truncated: walk.truncated,
      calls: calls.map((c) => ({ from: rec.get(idOf(c.from))!, to: rec.get(idOf(c.to))!, line: c.line, via: c.via, depth: c.depth })),
    }));
  }

  callers(repo: string, commitSha: string, entityIds: string[], depth: number, opts: CallOptions = {}): Promise<CallWalkRecord[]> {
    return this.walk(repo, commitSha, entityIds, depth, 'callers', opts);
  }

  callees(repo: string, commitSha: string, entityIds: string[], depth: number, opts: CallOptions = {}): Promise<CallWalkRecord[]> {
    return this.walk(repo, commitSha, entityIds, depth, 'callees', opts);
  }

  async changeCounts(repo: string, commitSha: string): Promise<ChangeCounts | null> {
    const r = this.get(repo);
    if (!(await this.indexed(r, commitSha))) return null;
    return this.store.changeCounts(r.repoId, commitSha);
  }

  /** Call resolution counts at a commit; also published as the `codegraph_calls` gauge of the
   * repository (the commit whose counts were computed last). */
  async callResolution(repo: string, commitSha: string): Promise<CallResolutionRecord> {
    const r = this.get(repo);
    const s = await this.store.resolutionStats(r.repoId, commitSha);
    const byReason = UNRESOLVED_REASONS.map((reason) => ({ reason, count: s.byReason[reason] ?? 0 }));
    callsGauge.set({ repository: repo, outcome: 'resolved' }, s.resolved);
    for (const { reason, count } of byReason) callsGauge.set({ repository: repo, outcome: reason }, count);
    return { resolved: s.resolved, unresolved: s.unresolved, ambiguous: s.ambiguous, byReason };
  }

  /**
   * Where an entity's history is read from: HEAD when it is indexed, else the newest indexed commit
   * on HEAD's first-parent line (HEAD moved and its commits are being indexed; issue #8 item 8: the
   * answer was `[]`). A StoreError COMMIT_NOT_INDEXED says why when there is none.
   */
  private async historyStart(r: BackendRepo): Promise<string> {
    const head = await r.repo.tryResolveCommit('HEAD');
    if (head === null) throw new StoreError('COMMIT_NOT_INDEXED', `repository '${r.name}' has no commits (HEAD does not resolve)`, { repo: r.name });
    if (await this.indexed(r, head)) return head;
    const line = await r.repo.revList({ tips: [head], firstParent: true, maxCount: HISTORY_START_WINDOW });
    const indexed = await this.store.indexedCommits(r.repoId, line);
    const newest = line.find((sha) => indexed.has(sha));
    if (newest === undefined) {
      throw new StoreError('COMMIT_NOT_INDEXED', `no commit among the last ${HISTORY_START_WINDOW} of HEAD (${head.slice(0, 12)}) in repository '${r.name}' is indexed yet: the initial index is running or failed (see /readyz and the daemon log)`, { repo: r.name, head });
    }
    return newest;
  }

  async entityHistory(repo: string, qualifiedName: string, path: string | null, kind: EntityKind | null, opts: CallOptions = {}): Promise<HistoryRecord[]> {
    const r = this.get(repo);
    opts.signal?.throwIfAborted();
    let changes = await this.store.entityHistory(r.repoId, await this.historyStart(r), qualifiedName, kind ?? undefined);
    if (path !== null) {
      // Without following moves: stop where the entity came from another path.
      const inPath = (q: string | null) => q !== null && q.split('::')[0] === path;
      const cut = changes.findIndex((c) => !inPath(c.qualifiedName ?? c.previousQualifiedName));
      if (cut >= 0) changes = changes.slice(0, cut);
    }
    const commits = await this.commitsBySha(repo, changes.map((c) => c.sha));
    const entities = await Promise.all(changes.map(async (c) => (c.qualifiedName === null ? null
      : (await this.store.entities(r.repoId, c.sha, { pathPrefix: c.qualifiedName.split('::')[0]!, kind: c.kind, limit: 10_000 }))
        .find((e) => e.qualifiedName === c.qualifiedName) ?? null)));
    const out: HistoryRecord[] = [];
    changes.forEach((c, i) => {
      const commit = commits[i];
      if (commit) out.push({ commit, change: c.change, kind: c.kind, visibilityChanged: c.visibilityChanged, entity: entities[i] ? toRecord(entities[i]) : null, boundary: c.boundary });
    });
    return out;
  }

  async skips(repo: string, commitSha: string): Promise<SkipCountRecord[]> {
    const r = this.get(repo);
    const counts = await this.store.skipCounts(r.repoId, commitSha);
    return Object.entries(counts).map(([reason, count]) => ({ reason: reason as SkipReason, count: count ?? 0 }));
  }
}
